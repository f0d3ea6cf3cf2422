"""Why a frame is big: its largest locals (from `dv /V /t`) and its static layout (from `.fnent`,
the x64 unwind info), set against the measured size. The rest is dynamic (_alloca, frame
pointer functions).

Pure text parsing; imports stackext.model only. The text is what the debugger prints, whether
read from a log or returned by pykd's dbgCommand.
"""

from __future__ import annotations

import re
from typing import Callable, List, Optional

from stackext.addresses import parse_hex
from stackext.model import Frame, FrameLayout, Local

# `dv /V /t` rows as the real engine prints them:
# 00000000`0011f300 @rsp+0x0070       struct MYSTRUCT copy = struct MYSTRUCT
# 00000000`0011f2c0 @rsp+0x0030       char [64] line = char [64] "MYSTRUCT{id=42,...}"
# prv local  00000000`0011f300 @rsp+0x0070  struct MYSTRUCT copy = ...   (with /i)
_DV = re.compile(r"^\s*(?:prv\s+(?:local|param)\s+)?(?P<addr>[0-9a-f]{8}`?[0-9a-f]{0,8})\s+"
                 r"@(?P<reg>[a-z0-9]+)(?P<off>[+-]0x[0-9a-f]+)?\s+(?P<rest>\S.*)$", re.I)

_BASE_SIZES = {
    "char": 1, "signed char": 1, "unsigned char": 1, "bool": 1, "wchar_t": 2, "short": 2,
    "unsigned short": 2, "int": 4, "unsigned int": 4, "long": 4, "unsigned long": 4,
    "float": 4, "double": 8, "__int64": 8, "unsigned __int64": 8, "long long": 8,
    "unsigned long long": 8, "int64": 8, "uint64": 8, "unsigned int64": 8, "void": 0,
    "__int8": 1, "unsigned __int8": 1, "__int16": 2, "unsigned __int16": 2, "__int32": 4,
    "unsigned __int32": 4, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4,
    "uint32": 4, "unsigned int8": 1, "unsigned int16": 2, "unsigned int32": 4,
}
_ARRAY = re.compile(r"^(?P<base>.*?)\s*(?P<dims>(?:\[\d+\])+)$")


def type_size(type_text: str, ptr_size: int = 8,
              sizeof: Optional[Callable[[str], Optional[int]]] = None) -> Optional[int]:
    """Bytes of a type as dv prints it; None when the text alone cannot tell (a struct)."""
    t = " ".join(type_text.split())
    if t.endswith("*"):
        return ptr_size
    m = _ARRAY.match(t)
    if m:
        base = type_size(m.group("base"), ptr_size, sizeof)
        if base is None:
            return None
        n = 1
        for d in re.findall(r"\d+", m.group("dims")):
            n *= int(d)
        return base * n
    if t in _BASE_SIZES:
        return _BASE_SIZES[t]
    if t.startswith("enum "):
        return 4
    if sizeof is not None:
        return sizeof(t)
    return None


def parse_dv(text: str, ptr_size: int = 8,
             sizeof: Optional[Callable[[str], Optional[int]]] = None) -> List[Local]:
    """Locals of one frame, largest first. A struct whose size the text cannot give is bounded
    by the next local above it on the same register (marked `size_estimated`)."""
    rows = []
    for line in (text or "").splitlines():
        m = _DV.match(line)
        if not m:
            continue
        left = m.group("rest").split(" = ", 1)[0].rstrip()
        parts = left.rsplit(None, 1)
        if len(parts) != 2:
            continue
        type_text, name = parts
        off = int(m.group("off"), 16) if m.group("off") else None
        reg = m.group("reg").lower()
        rows.append((reg, off, Local(
            name=name, type=type_text, size=type_size(type_text, ptr_size, sizeof),
            offset="%s%s" % (reg, "" if off is None else
                             ("+0x%x" % off if off >= 0 else "-0x%x" % -off)),
            address=parse_hex(m.group("addr")))))
    for reg, off, loc in rows:
        if loc.size is None and off is not None:
            above = sorted(o for r, o, _ in rows if r == reg and o is not None and o > off)
            if above:
                loc.size = above[0] - off
                loc.size_estimated = True
    out = [loc for _, _, loc in rows]
    out.sort(key=lambda loc: -(loc.size or 0))
    return out


# `.fnent` unwind codes as the real engine prints them:
#   00: offs 7, unwind op 1, op info 0	UWOP_ALLOC_LARGE FrameOffset: 888.
#   02: offs 1, unwind op 0, op info 6	UWOP_PUSH_NONVOL reg: rsi.
#   00: offs 4, unwind op 2, op info 4	UWOP_ALLOC_SMALL.
_UWOP = re.compile(r"^\s*[0-9a-f]+:\s+offs\s+[0-9a-f]+,\s+unwind op\s+(?P<op>\d+),\s+"
                   r"op info\s+(?P<info>[0-9a-f]+)\s+(?P<name>UWOP_\w+)(?P<rest>.*)$", re.I)
_FRAME_OFFSET = re.compile(r"FrameOffset:\s*([0-9a-f]+)", re.I)


def parse_fnent(text: str, measured: Optional[int] = None) -> Optional[FrameLayout]:
    """Static layout from the unwind info: fixed allocation, pushed registers, frame pointer,
    set against the measured size. None when the text has no unwind codes."""
    fixed = pushes = 0
    frame_pointer = False
    seen = False
    for line in (text or "").splitlines():
        m = _UWOP.match(line)
        if not m:
            continue
        seen = True
        name, info = m.group("name").upper(), int(m.group("info"), 16)
        if name == "UWOP_PUSH_NONVOL":
            pushes += 1
        elif name == "UWOP_ALLOC_SMALL":
            fixed += info * 8 + 8
        elif name == "UWOP_ALLOC_LARGE":
            fo = _FRAME_OFFSET.search(m.group("rest"))
            if fo:
                fixed += int(fo.group(1), 16)
        elif name == "UWOP_SET_FPREG":
            frame_pointer = True
        elif name == "UWOP_PUSH_MACHFRAME":
            fixed += 0x30 if info else 0x28
    if not seen:
        return None
    static = fixed + pushes * 8 + 8
    dynamic = None if measured is None else measured - static
    return FrameLayout(fixed=fixed, pushes=pushes * 8, push_count=pushes, return_address=8,
                       frame_pointer=frame_pointer, static=static, dynamic=dynamic,
                       is_dynamic=None if dynamic is None else dynamic >= DYNAMIC_FLAG)


DYNAMIC_FLAG = 256  # measured this far above the unwind info's static size: flag as dynamic


def annotate(f: Frame, dv_text: Optional[str], fnent_text: Optional[str],
             ptr_size: int = 8, sizeof=None, keep: int = 5) -> None:
    """Fill Frame.locals (largest first, `keep` of them) and Frame.layout from debugger text."""
    if dv_text:
        f.locals = parse_dv(dv_text, ptr_size, sizeof)[:keep]
    if fnent_text:
        f.layout = parse_fnent(fnent_text, f.size)

