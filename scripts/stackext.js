"use strict";

// stackext for WinDbg's JavaScript provider: `.scriptload C:\path\stackext.js`, then
//   !stackext                      the current thread's stack (runs !py -m stackext.usage)
//   !stackext "--driver mydrv --top 10"   one string: passed on as the command line
//   dx @$scriptContents.stackext("--thread", "ffffe001`12345080")   one word per argument
// Needs pykd's bootstrapper loaded (.load pykd) and stackext installed in its Python. Named
// !stackext, not !stackusage: WinDbg has its own !stackusage, which this must not shadow.

// --no-dml: debugLog re-emits the captured lines as plain text (DML tags would print raw)
const PY_COMMAND = "!py -m stackext.usage --no-dml";

// The !py bootstrapper splits its arguments on spaces and tabs and groups with double quotes;
// it has no escape character. So a word with a blank is wrapped in quotes, and a word with a
// quote (or a line break, or ';' which ends a debugger command) cannot be passed safely at all.
function quoteArg(word) {
    const text = String(word);
    if (/["\r\n;]/.test(text)) {
        throw new Error("stackext: cannot pass an argument containing a quote, ';' or a line break: " + text);
    }
    if (text === "" || /[ \t]/.test(text)) {
        return "\"" + text + "\"";
    }
    return text;
}

function commandLine(args) {
    if (args.length === 1 && typeof args[0] === "string") {
        // One string: the user wrote the command line; check it, pass it on as it is.
        const line = args[0].trim();
        if (/[\r\n;]/.test(line)) {
            throw new Error("stackext: the command line cannot contain ';' or a line break");
        }
        return line ? PY_COMMAND + " " + line : PY_COMMAND;
    }
    const words = args.map(quoteArg);
    return words.length ? PY_COMMAND + " " + words.join(" ") : PY_COMMAND;
}

function stackext(...args) {
    const control = host.namespace.Debugger.Utility.Control;
    const lines = control.ExecuteCommand(commandLine(args));
    for (const line of lines) {
        host.diagnostics.debugLog(line + "\n");
    }
}

function initializeScript() {
    return [
        new host.apiVersionSupport(1, 7),
        new host.functionAlias(stackext, "stackext"),
    ];
}
