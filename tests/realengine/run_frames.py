"""Run `python -m stackext.frames MODULE --dump DUMP --symbols PATH` under the Windows Python
with the real pykd, the way a user does outside the debugger (the same in-debugger code path as
`!py -m stackext.frames MODULE`), recording every pykd call.

    python.exe run_frames.py OUT.json -- [stackext.frames arguments]

Writes OUT.json: {"rc", "stdout", "calls"}.
"""

import io
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import callrec  # noqa: E402


def main():
    out_path = sys.argv[1]
    argv = sys.argv[sys.argv.index("--") + 1:]
    import pykd as real

    from stackext import frames_debugger
    from stackext.sources.pykd.adapter import Debugger

    log = []
    buf, saved = io.StringIO(), sys.stdout
    sys.stdout = buf
    try:
        rc = frames_debugger.main(argv, debugger=Debugger(callrec.wrap(real, log)))
    finally:
        sys.stdout = saved
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"rc": rc, "stdout": buf.getvalue(), "calls": log}, f, indent=1)


if __name__ == "__main__":
    main()
