"""The JSON writer's fast path: a frame's line (and a module's and a function's) written from
the object itself, without building its dict, exactly as json.dumps prints that dict.

Each value is written as json.dumps writes a value of its field's type (None null, true/false,
an int's repr, a str through the encoder's own ASCII escaper); a value of another type (a
hand-edited document read back from a log) leaves the stack to the dict path, as does a frame
with locals, a layout or a size note.
tests/test_fast_path.py compares both paths on every log we keep. Imports stackext.model only.
"""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as _esc  # what json.dumps uses (ensure_ascii)
from typing import List, Optional

from stackext.model import Frame, FunctionTotal, ModuleTotal, SymbolQuality

_FRAME = ('{"index": %s, "sp": %s, "ret": %s, "call_site": %s, "module": %s, "function": %s, '
          '"offset": %s, "inline": %s, "size": %s, "size_unknown_reason": %s, '
          '"size_unknown_label": %s, "gap_bytes": %s, "symbol_quality": %s, "segment": %s, '
          '"driver": %s, "heavy": %s, "estimated": %s, "ip": %s, "source_file": %s, '
          '"source_line": %s, "memory": %s, "trap_frame": %s, "line": %s}')
# The common frame (a row of a log: no inline frame, no unknown size, no source, no kf Memory)
# with those fields' values written in; _FRAME for all others.
_COMMON = ('{"index": %d, "sp": "0x%x", "ret": "0x%x", "call_site": %s, "module": %s, '
           '"function": %s, "offset": %d, "inline": false, "size": %d, '
           '"size_unknown_reason": null, "size_unknown_label": null, "gap_bytes": null, '
           '"symbol_quality": %s, "segment": %d, "driver": %s, "heavy": %s, '
           '"estimated": false, "ip": null, "source_file": null, "source_line": null, '
           '"memory": null, "trap_frame": null, "line": %d}')
_PDB, _EXPORT = SymbolQuality.PDB, SymbolQuality.EXPORT
_Q_PDB, _Q_EXPORT = '"pdb"', '"export"'
_MODULE = '{"module": %s, "bytes": %s, "frames": %s, "driver": %s, "share": %s}'
_FUNCTION = '{"function": %s, "bytes": %s, "count": %s, "module": %s, "driver": %s}'


def _hex(x) -> str:
    return "null" if x is None else '"0x%x"' % x


def _n(x) -> str:
    """An int field's value (or None); anything else there (a bool, a float) raises."""
    if x is None:
        return "null"
    if x.__class__ is not int:
        raise TypeError("not an int: %r" % (x,))
    return int.__repr__(x)


def _b(x) -> str:
    """A bool field's value; anything else there (an int in a hand-edited document) raises."""
    if x is True:
        return "true"
    if x is False:
        return "false"
    raise TypeError("not a bool: %r" % (x,))


def frame_line(f: Frame) -> Optional[str]:
    """The frame's line, each value written for its field's type in stackext.model (ints,
    bools, strs, enums, None; the common types inline, anything else through _n and _b, which
    raise); None for a frame with locals, a layout or a size note (the dict path)."""
    if f.inline is False and f.size_unknown_reason is None and f.gap_bytes is None \
            and f.estimated is False and f.ip is None and f.source_file is None \
            and f.source_line is None and f.memory is None and f.trap_frame is None \
            and f.locals is None and f.layout is None and f.size_note is None:
        line = _common_line(f)
        if line is not None:
            return line
    return _frame_line(f)


