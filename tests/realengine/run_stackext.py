"""Run stackext on one dump under the Windows Python with the real pykd, the way a user does
(`python -m stackext.usage --dump ...`), recording every pykd call; then check that the
in-debugger path (collect + analyze + locals) leaves the debugger's state as it found it.

    python.exe run_stackext.py OUT.json -- [stackext.usage arguments]

Writes OUT.json: {"rc", "stdout", "calls", "knf", "kv", "restore": [...]}.
"""

import dataclasses
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import callrec  # noqa: E402


def snapshot(pykd):
    """What the user's next command sees."""
    return {"stack": [str(f) for f in pykd.getStack(True)], "rsp": hex(pykd.reg("rsp")),
            "rip": hex(pykd.reg("rip")), "frame": callrec.clean_text(pykd.dbgCommand(".frame")),
            "sp": hex(pykd.getSP())}


def restore_case(pykd, setup):
    """Set the user's state with `setup`, run collect/analyze/locals, compare the state."""
    from stackext.analyze import AnalysisOptions, analyze
    from stackext.sources.pykd import anatomy, live
    from stackext.sources.pykd.adapter import Debugger

    pykd.dbgCommand(".cxr")
    pykd.dbgCommand(".frame 0")
    if setup:
        pykd.dbgCommand(setup)
    before = snapshot(pykd)
    dbg = Debugger(pykd)
    with live.walked(dbg) as walk:  # the locals are read in the context the stack was walked in
        stack = walk.stack
        report = analyze(stack, AnalysisOptions())
        anatomy.attach(dbg, walk, report, 5)
    after = snapshot(pykd)
    big = report.frame(report.heaviest[0])
    largest = (big.locals or [None])[0]
    return {"setup": setup, "before": before, "after": after, "warnings": report.warnings,
            "annotated": sorted(stack.frame_notes),
            "largest_local": None if largest is None else dataclasses.asdict(largest)}


def main():
    out_path = sys.argv[1]
    argv = sys.argv[sys.argv.index("--") + 1:]
    import pykd as real

    from stackext import usage

    rc, printed, log = callrec.run_entry(usage.main, argv, real)
    doc = {"rc": rc, "stdout": printed, "calls": log}
    if rc == 0:
        doc["knf"] = real.dbgCommand("knf 1000")
        doc["kv"] = real.dbgCommand("kv 1000")
        doc["restore"] = [restore_case(real, s) for s in (None, ".frame 3", ".frame /c 5")]
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
