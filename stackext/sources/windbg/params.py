"""kP rows: WinDbg's `kP` prints each frame's parameters one to a line after the row, the row
ending in "(" and the last parameter line in ")+0xoffset [source @ line]":

    08 0150f2b4 7813b13a urlmon!CUrlMon::StartBinding(
        int fBindToObject = 0,
        void ** ppvObj = 0x0150f2fc)+0x169

The row is read as k prints it (`urlmon!CUrlMon::StartBinding+0x169`): its parameter lines give
the offset and the source, and say nothing of the stack. Imports stackext.model only.
"""

from __future__ import annotations

import re
from typing import Optional

from stackext.model import Frame

# The last parameter line's end: ")", the offset, the source ("... = 0x0150f2fc)+0x169 [x.c @ 9]")
CLOSE_RE = re.compile(r"\)(?:\+0x(?P<off>[0-9a-fA-F]{1,16}))?"
                      r"(?:\s+\[(?P<file>[^\]]*?)\s+@\s+(?P<line>\d{1,9})\s*\])?\s*$")
MAX_PARAM_LINES = 64  # a function's parameters; a longer run is no kP row's


def opened(frame: Frame) -> bool:
    """Does the frame's row end with its parameter list open (kP)? If so its call site and
    function lose the "(" and the row waits for the lines that close the list."""
    site = frame.call_site
    if not site.endswith("(") or frame.function is None:
        return False
    frame.call_site = site[:-1].rstrip()
    if frame.function.endswith("("):
        frame.function = frame.function[:-1].rstrip()
    return True


def tail(frame: Frame, text: str) -> Optional[bool]:
    """A parameter line after a kP row: True when it closes the list (the offset and source are
    the frame's now), False when more follow; None for a line that is no parameter line."""
    if text.endswith(","):
        return False
    m = CLOSE_RE.search(text)
    if m is None or " = " not in text and not text.startswith(("void", "<")):
        return None
    if m.group("off") is not None:
        frame.offset = int(m.group("off"), 16)
        frame.call_site += "+0x" + m.group("off")
    if m.group("file") is not None and frame.source_file is None:
        frame.source_file, frame.source_line = m.group("file").strip(), int(m.group("line"))
    return True
