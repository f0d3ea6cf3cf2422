"""Start-up cost of an in-debugger run: every `!py -m stackext.usage` is a fresh interpreter, so
what counts is the whole process. Measures, each in a fresh interpreter started by this one:

  setup  python starts, imports the fake pykd (tests/fakes) and builds a 10-frame session
  run    the same, then `stackext.usage` is imported and run against it (--no-dml)

and prints the median wall and CPU time (user + system, the child's own rusage) of each, the
difference (ours: what the run costs over the fake's own setup), and from `python -X importtime`
the import time of stackext.usage and of its heaviest modules.

Two ways Python finds the code, each measured with --mode both (the default):
  installed  the bytecode is cached (.pyc), as after `pip install`, which compiles it: the
             children write and read a cache in a temporary folder (PYTHONPYCACHEPREFIX), filled
             by one untimed run first
  source     no .pyc: every run compiles stackext's source again (PYTHONDONTWRITEBYTECODE=1 with
             an editable install or a bare checkout; ~40 ms more on Python 3.11)
Usage:
    python bench/bench_startup.py [--runs 15] [--frames 10] [--mode both|installed|source]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_parse import environment  # the same two modes as the parse bench

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import sys
sys.path[:0] = [{root!r}, {tests!r}]
from fakes import pykd as fakepykd
engine = fakepykd.fake(fakepykd.synthetic_session({frames}, 4))
if {run}:
    from stackext import usage
    rc = usage.main(["--no-dml"], debugger=engine.dbg)
    assert rc == 0, fakepykd.output_text(engine)
    assert "verdict" in fakepykd.output_text(engine)
"""
# -X importtime's lines: "import time:       412 |       1871 |   stackext.usage"
IMPORT_RE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def child(run: bool, frames: int) -> str:
    return CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"), frames=frames, run=run)


def timed(cmd, env) -> tuple:
    """(wall s, cpu s) of one fresh interpreter, from its own rusage."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=str(ROOT),
                            env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if status != 0:
        raise SystemExit("failed: %s\n%s" % (" ".join(cmd[:3]), err[-800:]))
    return wall, usage.ru_utime + usage.ru_stime


def import_times(frames: int, env, tries: int = 3) -> list:
    """(cumulative ms, module) of stackext.usage and of every stackext/tabulate import, the
    least of a few runs each (one run of -X importtime is noisy)."""
    best: dict = {}
    for _ in range(tries):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", child(True, frames)],
                              cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              universal_newlines=True, check=True, env=env)
        for m in map(IMPORT_RE.match, proc.stderr.splitlines()):
            if m and (m.group(4).startswith("stackext") or m.group(4) == "tabulate"):
                ms = int(m.group(2)) / 1000.0
                best[m.group(4)] = min(ms, best.get(m.group(4), ms))
    return [(ms, name) for name, ms in best.items()]


def measure(mode: str, runs: int, frames: int, cache: str) -> None:
    env = environment(mode, cache)
    setup_cmd = [sys.executable, "-c", child(False, frames)]
    run_cmd = [sys.executable, "-c", child(True, frames)]
    timed(run_cmd, env)  # fills the bytecode cache (installed); the same work for both modes
    setup, run, over_wall, over_cpu = [], [], [], []
    for _ in range(runs):  # in turn, so a drift of the machine's speed hits both
        s, r = timed(setup_cmd, env), timed(run_cmd, env)
        setup.append(s)
        run.append(r)
        over_wall.append(r[0] - s[0])
        over_cpu.append(r[1] - s[1])
    med = statistics.median
    print("python %s; %s (%s); %d frames; %d runs each, medians; load average %s"
          % (sys.version.split()[0], mode, "bytecode cached" if mode == "installed"
             else "no .pyc, source compiled each run", frames, runs,
             " ".join("%.2f" % x for x in os.getloadavg())))
    print("%-26s %9s %9s" % ("", "wall ms", "cpu ms"))
    print("%-26s %9.1f %9.1f" % ("fake setup alone", med(x[0] for x in setup) * 1000,
                                 med(x[1] for x in setup) * 1000))
    print("%-26s %9.1f %9.1f" % ("setup + stackext.usage", med(x[0] for x in run) * 1000,
                                 med(x[1] for x in run) * 1000))
    print("%-26s %9.1f %9.1f" % ("ours (paired difference)", med(over_wall) * 1000,
                                 med(over_cpu) * 1000))
    rows = import_times(frames, env)
    top = [r for r in rows if r[1] == "stackext.usage"]
    if top:
        print("-X importtime (least of 3): import stackext.usage %.1f ms cumulative; heaviest:"
              % top[0][0])
    for ms, name in sorted((r for r in rows if r[1] != "stackext.usage"), reverse=True)[:6]:
        print("  %7.1f ms  %s" % (ms, name))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--mode", choices=("both", "installed", "source"), default="both")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="stackext-pyc-") as cache:
        for mode in ("installed", "source") if a.mode == "both" else (a.mode,):
            measure(mode, a.runs, a.frames, cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
