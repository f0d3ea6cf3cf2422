"""pykd's findSymbol text -> a frame's call site, module, function and offset.

(To be replaced by stackext.symbols, the one `module!function+0xoff` parser, when that lands.)
"""

from __future__ import annotations

import re
from typing import Optional, Tuple

# findSymbol forms seen on the real engine (no 0x before the displacement, `-` when negative):
#   deep3!big_frame+54     deep2+1684     12345     ntdll!NtWaitForMultipleObjects
#   seed!WinMainCRTStartup-102   (kf prints that one as +0xffffffff`fffffefe)
_SYMBOL = re.compile(r"^(?P<name>.*?)(?:(?P<sign>[+-])(?P<disp>[0-9a-fA-F]+))?$")
# a bare address: findSymbol found no module there, e.g.  12345
_BARE_HEX = re.compile(r"^[0-9a-fA-F]+$")


def parse_symbol(text: str) -> Tuple[str, Optional[str], Optional[str], Optional[int]]:
    """pykd.findSymbol text -> (WinDbg call site, module, function, offset)."""
    text = (text or "").strip()
    if _BARE_HEX.match(text):  # no module at that address
        return "0x" + text.lower(), None, None, None
    m = _SYMBOL.match(text)
    name, disp = m.group("name"), m.group("disp")
    offset = int(disp, 16) if disp else 0
    if m.group("sign") == "-":
        offset = -offset
    module, bang, function = name.partition("!")
    site = name + ("+0x%x" % offset if offset > 0 else "-0x%x" % -offset if offset else "")
    return site, module, (function if bang else None), offset
