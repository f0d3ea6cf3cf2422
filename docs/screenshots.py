"""Makes the README's two pictures with headless Chromium (tests/cdp.py): the page of
fixtures/005... and a lab page over fixtures/. Run from the repository root:
    python docs/screenshots.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from cdp import Browser, find_chromium  # noqa: E402

from stackext.cli import main  # noqa: E402

LIMIT = 200 * 1024


def main_() -> int:
    exe = find_chromium()
    if exe is None:
        print("no chromium on PATH")
        return 1
    os.chdir(ROOT)
    tmp = Path(tempfile.mkdtemp(prefix="stackext-shots-"))
    logs = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "fixtures").glob("*.txt"))
    main(["usage", "--format", "html", "-o", str(tmp / "005.html"),
          "fixtures/005_ql2300_0x7f8_thread_base_limit_x64.txt"])
    main(["report", "-o", str(tmp / "lab.html")] + logs + ["fixtures/realengine"])
    b = Browser(exe, width=1000)
    try:
        b.open((tmp / "005.html").as_uri())
        b.screenshot(str(ROOT / "docs" / "stack-005.png"), width=1000, max_height=1400,
                     selector="section.stack")
        b.open((tmp / "lab.html").as_uri())
        b.screenshot(str(ROOT / "docs" / "lab-fixtures.png"), width=1000, max_height=1150)
    finally:
        b.close()
    for name in ("stack-005.png", "lab-fixtures.png"):
        size = (ROOT / "docs" / name).stat().st_size
        print("docs/%s: %d KB%s" % (name, size // 1024, "" if size < LIMIT else " (too big)"))
    return 0


if __name__ == "__main__":
    sys.exit(main_())
