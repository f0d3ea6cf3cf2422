"""Where the real logs are, for the tests that read many of them (the HTML pages)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures"
DF = str(FIX / "005_ql2300_0x7f8_thread_base_limit_x64.txt")
LOGS = sorted(str(p) for p in FIX.glob("*.txt")) + sorted(str(p) for p in
                                                         (FIX / "realengine").glob("*.txt"))
# a symbol name crafted to break out of HTML and DML: it must stay text everywhere
CRAFTED = "ev&il!Tpl<a,\"b'>::</script><img/src=x>"
