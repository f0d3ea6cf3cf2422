"""Past pykd's 1,024-frame cap: getStack stops at 1,024 frames (kdlib's fixed buffer), the
engine's own walk does not (`knf 0x2000`). Its text is read with the WinDbg row parser and the
frames from 1,024 on are appended to the walked ones, numbered as knf numbers them.

Goes through the adapter only (one dbgCommand).
"""

from __future__ import annotations

import importlib
from typing import List, Optional

from stackext.model import Frame
from stackext.sources.pykd.adapter import Debugger, DebuggerError, first_line

# `knf` takes a frame count up to 0xffff; 0x2000 is what WinDbg users type for deep stacks.
KNF_COUNT = 0x2000


def engine_rows(text: str) -> List[Frame]:
    """The frames of `knf N` output, in order (an unreadable row ends the list: numbering must
    not drift). The WinDbg row parser is imported here, past pykd's 1,024 frames only: every
    `!py` is a fresh interpreter."""
    rows = importlib.import_module("stackext.sources.windbg.rows")
    layout = None
    frames: List[Frame] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if layout is None:
            layout = rows.parse_header(line.strip())
            continue
        if not line.strip():
            if frames:
                break
            continue
        row = rows.parse_row(line.strip(), layout, lineno)
        if row is None or row.frame.index != len(frames):
            break
        frames.append(row.frame)
    return frames


def continue_walk(dbg: Debugger, walked: List[Frame], notes: List[str]) -> Optional[List[Frame]]:
    """walked + knf's frames beyond it, when knf agrees with the walk on every walked frame's
    Child-SP; None (with a note) when it cannot be had."""
    try:
        text = dbg.command("knf 0x%x" % KNF_COUNT)
    except DebuggerError as exc:
        notes.append("cannot continue the walk past frame %d with knf (%s)"
                     % (len(walked) - 1, first_line(exc)))
        return None
    rows = engine_rows(text)
    same = len(rows) >= len(walked) and all(
        r.sp == f.sp and r.inline == f.inline for r, f in zip(rows, walked))
    if not same:
        notes.append("knf 0x%x does not agree with pykd's walk on its first %d frames: the walk "
                     "is not continued" % (KNF_COUNT, len(walked)))
        return None
    more = rows[len(walked):]
    for f in more:
        f.line = None
    if more:
        notes.append("pykd's walk stops at %d frames: frames %x-%x are the engine's own walk "
                     "(knf 0x%x)" % (len(walked), len(walked), len(rows) - 1, KNF_COUNT))
    return walked + more
