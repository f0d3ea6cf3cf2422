"""Plain-text report (tabulate): what a kd user reads at a glance."""

from __future__ import annotations

from typing import List, Optional, Tuple

from tabulate import tabulate

from stackext.model import StackReport
from stackext.render import common as C
from stackext.render.base import RenderOptions, no_text, one_block

Line = Tuple[str, Optional[int]]  # the text, and the frame it names (for DML links)


def tail_lines(r: StackReport, opts: RenderOptions) -> List[Line]:
    """Everything after the frame table: heaviest frames and why, rollups, cycles, warnings.
    Plain text; the DML renderer links the lines that name a frame."""
    return [(x, None) if isinstance(x, str) else x for x in _tail(r, opts)]


def _frame_line(f, suffix: str = "") -> Line:
    return ("  #%02x %8s bytes  %s%s" % (f.index, C.nbytes(f.size), f.call_site, suffix),
            f.index)


def _tail(r: StackReport, opts: RenderOptions) -> list:
    out: list = [""]
    drivers = C.heaviest_lines(r, True, opts.top)
    if drivers:
        out.append("heaviest driver frames (yours to fix):")
        for f in drivers:
            out.append(_frame_line(f))
            out.extend("        " + line for line in C.why_lines(f))
    else:
        out.append("heaviest driver frames: none (no third-party frame with a known size)")
    heavy = C.heaviest_lines(r, False, opts.top)
    if heavy:
        out.append("heaviest frames:")
        for f in heavy:
            out.append(_frame_line(f, "  (driver)" if f.driver else ""))
            if not f.driver:
                out.extend("        " + line for line in C.why_lines(f))
    if r.modules:
        out.append("")
        out.extend(tabulate(C.module_cells(r), headers=["module", "bytes", "frames", "share",
                                                         ""],
                            tablefmt="simple", colalign=("left", "right", "right", "right",
                                                         "left"),
                            disable_numparse=True).splitlines())
    repeated = [fn for fn in r.functions if fn.count > 1]
    if repeated:
        out.append("")
        out.append("functions on the stack more than once:")
        for fn in repeated[: opts.functions]:
            out.append("  %3dx %8s bytes  %s" % (fn.count, C.nbytes(fn.bytes), fn.function))
    cyc = C.cycle_lines(r)
    if cyc:
        out.append("")
        out.append("repeated call cycles:")
        out.extend("  " + line for line in cyc)
    if r.warnings:
        out.append("")
        out.extend("warning: %s" % w for w in r.warnings)
    return out


def render_one(r: StackReport, opts: RenderOptions) -> str:
    out = list(C.header_lines(r))
    out.append("")
    rows = [cells for _, cells in C.table_rows(r)]
    out.append(tabulate(rows, headers=C.FRAME_HEADERS, tablefmt="simple",
                        colalign=C.FRAME_ALIGN, disable_numparse=True))
    out.extend(line for line, _ in tail_lines(r, opts))
    return "\n".join(out)


begin = end = no_text
one = one_block(render_one)
