"""Per-frame sizes by the architecture's rule, and the start area up to StackBase.

The size of a frame (model.py) is the bytes its function owns. Pure: imports stackext.model and
stackext.knowledge only.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from stackext import knowledge as K
from stackext.model import Frame, StackReport, UnknownReason


def neighbours(frames: List[Frame]) -> List[Optional[int]]:
    """For each position, the position of the next physical (non-inline) frame outward."""
    nxt: List[Optional[int]] = [None] * len(frames)
    following: Optional[int] = None
    for pos in range(len(frames) - 1, -1, -1):
        nxt[pos] = following
        if not frames[pos].inline:
            following = pos
    return nxt


def gap_between(frames: List[Frame], a: int, b: int) -> bool:
    """Are frames missing between positions a < b (a '...' line, an unwind warning, a jump)?"""
    for pos in range(a + 1, b + 1):
        if frames[pos].gap_before is not None:
            return True
        if frames[pos].index != frames[pos - 1].index + 1:
            return True
    return False


def no_frame_pointer(frames: List[Frame], x86: bool) -> List[Tuple[Frame, UnknownReason]]:
    """Rows whose SP column holds no stack pointer, and why. x86: ChildEBP 0 ends the EBP chain;
    one equal to the return address read beside it ([EBP+4] holding EBP itself: no return into
    code) is a chain that broke (a KB article's Exchange stack ends in "0ed8b338 0ed8b338 ...",
    9.6 MB above the frame before it). Any other: a Child-SP of 0."""
    if not x86:
        return [(f, UnknownReason.NO_SP) for f in frames if f.sp == 0 and not f.inline]
    return [(f, UnknownReason.NULL_FRAME_POINTER if f.sp == 0 else
             UnknownReason.SELF_FRAME_POINTER) for f in frames
            if not f.inline and f.sp is not None and (f.sp == 0 or f.sp == f.ret)]


def _frame_pointer_sizes(frames: List[Frame], current_sp: Optional[int]) -> None:
    """x86: ChildEBP is the frame pointer: frame i's locals lie below its own EBP, so the bytes
    from the inner frame's EBP up to frame i's EBP are frame i's (kf prints it on row i)."""
    inner: Optional[int] = None
    for pos, f in enumerate(frames):
        if f.inline:
            continue
        if f.sp is None:
            f.size_unknown_reason = UnknownReason.NO_SP
        elif inner is None:
            if current_sp is not None and current_sp <= f.sp:
                f.size = f.sp - current_sp
            else:
                f.size_unknown_reason = UnknownReason.NO_CURRENT_SP
        else:
            h = frames[inner]
            if h.sp is None:
                f.size_unknown_reason = UnknownReason.NO_SP
            elif gap_between(frames, inner, pos):
                f.size_unknown_reason = UnknownReason.FRAMES_MISSING
                if h.segment == f.segment and f.sp >= h.sp:
                    f.gap_bytes = f.sp - h.sp
            elif h.segment != f.segment:
                f.size_unknown_reason = UnknownReason.OTHER_STACK
            else:
                f.size = f.sp - h.sp
        inner = pos


