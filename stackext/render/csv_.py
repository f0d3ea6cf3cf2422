"""CSV: one row per frame, every stack in one table (for spreadsheets and test-lab scripts)."""

from __future__ import annotations

import csv
import io
from typing import Optional

from stackext import fastpath
from stackext.addresses import hex_or_none
from stackext.model import StackReport
from stackext.render.base import RenderOptions

COLUMNS = ["source", "thread", "index", "sp", "ret", "size", "size_unknown_reason", "segment",
           "segment_kind", "inline", "driver", "heavy", "module", "function", "call_site",
           "budget", "used", "overflow"]


def _hex(v) -> str:
    return hex_or_none(v) or ""


def _rows(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def begin(opts: RenderOptions) -> str:
    return _rows([COLUMNS])


def one(r: StackReport, opts: RenderOptions, position: int) -> str:
    kinds = {s.index: s.kind.value for s in r.segments}
    rows = [[r.source, _hex(r.thread), f.index, _hex(f.sp), _hex(f.ret),
             "" if f.size is None else f.size,
             f.size_unknown_reason.value if f.size_unknown_reason else "", f.segment,
             kinds.get(f.segment, ""), int(f.inline), int(f.driver), int(f.heavy),
             f.module or "", f.function or "", f.call_site,
             "" if r.budget is None else r.budget,
             "" if r.used is None else r.used, int(r.overflow)] for f in r.frames]
    if fastpath.ENABLED:
        text = _plain(rows)
        if text is not None:
            return text
    return _rows(rows)


_LINE = ",".join(["%s"] * len(COLUMNS)) + "\n"


def _plain(rows) -> Optional[str]:
    """The rows joined by hand when no cell needs quoting (no comma, quote or line break in
    any: exactly len(COLUMNS) - 1 commas and one newline a row) and none is None (which csv
    writes empty; it writes every other cell as str() does); None otherwise (csv writes them)."""
    if any(None in row for row in rows):
        return None
    text = "".join([_LINE % tuple(row) for row in rows])
    if text.count(",") != (len(COLUMNS) - 1) * len(rows) or text.count("\n") != len(rows) \
            or '"' in text or "\r" in text:
        return None
    return text


def end(opts: RenderOptions, count: int) -> str:
    return ""
