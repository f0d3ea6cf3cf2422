"""Run `python -m stackext.frames MODULE --dump DUMP --symbols PATH` under the Windows Python
with the real pykd, the way a user does outside the debugger (the same in-debugger code path as
`!py -m stackext.frames MODULE`), recording every pykd call.

    python.exe run_frames.py OUT.json -- [stackext.frames arguments]

Writes OUT.json: {"rc", "stdout", "calls"}.
"""

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

    rc, printed, log = callrec.run_entry(frames_debugger.main, argv, real)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"rc": rc, "stdout": printed, "calls": log}, f, indent=1)


if __name__ == "__main__":
    main()
