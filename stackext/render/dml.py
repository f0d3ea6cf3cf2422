"""DML (WinDbg's Debugger Markup Language): the text report with links and colours.

A frame number links to `.frame 0xN;dv /t /v`, as WinDbg's own `kM` does: the scope moves, the
register context does not (`.frame /c` would switch it). A row is linked only where `.frame N`
lands on it: frames the engine's walk numbered (inline ones included: `.frame` counts them), not
frames a raw scan found, and not when a `.frame /c`/`.cxr` context renumbers the engine's frames
(RenderOptions.frame_links False). Modules link to `lmDvm` as `lm` does; the thread to
`!thread`. Colours as WinDbg uses them: an OVERFLOW in `errfg`, CLOSE and HEAVY in `warnfg`,
third-party frames in `emphfg`. Every string that came from the target is escaped, so a crafted
symbol cannot inject a command link.
"""

from __future__ import annotations

from typing import List

from stackext.addresses import fmt_addr
from stackext.doublefault import double_fault_trap
from stackext.kinds import FramesFrom, VerdictKind
from stackext.model import Frame, StackReport
from stackext.render import common as C
from stackext.render import headline as H
from stackext.render import table as T
from stackext.render import text
from stackext.render.base import RenderOptions, no_text, one_block
from stackext.render.markup import col, esc, link


def frame_command(index: int) -> str:
    """What a frame number runs: the scope only, then its locals (WinDbg's kM link)."""
    return ".frame 0x%x;dv /t /v" % index


def linkable(r: StackReport, f: Frame, opts: RenderOptions) -> bool:
    """Does `.frame N` land on this row?"""
    return opts.frame_links and r.frames_from == FramesFrom.STACK_WALK and not f.estimated


def _frame_markup(r: StackReport, f: Frame, plain: List[str], opts: RenderOptions) -> List[str]:
    cells = [esc(c) for c in plain]
    if linkable(r, f, opts):
        cells[0] = link(frame_command(f.index), plain[0])
    s = T.site_column(opts)
    site = esc(plain[s])
    if f.module and plain[s].startswith(f.module):
        site = link("lmDvm %s" % f.module, f.module) + esc(plain[s][len(f.module):])
    cells[s] = col("emphfg", site) if f.driver else site
    if f.heavy:
        cells[1] = col("warnfg", cells[1])
    return cells


def _head(r: StackReport) -> List[str]:
    first = esc(H.headline(r))
    if r.verdict == VerdictKind.OVERFLOW:
        first = col("errfg", first)
    elif r.verdict == VerdictKind.CLOSE:
        first = col("warnfg", first)
    head = [esc(x) for x in C.header_lines(r)]
    if r.thread is not None:
        t = C.addr(r.thread, r.arch)
        head[0] = head[0].replace(esc(t), link("!thread %s" % t, t), 1)
    return [first] + head


def render_one(r: StackReport, opts: RenderOptions) -> str:
    out = _head(r) + [""]
    table = text.frame_table(r, opts)
    markup = [_frame_markup(r, f, p, opts) if f is not None else [esc(c) for c in p]
              for f, p in table]
    out.extend(T.grid(T.headers(opts, r.arch), [p for _, p in table], T.right_aligned(opts), markup,
                      esc))
    for line, index in text.tail_lines(r, opts):
        markup_line = esc(line)
        if index is not None and linkable(r, r.frame(index), opts):
            ref = "#%02x" % index
            at = line.index(ref)
            markup_line = esc(line[:at]) + link(frame_command(index), ref) + \
                esc(line[at + len(ref):])
        if line.startswith("warning: "):
            markup_line = col("warnfg", markup_line)
        out.append(markup_line)
    return "\n".join(out)


def double_fault_links(r: StackReport, usage: str) -> str:
    """The way from the double-fault stack to the overflowed thread stack: `.trap` to the
    KTRAP_FRAME (a `.thread` would put back the thread's saved IST context, not help); ""
    when the walk already reaches it."""
    trap = double_fault_trap(r)
    if trap is None:
        return ""
    ptr64 = C.K.ptr64(r.arch)
    return "to reach the overflowed thread stack: %s, then %s" % (
        link(".trap 0x%x" % trap, ".trap %s" % fmt_addr(trap, ptr64)), link(usage, usage))


begin = end = no_text
one = one_block(render_one)
