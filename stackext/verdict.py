"""The budget and the verdict of one stack: measure (used, remaining, below the limit), then
judge (overflow or not, and which kind of answer it is). Typed results, no prose: the renderers
write the sentences.

Pure: imports stackext.model and stackext.knowledge only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from stackext import knowledge as K
from stackext.addresses import fmt_addr
from stackext.model import (
    Frame,
    NotProven,
    Origin,
    SegmentKind,
    StackInput,
    StackReport,
    VerdictKind,
)


def bounds(report: StackReport, base: Optional[int], limit: Optional[int]):
    """(StackBase, StackLimit) as the input gave them, or (None, None) with a warning when the
    base is not above the limit (a corrupt thread record, "Base 0 Limit 0"): no budget and no
    used can come from them."""
    if base is not None and limit is not None and base <= limit:
        ptr = K.ptr64(report.arch)
        report.warnings.append(
            "the thread's StackBase %s is not above its StackLimit %s: these bounds are not "
            "used" % (fmt_addr(base, ptr), fmt_addr(limit, ptr)))
        return None, None
    return base, limit


def budget(report: StackReport, option: Optional[int], bounds_origin: Optional[Origin],
           bounds_note: Optional[str]) -> None:
    """report.budget and where it came from: --budget, the thread's bounds, the default."""
    if option is not None:
        report.budget, report.budget_origin = option, Origin.OPTION
        report.budget_note = "from --budget"
    elif report.stack_base is not None and report.stack_limit is not None:
        report.budget = report.stack_base - report.stack_limit
        report.budget_origin = Origin(bounds_origin) if bounds_origin else Origin.THREAD
        report.budget_note = bounds_note or (
            "the thread's StackBase - StackLimit" if report.budget_origin == Origin.THREAD
            else "StackBase/StackLimit from KiStartSystemThread's arguments in the log")
    elif report.kernel:
        report.budget, report.budget_origin = K.default_budget(report.arch), Origin.DEFAULT
        report.budget_note = "%d KB kernel stack for %s (bounds not known%s%s)" % (
            report.budget // 1024, report.arch,
            "; recent Windows 10/11 builds give x64 threads 28 KB" if report.arch == "x64"
            else "", _gui_note(report))
    else:
        report.budget, report.budget_origin = None, None
        report.budget_note = "user stack with no known bounds: give --budget" \
            if report.stack_base is None else \
            "user stack whose reservation's end (DeallocationStack) is not known: give --budget"


def _gui_note(report: StackReport) -> str:
    """"; win32k on the stack: ..." when the thread's own frames call win32k (a GUI thread)."""
    t = report.thread_segment
    large = K.LARGE_STACK_KB.get(report.arch)
    if large is None or not any((f.module or "").lower() in K.GUI_MODULES for f in report.frames
                                if f.segment == t):
        return ""
    return ("; win32k on the stack: a GUI thread runs on the large kernel stack, up to %d KB, "
            "which this default does not show" % large)


@dataclass
class Measure:
    innermost: int  # the innermost SP on the thread's own stack
    limit: Optional[int]  # StackLimit, or the STACK_OVERFLOW line's limit
    below_ebp: bool = False  # x86: frame 00's ESP, below `innermost` (its ChildEBP), not known
    inner_missing: bool = False  # frames are missing inward of the innermost one shown


def _inner_end_missing(frames: List[Frame], t: int) -> bool:
    """Frames are missing inward of the thread segment's innermost frame: the log starts at a
    frame number above 0, or a gap precedes its first frame."""
    on = [f for f in frames if f.segment == t]
    if not on or on[0] is not frames[0]:
        return False  # inner segments precede it: its innermost frame is where it was entered
    return frames[0].index > 0 or frames[0].gap_before is not None


def _saved_sp(stack: StackInput, report: StackReport, frames: List[Frame]) -> Optional[int]:
    """A waiting thread's SP saved below its KiSwapContext frame (KernelStack, !thread's
    "Current"): its innermost point, the same the thread survey uses. Only when the walk shows
    the thread's own innermost frames and the saved SP lies on its stack."""
    base, limit = report.stack_base, report.stack_limit
    ks = stack.kernel_stack
    if ks is None or base is None or limit is None or not K.is_waiting(stack.state):
        return None
    if not frames or frames[0].segment != report.thread_segment or frames[0].index != 0:
        return None
    return ks if limit - K.OVERFLOW_SLACK <= ks < base else None


