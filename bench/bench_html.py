"""The lab page at scale: builds WinDbg logs of 1,000 and N (default 10,000) stacks from the real
stacks in fixtures/ (never committed), runs `stackext report` on each (time, peak memory: flat
means the same at 1,000 and 10,000), then opens the 10,000-stack page in headless Chromium and
prints how long it takes to load and to paint, and to draw one stack's picture on demand.

Usage:
    python bench/bench_html.py [--stacks N] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_parse import build  # noqa: E402
from cdp import Browser, find_chromium  # noqa: E402

CHILD = ("import resource, sys\n"
         "from stackext import lab\n"
         "rc = lab.main(sys.argv[1:])\n"
         "sys.stderr.write('maxrss_kb=%d\\n' % resource.getrusage(resource.RUSAGE_SELF)"
         ".ru_maxrss)\n"
         "sys.exit(rc)\n")


def report(log: Path, page: Path):
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(log), "-o", str(page)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(ROOT))
    dt = time.perf_counter() - t0
    err = proc.stderr.decode()
    if proc.returncode not in (0, 1):
        raise SystemExit("stackext report failed: %s" % err[:400])
    rss = int(err.rsplit("maxrss_kb=", 1)[1].split()[0])
    return dt, rss / 1024.0


PAINT = """(function () {
  var nav = performance.getEntriesByType("navigation")[0];
  var fcp = performance.getEntriesByName("first-contentful-paint")[0];
  return [nav.responseEnd, nav.domContentLoadedEventEnd, nav.loadEventEnd,
          fcp ? fcp.startTime : -1,
          document.querySelectorAll("#stacks .r[data-kind]").length];
})()"""

DRAW = """(function () {
  var t = performance.now();
  return window.stackextReveal("s%d").then(function (section) {
    section.getBoundingClientRect();
    return [performance.now() - t, section.querySelectorAll("g.blk").length];
  });
})()"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stacks", type=int, default=10000)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    page = None
    for n in (a.stacks // 10, a.stacks):
        log = out / ("lab_%d.log" % n)
        build(log, n)
        page = out / ("lab_%d.html" % n)
        dt, rss = report(log, page)
        print("stackext report, %6d stacks (%.1f MB of log): %.2f s, %.0f stacks/s, peak memory "
              "%.1f MB, page %.1f MB" % (n, log.stat().st_size / 1e6, dt, n / dt, rss,
                                         page.stat().st_size / 1e6))
        log.unlink()
    exe = find_chromium()
    if exe is None:
        print("no chromium on PATH: the browser numbers are skipped")
        return 0
    b = Browser(exe)
    try:
        loads = []
        for _ in range(3):  # the machine may be shared: three loads, each from a blank page
            b.open("about:blank")
            wall = b.open(page.as_uri())
            loads.append((wall,) + tuple(b.eval(PAINT)))
        loads.sort()
        wall, response, dcl, load, fcp, rows = loads[1]
        print("chromium, %d-stack page (load average %.1f on %d CPUs): load event after %.2f s "
              "(median of 3: %s s; wall, navigate to load); file read %.0f ms, DOMContentLoaded "
              "%.0f ms, first contentful paint %.0f ms, load %.0f ms; %d rows"
              % (a.stacks, os.getloadavg()[0], os.cpu_count() or 0, wall,
                 ", ".join("%.2f" % x[0] for x in loads), response, dcl, fcp, load, rows))
        for k in (0, rows // 2, rows - 1):
            ms, blocks = b.eval(DRAW % k)
            print("  drawing stack %d's picture on demand: %.1f ms (%d blocks)" % (k, ms, blocks))
        t0 = time.perf_counter()
        b.eval("document.querySelector('#stacks .head span:nth-child(4)').click();"
               "document.body.getBoundingClientRect()")
        print("  sorting %d rows by used share: %.0f ms" % (rows, 1000 * (time.perf_counter()
                                                                          - t0)))
        errors = b.errors()
        print("  console errors: %d" % len(errors))
        verdict = "under" if wall < 2.0 else "OVER"
        print("%s the 2 s budget" % verdict)
    finally:
        b.close()
        page.unlink()
        for p in out.glob("lab_*.html"):
            p.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
