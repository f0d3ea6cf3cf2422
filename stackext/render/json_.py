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


def stack_json(r: StackReport, indent: str = "") -> str:
    d = stack_dict(r)
    pad = indent + "  "
    lines = []
    for key, value in d.items():
        if key in _LISTS and value:
            inner = (",\n" + pad + "  ").join(json.dumps(v) for v in value)
            lines.append('%s%s: [\n%s  %s\n%s]' % (pad, json.dumps(key), pad, inner, pad))
        else:
            lines.append("%s%s: %s" % (pad, json.dumps(key), json.dumps(value)))
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
