"""Parse throughput against the floor: builds a large WinDbg log of real `!analyze -v`
STACK_TEXTs (fixture 024, 36 frames, each copy moved to other addresses; never committed), then
times `stackext usage --format F` on it and the floor -- a bare Python loop that matches the
Child-SP column and subtracts consecutive values -- as subprocesses of this one, in turn.

Prints, per format: the median CPU time (user + system, each child's own rusage) of the runs,
the floor's, the ratio of each run to the floor run next to it (x floor; CPU time, as the machine
may be shared), the same ratio in wall time, the peak memory (max RSS) of the run and the load
average.

Both commands run the same way, chosen by --mode:
  installed  (default) the bytecode is cached (.pyc), as after `pip install`, which compiles it:
             the children write and read a cache of their own (PYTHONPYCACHEPREFIX, under
             --out), filled by one untimed run of each first
  source     no .pyc: every run compiles the source again (PYTHONDONTWRITEBYTECODE=1, as an
             editable install here does; ~0.07 s more for stackext, little for the floor)
Usage:
    python bench/bench_parse.py [--stacks 2000] [--runs 5] [--formats json,csv,table,markdown]
                                [--mode installed|source]
    python bench/bench_parse.py --floor LOG      (the floor loop alone; prints its sum)
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "024_insightengineering_ntfs_stacktext_full_x64.txt"
# The stack's own addresses (ffffed0e`e77dcd48): moved to ffff<i>`e77dcd48 in copy i.
STACK_HIGH = "ffffed0e`"
# A STACK_TEXT row's Child-SP column: "ffffed0e`e77dcd48 fffff802`0442bfa9     : ..."
FLOOR_SP_RE = re.compile(r"([0-9a-f]{8})`([0-9a-f]{8}) [0-9a-f]{8}`[0-9a-f]{8} ")


def build(path: Path, stacks: int) -> int:
    text = (ROOT / "fixtures" / SAMPLE).read_text(encoding="utf-8")
    body = "\n".join(x for x in text.splitlines() if not x.startswith("# ")) + "\n\n"
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for i in range(stacks):
            out.write(body.replace(STACK_HIGH, "ffff%04x`" % (0xa000 + i % 0x5000)))
    return stacks


def floor(path: str) -> int:
    """The floor: every Child-SP in the log, minus the one before it in the same stack."""
    total = 0
    prev = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = FLOOR_SP_RE.match(line)
            if m is None:
                prev = None
                continue
            sp = int(m.group(1) + m.group(2), 16)
            if prev is not None:
                total += sp - prev
            prev = sp
    return total


def environment(mode: str, cache: str) -> dict:
    """The children's environment: a bytecode cache of their own (installed) or none (source)."""
    env = dict(os.environ)
    env.pop("PYTHONPYCACHEPREFIX", None)
    if mode == "installed":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def timed(cmd, env=None) -> tuple:
    """(wall s, CPU s, max RSS MB) of one subprocess run (its own rusage); output discarded."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=str(ROOT), env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    dt = time.perf_counter() - t0
    proc.returncode = status
    if status != 0:
        raise SystemExit("failed (status %d): %s" % (status, " ".join(cmd)))
    return dt, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stacks", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--formats", default="json,csv,table,markdown")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    ap.add_argument("--floor", metavar="LOG", help="run the floor loop on LOG and exit")
    ap.add_argument("--mode", choices=("installed", "source"), default="installed")
    a = ap.parse_args()
    if a.floor:
        print(floor(a.floor))
        return 0
    # (no tempfile here: the floor runs this script too, and its imports are the floor's cost)
    return run(a, environment(a.mode, str(Path(a.out) / "pycache")))


def run(a: argparse.Namespace, env: dict) -> int:
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "big.log"
    build(log, a.stacks)
    print("python %s; input: %d stacks of 36 frames, %.1f MB; mode %s"
          % (sys.version.split()[0], a.stacks, log.stat().st_size / 1e6, a.mode))
    floor_cmd = [sys.executable, __file__, "--floor", str(log)]
    print("load average %s" % " ".join("%.2f" % x for x in os.getloadavg()))
    print("%-9s %9s %9s %8s %8s %9s" % ("format", "cpu s", "floor s", "x floor", "x wall",
                                       "peak MB"))
    for fmt in a.formats.split(","):
        cmd = [sys.executable, "-m", "stackext", "usage", "--format", fmt, str(log)]
        timed(cmd, env)  # untimed: fills the bytecode cache (installed), warms the disk cache
        timed(floor_cmd, env)
        cpus, floors, ratios, walls, peak = [], [], [], [], 0.0
        for _ in range(a.runs):  # in turn, so a drift of the machine's speed hits both
            w, cpu, rss = timed(cmd, env)
            fw, fcpu, _ = timed(floor_cmd, env)
            cpus.append(cpu)
            floors.append(fcpu)
            ratios.append(cpu / fcpu)
            walls.append(w / fw)
            peak = max(peak, rss)
        med = statistics.median
        print("%-9s %9.3f %9.3f %7.1fx %7.1fx %9.1f" % (fmt, med(cpus), med(floors), med(ratios),
                                                       med(walls), peak))
    os.remove(log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
