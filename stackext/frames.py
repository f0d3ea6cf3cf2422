"""`python -m stackext.frames BINARY` (the console command, as `stackext frames`) and
`!py -m stackext.frames MODULE` inside the debugger (a loaded module, the engine's symbols): the
entry decides which (stackext.frames_debugger.module_main). Thin: the command is
stackext.frames_command.
"""

from __future__ import annotations

import sys

from stackext.frames_command import INSTALL_HINT, main
from stackext.frames_debugger import module_main

__all__ = ["INSTALL_HINT", "main", "module_main"]

if __name__ == "__main__":
    status = module_main(sys.argv[1:])
    if status:  # inside WinDbg it is 0: `!py` would report a SystemExit
        sys.exit(status)
