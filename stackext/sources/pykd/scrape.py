"""The debugger text stackext still reads, because pykd has no API for it: `.frame` rows, `dv`
type names, `lm` rows, `~.`, `||`. One place, a sample line above each regex. (`dv` and `.fnent`
bodies are parsed by the pure stackext.anatomy.)"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

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
    return int(m.group("sp").replace("`", ""), 16)


def type_name(type_text: str) -> str:
    """`struct MYSTRUCT` -> `MYSTRUCT` (the name typeInfo knows)."""
    return _TAG.sub("", type_text.strip())


def parse_lm(text: str) -> List[Tuple[int, int, str]]:
    out = []
    for line in text.splitlines():
        m = _LM_ROW.match(line)
        if m:
            out.append((int(m.group(1).replace("`", ""), 16),
                        int(m.group(2).replace("`", ""), 16), m.group(3)))
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
