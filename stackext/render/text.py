"""Plain-text report (tabulate): what a kd user reads at a glance."""

from __future__ import annotations

from typing import List

from tabulate import tabulate

from stackext.model import StackReport
from stackext.render import RenderOptions, no_text, one_block
from stackext.render import common as C


def tail_lines(r: StackReport, opts: RenderOptions) -> List[str]:
    """Everything after the frame table: heaviest frames and why, rollups, cycles, warnings.
    Plain text; the DML renderer adds links to the same lines."""
    out = [""]
    drivers = C.heaviest_lines(r, True, opts.top)
    if drivers:
        out.append("heaviest driver frames (yours to fix):")
        for f in drivers:
            out.append("  #%02x %8s bytes  %s" % (f.index, C.nbytes(f.size), f.call_site))
            out.extend("        " + line for line in C.why_lines(f))
    else:
        out.append("heaviest driver frames: none (no third-party frame with a known size)")
    heavy = C.heaviest_lines(r, False, opts.top)
    if heavy:
        out.append("heaviest frames:")
        for f in heavy:
            out.append("  #%02x %8s bytes  %s%s" % (f.index, C.nbytes(f.size), f.call_site,
                                                  "  (driver)" if f.driver else ""))
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
    rows = [C.frame_cells(r, f) for f in r.frames]
    out.append(tabulate(rows, headers=C.FRAME_HEADERS, tablefmt="simple",
                        colalign=C.FRAME_ALIGN, disable_numparse=True))
    out.extend(tail_lines(r, opts))
    return "\n".join(out)


begin = end = no_text
one = one_block(render_one)
