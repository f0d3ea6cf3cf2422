# ruff: noqa: E501
"""Record what the real engine says about every physical frame: `.frame N; dv /V /t`, `.fnent IP`,
the struct sizes dv's types have (typeInfo), and the thread list. The fake pykd's sessions read
it (tests/fakes/make_sessions.py), so the fake answers stackext's anatomy calls as the engine.

    python3 tests/realengine/record_notes.py          # Linux: runs itself under Wine for each dump
    python.exe record_notes.py DUMP SYMPATH           # Windows Python: prints one JSON document

Writes tests/realengine/recorded/<dump>_frames.json.
"""

import json
import os
import re
import sys

DUMPS = ("seed", "seed_mini", "inline")
TAG = re.compile(r"^(?:struct|union|class|enum)\s+")
# dv row: 00000000`0011f300 @rsp+0x0070       struct MYSTRUCT copy = struct MYSTRUCT
DV_TYPE = re.compile(r"^\s*[0-9a-f`]+\s+@\w+(?:[+-]0x[0-9a-f]+)?\s+(?P<rest>.*)$")


def windows_main(dump, sympath):
    import pykd

    pykd.loadDump(dump)
    pykd.setSymbolPath(sympath)
    pykd.dbgCommand(".reload")
    out = {"threads": pykd.dbgCommand("~"), "frames": [], "type_sizes": {}}
    stack = pykd.getStack(True)
    for n, f in enumerate(stack):
        row = {"n": n, "inline": bool(f.isInline())}
        if not row["inline"]:
            row["dv"] = pykd.dbgCommand(".frame %x; dv /V /t" % n)
            try:
                row["fnent"] = pykd.dbgCommand(".fnent %x" % f.ip)
            except pykd.DbgException as e:
                row["fnent_exception"] = str(e)
            mod = pykd.findSymbol(f.ip, False).partition("!")[0]
            for line in (row["dv"] or "").splitlines():
                m = DV_TYPE.match(line)
                if not m:
                    continue
                left = m.group("rest").split(" = ", 1)[0].rsplit(None, 1)[0]
                if left.endswith("*") or not TAG.match(left):
                    continue
                name = TAG.sub("", left)
                for full in (mod + "!" + name, name):
                    try:
                        out["type_sizes"][full] = int(pykd.typeInfo(full).size())
                    except pykd.DbgException as e:
                        out["type_sizes"][full] = None
                        out.setdefault("type_errors", {})[full] = str(e)
        out["frames"].append(row)
    pykd.dbgCommand(".frame 0")
    out["stack_pages"] = stack_pages(pykd)
    sys.stdout.write(json.dumps(out) + "\n")


def stack_pages(pykd):
    """The thread's stack from the TEB's committed bottom to StackBase, a page at a time, as the
    fake must answer loadBytes: "zero", the page's bytes in hex, or absent (not in the dump)."""
    teb = int(pykd.getImplicitThread())
    try:
        _, base, committed = (int(v) for v in pykd.loadPtrs(teb, 3))
    except pykd.DbgException:  # a minidump without the TEB
        return {}
    pages = {}
    for addr in range(committed, base, 0x1000):
        try:
            data = bytes(pykd.loadBytes(addr, 0x1000))
        except pykd.DbgException:
            continue
        pages[hex(addr)] = "zero" if not any(data) else data.hex()
    return pages


def linux_main():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import engine

    ok, why = engine.available()
    if not ok:
        print(why, file=sys.stderr)
        return engine.EXIT_UNAVAILABLE
    for name in DUMPS:
        cp = engine.run_script(os.path.abspath(__file__), [engine.winpath(engine.dump_path(name)),
                                                            engine.winpath(engine.pdb_dir())])
        line = next((x for x in cp.stdout.splitlines() if x.startswith("{")), None)
        if cp.returncode or line is None:
            print("%s: failed: %s" % (name, cp.stderr[-1000:]), file=sys.stderr)
            return 1
        doc = json.loads(line)
        doc["_source"] = ("real dbgeng via pykd 0.3.4.15 under Wine, dump %s; recorded by "
                          "tests/realengine/record_notes.py" % name)
        path = os.path.join(here, "recorded", name + "_frames.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
        print("%s: %d frames" % (path, len(doc["frames"])))
    return 0


if __name__ == "__main__":
    if sys.platform == "win32":
        windows_main(sys.argv[1], sys.argv[2])
    else:
        sys.exit(linux_main())