def _child_sp_sizes(frames: List[Frame], base: Optional[int], thread_seg: Optional[int],
                    leaf: Optional[int] = None) -> None:
    """x64/ARM64: Child-SP is the SP after the prologue, so frame i lies between its own
    Child-SP and its caller's (kf prints it one row later, on the caller's row). `leaf`: the
    size the unwinder gives a frame it has no unwind data for (x64: a leaf's return address,
    8): for an instruction pointer in no module that size is its guess, marked estimated."""
    nxt = neighbours(frames)
    for pos, f in enumerate(frames):
        if f.inline:
            continue
        j = nxt[pos]
        sp = f.sp
        if sp is None:
            f.size_unknown_reason = UnknownReason.NO_SP
            continue
        if j is None:
            f.size_unknown_reason = UnknownReason.BASE_UNKNOWN if base is None or \
                f.segment != thread_seg else UnknownReason.STACK_CONTINUES
            continue
        g = frames[j]
        outer = g.sp
        if g.segment != f.segment:
            f.size_unknown_reason = UnknownReason.OTHER_STACK
        elif (g.gap_before is not None or g.index != f.index + 1) if j == pos + 1 else \
                gap_between(frames, pos, j):
            f.size_unknown_reason = UnknownReason.FRAMES_MISSING
            if outer is not None and outer >= sp:
                f.gap_bytes = outer - sp
        elif outer is None:
            f.size_unknown_reason = UnknownReason.NO_SP
        else:
            f.size = outer - sp
            if f.size == leaf and f.module is None and not f.inline:
                f.estimated = True  # (WinDbg's kf prints the same 8: the number stays)


def fill_sizes(frames: List[Frame], arch: str, base: Optional[int], thread_seg: Optional[int],
               current_sp: Optional[int]) -> None:
    """Frame.size / size_unknown_reason by the architecture's rule; inline frames own 0."""
    if K.ARCH[arch].sp_is_frame_pointer:
        _frame_pointer_sizes(frames, current_sp)
    else:
        _child_sp_sizes(frames, base, thread_seg,  # (the return address a leaf's frame holds)
                        K.ARCH[arch].ptr_size if arch == "x64" else None)
    for f in frames:
        if f.inline:  # (a stack has few: this loop only tests)
            f.size = 0
            f.size_unknown_reason = None


def _reaches_start(f: Frame, name: str, next_seg_is_user: bool, arch: str) -> bool:
    """Did the walk reach where the thread's stack begins (so the rest up to StackBase is the
    start area, not some function's frame)? `name`: the frame's K.fn_key."""
    if K.starts_thread(name, f.ret, f.sp is not None and K.is_kernel_address(f.sp, arch)):
        return True
    # A kernel stack entered from user mode begins at the system-call entry or the trap
    # handler (x86 KiTrap03 after a user int 3, x64 KiPageFault): what lies above its frame is
    # the trap frame and the initial area.
    return next_seg_is_user and (name in K.SYSCALL_ROUTINES or name in K.TRAP_ROUTINES
                                 or name.startswith(K.TRAP_HANDLER_PREFIX))


def start_area(frames: List[Frame], names: List[str], report: StackReport,
               base: Optional[int]) -> None:
    """The bytes between the thread segment's outermost frame and StackBase, when the walk
    reached the thread's start: its start frames and initial trap/context area. `names`: each
    frame's K.fn_key."""
    t = report.thread_segment
    if t is None or base is None:
        return
    pos = [i for i, f in enumerate(frames) if f.segment == t and not f.inline and f.sp is not None]
    if not pos:
        return
    last = pos[-1]
    later = [f for f in frames[last + 1:] if not f.inline and f.sp is not None
             and f.size_unknown_reason != UnknownReason.PAST_START]
    next_is_user = bool(later) and not K.is_kernel_address(later[0].sp, report.arch)
    f = frames[last]
    if later and not next_is_user:
        return
    reaches = _reaches_start(f, names[last], next_is_user, report.arch)
    # (an x86 outermost frame has a size, its EBP's distance from the one before: the stack
    # continues above its EBP all the same)
    continues = f.size_unknown_reason == UnknownReason.STACK_CONTINUES or (
        K.ARCH[report.arch].sp_is_frame_pointer and f.size_unknown_reason is None)
    if not reaches and continues and f.sp < base:
        # the log (or the walk) stops before the thread's start: say how much is not shown
        report.not_shown = base - f.sp
    if reaches and f.sp < base:
        if not K.ARCH[report.arch].sp_is_frame_pointer or f.size is None:
            f.size = None
            f.size_unknown_reason = UnknownReason.START_AREA
        report.start_area = base - f.sp
