"""A user thread's TEB as `!teb` prints it in a log: StackBase and StackLimit (NT_TIB), given to
the user stack printed beside it -- before or after it in the log -- whose SPs lie between them;
and `!wow64exts.info`'s, which gives each of a WOW64 thread's two stacks its reservation's end
(Deallocation) too.

StackLimit is the committed bottom, not the end of the reservation (DeallocationStack, which
`!teb` does not print): the stack's base is known, its budget is not (stackext.sources.pykd.bounds
reads DeallocationStack from a live TEB). Standard library only; imports stackext.model and the
line helpers.
"""

from __future__ import annotations

import re
from typing import List, NamedTuple, Optional

from stackext.addresses import fmt_addr
from stackext.model import Origin, StackInput
from stackext.sources.windbg.lines import ADDR, to_int

# "TEB at 00ff8000", "Wow64 TEB32 at 7efdd000", "Wow64 TEB at 7efdb000"
TEB_RE = re.compile(r"^(?:Wow64\s+)?TEB(?:32)?\s+at\s+(" + ADDR + ")")
# "    StackBase:            0000004e3af90000"   "    ClientId:   0000336c . 0000264c"
FIELD_RE = re.compile(r"^(StackBase|StackLimit):\s+(" + ADDR + ")")
CLIENT_RE = re.compile(r"^ClientId:\s+[0-9a-fA-F`]+\s*\.\s*([0-9a-fA-F`]+)\s*$")
# !wow64exts.info: each stack's StackBase, StackLimit and the reservation's end:
# "Guest (WoW), StackBase   : 0x2f0000" (older: "32 bit, StackBase   : 0x190000"),
# "        StackLimit  : 0x2df000", "        Deallocation: 0x2b0000"
INFO_BASE_RE = re.compile(r"^[^:]*?,\s*StackBase\s*:\s*0x([0-9a-fA-F`]{1,17})\s*$")
INFO_FIELD_RE = re.compile(r"^(StackLimit|Deallocation)\s*:\s*0x([0-9a-fA-F`]{1,17})\s*$")
# any line of the output: a block's head or a "Name:  value" field ("Tls Storage:", "PEB Address:",
# "Guest (WoW) PEB: 0x5cb000", "Wow64 information for current thread:")
LINE_RE = re.compile(r"^(?:(?:Wow64\s+)?TEB(?:32)?\s+at\s|[A-Za-z][\w ()/,.-]*:(?:\s|$))")


def is_teb_line(text: str) -> bool:
    return LINE_RE.match(text) is not None


class Teb(NamedTuple):
    where: str  # "file:line" of the !teb prompt
    address: int
    base: Optional[int] = None
    committed: Optional[int] = None  # NT_TIB.StackLimit
    tid: Optional[int] = None  # ClientId's thread
    reserve: Optional[int] = None  # DeallocationStack, where !wow64exts.info gives it


def read_tebs(lines: List[str], where: str) -> List[Teb]:
    """Each TEB block of a `!teb` output (cleaned lines; WOW64 prints a 32- and a 64-bit one)
    that gives both StackBase and StackLimit."""
    found: List[Teb] = []
    for line in lines:
        m = TEB_RE.match(line)
        if m:
            found.append(Teb(where, to_int(m.group(1))))
            continue
        m = INFO_BASE_RE.match(line)
        if m:
            found.append(Teb(where, 0, base=to_int(m.group(1))))
            continue
        if not found:
            continue
        m = INFO_FIELD_RE.match(line)
        if m:
            key = "committed" if m.group(1) == "StackLimit" else "reserve"
            found[-1] = found[-1]._replace(**{key: to_int(m.group(2))})
            continue
        f = FIELD_RE.match(line)
        if f:
            key = "base" if f.group(1) == "StackBase" else "committed"
            found[-1] = found[-1]._replace(**{key: to_int(f.group(2))})
            continue
        c = CLIENT_RE.match(line)
        if c:
            found[-1] = found[-1]._replace(tid=to_int(c.group(1)))
    return [t for t in found if t.base is not None and t.committed is not None
            and t.committed < t.base]


def holds(teb: Teb, stack: StackInput) -> bool:
    """Is this the TEB of the thread whose user stack this is? Its SPs lie between the TEB's
    StackLimit and StackBase, no other bounds were given, and the thread, where the log names
    it, is the TEB's."""
    if stack.kernel or stack.stack_base is not None or stack.stack_limit is not None:
        return False
    sps = [f.sp for f in stack.frames if f.sp is not None and not f.inline]
    if not sps or min(sps) < teb.committed or max(sps) >= teb.base:
        return False
    return stack.thread is None or teb.tid is None or stack.thread == teb.tid


def apply(teb: Teb, stack: StackInput) -> None:
    """The TEB's StackBase (what the SPs are measured from), its committed bottom and, where the
    log gives it, the reservation's end (the budget: StackBase - DeallocationStack)."""
    stack.stack_base, stack.committed_limit = teb.base, teb.committed
    stack.bounds_origin = Origin.THREAD
    wide = teb.base > 0xFFFFFFFF
    if teb.reserve is not None and teb.reserve < teb.committed:
        stack.stack_limit = teb.reserve
        stack.bounds_note = ("StackBase - DeallocationStack (the reservation) from the "
                             "!wow64exts.info at %s; StackLimit %s is the committed bottom"
                             % (teb.where, fmt_addr(teb.committed, wide)))
        return
    stack.bounds_note = ("StackBase from the !teb at %s; its StackLimit %s is the committed "
                         "bottom" % (teb.where, fmt_addr(teb.committed, wide)))
