"""Engine cost of the in-debugger command against the fake pykd: round trips, symbol lookups and
tool time per stack, for 10, 100 and 1,000 frames (4 modules; and 1,000 frames over 40 modules).

Run: python3 bench/bench_pykd.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes import pykd as fakepykd  # noqa: E402


def run(frames: int, modules: int, repeat: int = 5) -> tuple:
    from stackext import usage as debugger

    best = None
    for _ in range(repeat):
        engine = fakepykd.fake(fakepykd.synthetic_session(frames, modules))
        start = time.perf_counter()
        rc = debugger.main(["--no-dml"], debugger=engine.dbg)
        elapsed = time.perf_counter() - start
        assert rc == 0, fakepykd.output_text(engine)
        best = elapsed if best is None else min(best, elapsed)
    return (engine.cost("round-trip"), engine.count("findSymbol"), engine.cost("local"),
            engine.cost("state"), best)


def main() -> int:
    print("%7s %8s %12s %14s %12s %6s %10s" % ("frames", "modules", "round trips",
                                               "findSymbol", "local calls", "state", "tool ms"))
    for frames, modules in ((10, 4), (100, 4), (1000, 4), (1000, 40)):
        rt, sym, local, state, t = run(frames, modules)
        print("%7d %8d %12d %14d %12d %6d %10.1f" % (frames, modules, rt, sym, local, state,
                                                     t * 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
