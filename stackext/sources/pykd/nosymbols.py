"""What the symbol setup leaves out, said once: the modules on the stack the debugger has no
symbols for (their frames are module+offset), and a `--symbols` folder that does not exist.

Pure over frames and paths; no pykd.
"""

from __future__ import annotations

import os
from typing import List, Optional

from stackext.model import Frame


def modules_without_symbols(frames: List[Frame]) -> Optional[str]:
    """One warning naming the modules whose frames have no function name (`amdppm+0x334c`), up
    to the first frame in no module (where the unwinder lost track: the rest are stack slots)."""
    names: List[str] = []
    for f in frames:
        if not f.module and not f.inline:
            break
        if f.module and not f.function and not f.inline and f.module not in names:
            names.append(f.module)
    if not names:
        return None
    return ("no symbols for %s on this stack (frames show module+offset, sizes stay right): put "
            "the PDB%s on the symbol path and run %s" % (
                ", ".join(names), "s" if len(names) > 1 else "",
                "; ".join("`.reload /f %s`" % n for n in names)))


def missing_symbol_folders(symbols: Optional[str]) -> List[str]:
    """A warning per `--symbols` folder that does not exist (symbol-server entries such as
    `srv*C:\\sym*https://...` and `cache*` are left to the engine)."""
    out: List[str] = []
    for part in (symbols or "").split(";"):
        part = part.strip()
        if not part or "*" in part or part.lower().startswith(("srv", "cache", "http")):
            continue
        if not os.path.isdir(part):
            out.append("--symbols folder %s does not exist: no symbols load from it" % part)
    return out
