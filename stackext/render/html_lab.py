"""The lab page: one row per stack, the used-share histogram, per third-party module and function
how often it sits on a hot stack, and each stack's own picture in the same file.

Written in pieces so the caller can stream: rows and sections as stacks come, the summary (which
needs every stack) at the end. Each stack's picture (Python's display list, html_picture.primitives)
and frame table travel as a line of gzip'd JSON in base64 inside one inert <script>, and the
page's script draws a stack's section when its link is followed: that keeps a 10,000-stack page
fast to open. Without script the summary and the
stack table are complete; the per-stack pictures need the script (the page says so).
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any, Dict, List, Optional

from stackext.lab_stats import NEAR, LabStats, Tally
from stackext.render import html as H
from stackext.render import html_picture as P
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
    bar = "" if pct is None else ' class="u %s" style="--p:%.1f%%"' % (kind, min(pct, 100.0))
    # one element a cell (the link is one, the bar is a cell's background): 10,000 rows stay
    # cheap to build and lay out
    return ('<div class="r" data-kind="%s"><span data-v="%d">%d</span>'
            '<a href="#%s">%s</a><span class="k-%s">%s%s</span>'
            '<span data-v="%s">%s</span><span%s>%s</span><span data-v="%s">%s</span></div>\n'
            % (kind, d["_position"], d["_position"], T.stack_id(d), T.esc(d.get("source") or ""),
               kind, KIND_WORD[kind], T.esc(T.clip(T.verdict_tail(d), 90)),
               -1 if pct is None else pct, "?" if pct is None else "%.0f%%" % pct, bar,
               T.esc(used), -1 if top is None else top.get("size") or 0, T.esc(heavy)))


def stack_data(d: Dict[str, Any]) -> str:
    """One line of the page's stack data: the stack's heading, verdict, facts, picture (as a
    display list) and frame table, as gzip'd JSON in base64 -- no `<` for the HTML tokenizer to
    look at, and no element until the script draws it (the row's link asks for it)."""
    pic = P.primitives(d)
    rich = {f["index"] for f in d["frames"] if f.get("locals") or f.get("layout")}
    for p in pic["p"]:
        if p[0] == "b" and p[6] is not None:  # the script makes both from the frame's row
            p[8] = None
            if p[6] not in rich:
                p[9] = None
    data = {"source": d.get("source") or "", "kind": T.kind_of(d), "headline": T.headline(d),
            "facts": H.facts(d), "pic": pic, "frames": H.frame_cells(d)}
    return base64.b64encode(gzip.compress(json.dumps(data, separators=(",", ":")).encode(),
                                          9, mtime=0)).decode("ascii") + "\n"


ROWS_HEAD = ('<h2 id="stacks-head">Stacks</h2>'
             '<div class="controls" hidden><input id="filter" type="search" '
             'placeholder="filter: source, verdict, driver" aria-label="filter"> '
             '<select id="kind" aria-label="verdict"><option value="">every verdict</option>'
             '<option value="overflow">overflow</option><option value="near">\u2265%d%%</option>'
             '<option value="ok">ok</option><option value="unknown">no budget</option></select> '
             '<span id="shown"></span> shown</div>'
             # a grid of divs, not a table: rows off screen skip layout (content-visibility),
             # which a 10,000-row <table> cannot do
             '<div id="stacks" role="table"><div class="r head" role="row">'
             '<span role="columnheader" data-sort="num">#</span>'
             '<span role="columnheader" data-sort="text">source</span>'
             '<span role="columnheader" data-sort="text">verdict</span>'
             '<span role="columnheader" data-sort="num">used</span>'
             '<span role="columnheader">used / budget (bytes)</span>'
             '<span role="columnheader" data-sort="num">heaviest driver frame</span></div>\n'
             % NEAR)
ROWS_TAIL = "</div>\n"
SECTIONS_HEAD = ('<h2>Each stack</h2><div id="legend">' + H.LEGEND + '</div><noscript><p>Each '
                 'stack\'s picture and frame table are drawn by this page\'s script. Without '
                 'it, draw one with <code>stackext usage --format html FILE</code>.</p>'
                 '</noscript><div id="stack-views"></div>'
                 '<script type="application/x-stackext-gzip" id="stack-data">\n')
SECTIONS_TAIL = "</script>\n"


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
    """The top of the page: the counts, the files that could not be read, the histogram and the
    third-party modules."""
    k = stats.kinds
    bad_html = "" if not bad else ('<h2 class="bad">Files that could not be read (%d)</h2>'
                                   '<ul class="bad">%s</ul>' % (len(bad), "".join(
                                       "<li>%s</li>" % T.esc(b) for b in bad)))
    return ('<h1>stackext lab report</h1><p class="verdict %s">%d stacks from %d files: '
            '%d overflowed, %d at or above %d%% of their budget, %d below, %d without a budget'
            '</p>%s<h2>Used share of the budget</h2>%s%s'
            % ("overflow" if k["overflow"] else "near" if k["near"] else "ok", stats.count,
               files, k["overflow"], k["near"], NEAR, k["ok"], k["unknown"], bad_html,
               _histogram(stats),
               _tally_table("Third-party modules", "module", LabStats.ranked(stats.modules))))


def functions(stats: LabStats) -> str:
    """Third-party functions, the most often on hot stacks first (below the stack rows)."""
    funcs = LabStats.ranked(stats.functions, FUNCTIONS_SHOWN)
    more = len(stats.functions) - len(funcs)
    return _tally_table("Third-party functions", "function", funcs) + (
        "<p>%d more functions not shown.</p>" % more if more > 0 else "")
