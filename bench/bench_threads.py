"""Engine cost of `!py -m stackext.threads` against the kernel-shaped fake pykd: round trips and
tool time per thread for 1,000 threads (25 per process), with 5 and 60 frames per stack, for the
plain survey, --top 5 and --driver (which walks every stack).

"round trips" counts the pykd calls that ask the target (memory, registers, stack walks, typed
reads, typedVarList); "links" are the LIST_ENTRY hops typedVarList makes inside the engine (one
call per list, but the engine still reads one pointer per entry).

Run: python3 bench/bench_threads.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes import pykd_kernel as K  # noqa: E402


def run(threads: int, frames: int, argv, repeat: int = 3) -> tuple:
    from stackext import threads as debugger_threads

    best = None
    for _ in range(repeat):
        engine = K.synthetic_system(threads, frames_per_thread=frames).engine()
        start = time.perf_counter()
        rc = debugger_threads.main(list(argv) + ["--no-dml"], debugger=engine.dbg)
        elapsed = time.perf_counter() - start
        assert rc == 0, "".join(t for t, _ in engine.output)[-2000:]
        best = elapsed if best is None else min(best, elapsed)
    return engine.round_trips(), engine.link_reads, engine.count("getStack"), best


def main() -> int:
    run(50, 5, (), repeat=1)  # warm up: imports and first-call costs out of the numbers
    print("%8s %7s %-14s %12s %7s %9s %9s %13s" % ("threads", "frames", "options",
                                                   "round trips", "links", "walks", "tool ms",
                                                   "us per thread"))
    for threads, frames, argv in ((1000, 5, ()), (1000, 60, ()), (1000, 60, ("--top", "5")),
                                  (1000, 5, ("--driver", "drv0")),
                                  (1000, 60, ("--driver", "drv0"))):
        rt, links, walks, t = run(threads, frames, argv)
        print("%8d %7d %-14s %12d %7d %9d %9.1f %13.1f" % (
            threads, frames, " ".join(argv) or "-", rt, links, walks, t * 1000,
            t * 1e6 / threads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
