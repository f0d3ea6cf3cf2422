"""Markdown report (GitHub tables), for bug reports and wikis."""

from __future__ import annotations

from tabulate import tabulate

from stackext.model import StackReport
from stackext.render import common as C
from stackext.render.base import RenderOptions, no_text, one_block


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def render_one(r: StackReport, opts: RenderOptions) -> str:
    lines = C.header_lines(r)
    out = ["### " + _esc(lines[0]), ""]
    out.extend("- " + _esc(x) for x in lines[1:])
    out.append("")
    rows = [[_esc(c) for c in cells] for _, cells in C.table_rows(r)]
    out.append(tabulate(rows, headers=C.FRAME_HEADERS, tablefmt="github",
                        disable_numparse=True))
    drivers = C.heaviest_lines(r, True, opts.top)
    if drivers:
        out.append("")
        out.append("**Heaviest driver frames:** " + ", ".join(
            "`#%02x %s` (%s bytes)" % (f.index, f.call_site, C.nbytes(f.size)) for f in drivers))
    if r.modules:
        out.append("")
        out.append(tabulate(C.module_cells(r), headers=["module", "bytes", "frames", "share",
                                                         ""],
                            tablefmt="github", disable_numparse=True))
    for w in r.warnings:
        out.append("")
        out.append("> warning: " + _esc(w))
    return "\n".join(out)


begin = end = no_text
one = one_block(render_one)
