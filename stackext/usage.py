"""`!py -m stackext.usage [options]`: the in-debugger entry (also `python -m stackext.usage
--dump PATH` with pykd as a library). Thin: no work at import time, so it imports without pykd.
"""

from __future__ import annotations

if __name__ == "__main__":
    from stackext import debugger

    debugger.main()
