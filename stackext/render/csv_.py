"""CSV: one row per frame, every stack in one table (for spreadsheets and test-lab scripts)."""

from __future__ import annotations

import csv
import io
from typing import Optional

from stackext import fastpath
from stackext.addresses import hex_or_none
from stackext.model import StackReport
from stackext.render.base import RenderOptions

COLUMNS = ["source", "thread", "index", "sp", "ret", "size", "size_unknown_reason", "size_note",
           "segment", "segment_kind", "inline", "driver", "heavy", "module", "function",
           "call_site", "budget", "used", "overflow"]


def _hex(v) -> str:
    return hex_or_none(v) or ""


def _rows(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def begin(opts: RenderOptions) -> str:
    return _rows([COLUMNS])


def one(r: StackReport, opts: RenderOptions, position: int) -> str:
    if fastpath.ENABLED:
        text = _plain(r)
        if text is not None:
            return text
    kinds = {s.index: s.kind.value for s in r.segments}
    rows = [[r.source, _hex(r.thread), f.index, _hex(f.sp), _hex(f.ret),
             "" if f.size is None else f.size,
             f.size_unknown_reason.value if f.size_unknown_reason else "",
             f.size_note.value if f.size_note else "", f.segment,
             kinds.get(f.segment, ""), int(f.inline), int(f.driver), int(f.heavy),
             f.module or "", f.function or "", f.call_site,
             "" if r.budget is None else r.budget,
             "" if r.used is None else r.used, int(r.overflow)] for f in r.frames]
    return _rows(rows)


# A frame's cells from index to call_site as csv.writer writes them when none needs quoting
# and none is None: str() of each, the three flags as ints (%d: what int() then str() give).
_FRAME = "%s,%s,%s,%s,%s,%s,%s,%s,%d,%d,%d,%s,%s,%s"


def _plain(r: StackReport) -> Optional[str]:
    """The stack's rows written by hand from its frames, the cells the stack shares written
    once; None when csv.writer must write them. It writes every cell as str() does (a float as
    repr(), the same) except a None (empty) and a cell holding a comma, quote or line break
    (quoted): the text then has other than len(COLUMNS) - 1 commas and one newline a row, a
    quote, a CR or a "None" (also a function so named: csv.writer then writes that stack).
    Scanning the text so is C speed; checking the string cells one by one costs more."""
    frames = r.frames
    try:
        head = "%s,%s," % (r.source, _hex(r.thread))
        tail = ",%s,%s,%d\n" % ("" if r.budget is None else r.budget,
                                "" if r.used is None else r.used, r.overflow)
        kinds = {s.index: s.kind.value for s in r.segments}
        line = head.replace("%", "%%") + _FRAME + tail.replace("%", "%%")
        text = "".join([line % (
            f.index, "" if f.sp is None else "0x%x" % f.sp, "" if f.ret is None else "0x%x" % f.ret,
            "" if f.size is None else f.size,
            f.size_unknown_reason.value if f.size_unknown_reason else "",
            f.size_note.value if f.size_note else "", f.segment,
            kinds.get(f.segment, ""), f.inline, f.driver, f.heavy,
            f.module or "", f.function or "", f.call_site) for f in frames])
    except (TypeError, ValueError, OverflowError):  # a flag no number...: the full path says
        return None
    n = len(frames)
    if text.count(",") != (len(COLUMNS) - 1) * n or text.count("\n") != n or '"' in text \
            or "\r" in text or "None" in text:
        return None
    return text


def end(opts: RenderOptions, count: int) -> str:
    return ""
