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


def frame_line(f: Frame) -> Optional[str]:
    if f.locals is not None or f.layout is not None:
        return None
    reason, quality = f.size_unknown_reason, f.symbol_quality
    return _FRAME % (
        _v(f.index), _hex(f.sp), _hex(f.ret), _v(f.call_site), _v(f.module), _v(f.function),
        _v(f.offset), _v(f.inline), _v(f.size),
        "null" if reason is None else _v(reason.value),
        "null" if reason is None else _v(reason.label),
        _v(f.gap_bytes), "null" if quality is None else _v(quality.value),
        _v(f.segment), _v(f.driver), _v(f.heavy), _v(f.estimated), _hex(f.ip),
        _v(f.source_file), _v(f.source_line), _v(f.memory), _hex(f.trap_frame), _v(f.line))


def frame_lines(frames: List[Frame]) -> Optional[List[str]]:
    """Every frame's line, or None when one of them needs the dict path."""
    out = [frame_line(f) for f in frames]
    return None if None in out else out


def module_line(m: ModuleTotal) -> str:
    share = None if m.share is None else round(m.share, 4)
    return _MODULE % (_v(m.module), _v(m.bytes), _v(m.frames), _v(m.driver), _v(share))


def function_line(x: FunctionTotal) -> str:
    return _FUNCTION % (_v(x.function), _v(x.bytes), _v(x.count), _v(x.module), _v(x.driver))