def _no_thread_stack(report: StackReport, frames: List[Frame]) -> VerdictKind:
    """No frame lies on the thread's own stack. After a double fault: either the walk stops on
    the double-fault stack, or the frames after it run kernel code (nt, the HAL) on user-space
    stack pointers -- corrupted or switched, not a thread stack shown running out."""
    if not report.double_fault:
        return VerdictKind.NO_THREAD_STACK
    ist = [s.index for s in report.segments if s.kind == SegmentKind.IST]
    off = [f for f in frames if ist and f.segment > ist[0] and f.sp is not None and
           not K.is_kernel_address(f.sp, report.arch) and
           (f.module or "").lower() in K.KERNEL_IMAGES]
    return VerdictKind.DOUBLE_FAULT_OFF_STACK if report.kernel and off else \
        VerdictKind.DOUBLE_FAULT_ON_IST


def measure(stack: StackInput, report: StackReport, frames: List[Frame]) -> Optional[Measure]:
    """used / remaining / below_limit from the thread segment's innermost SP, and the bytes the
    SPs prove used where frames are missing. None (with the verdict set) when no frame with an
    SP lies on the thread's own stack."""
    t = report.thread_segment
    if t is None:  # (no frame shows an SP at all: no stack pointers, not another stack's)
        report.verdict = _no_thread_stack(report, frames) if any(
            f.sp is not None for f in frames) else VerdictKind.NO_STACK_POINTERS
        return None
    phys = [f for f in frames if f.segment == t and not f.inline and f.sp is not None]
    if not phys:
        report.verdict = VerdictKind.NO_STACK_POINTERS
        return None
    innermost = phys[0].sp
    # x86: the innermost frame's own locals lie below its ChildEBP (an EBP, not an ESP): used
    # from it is a lower bound, unless the ESP it ran at is known
    below_ebp = K.ARCH[report.arch].sp_is_frame_pointer
    if below_ebp and stack.current_sp is not None and frames and frames[0].segment == t and \
            stack.current_sp <= innermost:
        innermost, below_ebp = stack.current_sp, False
    saved = _saved_sp(stack, report, frames)
    if saved is not None and saved <= innermost:
        innermost, below_ebp = saved, False
    report.unattributed = sum(f.gap_bytes or 0 for f in phys)
    limit = report.stack_limit if report.stack_limit is not None else stack.limit_hint
    base = report.stack_base
    inner_missing = _inner_end_missing(frames, t)
    if base is not None:
        report.used = base - innermost
        report.used_is_lower_bound = inner_missing or below_ebp
    else:
        # what the SPs prove: the span from the innermost to the outermost SP on this stack
        span = max(f.sp for f in phys) - innermost
        report.used = span if span > 0 else None
        report.used_is_lower_bound = True
    if limit is not None:
        report.remaining = innermost - limit
        # the innermost frames not shown may lie deeper: what is left is at most this
        report.remaining_is_upper_bound = inner_missing or below_ebp
        if innermost < limit:
            report.below_limit = limit - innermost
    elif report.budget is not None and report.used is not None:
        report.remaining = report.budget - report.used
        report.remaining_is_upper_bound = report.used_is_lower_bound
    if report.budget_origin == Origin.OPTION and report.used is not None:
        report.remaining = report.budget - report.used
        report.remaining_is_upper_bound = report.used_is_lower_bound
    return Measure(innermost, limit, below_ebp, inner_missing)


def judge(report: StackReport, m: Measure) -> None:
    """Overflow or not, and what kind of answer that is."""
    over = m.limit is not None and m.innermost <= m.limit
    if report.budget is not None and report.used is not None and report.used >= report.budget:
        over = True
    near = report.remaining is not None and report.remaining <= K.NEAR_LIMIT
    if report.double_fault and near and not report.remaining_is_upper_bound:
        over = True
    if _guard(report, m):
        over = True
    report.overflow = over
    _proof(report, m, over)
    bc = report.bugcheck
    if over:
        report.verdict = VerdictKind.OVERFLOW
    elif report.budget is None:
        report.verdict = VerdictKind.BUDGET_UNKNOWN
    elif report.double_fault and report.stack_base is None and m.limit is None:
        report.verdict = VerdictKind.DOUBLE_FAULT_UNPROVEN
        arg3 = bc.args[2] if bc and len(bc.args) > 2 else None
        if arg3 is not None and arg3 == m.innermost and arg3 % K.PAGE:
            # Seen on Windows 10+ x64 dumps (kernel-stacks.md): Arg3 is the SP at the fault.
            # Inferred, not documented: said as such.
            report.arg3_below_page = K.PAGE - arg3 % K.PAGE
    elif report.double_fault and not near:  # (near, but only at most: close, not proven)
        report.verdict = VerdictKind.DOUBLE_FAULT_NOT_NEAR
    elif report.remaining is not None and report.remaining < report.budget // 4:
        report.verdict = VerdictKind.CLOSE
    else:
        report.verdict = VerdictKind.OK


