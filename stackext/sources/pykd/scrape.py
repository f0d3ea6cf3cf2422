"""The debugger text stackext still reads, because pykd has no API for it: `.frame` rows, `dv`
type names, `lm` rows, `~.`, `||`, `.lastevent`, `x module!*`, `.prefer_dml`. One place, a
sample line above each regex. (`dv` and `.fnent` bodies are parsed by the pure
stackext.anatomy.)"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Set, Tuple

from stackext.addresses import parse_hex

# `.frame` / `.frame N` answer with the frame's row, as knf prints it (no Memory column):
#   04 00000000`0011f290 00000001`40001697 seed!MyStruct_toDebugStr+0x72
#   04 (Inline Function) --------`-------- inline!inner_helper+0x1a
# The first such call of a session may be preceded by "No .natvis files found at ..." lines.
_FRAME_ROW = re.compile(r"^(?P<n>[0-9a-f]{2,})\s+(?P<sp>[0-9a-f]{8}`?[0-9a-f]{0,8}|\(Inline "
                        r"Function\))\s", re.I)
# dv prints types as C does:  struct MYSTRUCT   union U   class C   enum E
_TAG = re.compile(r"^(?:struct|union|class|enum)\s+")
# Real `lm` row (tests/realengine/recorded/seed_lm.txt):
# 00000001`40000000 00000001`4003e000   seed     C (private pdb symbols)  z:\work\...\seed.pdb
_LM_ROW = re.compile(r"^\s*([0-9a-fA-F`]{8,17})\s+([0-9a-fA-F`]{8,17})\s+(\S+)")
# `~.` on the real engine:  ".  2  Id: 20.f8 Suspend: 0 Teb: 00000000`67fc0000 Unfrozen"
_CURRENT_THREAD = re.compile(r"^[.#]?\s*(?P<n>\d+)\s+Id:\s*(?P<pid>[0-9a-f]+)\.(?P<tid>[0-9a-f]+)",
                             re.I)

# `||` (the open target) on the real engine:
#   ".  0 Full memory user mini dump: Z:\dumps\seed.dmp"
#   ".  0 64-bit Kernel triage dump: Z:\kernel-dumps\triage_x64.dmp"
_DUMP_SYSTEM = re.compile(r"^[.#]?\s*\d+\s+[^:]*\bdump:\s*(?P<path>\S.*?)\s*$", re.I)


def frame_row(text: Optional[str]) -> Optional[re.Match]:
    """The first frame row in `.frame`'s output (group n: the frame number, sp: its Child-SP)."""
    for line in (text or "").splitlines():
        m = _FRAME_ROW.match(line.strip())
        if m:
            return m
    return None


def row_sp(m: Optional[re.Match]) -> Optional[int]:
    """The Child-SP/ChildEBP of a frame row; None for an inline frame or no row."""
    if m is None or m.group("sp").startswith("("):
        return None
    return parse_hex(m.group("sp"))


def type_name(type_text: str) -> str:
    """`struct MYSTRUCT` -> `MYSTRUCT` (the name typeInfo knows)."""
    return _TAG.sub("", type_text.strip())


def parse_lm(text: str) -> List[Tuple[int, int, str]]:
    out = []
    for line in text.splitlines():
        m = _LM_ROW.match(line)
        if m:
            out.append((parse_hex(m.group(1)),
                        parse_hex(m.group(2)), m.group(3)))
    return out


def current_thread(text: str) -> Optional[str]:
    """`~.` -> "~2 (Id 20.f8)"; None when the engine does not say."""
    for line in text.splitlines():
        m = _CURRENT_THREAD.match(line.strip())
        if m:
            return "~%s (Id %s.%s)" % (m.group("n"), m.group("pid"), m.group("tid"))
    return None


def opened_dump(text: str) -> Optional[str]:
    """`||` -> the dump file's path; None when the engine names none."""
    for line in text.splitlines():
        m = _DUMP_SYSTEM.match(line.strip())
        if m:
            return m.group("path")
    return None


# `.lastevent` (real dbgeng on a dump with an exception stream):
# "Last event: 20.f4: Stack overflow - code c00000fd (first/second chance not available)"
_LAST_EVENT = re.compile(r"^Last event:\s+([0-9a-f]+)\.([0-9a-f]+):.*?\bcode ([0-9a-f]{1,8})\b",
                         re.I | re.M)
# `x irp!*`'s function rows (data rows carry " = <type>"):
# "00000001`40001640 irp!dispatch_write (struct DEVICE_OBJECT *, struct IRP *)"
# "fffff804`8b583234 amdppm!WriteGenAddrEx (<no parameter info>)"
_X_FUNCTION = re.compile(r"^([0-9a-f]{8}`?[0-9a-f]{0,8}) [^!\s]+!([^=\n]+?) \([^=\n]*\)$",
                         re.I | re.M)
# `.prefer_dml` with no argument (real dbgeng): "DML versions of commands off by default"
_PREFER_DML = re.compile(r"DML versions of commands (on|off) by default")
# `lm`'s rows with their symbol state (no symbol loading: deferred modules stay deferred):
# "00000000`7b000000 00000000`7b5e5000   kernelbase   (export symbols)       kernelbase.dll"
_LM_STATE = re.compile(r"^([0-9a-f`]+)\s+[0-9a-f`]+\s+\S+\s+\(([^)]*)\)", re.I | re.M)


def last_event(text: str) -> Optional[Tuple[int, int, int]]:
    """(process id, thread id, exception code) of `.lastevent` when it was an exception."""
    m = _LAST_EVENT.search(text or "")
    return None if m is None else (int(m.group(1), 16), int(m.group(2), 16),
                                   int(m.group(3), 16))


def current_thread_ids(text: str) -> Optional[Tuple[int, int]]:
    """(process id, thread id) of the current user-mode thread, from `~.`."""
    for line in (text or "").splitlines():
        m = _CURRENT_THREAD.match(line.strip())
        if m:
            return int(m.group("pid"), 16), int(m.group("tid"), 16)
    return None


def x_functions(text: str) -> Dict[int, str]:
    """Address -> name of every function `x module!*` lists (data symbols left out)."""
    return {parse_hex(m.group(1)): m.group(2)
            for m in _X_FUNCTION.finditer(text or "")}


def prefer_dml(text: str) -> Optional[bool]:
    """`.prefer_dml`'s current setting; None when the text does not say."""
    m = _PREFER_DML.search(text or "")
    return None if m is None else m.group(1) == "on"


def export_only_starts(lm_text: str) -> Set[int]:
    """Start addresses of the modules `lm` lists with export symbols only."""
    return {parse_hex(m.group(1)) for m in _LM_STATE.finditer(lm_text or "")
            if m.group(2).strip().lower() == "export symbols"}
