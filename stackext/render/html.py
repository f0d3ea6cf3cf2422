"""HTML: one self-contained page per run (inline SVG, CSS and a little script; no network, no
CDN), built from each stack's JSON dict (report_json.stack_dict), so it reads what other tools read.

Without its script the page is complete: the picture (details in each block's SVG <title>) and
the tables. The script adds sorting, click-for-details and, on the lab page, lazy pictures.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List

from stackext.render import html_svg
from stackext.render import html_text as T
from stackext.render.base import RenderOptions
from stackext.report_json import stack_dict

_HERE = os.path.dirname(os.path.abspath(__file__))


def asset(name: str) -> str:
    """The stylesheet or script inlined into each page (package data next to this module)."""
    with open(os.path.join(_HERE, name), encoding="utf-8") as fh:
        return fh.read()


# Hatch patterns, once per page (a pattern inside a hidden picture would not paint elsewhere).
DEFS = ('<svg class="defs" width="0" height="0" aria-hidden="true"><defs>'
        '<pattern id="stackext-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect class="hatch-bg" width="6" height="6"/>'
        '<line class="hatch-line" x1="0" y1="0" x2="0" y2="6"/></pattern>'
        '<pattern id="stackext-guard" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(-45)"><rect class="guard-bg" width="6" height="6"/>'
        '<line class="guard-line" x1="0" y1="0" x2="0" y2="6"/></pattern>'
        '</defs></svg>')

LEGEND = ('<p class="legend"><span class="sw drv"></span>third-party driver '
          '<span class="sw ms"></span>Windows (inbox) module '
          '<span class="sw unk"></span>size unknown (fixed height, not to scale) or bytes '
          'whose owner is unknown <span class="sw start"></span>start area '
          '<span class="sw guard"></span>guard page <span class="sw past"></span>past '
          'StackLimit <span class="sw hw"></span>high-water mark '
          '<span class="sw cyc"></span>repeated call cycle \u00d7N '
          '\u25c6 inline frames inside</p>')


def page_head(title: str) -> str:
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="generator" content="stackext">'
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
            '<title>%s</title><style>%s</style></head><body>%s\n'
            % (T.esc(title), asset("html_page.css"), DEFS))


def page_tail() -> str:
    return "<script>%s</script></body></html>\n" % asset("html_page.js")


def facts(d: Dict[str, Any]) -> List[str]:
    who = "%s %s" % (d.get("arch"), "kernel" if d.get("kernel") else "user")
    if d.get("thread"):
        who += ", thread %s" % T.addr(T.num(d["thread"]), d)
    if d.get("image") or d.get("state"):
        who += " (%s)" % ", ".join(x for x in (d.get("image"), d.get("state")) if x)
    out = [who]
    bc = d.get("bugcheck")
    if bc:
        out.append("bugcheck %s (%s)" % (bc["code"], ", ".join(a or "?" for a in bc["args"])))
    out.append(T.used_text(d))
    if d.get("budget") is not None:
        out.append("budget %s bytes: %s" % (T.n(d["budget"]), d.get("budget_note") or
                                            d.get("budget_origin")))
    if d.get("not_shown"):
        out.append("the frames stop %s bytes below StackBase: the log or walk ends before the "
                   "thread's start" % T.n(d["not_shown"]))
    return out


def _table(head: List[str], sorts: str, rows: List[str], cls: str) -> str:
    ths = "".join('<th data-sort="%s">%s</th>' % ("num" if s == "n" else "text", h)
                  for h, s in zip(head, sorts))
    return ('<table class="%s"><thead><tr>%s</tr></thead><tbody>%s</tbody></table>'
            % (cls, ths, "".join(rows)))


def frame_cells(d: Dict[str, Any]) -> List[list]:
    """Per frame: [row id, classes, index, size, depth, share of budget %, notes, call site]."""
    out = []
    budget = d.get("budget")
    for f in d["frames"]:
        size, dep = f.get("size"), T.depth(d, f)
        share = round(100.0 * size / budget, 2) if size and budget and \
            f.get("segment") == d.get("thread_segment") else None
        cls = " ".join(c for c, on in (("drv", f.get("driver")), ("unk", size is None),
                                       ("inl", f.get("inline")), ("heavy", f.get("heavy")))
                       if on)
        out.append([T.frame_id(d, f), cls, f["index"], size, dep, share,
                    ", ".join(T.marks(f)), f.get("call_site") or ""])
    return out


def frame_rows(d: Dict[str, Any]) -> List[str]:
    """The frame table's rows (the script's frameTable makes the same from frame_cells)."""
    rows = []
    for row_id, cls, index, size, dep, share, notes, site in frame_cells(d):
        bar = "" if share is None else '<span class="bar" style="width:%.1f%%"></span>' % min(
            share, 100)
        rows.append(
            '<tr id="%s" class="%s"><td data-v="%d">%02x</td><td data-v="%s">%s</td>'
            '<td data-v="%s">%s</td><td data-v="%s">%s</td><td>%s</td><td>%s</td></tr>'
            % (row_id, cls, index, index, -1 if size is None else size, T.n(size),
               -1 if dep is None else dep, "" if dep is None else T.n(dep),
               -1 if share is None else share, bar, T.esc(notes), T.esc(site)))
    return rows


def _modules(d: Dict[str, Any]) -> str:
    rows = ['<tr class="%s"><td>%s</td><td data-v="%d">%s</td><td data-v="%d">%d</td>'
            '<td data-v="%s">%s</td><td>%s</td></tr>'
            % ("drv" if m.get("driver") else "", T.esc(m["module"]), m["bytes"], T.n(m["bytes"]),
               m["frames"], m["frames"], -1 if m.get("share") is None else m["share"],
               "" if m.get("share") is None else "%.0f%%" % (100 * m["share"]),
               "driver" if m.get("driver") else "") for m in d.get("modules") or []]
    if not rows:
        return ""
    return "<h3>Modules on the budgeted stack</h3>" + _table(
        ["module", "bytes", "frames", "share of used", ""], "tnnnt", rows, "sortable modules")


def _cycles(d: Dict[str, Any]) -> str:
    items = []
    for c in d.get("cycles") or []:
        left = "" if c.get("rounds_left") is None else ", %s%d more rounds fit" % (
            "at most " if c.get("rounds_left_at_most") else "", c["rounds_left"])
        items.append("<li>frames %02x-%02x: a round of %d calls repeats %s<b>\u00d7%d</b>, %s "
                     "bytes per round%s: <code>%s</code></li>"
                     % (c["first_frame"], c["last_frame"], len(c["call_sites"]),
                        "at least " if c.get("repeats_at_least") else "", c["repeats"],
                        T.n(c.get("bytes_per_round")), left,
                        T.esc(" \u2192 ".join(c["call_sites"][:8]))))
    return "<h3>Repeated call cycles</h3><ul>%s</ul>" % "".join(items) if items else ""


def stack_body(d: Dict[str, Any]) -> str:
    """What follows a stack's heading and verdict: facts, picture, details panel, tables."""
    items = "".join("<li>%s</li>" % T.esc(x) for x in facts(d))
    warnings = "".join("<li>%s</li>" % T.esc(w) for w in d.get("warnings") or [])
    return ('<ul class="facts">%s</ul><div class="picwrap">%s</div>%s'
            '<pre class="detail" hidden></pre><h3>Frames (innermost first)</h3>%s%s%s%s'
            % (items, html_svg.svg(d), LEGEND,
               _table(["#", "size", "depth", "share of budget", "notes", "call site"], "nnnntt",
                      frame_rows(d), "sortable frames"),
               _modules(d), _cycles(d),
               "<h3>Warnings</h3><ul>%s</ul>" % warnings if warnings else ""))


def stack_section(d: Dict[str, Any]) -> str:
    """One stack: the headline verdict, the picture, the details panel and the tables."""
    return ('<section class="stack" id="%s"><h2>%s</h2><p class="verdict %s">%s</p>%s</section>\n'
            % (T.stack_id(d), T.esc(d.get("source") or ""), T.kind_of(d), T.esc(T.headline(d)),
               stack_body(d)))


def begin(opts: RenderOptions) -> str:
    return page_head("stackext: where did the stack go?")


def one(r, opts: RenderOptions, position: int) -> str:
    d = stack_dict(r)
    d["_position"] = position
    return T.ascii_html(stack_section(d))


def end(opts: RenderOptions, count: int) -> str:
    return page_tail()
