"""The lab page: one row per stack, the used-share histogram, per third-party module and function
how often it sits on a hot stack, and each stack's own picture in the same file.

Written in pieces so the caller can stream: rows and sections as stacks come, the summary (which
needs every stack) at the end. Each stack's picture and frame table travel as inert text (a
<script type="text/x-stackext-section"> the browser does not parse as HTML) and are drawn when
asked for: that keeps a 10,000-stack page fast to open. Without script the summary and the
stack table are complete; the per-stack pictures need the script (the page says so).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from stackext.lab_stats import NEAR, LabStats, Tally
from stackext.render import html as H
from stackext.render import html_text as T

KIND_WORD = {"overflow": "OVERFLOW", "near": "\u2265%d%%" % NEAR, "ok": "ok",
             "unknown": "no budget"}
FUNCTIONS_SHOWN = 100


def stack_row(d: Dict[str, Any], kind: str) -> str:
    pct, budget = d.get("percent"), d.get("budget")
    frames = {f["index"]: f for f in d.get("frames") or []}
    top = frames.get((d.get("heaviest_drivers") or [None])[0])
    heavy = "" if top is None else "%s %s" % (T.n(top.get("size")), top.get("call_site"))
    used = "%s%s / %s" % ("\u2265" if d.get("used_is_lower_bound") else "", T.n(d.get("used")),
                          T.n(budget))
    bar = "" if pct is None else '<span class="usedbar %s"><span style="width:%.1f%%"></span>' \
        '</span>' % (kind, min(pct, 100.0))
    return ('<tr data-kind="%s"><td data-v="%d">%d</td><td><a href="#%s">%s</a></td>'
            '<td class="k-%s">%s: %s</td><td data-v="%s">%s</td><td>%s %s</td>'
            '<td data-v="%s">%s</td></tr>\n'
            % (kind, d["_position"], d["_position"], T.stack_id(d), T.esc(d.get("source") or ""),
               kind, KIND_WORD[kind], T.esc(T.clip(d.get("verdict") or "", 90)),
               -1 if pct is None else pct, "?" if pct is None else "%.0f%%" % pct, bar,
               T.esc(used), -1 if top is None else top.get("size") or 0, T.esc(heavy)))


def stack_lazy(d: Dict[str, Any]) -> str:
    """The stack's section: its heading and verdict now, the rest as inert text."""
    body = H.stack_body(d)
    return ('<section class="stack lazy" id="%s"><h2>%s</h2><p class="verdict %s">%s</p>'
            '<script type="text/x-stackext-section"><div>%s</div></script></section>\n'
            % (T.stack_id(d), T.esc(d.get("source") or ""), T.kind_of(d), T.esc(T.headline(d)),
               body))


ROWS_HEAD = ('<h2 id="stacks-head">Stacks</h2>'
             '<div class="controls" hidden><input id="filter" type="search" '
             'placeholder="filter: source, verdict, driver" aria-label="filter"> '
             '<select id="kind" aria-label="verdict"><option value="">every verdict</option>'
             '<option value="overflow">overflow</option><option value="near">\u2265%d%%</option>'
             '<option value="ok">ok</option><option value="unknown">no budget</option></select> '
             '<span id="shown"></span> shown</div>'
             '<table id="stacks" class="sortable"><thead><tr><th data-sort="num">#</th>'
             '<th data-sort="text">source</th><th data-sort="text">verdict</th>'
             '<th data-sort="num">used</th><th>used / budget (bytes)</th>'
             '<th data-sort="num">heaviest driver frame</th></tr></thead><tbody>\n' % NEAR)
ROWS_TAIL = "</tbody></table>\n"
SECTIONS_HEAD = ('<h2>Each stack</h2><noscript><p>Each stack\'s picture and frame table are '
                 'drawn by this page\'s script. Without it, draw one with <code>stackext usage '
                 '--format html FILE</code>.</p></noscript>\n')


def _histogram(stats: LabStats) -> str:
    buckets: List[Optional[int]] = list(range(11)) + [None]
    peak = max([stats.histogram[b] for b in buckets] + [1])
    bars = []
    for k, b in enumerate(buckets):
        count = stats.histogram[b]
        h = 120.0 * count / peak
        label = "none" if b is None else ("\u2265100" if b == 10 else "%d-%d" % (b * 10,
                                                                              b * 10 + 9))
        cls = "unknown" if b is None else ("overflow" if b == 10 else "near" if b == 9 else "")
        x = 10 + k * 52
        bars.append('<g><title>%s %% of budget: %d stacks</title><rect class="%s" x="%d" '
                    'y="%.1f" width="44" height="%.1f"/><text x="%d" y="%.1f">%d</text>'
                    '<text x="%d" y="152">%s</text></g>'
                    % (label, count, cls, x, 130 - h, h, x + 4, 126 - h, count, x + 2, label))
    return ('<svg class="hist" width="640" height="160" role="img" aria-label="histogram of '
            'used share">%s</svg>' % "".join(bars))


def _tally_rows(rows: List[Tally]) -> str:
    out = []
    for t in rows:
        big, typ = t.largest, t.typical
        at = "" if t.largest_at is None else ' <a href="#s%d">%s</a>' % (
            t.largest_at[1], T.esc(T.clip(t.largest_at[2], 60)))
        out.append('<tr><td>%s</td><td data-v="%d">%d</td><td data-v="%d">%d</td>'
                   '<td data-v="%.4f">%.0f%%</td><td data-v="%d">%s%s</td><td data-v="%s">%s</td>'
                   '</tr>' % (T.esc(t.name), t.stacks, t.stacks, t.hot, t.hot,
                              t.hot / t.stacks if t.stacks else 0,
                              100.0 * t.hot / t.stacks if t.stacks else 0, -1 if big is None
                              else big, T.n(big), at, -1 if typ is None else typ,
                              "?" if typ is None else "{:,.0f}".format(typ)))
    return "".join(out)


def _tally_table(title: str, what: str, rows: List[Tally]) -> str:
    if not rows:
        return "<h2>%s</h2><p>none</p>" % title
    return ('<h2>%s</h2><table class="sortable tally"><thead><tr><th data-sort="text">%s</th>'
            '<th data-sort="num">stacks</th><th data-sort="num">on hot stacks</th>'
            '<th data-sort="num">share hot</th><th data-sort="num">largest frame</th>'
            '<th data-sort="num">typical (median)</th></tr></thead><tbody>%s</tbody></table>'
            % (title, what, _tally_rows(rows)))


def summary(stats: LabStats, files: int, bad: List[str]) -> str:
    k = stats.kinds
    bad_html = "" if not bad else ('<h2 class="bad">Files that could not be read (%d)</h2>'
                                   '<ul class="bad">%s</ul>' % (len(bad), "".join(
                                       "<li>%s</li>" % T.esc(b) for b in bad)))
    funcs = LabStats.ranked(stats.functions, FUNCTIONS_SHOWN)
    more = len(stats.functions) - len(funcs)
    return ('<h1>stackext lab report</h1><p class="verdict %s">%d stacks from %d files: '
            '%d overflowed, %d at or above %d%% of their budget, %d below, %d without a budget'
            '</p>%s<h2>Used share of the budget</h2>%s%s%s%s'
            % ("overflow" if k["overflow"] else "near" if k["near"] else "ok", stats.count,
               files, k["overflow"], k["near"], NEAR, k["ok"], k["unknown"], bad_html,
               _histogram(stats),
               _tally_table("Third-party modules", "module", LabStats.ranked(stats.modules)),
               _tally_table("Third-party functions", "function", funcs),
               "<p>%d more functions not shown.</p>" % more if more > 0 else ""))
