"""JSON: the contract other tools read (stackext.report_json has the document both ways).

Streams: one stack at a time, a key per line and a frame per line, written by the C encoder
(`indent=` would switch json to its slow pure-Python path).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

from stackext import fastpath
from stackext.model import StackReport
from stackext.render import json_fast as F
from stackext.render.base import RenderOptions
from stackext.report_json import MARKER_BEGIN, MARKER_END, document_head, stack_dict

_LISTS = ("frames", "modules", "functions", "segments")


# Between the pieces of one encoding: a string no piece can print, as json prints it (a string
# value's quotes are always escaped inside it; no key starts with NUL).
_CUT = "\x00stackext-piece\x00"
_CUT_JSON = ", %s, " % json.dumps(_CUT)


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
    """One stack's object, each key on a line and each frame on a line, from ONE json.dumps
    call (the pieces come out as json.dumps would print each alone; a call per piece cost a
    third of a big log's time)."""
    written = _written(r)
    d = stack_dict(r, leave_out=written)
    pieces = []
    shape: List[Any] = []  # per key: list items that follow it, lines written, or None
    for key, value in d.items():
        pieces.append(key)
        if key in written:
            shape.append(written[key])
        elif key in _LISTS and value:
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
            continue
        if isinstance(count, list):
            items, at = count, at + 1
        else:
            items, at = out[at + 1: at + 1 + count], at + 1 + count
        inner = (",\n" + pad + "  ").join(items)
        lines.append('%s%s: [\n%s  %s\n%s]' % (pad, key, pad, inner, pad))
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
