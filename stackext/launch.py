"""How to run a stackext command again from the debugger this run came from: the command text
for links and hints. WinDbg's `!py` bootstrapper runs `!py -m stackext.usage`; pykd's own `!py`
(pykd.pyd, `.load pykd.pyd`) has no `-m` and runs a script by name: the launchers in scripts/
(`!py stackext.usage`, `!py stackext.threads`) work under both.

Imports nothing from stackext.
"""

from __future__ import annotations

import sys


def command(name: str) -> str:
    """`!py -m stackext.NAME` when this run was started with -m (so this `!py` has -m);
    otherwise the launcher's name, `!py stackext.NAME`."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and getattr(spec, "name", "") == "stackext." + name:
        return "!py -m stackext." + name
    return "!py stackext." + name
