"""DML (WinDbg's Debugger Markup Language): the text report with links and colours.

Frame numbers link to `.frame /c`, with a `dv /V` link beside; modules to `lmvm`; the thread to
`!thread`. Every string that came from the target is escaped, so a crafted symbol cannot inject
a command link.
"""

from __future__ import annotations

from typing import List

from stackext.addresses import fmt_addr
from stackext.doublefault import double_fault_trap
from stackext.model import Frame, StackReport
from stackext.render import common as C
from stackext.render import text
from stackext.render.base import RenderOptions, no_text, one_block
from stackext.render.markup import col, esc, link


def _frame_markup(r: StackReport, f: Frame, plain: List[str]) -> List[str]:
    cells = [esc(c) for c in plain]
    cells[0] = link(".frame /c 0x%x" % f.index, plain[0])
    site = esc(f.call_site)
    if f.module:
        bang = f.call_site.find(f.module)
        if bang >= 0:
            site = (esc(f.call_site[:bang]) + link("lmvm %s" % f.module, f.module)
                    + esc(f.call_site[bang + len(f.module):]))
    cells[6] = site
    if f.heavy:
        cells[1] = col("changed", cells[1])
    if f.driver:
        cells[6] = col("emphfg", cells[6])
    dv = link(".frame /c 0x%x; dv /V /t" % f.index, "dv") if not f.inline else ""
    return cells[:1] + [dv] + cells[1:]


def _grid(headers: List[str], plain: List[List[str]], markup: List[List[str]],
          right: List[bool]) -> List[str]:
    """Align columns by the plain text's width, then emit the markup (tags take no width)."""
    widths = [max([len(h)] + [len(r[i]) for r in plain]) for i, h in enumerate(headers)]
    def line(cells_plain, cells_markup):
        parts = []
        for i, (p, m) in enumerate(zip(cells_plain, cells_markup)):
            pad = " " * (widths[i] - len(p))
            last = i == len(headers) - 1
            parts.append(pad + m if right[i] else m + ("" if last else pad))
        return "  ".join(parts).rstrip()
    out = [line(headers, [esc(h) for h in headers]),
           line(["-" * w for w in widths], ["-" * w for w in widths])]
    out.extend(line(p, m) for p, m in zip(plain, markup))
    return out


def render_one(r: StackReport, opts: RenderOptions) -> str:
    head = [esc(x) for x in C.header_lines(r)]
    if r.thread is not None:
        t = C.addr(r.thread, r.arch)
        head[0] = head[0].replace(esc(t), link("!thread %s" % t, t), 1)
    if r.overflow:
        head = [col("warnfg", h) if h.startswith("verdict") else h for h in head]
    out = head + [""]
    rows = list(C.table_rows(r))
    markup = [_frame_markup(r, f, p) if f is not None else [""] + [esc(c) for c in p]
              for f, p in rows]
    plain = [p[:1] + ["" if f is None or f.inline else "dv"] + p[1:] for f, p in rows]
    headers = C.FRAME_HEADERS[:1] + ["locals"] + C.FRAME_HEADERS[1:]
    out.extend(_grid(headers, plain, markup, [False, False, True, True, True, False, False, False]))
    for line, index in text.tail_lines(r, opts):
        markup = esc(line)
        if index is not None:
            ref = "#%02x" % index
            at = line.index(ref)
            markup = esc(line[:at]) + link(".frame /c 0x%x" % index, ref) + \
                esc(line[at + len(ref):])
        if line.startswith("warning: "):
            markup = col("warnfg", markup)
        out.append(markup)
    return "\n".join(out)


def double_fault_links(r: StackReport, usage: str = "!py -m stackext.usage") -> str:
    """Links for the way from the double-fault stack to the overflowed thread stack; "" when
    the walk already reaches it."""
    trap = double_fault_trap(r)
    if trap is None:
        return ""
    ptr64 = r.arch != "x86"
    parts = [link(".trap 0x%x" % trap, ".trap %s" % fmt_addr(trap, ptr64))]
    if r.thread:
        parts.append(link(".thread 0x%x" % r.thread, ".thread %s" % fmt_addr(r.thread, ptr64)))
    return "to reach the overflowed thread stack: %s, then %s" % (" or ".join(parts),
                                                                 link(usage, usage))


begin = end = no_text
one = one_block(render_one)
