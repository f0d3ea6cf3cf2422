"use strict";
// node --test tests/js/stackext_js.test.js : scripts/stackext.js against a fake `host`.

const test = require("node:test");
const assert = require("node:assert");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const SCRIPT = path.join(__dirname, "..", "..", "scripts", "stackext.js");

function load(outputLines) {
    const calls = { commands: [], log: [] };
    const host = {
        apiVersionSupport: function (major, minor) { this.major = major; this.minor = minor; },
        functionAlias: function (fn, name) { this.fn = fn; this.name = name; },
        diagnostics: { debugLog: (text) => calls.log.push(text) },
        namespace: { Debugger: { Utility: { Control: {
            ExecuteCommand: (cmd) => { calls.commands.push(cmd); return outputLines || []; },
        } } } },
    };
    const context = vm.createContext({ host });
    vm.runInContext(fs.readFileSync(SCRIPT, "utf8"), context, { filename: SCRIPT });
    return { context, calls };
}

test("initializeScript registers API 1.7 and the !stackext alias (not WinDbg's own !stackusage)", () => {
    const { context } = load();
    const items = context.initializeScript();
    assert.strictEqual(items.length, 2);
    assert.strictEqual(items[0].major, 1);
    assert.strictEqual(items[0].minor, 7);
    assert.strictEqual(items[1].name, "stackext");
    assert.strictEqual(items[1].fn, context.stackext);
    assert.ok(items.every((i) => i.name !== "stackusage"), "WinDbg's own !stackusage is not shadowed");
});

test("no arguments runs the module and prints each line", () => {
    const { context, calls } = load(["stack debugger: x64 kernel", "verdict  ok"]);
    context.stackext();
    assert.deepStrictEqual(calls.commands, ["!py -m stackext.usage --no-dml"]);
    assert.deepStrictEqual(calls.log, ["stack debugger: x64 kernel\n", "verdict  ok\n"]);
});

test("one string is the command line", () => {
    const { context, calls } = load();
    context.stackext("--driver mydrv --top 10");
    assert.deepStrictEqual(calls.commands, ["!py -m stackext.usage --no-dml --driver mydrv --top 10"]);
});

test("several arguments are one word each, quoted for the bootstrapper", () => {
    const { context, calls } = load();
    context.stackext("--thread", "ffffe001`12345080", "--dump", "C:\\My Dumps\\a.dmp");
    assert.deepStrictEqual(calls.commands, [
        "!py -m stackext.usage --no-dml --thread ffffe001`12345080 --dump \"C:\\My Dumps\\a.dmp\""]);
});

test("quotes, semicolons and line breaks are refused, nothing runs", () => {
    const { context, calls } = load();
    assert.throws(() => context.stackext("--driver", "a\"b"), /cannot pass/);
    assert.throws(() => context.stackext("--top 1; .shell calc"), /cannot contain/);
    assert.throws(() => context.stackext("x", "a\nb"), /cannot pass/);
    assert.deepStrictEqual(calls.commands, []);
});
