"""x86 trap contexts a log prints: !analyze's TRAP_FRAME line and the registers `.trap` (or
!analyze after TRAP_FRAME) shows. stackext.traps matches them to a trap handler's row.

Imports stackext.model and the line helpers only.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Deque, List

from stackext.model import TrapContext
from stackext.sources.windbg.lines import ADDR, to_int

# !analyze: "TRAP_FRAME:  b22192e8 -- (.trap 0xffffffffb22192e8)"
TRAP_FRAME_RE = re.compile(r"^TRAP_FRAME:\s+(" + ADDR + ")")
# .trap's x86 registers:
# "eip=bf87c9df esp=b221935c ebp=b2219374 iopl=0         nv up ei pl nz na pe nc"
REGS_RE = re.compile(r"^eip=([0-9a-fA-F]{8}) esp=([0-9a-fA-F]{8}) ebp=([0-9a-fA-F]{8})\b")
# a log with many dumps keeps only its last few (a context is matched to a row by its values)
KEEP = 16


class TrapFacts:
    """The log's x86 trap contexts so far, newest last."""

    def __init__(self) -> None:
        self.known: Deque[TrapContext] = deque(maxlen=KEEP)

    def feed(self, text: str) -> bool:
        """True when the line is a TRAP_FRAME line or a `.trap` register line."""
        if text.startswith("TRAP_FRAME:"):
            m = TRAP_FRAME_RE.match(text)
            if m:
                self.known.append(TrapContext(trap_frame=to_int(m.group(1))))
            return m is not None
        if text.startswith("eip="):
            m = REGS_RE.match(text)
            if m:
                self.known.append(TrapContext(ip=int(m.group(1), 16), sp=int(m.group(2), 16),
                                              fp=int(m.group(3), 16)))
            return m is not None
        return False

    def contexts(self) -> List[TrapContext]:
        return list(self.known)
