"""Plain-text report: what a kd user reads at a glance. The first line is the headline
(verdict, number, the finding that explains it); a few header lines; the frame table
(render.table, aligned by hand: tags in the DML twin take no width); then one line per rollup.
A file with many stacks starts with a one-line-per-stack summary.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from stackext.model import StackReport
from stackext.render import common as C
from stackext.render import headline as H
from stackext.render import table as T
from stackext.render.base import RenderOptions, no_text, one_block

Line = Tuple[str, Optional[int]]  # the text, and the frame it names (for DML links)


def tail_lines(r: StackReport, opts: RenderOptions) -> List[Line]:
    """Everything after the frame table: why the heaviest frames are big, rollups, cycles,
    warnings. Plain text; the DML renderer links the lines that name a frame."""
    out: List[Line] = [("", None)]
    why = [(i, C.why_lines(r.frame(i))) for i in T.ranked(r, opts.top)]
    why = [(i, lines) for i, lines in why if lines]
    if why:
        out.append(("why the heaviest frames are big:", None))
        for i, lines in why:
            f = r.frame(i)
            out.append(("  #%02x %s" % (i, f.call_site), i))
            out.extend(("        " + line, None) for line in lines)
    rest = C.wrapped("by module:", C.module_items(r), opts.width)
    rest += C.wrapped("more than once:", C.repeated_items(r, opts.functions), opts.width)
    for line in C.cycle_lines(r, opts.wide):
        rest += [line] if line.startswith(" ") else C.wrapped("cycle", [line], opts.width)
    rest += ["warning: %s" % w for w in r.warnings]
    out.extend((x, None) for x in rest)
    return out if len(out) > 1 else []


def frame_table(r: StackReport, opts: RenderOptions) -> List[T.Row]:
    return T.fit(list(T.rows(r, opts)), opts)


def render_one(r: StackReport, opts: RenderOptions) -> str:
    out = [H.headline(r)] + C.header_lines(r) + [""]
    out.extend(T.grid(T.headers(opts, r.arch), [cells for _, cells in frame_table(r, opts)],
                      T.right_aligned(opts)))
    out.extend(line for line, _ in tail_lines(r, opts))
    return "\n".join(out)


def summary_line(r: StackReport) -> str:
    return H.summary_line(r)


def summary(lines: List[str], opts: RenderOptions) -> str:  # noqa: ARG001
    """The summary over the stacks' lines (render/__init__ spools the blocks meanwhile)."""
    return "\n".join(H.summary_lines(lines)) + "\n\n" if len(lines) > 1 else ""


begin = end = no_text
one = one_block(render_one)
