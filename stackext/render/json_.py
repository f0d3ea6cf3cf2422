"""JSON: the contract other tools read (stackext.report_json has the document both ways).

Streams: one stack at a time, a key per line and a frame per line, written by the C encoder
(`indent=` would switch json to its slow pure-Python path).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _esc  # json.dumps's own
from typing import Any, Dict, List

from stackext import fastpath
from stackext.model import StackReport
from stackext.render import json_fast as F
from stackext.render.base import RenderOptions
from stackext.report_json import MARKER_BEGIN, MARKER_END, document_head, stack_dict

_LISTS = ("frames", "modules", "functions", "segments")


def _value(v: Any) -> str:
    """A value as json.dumps prints it: the scalars and lists of ints inline, anything else
    through json.dumps (a str or int enum, a float, a dict)."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    cls = v.__class__
    if cls is str:
        return _esc(v)
    if cls is int:
        return int.__repr__(v)
    if cls is list and all(x.__class__ is int for x in v):  # [], frame numbers
        return "[%s]" % ", ".join(map(int.__repr__, v))
    return json.dumps(v)


def _written(r: StackReport) -> Dict[str, List[str]]:
    """The lists the fast path writes itself (stackext.render.json_fast), when not empty."""
    if not fastpath.ENABLED:
        return {}
    out = {}
    frames = F.frame_lines(r.frames) if r.frames else None
    if frames is not None:
        out["frames"] = frames
    totals = F.total_lines(r.modules, r.functions)
    if totals is not None:
        for key, lines in zip(("modules", "functions"), totals):
            if lines:
                out[key] = lines
    return out


def stack_json(r: StackReport, indent: str = "") -> str:
    """One stack's object, each key on a line and each frame (module, function, segment) on a
    line, as json.dumps prints each value alone."""
    written = _written(r)
    pad = indent + "  "
    between = ",\n" + pad + "  "
    lines = []
    for key, value in stack_dict(r, leave_out=written).items():
        items = written.get(key)
        if items is None and value and key in _LISTS:
            items = [_value(x) for x in value]
        if items is None:
            lines.append('%s"%s": %s' % (pad, key, _value(value)))
        else:
            lines.append('%s"%s": [\n%s  %s\n%s]' % (pad, key, pad, between.join(items), pad))
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
