"""Markdown report (GitHub tables), for bug reports and wikis."""

from __future__ import annotations

from tabulate import tabulate

from stackext.model import StackReport
from stackext.render import common as C
from stackext.render import headline as H
from stackext.render import table as T
from stackext.render.base import RenderOptions, no_text, one_block


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def render_one(r: StackReport, opts: RenderOptions) -> str:
    out = ["### " + _esc(H.headline(r)), ""]
    out.extend("- " + _esc(x) for x in C.header_lines(r))
    out.append("")
    rows = [[_esc(c) for c in cells] for _, cells in T.rows(r, opts)]
    out.append(tabulate(rows, headers=T.headers(opts, r.arch), tablefmt="github",
                        disable_numparse=True))
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
