"""The double fault: where the trap frame of the overflowed thread stack is, when the stack
walk ends on the double-fault (IST) stack. Pure: reads the frames and bounds of a StackInput."""

from __future__ import annotations

from typing import Optional, Union

from stackext import knowledge as K
from stackext.model import Frame, StackInput, StackReport

Stack = Union[StackInput, StackReport]  # both have frames, stack_base, stack_limit, arch


def handler_frame(stack: Stack) -> Optional[Frame]:
    """The first frame in the double-fault handler (KiDoubleFaultAbort / KiTrap08)."""
    return next((f for f in stack.frames if K.fn_key(f.function) in K.DOUBLE_FAULT_ROUTINES),
                None)


def mark_trap_frame(stack: StackInput) -> None:
    """x64: the handler's KTRAP_FRAME lies at its Child-SP (fixtures 002/004/005)."""
    at = handler_frame(stack)
    if at is not None and at.sp is not None and stack.arch != "x86":
        at.trap_frame = at.sp


def double_fault_trap(stack: Stack) -> Optional[int]:
    """The trap frame to `.trap` to when the walk does not reach the thread stack after the
    double-fault handler; None when it does (or there is no such frame)."""
    at = handler_frame(stack)
    if at is None:
        return None
    pos = next(i for i, f in enumerate(stack.frames) if f is at)
    rest = [f for f in stack.frames[pos + 1:] if f.sp is not None]
    base, limit = stack.stack_base, stack.stack_limit
    if rest and (base is None or limit is None or
                 any(limit - K.OVERFLOW_SLACK <= f.sp < base for f in rest)):
        return None
    return at.trap_frame
