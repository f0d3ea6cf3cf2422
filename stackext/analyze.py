"""Frames + bounds -> StackReport: per-frame sizes, segments, budget verdict, heaviest, rollups.

Pure: no I/O, no argparse, no pykd, no stackext.sources or stackext.render.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import List, Optional, Sequence, Tuple

from stackext import knowledge as K
from stackext import segments as S
from stackext.anatomy import annotate
from stackext.cycles import find_cycles
from stackext.errors import StackextError
from stackext.model import (
    ARCHES,
    REASON_GAP,
    REASON_NO_BASE,
    REASON_NO_CURRENT_SP,
    REASON_NO_SP,
    REASON_OTHER_STACK,
    REASON_START_AREA,
    REASON_TRUNCATED,
    Frame,
    FunctionTotal,
    ModuleTotal,
    StackInput,
    StackReport,
)


@dataclass
class AnalysisOptions:
    budget: Optional[int] = None  # --budget: overrides what the thread says
    heavy: int = K.DEFAULT_HEAVY
    top: int = 5
    drivers: Sequence[str] = field(default_factory=tuple)
    arch: Optional[str] = None  # --arch: overrides detection


def detect_arch(stack: StackInput, forced: Optional[str] = None) -> str:
    arch = forced or stack.arch
    if arch:
        if arch not in ARCHES:
            raise StackextError("unknown architecture %r (known: %s)" % (arch, ", ".join(ARCHES)),
                                stack.source)
        return arch
    widest = max([f.sp or 0 for f in stack.frames] + [f.ret or 0 for f in stack.frames] + [0])
    return "x64" if widest > 0xFFFFFFFF else "x86"


def _bounds_from_start_frame(frames: List[Frame]) -> Optional[Tuple[int, int]]:
    """KiStartSystemThread's first two arguments are the thread's StackBase and StackLimit in
    real kv/STACK_TEXT output (they match !thread's Base/Limit in the same logs). Used only when
    they agree with the frame they sit in."""
    for f in frames:
        if K.fn_key(f.function) in ("kistartsystemthread", "kxstartsystemthread") and \
                len(f.args) >= 2 and f.args[0] and f.args[1] and f.sp:
            base, limit = f.args[0], f.args[1]
            size = base - limit
            if 0 < size <= 0x20000 and size % K.PAGE == 0 and limit < f.sp < base:
                return base, limit
    return None


def _neighbours(frames: List[Frame]) -> List[Optional[int]]:
    """For each position, the position of the next physical (non-inline) frame outward."""
    nxt: List[Optional[int]] = [None] * len(frames)
    following: Optional[int] = None
    for pos in range(len(frames) - 1, -1, -1):
        nxt[pos] = following
        if not frames[pos].inline:
            following = pos
    return nxt


def _gap_between(frames: List[Frame], a: int, b: int) -> bool:
    """Are frames missing between positions a < b (a '...' line, an unwind warning, a jump)?"""
    for pos in range(a + 1, b + 1):
        if frames[pos].gap_before:
            return True
        if frames[pos].index != frames[pos - 1].index + 1:
            return True
    return False


def _reaches_start(frames: List[Frame], last: int, next_seg_is_user: bool) -> bool:
    """Did the walk reach where the thread's stack begins (so the rest up to StackBase is the
    start area, not some function's frame)?"""
    f = frames[last]
    if K.fn_key(f.function) in K.START_ROUTINES or f.ret == 0:
        return True
    # A kernel stack entered from user mode begins at the system-call entry: what lies above
    # its frame is the trap frame and the initial area.
    return next_seg_is_user and K.fn_key(f.function) in K.SYSCALL_ROUTINES


def _sizes(frames: List[Frame], arch: str, report: StackReport, base: Optional[int],
           current_sp: Optional[int]) -> None:
    """Fill Frame.size / size_unknown_reason by the architecture's rule."""
    nxt = _neighbours(frames)
    thread_seg = report.thread_segment
    if arch == "x86":
        # ChildEBP is the frame pointer: frame i's locals lie below its own EBP, so the bytes
        # from the inner frame's EBP up to frame i's EBP are frame i's (kf prints it on row i).
        inner: Optional[int] = None
        for pos, f in enumerate(frames):
            if f.inline:
                continue
            if f.sp is None:
                f.size_unknown_reason = REASON_NO_SP
            elif inner is None:
                if current_sp is not None and current_sp <= f.sp:
                    f.size = f.sp - current_sp
                else:
                    f.size_unknown_reason = REASON_NO_CURRENT_SP
            else:
                h = frames[inner]
                if h.sp is None:
                    f.size_unknown_reason = REASON_NO_SP
                elif _gap_between(frames, inner, pos):
                    f.size_unknown_reason = REASON_GAP
                elif h.segment != f.segment:
                    f.size_unknown_reason = REASON_OTHER_STACK
                else:
                    f.size = f.sp - h.sp
            inner = pos
    else:
        # x64/ARM64: Child-SP is the SP after the prologue, so frame i lies between its own
        # Child-SP and its caller's (kf prints it one row later, on the caller's row).
        for pos, f in enumerate(frames):
            if f.inline:
                continue
            j = nxt[pos]
            if f.sp is None:
                f.size_unknown_reason = REASON_NO_SP
            elif j is None:
                f.size_unknown_reason = REASON_NO_BASE if base is None or \
                    f.segment != thread_seg else REASON_TRUNCATED
            elif frames[j].segment != f.segment:
                f.size_unknown_reason = REASON_OTHER_STACK
            elif _gap_between(frames, pos, j):
                f.size_unknown_reason = REASON_GAP
            elif frames[j].sp is None:
                f.size_unknown_reason = REASON_NO_SP
            else:
                f.size = frames[j].sp - f.sp
    for f in frames:
        if f.inline:
            f.size = 0
            f.size_unknown_reason = None


def _start_area(frames: List[Frame], report: StackReport, arch: str, base: Optional[int]) -> None:
    """The bytes between the thread segment's outermost frame and StackBase, when the walk
    reached the thread's start: its start frames and initial trap/context area."""
    t = report.thread_segment
    if t is None or base is None:
        return
    pos = [i for i, f in enumerate(frames) if f.segment == t and not f.inline and f.sp is not None]
    if not pos:
        return
    last = pos[-1]
    later = [f for f in frames[last + 1:] if not f.inline and f.sp is not None]
    next_is_user = bool(later) and not K.is_kernel_address(later[0].sp, arch)
    f = frames[last]
    if later and not next_is_user:
        return
    reaches = _reaches_start(frames, last, next_is_user)
    if not reaches and f.size_unknown_reason == REASON_TRUNCATED and f.sp < base:
        # the log (or the walk) stops before the thread's start: say how much is not shown
        report.extra["not_shown"] = base - f.sp
    if reaches and f.sp < base:
        if arch != "x86" or f.size is None:
            f.size = None
            f.size_unknown_reason = REASON_START_AREA
        report.start_area = base - f.sp


def _budget(stack: StackInput, report: StackReport, opts: AnalysisOptions) -> None:
    arch, kernel = report.arch, report.kernel
    if opts.budget is not None:
        report.budget, report.budget_origin = opts.budget, "option"
        report.budget_note = "from --budget"
    elif report.stack_base is not None and report.stack_limit is not None:
        report.budget = report.stack_base - report.stack_limit
        report.budget_origin = stack.bounds_origin or "thread"
        report.budget_note = stack.bounds_note or (
            "the thread's StackBase - StackLimit" if report.budget_origin == "thread"
            else "StackBase/StackLimit from KiStartSystemThread's arguments in the log")
    elif kernel:
        report.budget, report.budget_origin = K.DEFAULT_KERNEL_BUDGET[arch], "default"
        report.budget_note = "default %d KB kernel stack for %s (bounds not known%s)" % (
            report.budget // 1024, arch,
            "; recent Windows 10/11 builds give x64 threads 28 KB" if arch == "x64" else "")
    else:
        report.budget, report.budget_origin = None, None
        report.budget_note = "user stack with no known bounds: give --budget"


def _verdict(stack: StackInput, report: StackReport, frames: List[Frame]) -> None:
    t = report.thread_segment
    bc = report.bugcheck
    report.double_fault = bool(bc and bc.code == 0x7F and bc.args and bc.args[0] == 8) or any(
        K.fn_key(f.function) in K.DOUBLE_FAULT_ROUTINES for f in frames)
    if t is None:
        report.verdict = "no frame lies on the thread's own stack"
        if report.double_fault:
            report.verdict = ("double fault (0x7F/8): the walk stops on the double-fault stack; "
                              "switch to the faulting context (.trap / .thread) to see the "
                              "overflowed thread stack")
        return
    phys = [f for f in frames if f.segment == t and not f.inline and f.sp is not None]
    if not phys:
        report.verdict = "no stack pointers on the thread's stack"
        return
    innermost = phys[0].sp
    if report.arch == "x86" and stack.current_sp is not None and frames and \
            frames[0].segment == t and stack.current_sp <= innermost:
        innermost = stack.current_sp
    limit = report.stack_limit if report.stack_limit is not None else stack.limit_hint
    base = report.stack_base
    if base is not None:
        report.used = base - innermost
    else:
        report.used = sum(f.size for f in frames if f.segment == t and f.size)
        report.used_is_lower_bound = True
    if limit is not None:
        report.remaining = innermost - limit
        if innermost < limit:
            report.below_limit = limit - innermost
    elif report.budget is not None and report.used is not None:
        report.remaining = report.budget - report.used
        if report.used_is_lower_bound:
            report.extra["remaining_is_upper_bound"] = True
    if report.budget_origin == "option" and report.used is not None:
        report.remaining = report.budget - report.used
    over = False
    if limit is not None and innermost <= limit:
        over = True
    if report.budget is not None and report.used is not None and report.used >= report.budget:
        over = True
    near = report.remaining is not None and report.remaining <= K.PAGE
    if report.double_fault and near and not report.extra.get("remaining_is_upper_bound"):
        over = True
    report.overflow = over
    if over:
        what = "kernel stack overflow" if report.kernel else "stack overflow"
        if report.double_fault:
            what += " (double fault 0x7F/8)"
        if report.below_limit:
            what += ": the innermost thread-stack frame is %d bytes below StackLimit" % \
                report.below_limit
        elif report.remaining is not None:
            what += ": %d bytes left at the innermost frame" % report.remaining
        report.verdict = what
    elif report.budget is None:
        report.verdict = "budget unknown"
    elif report.double_fault and base is None and limit is None:
        report.verdict = ("double fault (0x7F/8): probably a kernel stack overflow, but this "
                          "log has no StackBase/StackLimit to prove it (run !thread for "
                          "Base/Limit, or give --budget)")
        arg3 = bc.args[2] if bc and len(bc.args) > 2 else None
        if arg3 is not None and arg3 == innermost and arg3 % K.PAGE:
            # Seen on Windows 10+ x64 dumps (kernel-stacks.md): Arg3 is the SP at the fault.
            # Inferred, not documented: said as such.
            report.verdict += ("; Arg3 is the innermost thread-stack SP, %d bytes below a page "
                               "boundary, where an overflow into the guard page faults "
                               "(inferred)" % (K.PAGE - arg3 % K.PAGE))
    elif report.double_fault:
        report.verdict = ("double fault (0x7F/8), but the thread stack is not near its limit: "
                          "look for another cause (a corrupted RSP gives the same bugcheck)")
    elif report.remaining is not None and report.remaining < report.budget // 4:
        report.verdict = "close to the limit"
    else:
        report.verdict = "ok"


def _rollups(report: StackReport, frames: List[Frame]) -> None:
    t = report.thread_segment
    scope = [f for f in frames if t is None or f.segment == t]
    mods: "OrderedDict[str, List[Frame]]" = OrderedDict()
    funcs: "OrderedDict[str, List[Frame]]" = OrderedDict()
    for f in scope:
        key = f.module or "?"
        mods.setdefault(key, []).append(f)
        if not f.inline:
            fkey = f.symbol if f.function else f.call_site
            funcs.setdefault(fkey, []).append(f)
    used = report.used if report.used and not report.used_is_lower_bound else None
    for name, fs in mods.items():
        total = sum(f.size or 0 for f in fs)
        report.modules.append(ModuleTotal(module=name, bytes=total, frames=len(fs),
                                          driver=any(f.driver for f in fs),
                                          share=(total / used) if used else None))
    report.modules.sort(key=lambda m: (-m.bytes, m.module.lower()))
    for name, fs in funcs.items():
        report.functions.append(FunctionTotal(function=name, bytes=sum(f.size or 0 for f in fs),
                                              count=len(fs), module=fs[0].module,
                                              driver=fs[0].driver))
    report.functions.sort(key=lambda x: (-x.bytes, x.function.lower()))


def _copy_frame(f: Frame) -> Frame:
    c = copy.copy(f)  # dataclasses.replace re-runs __init__: 3x slower on big logs
    c.args = list(f.args)
    return c


def analyze(stack: StackInput, options: Optional[AnalysisOptions] = None) -> StackReport:
    """The whole analysis of one stack. The input's frames are copied, never changed."""
    opts = options or AnalysisOptions()
    arch = detect_arch(stack, opts.arch)
    frames = [_copy_frame(f) for f in stack.frames]
    kernel = stack.kernel
    if kernel is None:
        kernel = any(f.sp is not None and K.is_kernel_address(f.sp, arch) for f in frames)
    report = StackReport(source=stack.source, arch=arch, kernel=kernel, frames=frames,
                         segments=[], thread=stack.thread, process=stack.process,
                         image=stack.image, state=stack.state, bugcheck=stack.bugcheck,
                         warnings=list(stack.warnings), heavy_threshold=opts.heavy,
                         frames_from=stack.frames_from, bounds_note=stack.bounds_note)
    base, limit = stack.stack_base, stack.stack_limit
    origin = stack.bounds_origin
    if base is None and limit is None and kernel:
        found = _bounds_from_start_frame(frames)
        if found:
            base, limit = found
            origin = "log"
    report.stack_base, report.stack_limit = base, limit
    seg_limit = limit if limit is not None else stack.limit_hint
    jump = opts.budget or (base - limit if base is not None and limit is not None else None) \
        or K.DEFAULT_KERNEL_BUDGET[arch]
    runs = S.split(frames, arch, max(jump, K.DEFAULT_KERNEL_BUDGET[arch]), seg_limit, base)
    report.segments, report.thread_segment = S.label(frames, runs, arch, kernel, seg_limit, base)
    for seg, (s, e) in zip(report.segments, runs):
        for f in frames[s:e]:
            f.segment = seg.index
    _sizes(frames, arch, report, base, stack.current_sp)
    _start_area(frames, report, arch, base)
    _budget(replace(stack, bounds_origin=origin), report, opts)
    _verdict(stack, report, frames)
    drivers = frozenset(d.lower() for d in opts.drivers)  # once, not per frame
    # Heavy and heaviest are about the stack the budget applies to: a 10 KB user frame below a
    # system call or the bugcheck's own frames on the panic stack are not what to fix.
    t = report.thread_segment
    for f in frames:
        f.driver = K.is_driver_module(f.module, drivers, f.microsoft)
        f.heavy = f.size is not None and not f.inline and f.size >= opts.heavy and \
            (t is None or f.segment == t)
    ranked = sorted((f for f in frames if f.size and (t is None or f.segment == t)),
                    key=lambda f: (-f.size, f.index))
    report.heaviest = [f.index for f in ranked[: opts.top]]
    report.heaviest_drivers = [f.index for f in ranked if f.driver][: opts.top]
    _rollups(report, frames)
    report.cycles = find_cycles(frames, report.thread_segment, report.remaining)
    for c in report.cycles:
        c.rounds_left_at_most = bool(report.extra.get("remaining_is_upper_bound"))
    report.high_water = stack.high_water
    report.committed_limit = stack.committed_limit
    if report.high_water is None and not kernel and stack.committed_limit is not None and \
            base is not None and stack.committed_limit < base:
        # user stack: the committed bottom is the deepest page the thread ever touched
        low = limit if limit is not None else stack.committed_limit
        report.high_water = {"address": "0x%x" % stack.committed_limit,
                             "used": base - stack.committed_limit,
                             "remaining": stack.committed_limit - low,
                             "unreadable_pages": 0, "page_granular": True,
                             "from": "TEB StackLimit (committed bottom)"}
    ptr = stack.ptr_size or (4 if arch == "x86" else 8)
    by_index = {f.index: f for f in frames}
    for index, notes in stack.frame_notes.items():
        if index in by_index:
            annotate(by_index[index], notes.get("dv"), notes.get("fnent"), ptr)
    if stack.complete is False:
        report.warnings.append("the log ends in the middle of this stack")
    return report


__all__ = ["AnalysisOptions", "analyze", "detect_arch"]