def _common_line(f: Frame) -> Optional[str]:
    """The common frame's line; None when a value is not of its field's type (each is checked:
    %d would print a bool as 1 and a str module would need no quotes)."""
    index, sp, ret, offset, size, segment, line = (f.index, f.sp, f.ret, f.offset,
                                                   f.size, f.segment, f.line)
    module, function, quality, driver, heavy = (f.module, f.function, f.symbol_quality,
                                                f.driver, f.heavy)
    if index.__class__ is int and sp.__class__ is int and ret.__class__ is int and \
            offset.__class__ is int and size.__class__ is int and segment.__class__ is int and \
            line.__class__ is int and module.__class__ is str and function.__class__ is str and \
            (quality is _PDB or quality is _EXPORT) and (driver is True or driver is False) and \
            (heavy is True or heavy is False):
        return (f'{{"index": {index}, "sp": "0x{sp:x}", "ret": "0x{ret:x}", '
                f'"call_site": {_esc(f.call_site)}, "module": {_esc(module)}, '
                f'"function": {_esc(function)}, "offset": {offset}, "inline": false, '
                f'"size": {size}, "size_unknown_reason": null, "size_unknown_label": null, '
                f'"gap_bytes": null, "symbol_quality": '
                f'{_Q_PDB if quality is _PDB else _Q_EXPORT}, "segment": {segment}, '
                f'"driver": {"true" if driver else "false"}, '
                f'"heavy": {"true" if heavy else "false"}, "estimated": false, "ip": null, '
                f'"source_file": null, "source_line": null, "memory": null, '
                f'"trap_frame": null, "line": {line}}}')
    return None


def _frame_line(f: Frame) -> Optional[str]:
    """Any frame's line (frame_line's general path)."""
    if f.locals is not None or f.layout is not None or f.size_note is not None:
        return None
    index, offset, size, gap, segment, src_line, memory, line = (
        f.index, f.offset, f.size, f.gap_bytes, f.segment, f.source_line,
        f.memory, f.line)
    inline, driver, heavy, estimated = f.inline, f.driver, f.heavy, f.estimated
    module, function, src = f.module, f.function, f.source_file
    reason, quality = f.size_unknown_reason, f.symbol_quality
    return _FRAME % (
        int.__repr__(index) if index.__class__ is int else _n(index),
        _hex(f.sp), _hex(f.ret), _esc(f.call_site),
        "null" if module is None else _esc(module),
        "null" if function is None else _esc(function),
        int.__repr__(offset) if offset.__class__ is int else _n(offset),
        "false" if inline is False else _b(inline),
        int.__repr__(size) if size.__class__ is int else _n(size),
        "null" if reason is None else _esc(reason.value),
        "null" if reason is None else _esc(reason.label),
        "null" if gap is None else _n(gap),
        "null" if quality is None else _esc(quality.value),
        int.__repr__(segment) if segment.__class__ is int else _n(segment),
        "false" if driver is False else _b(driver), "false" if heavy is False else _b(heavy),
        "false" if estimated is False else _b(estimated), _hex(f.ip),
        "null" if src is None else _esc(src),
        "null" if src_line is None else _n(src_line),
        "null" if memory is None else _n(memory), _hex(f.trap_frame),
        int.__repr__(line) if line.__class__ is int else _n(line))


def frame_lines(frames: List[Frame]) -> Optional[List[str]]:
    """Every frame's line, or None when one of them needs the dict path."""
    try:
        out = [frame_line(f) for f in frames]
    except (TypeError, KeyError):  # a value not of its field's type (a hand-edited document)
        return None
    return None if None in out else out


def total_lines(modules: List[ModuleTotal], functions: List[FunctionTotal]):
    """(module lines, function lines), or None when a value is not of its field's type."""
    try:
        return [module_line(m) for m in modules], [function_line(x) for x in functions]
    except (TypeError, KeyError):
        return None


def module_line(m: ModuleTotal) -> str:
    share = None if m.share is None else round(m.share, 4)
    return _MODULE % (_esc(m.module), _n(m.bytes), _n(m.frames),
                      _b(m.driver), "null" if share is None else float.__repr__(share))


def function_line(x: FunctionTotal) -> str:
    total, count, module, driver = x.bytes, x.count, x.module, x.driver
    if total.__class__ is int and count.__class__ is int and module.__class__ is str and \
            (driver is True or driver is False):  # the common line, its values checked
        return (f'{{"function": {_esc(x.function)}, "bytes": {total}, "count": {count}, '
                f'"module": {_esc(module)}, "driver": {"true" if driver else "false"}}}')
    return _FUNCTION % (_esc(x.function), _n(total), _n(count),
                        "null" if module is None else _esc(module), _b(driver))
