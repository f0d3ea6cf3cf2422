"""The picture as SVG markup: plays back html_picture's display list (the lab page's script,
picture() in html_page.js, plays back the same list as DOM elements)."""

from __future__ import annotations

from typing import Any, Dict, Optional

from stackext.render import html_text as T
from stackext.render.html_picture import fmt3 as _num
from stackext.render.html_picture import primitives


def svg(d: Dict[str, Any]) -> str:
    """The picture of one stack: a column per segment, outermost stack on the left, joined where
    the stack switched."""
    pic = primitives(d)
    return ('<svg class="pic" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
            'data-scale="%s" role="img" aria-label="%s">%s</svg>'
            % (pic["w"], pic["h"], pic["scale"], T.esc(pic["label"]),
               "".join(_markup(p) for p in pic["p"])))


def _title(text: Optional[str]) -> str:
    return "" if not text else "<title>%s</title>" % T.esc(text)


def _markup(p: list) -> str:
    """One primitive as SVG markup (the script's primitive() makes the same elements)."""
    kind, cls = p[0], T.esc(p[1]) if isinstance(p[1], str) else p[1]
    if kind == "b":
        _, _, x, y, w, h, frame, nbytes, elem_id, title, label = p
        attrs = "" if nbytes is None else ' data-bytes="%d"' % nbytes
        if frame is not None:
            attrs += ' data-frame="%d" id="%s"' % (frame, elem_id)
        text = "" if label is None else '<text x="%s" y="%s">%s</text>' % (
            _num(x + 4), _num(y + min(h, 24) / 2 + 4), T.esc(label))
        return '<g class="%s"%s>%s<rect x="%s" y="%s" width="%s" height="%s"/>%s</g>' % (
            cls, attrs, _title(title), _num(x), _num(y), _num(w), _num(h), text)
    if kind == "r":
        return '<rect class="%s" x="%s" y="%s" width="%s" height="%s">%s</rect>' % (
            cls, _num(p[2]), _num(p[3]), _num(p[4]), _num(p[5]), _title(p[6]))
    if kind == "t":
        return '<text class="%s" x="%s" y="%s">%s</text>' % (cls, _num(p[2]), _num(p[3]),
                                                            T.esc(p[4]))
    if kind == "l":
        return '<line class="%s" x1="%s" y1="%s" x2="%s" y2="%s">%s</line>' % (
            cls, _num(p[2]), _num(p[3]), _num(p[4]), _num(p[5]), _title(p[6]))
    if kind == "p":
        return '<path class="%s" d="%s">%s</path>' % (cls, p[2], _title(p[3]))
    if kind == "n":
        _, _, x0, at, y, text = p
        return ('<g class="lbl %s"><line x1="%s" y1="%s" x2="%s" y2="%s"/>'
                '<text x="%s" y="%s">%s</text></g>' % (cls, _num(x0), _num(at), _num(x0 + 14),
                                                      _num(y - 4), _num(x0 + 16), _num(y),
                                                      T.esc(text)))
    _, x, y, h, repeats, title = p  # "c": a repeated call cycle
    return ('<g class="cycle">%s<rect x="%s" y="%s" width="10" height="%s"/>'
            '<text x="%s" y="%s">\u00d7%d</text></g>' % (_title(title), _num(x), _num(y), _num(h),
                                                        _num(x - 14), _num(y - 3), repeats))
