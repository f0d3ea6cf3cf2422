"""x86 traps taken in kernel mode: the bytes between the faulting frame's ESP at the fault and
the trap handler's ChildEBP are the handler's and its trap frame's, not the faulting function's.

ChildEBP differences give the faulting frame everything from the handler's EBP up to its own
(KiTrap0E's row repeats the ChildEBP of the frame it called, so it gets 0). Where the log says
where the trap frame lies (kv's `TrapFrame @`, !analyze's TRAP_FRAME, the `.trap` registers),
the gap is split at the faulting ESP; where it does not, the faulting frame keeps the whole gap
with SizeNote.INCLUDES_TRAP_FRAME and the handler's size is unknown (UnknownReason.TRAP_FRAME).
Pure: imports stackext.model and stackext.knowledge only.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from stackext import knowledge as K
from stackext.model import Frame, GapKind, SizeNote, TrapContext, UnknownReason


def fault_sp(handler: Frame, faulted: Frame,
             traps: Sequence[TrapContext]) -> Optional[Tuple[int, int]]:
    """(ESP at the fault, trap frame address) for the handler's trap, when the log gives it:
    `.trap`'s registers whose EIP is the handler's return address and whose EBP is the faulting
    frame's ChildEBP, else a trap frame address (kv's on the handler's row first) whose ESP
    lies between the two ChildEBPs."""
    lo, hi = handler.sp, faulted.sp
    for c in traps:
        if c.sp is not None and c.ip == handler.ret and c.fp == hi and lo < c.sp < hi:
            return c.sp, c.sp - K.X86_TRAP_FRAME_ESP
    for at in [handler.trap_frame] + [c.trap_frame for c in traps]:
        if at is not None and lo <= at and lo < at + K.X86_TRAP_FRAME_ESP < hi:
            return at + K.X86_TRAP_FRAME_ESP, at
    return None


def _faulted(frames: List[Frame], pos: int) -> Optional[Frame]:
    """The frame the handler at `pos` returns to, when it is the next row on the same kernel
    stack (an unwind warning before it is no gap: the trap frame gives its EIP and EBP)."""
    h = frames[pos]
    f = frames[pos + 1] if pos + 1 < len(frames) else None
    if f is None or f.inline or f.index != h.index + 1 or h.sp is None or f.sp is None:
        return None
    if f.gap_before is not None and f.gap_before.kind is not GapKind.UNWIND_WARNING:
        return None
    if f.segment != h.segment or not K.is_kernel_address(f.sp, "x86") or f.sp <= h.sp:
        return None
    return f


def split_traps(frames: List[Frame], names: List[str], traps: Sequence[TrapContext]) -> None:
    """Run after the x86 sizes (stackext.sizes). `names`: each frame's K.fn_key."""
    for pos, h in enumerate(frames):
        name = names[pos]
        if not name.startswith(K.TRAP_HANDLER_PREFIX) or name in K.DOUBLE_FAULT_ROUTINES or \
                h.inline or h.size is None:
            continue
        f = _faulted(frames, pos)
        if f is None:
            continue
        found = fault_sp(h, f, traps)
        if found is not None:
            esp, h.trap_frame = found
            h.size += esp - h.sp
            f.size, f.size_unknown_reason, f.gap_bytes = f.sp - esp, None, None
        elif f.size is not None and h.size == 0:
            f.size_note = SizeNote.INCLUDES_TRAP_FRAME
            h.size, h.size_unknown_reason = None, UnknownReason.TRAP_FRAME
