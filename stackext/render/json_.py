"""JSON: the contract other tools read (stackext.report_json has the document both ways).

Streams: one stack at a time, a key per line and a frame per line, written by the C encoder
(`indent=` would switch json to its slow pure-Python path).
"""

from __future__ import annotations

import json

from stackext.model import StackReport
from stackext.render.base import RenderOptions
from stackext.report_json import MARKER_BEGIN, MARKER_END, document_head, stack_dict

_LISTS = ("frames", "modules", "functions", "segments")


# Between the pieces of one encoding: a string no piece can print, as json prints it (a string
# value's quotes are always escaped inside it; no key starts with NUL).
_CUT = "\x00stackext-piece\x00"
_CUT_JSON = ", %s, " % json.dumps(_CUT)


def stack_json(r: StackReport, indent: str = "") -> str:
    """One stack's object, each key on a line and each frame on a line, from ONE json.dumps
    call (the pieces come out as json.dumps would print each alone; a call per piece cost a
    third of a big log's time)."""
    d = stack_dict(r)
    pieces = []
    shape = []  # per key: how many list items follow it, or None for a plain value
    for key, value in d.items():
        pieces.append(key)
        if key in _LISTS and value:
            pieces.extend(value)
            shape.append(len(value))
        else:
            pieces.append(value)
            shape.append(None)
    out = json.dumps([x for p in pieces for x in (p, _CUT)][:-1])[1:-1].split(_CUT_JSON)
    pad = indent + "  "
    lines = []
    at = 0
    for count in shape:
        key = out[at]
        if count is None:
            lines.append("%s%s: %s" % (pad, key, out[at + 1]))
            at += 2
        else:
            inner = (",\n" + pad + "  ").join(out[at + 1: at + 1 + count])
            lines.append('%s%s: [\n%s  %s\n%s]' % (pad, key, pad, inner, pad))
            at += 1 + count
    return "{\n" + ",\n".join(lines) + "\n" + indent + "}"


def begin(opts: RenderOptions) -> str:
    head = document_head()
    return (MARKER_BEGIN + "\n" + head) if opts.markers else head


def one(r: StackReport, opts: RenderOptions, position: int) -> str:
    return (",\n" if position else "\n") + "    " + stack_json(r, "    ")


def end(opts: RenderOptions, count: int) -> str:
    tail = "\n  ]" if count else "]"
    if opts.errors:
        tail += ',\n  "errors": [\n    %s\n  ]' % ",\n    ".join(json.dumps(e) for e in opts.errors)
    return tail + "\n}\n" + (MARKER_END + "\n" if opts.markers else "")
