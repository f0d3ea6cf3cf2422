"""Parse throughput: builds a large WinDbg log from the real stacks in fixtures/ (thousands of
stacks, never committed) and times `stackext usage --format json` on it as a subprocess.

Prints stacks/s, MB/s and the peak memory (max RSS) of the run. Usage:
    python bench/bench_parse.py [--stacks N] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ["101_jellykuo_session_space_thread_base_limit_x64.txt",
           "102_jellykuo_0x19c_vidschiworker_thread_base_limit_x64.txt",
           "005_ql2300_0x7f8_thread_base_limit_x64.txt",
           "024_insightengineering_ntfs_stacktext_full_x64.txt",
           "022_k7sentry_kb_x86_kernel.txt"]


def build(path: Path, stacks: int) -> int:
    bodies = []
    for name in SAMPLES:
        text = (ROOT / "fixtures" / name).read_text(encoding="utf-8")
        bodies.append("\n".join(x for x in text.splitlines() if not x.startswith("# ")))
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for i in range(stacks):
            out.write(bodies[i % len(bodies)])
            out.write("\n\n")
            written += 1
    return written


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stacks", type=int, default=20000)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "big.log"
    build(log, a.stacks)
    size = log.stat().st_size
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "stackext", "usage", "--format", "json",
                           str(log)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          cwd=str(ROOT))
    dt = time.perf_counter() - t0
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        print("stackext failed:", proc.stderr.decode()[:400])
        return 1
    found = proc.stdout.count(b'"source":')
    print("input: %d stacks, %.1f MB" % (a.stacks, size / 1e6))
    print("stacks reported: %d" % found)
    print("time: %.2f s  ->  %.0f stacks/s, %.2f MB/s" % (dt, found / dt, size / 1e6 / dt))
    print("peak memory (max RSS of the run): %.1f MB" % (rss_kb / 1024))
    os.remove(log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
