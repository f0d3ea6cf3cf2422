"""CSV: one row per frame, every stack in one table (for spreadsheets and test-lab scripts)."""

from __future__ import annotations

import csv
import io
from typing import List

from stackext.model import StackReport
from stackext.render import RenderOptions

COLUMNS = ["source", "thread", "index", "sp", "ret", "size", "size_unknown_reason", "segment",
           "segment_kind", "inline", "driver", "heavy", "module", "function", "call_site",
           "budget", "used", "overflow"]


def _hex(v):
    return "" if v is None else "0x%x" % v


def render(reports: List[StackReport], opts: RenderOptions) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in reports:
        kinds = {s.index: s.kind for s in r.segments}
        for f in r.frames:
            w.writerow([r.source, _hex(r.thread), f.index, _hex(f.sp), _hex(f.ret),
                        "" if f.size is None else f.size, f.size_unknown_reason or "", f.segment,
                        kinds.get(f.segment, ""), int(f.inline), int(f.driver), int(f.heavy),
                        f.module or "", f.function or "", f.call_site,
                        "" if r.budget is None else r.budget,
                        "" if r.used is None else r.used, int(r.overflow)])
    return buf.getvalue()
