"""The cycle search's cost per frame on the stack shapes that were its worst cases (every period
tried at every position): microseconds per frame, best of several runs, for 100 and 1,000 frames.

Run: python bench/bench_cycles.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from stackext.cycles import find_cycles  # noqa: E402
from stackext.model import Frame  # noqa: E402


def thue(n):
    """A square-free ternary word: every key recurs within a few frames, no round repeats."""
    t = [0]
    while len(t) < n + 1:
        t = t + [1 - x for x in t]
    return ["nt!k%d" % (t[i + 1] - t[i] + 1) for i in range(n)]


SHAPES = {
    "all distinct": lambda n: ["drv!f%d+0x10" % i for i in range(n)],
    "A,A,U(i)": lambda n: ["nt!A+0x1" if i % 3 < 2 else "drv!U%d+0x2" % i for i in range(n)],
    "A,U(i)": lambda n: ["nt!A+0x1" if i % 2 else "drv!U%d+0x2" % i for i in range(n)],
    "A recursing": lambda n: ["nt!A+0x1"] * n,
    "square-free": thue,
    "round of 65": lambda n: ["drv!p%d+0x3" % (i % 65) for i in range(n)],
}


def cost(names, repeat=7) -> float:
    frames = [Frame(index=i, sp=0x1000 + 0x40 * i, ret=1, call_site=k, size=0x40,
                    module=k.split("!")[0], function=k.split("!")[1].split("+")[0], offset=1)
              for i, k in enumerate(names)]
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        find_cycles(frames, None, 0x6000)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best / len(names) * 1e6


def main() -> int:
    print("%-14s %12s %12s" % ("shape", "100 frames", "1000 frames"))
    for name, make in SHAPES.items():
        print("%-14s %9.2f us %9.2f us" % (name, cost(make(100)), cost(make(1000))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
