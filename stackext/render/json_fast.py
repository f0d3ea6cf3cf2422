"""The JSON writer's fast path: a frame's line (and a module's and a function's) written from
the object itself, without building its dict, exactly as json.dumps prints that dict.

Each value is written as json.dumps writes a value of its type (None null, True/False, an int's
repr, a str through the encoder's own ASCII escaper); a value of any other type goes through
json.dumps itself. A frame with locals or a layout returns None: the dict path writes it.
tests/test_fast_path.py compares both paths on every log we keep. Imports stackext.model only.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _esc  # what json.dumps uses (ensure_ascii)
from typing import List, Optional

from stackext.model import Frame, FunctionTotal, ModuleTotal

_FRAME = ('{"index": %s, "sp": %s, "ret": %s, "call_site": %s, "module": %s, "function": %s, '
          '"offset": %s, "inline": %s, "size": %s, "size_unknown_reason": %s, '
          '"size_unknown_label": %s, "gap_bytes": %s, "symbol_quality": %s, "segment": %s, '
          '"driver": %s, "heavy": %s, "estimated": %s, "ip": %s, "source_file": %s, '
          '"source_line": %s, "memory": %s, "trap_frame": %s, "line": %s}')
_MODULE = '{"module": %s, "bytes": %s, "frames": %s, "driver": %s, "share": %s}'
_FUNCTION = '{"function": %s, "bytes": %s, "count": %s, "module": %s, "driver": %s}'


def _v(x) -> str:
    """One value as json.dumps writes it."""
    if x is None:
        return "null"
    t = type(x)
    if t is int:
        return int.__repr__(x)
    if t is str:
        return _esc(x)
    if x is True:
        return "true"
    if x is False:
        return "false"
    return json.dumps(x)


def _hex(x) -> str:
    return "null" if x is None else '"0x%x"' % x


# A bool field's value as json writes it; an int there (never in the model) raises KeyError.
_BOOL = {True: "true", False: "false"}


def frame_line(f: Frame) -> Optional[str]:
    """The frame's line, each value written for its field's type in stackext.model (ints,
    bools, strs, enums, None); None for a frame with locals or a layout (the dict path)."""
    d = f.__dict__
    if d["locals"] is not None or d["layout"] is not None:
        return None
    module, function, src = d["module"], d["function"], d["source_file"]
    reason, quality = d["size_unknown_reason"], d["symbol_quality"]
    offset, size, gap, src_line, memory, line = (
        d["offset"], d["size"], d["gap_bytes"], d["source_line"], d["memory"], d["line"])
    return _FRAME % (
        int.__repr__(d["index"]), _hex(d["sp"]), _hex(d["ret"]), _esc(d["call_site"]),
        "null" if module is None else _esc(module),
        "null" if function is None else _esc(function),
        "null" if offset is None else int.__repr__(offset), _BOOL[d["inline"]],
        "null" if size is None else int.__repr__(size),
        "null" if reason is None else _esc(reason.value),
        "null" if reason is None else _esc(reason.label),
        "null" if gap is None else int.__repr__(gap),
        "null" if quality is None else _esc(quality.value),
        int.__repr__(d["segment"]), _BOOL[d["driver"]], _BOOL[d["heavy"]],
        _BOOL[d["estimated"]], _hex(d["ip"]), "null" if src is None else _esc(src),
        "null" if src_line is None else int.__repr__(src_line),
        "null" if memory is None else int.__repr__(memory), _hex(d["trap_frame"]),
        "null" if line is None else int.__repr__(line))


def frame_lines(frames: List[Frame]) -> Optional[List[str]]:
    """Every frame's line, or None when one of them needs the dict path."""
    out = [frame_line(f) for f in frames]
    return None if None in out else out


def module_line(m: ModuleTotal) -> str:
    share = None if m.share is None else round(m.share, 4)
    return _MODULE % (_v(m.module), _v(m.bytes), _v(m.frames), _v(m.driver), _v(share))


def function_line(x: FunctionTotal) -> str:
    return _FUNCTION % (_v(x.function), _v(x.bytes), _v(x.count), _v(x.module), _v(x.driver))