def _guard(report: StackReport, m: Measure) -> bool:
    """A user thread that took STATUS_STACK_OVERFLOW, or whose SP lies inside the guard region
    above its reserve's end (the thread's own bounds): an overflow, though its SP stays 1-3 pages
    above DeallocationStack. Nothing is left (remaining 0) when the SP is there: those pages are
    not the thread's. The exception alone proves the stack could not grow, not that nothing was
    left: no page may have been committable, or the access that overflowed (a large _chkstk
    probe, a read past the stack) lay far below the frames shown (Microsoft's "Debugging a
    Stack Overflow": 253,196 bytes of reservation left), so remaining is what the bounds say."""
    on_guard = not report.kernel and report.budget_origin == Origin.THREAD and \
        report.stack_limit is not None and m.limit is not None and \
        m.innermost < m.limit + K.USER_GUARD_REGION
    if report.exception_code != K.STATUS_STACK_OVERFLOW and not on_guard:
        return False
    report.guard_overflow = True
    if m.limit is not None and report.stack_limit is not None and m.innermost >= m.limit:
        report.guard_left = m.innermost - m.limit
    if on_guard or K.near_reserve_end(report.guard_left):
        report.remaining = 0 if report.remaining is None else min(report.remaining, 0)
        report.remaining_is_upper_bound = False
    return True


def _own_bounds(report: StackReport) -> bool:
    return report.stack_base is not None and report.stack_limit is not None and \
        report.budget_origin in (Origin.THREAD, Origin.LOG)


def _proof(report: StackReport, m: Measure, over: bool) -> None:
    """verdict_proven: an overflow the SPs show past a real limit (the thread's StackLimit, or
    !analyze's STACK_OVERFLOW limit), or any verdict on the thread's own bounds with its
    innermost frames shown. Otherwise not_proven says what is missing."""
    missing: List[NotProven] = []
    if report.guard_overflow:
        report.verdict_proven = True  # the exception, or the SP on the guard pages, proves it
        return
    if over and m.limit is not None and m.innermost <= m.limit + (
            K.NEAR_LIMIT if report.double_fault else 0):
        report.verdict_proven = True
        return
    if report.budget_origin == Origin.DEFAULT:
        missing.append(NotProven.DEFAULT_BUDGET)
    elif report.budget_origin == Origin.OPTION:
        missing.append(NotProven.OPTION_BUDGET)
    if report.stack_base is None or report.stack_limit is None:
        missing.append(NotProven.NO_BOUNDS)
    if report.used_is_lower_bound and report.stack_base is not None:
        missing.append(NotProven.INNER_ESP_UNKNOWN if m.below_ebp and not m.inner_missing
                       else NotProven.INNER_FRAMES_MISSING)
    if report.unattributed and not _own_bounds(report):
        missing.append(NotProven.FRAMES_MISSING)
    report.not_proven = missing
    report.verdict_proven = not missing and _own_bounds(report)


def crashed_here(report: StackReport) -> bool:
    """Can this stack be the one the bug check was raised on? Not a thread the log shows waiting
    or ready (a !process 0 7 beside the !analyze): a bug check runs on a running thread."""
    return not report.state or K.is_running(report.state)


def is_double_fault(report: StackReport, names: List[str]) -> bool:
    """`names`: each frame's K.fn_key."""
    bc = report.bugcheck
    return bool(bc and bc.code in K.UNEXPECTED_KERNEL_MODE_TRAP and bc.args and
                bc.args[0] == 8 and crashed_here(report)) or \
        not K.DOUBLE_FAULT_ROUTINES.isdisjoint(names)


def corrupt_esp(report: StackReport, frames: List[Frame], contexts) -> None:
    """x86 0x7F/8 whose double-fault context (.tss, .trap: registers whose EBP is frame 00's
    ChildEBP) has its ESP above that EBP: no function runs so (a stack running out leaves ESP
    below EBP), so the ESP was corrupted: not an overflow, whatever the budget. An overflow the
    SPs prove stays one."""
    if not report.double_fault or report.overflow or not K.ARCH[report.arch].sp_is_frame_pointer \
            or not frames or frames[0].sp is None:
        return
    ebp = frames[0].sp
    esp = next((c.sp for c in contexts if c.fp == ebp and c.sp is not None and c.sp > ebp), None)
    if esp is not None:
        report.fault_sp, report.verdict = esp, VerdictKind.DOUBLE_FAULT_CORRUPT_SP


def invalid_stack_pointer(report: StackReport) -> None:
    """Bug check 0x139 with Arg1 4 (FAST_FAIL_INCORRECT_STACK): the kernel itself found the SP
    outside the thread's stack limits. That is what the text proves; unless the frames show an
    overflow, the verdict says so instead of "no overflow seen" (not_proven keeps what is
    missing for judging the stack's use)."""
    bc = report.bugcheck
    if bc is None or bc.code != K.SECURITY_CHECK_FAILURE or not crashed_here(report) or \
            not bc.args or bc.args[0] != K.FAST_FAIL_INCORRECT_STACK or report.overflow:
        return
    report.verdict = VerdictKind.INVALID_STACK_POINTER
