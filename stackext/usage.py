"""`!py -m stackext.usage [options]`: the in-debugger entry (also `python -m stackext.usage
--dump PATH` with pykd as a library). Thin: no work at import time, so it imports without pykd.
"""

from __future__ import annotations

if __name__ == "__main__":
    import sys

    from stackext import debugger

    status = debugger.main()
    # Outside a debugger the exit status is the interface (scripts, CI); inside WinDbg `!py`
    # would report a SystemExit, so the status stays invisible there.
    if status and not debugger.inside_debugger():
        sys.exit(status)
