"""Frames + bounds -> StackReport: the orchestration of sizes, segments, budget and verdict,
heaviest frames, rollups, cycles and frame anatomy.

Pure: no I/O, no argparse, no pykd, no stackext.sources or stackext.render.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from stackext import knowledge as K
from stackext import procstacks as P
from stackext import segments as S
from stackext import verdict as V
from stackext.anatomy import annotate
from stackext.cycles import find_cycles
from stackext.errors import StackextError
from stackext.inbox import is_driver_module
from stackext.lost import find_lost, mark_lost
from stackext.model import (
    Bugcheck,
    Frame,
    FramesFrom,
    HighWater,
    LostCause,
    LostTrack,
    NotProven,
    Origin,
    StackInput,
    StackReport,
    SymbolQuality,
)
from stackext.sizes import fill_sizes, no_frame_pointer, start_area
from stackext.totals import rollups
from stackext.traps import split_traps


@dataclass
class AnalysisOptions:
    """What the analysis is asked (the console's and the debugger's shared options)."""

    budget: Optional[int] = None  # --budget: overrides what the thread says
    heavy: int = K.DEFAULT_HEAVY
    top: int = 5
    drivers: Sequence[str] = field(default_factory=tuple)
    arch: Optional[str] = None  # --arch: overrides detection
    # module/function totals and call cycles; False for a format that prints neither (CSV)
    totals: bool = True


def detect_arch(stack: StackInput, forced: Optional[str] = None) -> str:
    arch = forced or stack.arch
    if arch and arch in K.ARCH and K.ARCH[arch].ptr_size != 4:
        return arch  # (no address is too wide for it)
    widest = max([f.sp or 0 for f in stack.frames] + [f.ret or 0 for f in stack.frames] + [0])
    if arch:
        if arch not in K.ARCH:
            raise StackextError("unknown architecture %r (known: %s)"
                                % (arch, ", ".join(K.ARCHES)), stack.source)
        if K.ARCH[arch].ptr_size == 4 and widest > 0xFFFFFFFF:
            raise StackextError("--arch %s, but this stack has 64-bit addresses (0x%x): it is "
                                "not a 32-bit stack" % (arch, widest), stack.source)
        return arch
    return "x64" if widest > 0xFFFFFFFF else "x86"


def _bounds_from_start_frame(frames: List[Frame],
                             names: List[str]) -> Optional[Tuple[int, int]]:
    """KiStartSystemThread's first two arguments are the thread's StackBase and StackLimit in
    real kv/STACK_TEXT output (they match !thread's Base/Limit in the same logs). Used only when
    they agree with the frame they sit in."""
    for f, name in zip(frames, names):
        if name in ("kistartsystemthread", "kxstartsystemthread") and \
                len(f.args) >= 2 and f.args[0] and f.args[1] and f.sp:
            base, limit = f.args[0], f.args[1]
            size = base - limit
            if 0 < size <= 0x20000 and size % K.PAGE == 0 and limit < f.sp < base:
                return base, limit
    return None


_SLOTS = Frame.__slots__


def _copy_frame(f: Frame) -> Frame:
    c = Frame.__new__(Frame)  # what copy.copy does, without its protocol lookups
    for name in _SLOTS:  # (dataclasses.replace re-runs __init__: slower still)
        setattr(c, name, getattr(f, name))
    c.args = list(f.args)
    return c


def _segments(report: StackReport, frames: List[Frame], names: List[str], stack: StackInput,
              opts: AnalysisOptions) -> None:
    base, limit, arch = report.stack_base, report.stack_limit, report.arch
    seg_limit = limit if limit is not None else stack.limit_hint
    default = K.default_budget(arch)
    jump = opts.budget or (base - limit if base is not None and limit is not None else None) \
        or default
    runs = S.split(frames, arch, max(jump, default), seg_limit, base, names)
    report.segments, report.thread_segment = S.label(frames, runs, arch, report.kernel,
                                                     seg_limit, base, names)
    for seg, (s, e) in zip(report.segments, runs):
        for f in frames[s:e]:
            f.segment = seg.index


def _marks(report: StackReport, frames: List[Frame], opts: AnalysisOptions,
           export_modules) -> None:
    """Each frame's driver, heavy and symbol quality (pdb / export: the nearest export of a
    module without its PDB / none), and the heaviest frames, in one pass. A size that holds more
    than the frame's own (SizeNote) is neither heavy nor ranked. Heavy and heaviest
    are about the stack the budget applies to: a 10 KB user frame below a system call or the
    bugcheck's own frames on the panic stack are not what to fix."""
    drivers = frozenset(d.lower() for d in opts.drivers)  # once, not per frame
    t = report.thread_segment
    side = S.side_stack(report)  # frame 00's DPC/ISR/... stack: its 1 KB frames are heavy too
    ran = None if side is None else side.index
    heavy = opts.heavy
    pdb, export, none = SymbolQuality.PDB, SymbolQuality.EXPORT, SymbolQuality.NONE
    far = K.EXPORT_DISPLACEMENT
    # (module, microsoft) -> (a driver, without its PDB): a stack has few modules
    known: Dict[Tuple[Optional[str], Optional[bool]], Tuple[bool, bool]] = {}
    ranked = []
    for f in frames:
        module = f.module
        key = (module, f.microsoft)
        facts = known.get(key)
        if facts is None:
            facts = known[key] = (is_driver_module(module, drivers, f.microsoft),
                                  (module or "").lower() in export_modules)
        f.driver = facts[0]
        offset = f.offset
        f.symbol_quality = none if not f.function else export \
            if facts[1] or (offset is not None and offset >= far) else pdb
        size = f.size if f.size_note is None else None  # (an upper bound: not ranked)
        if size and (t is None or f.segment == t):
            ranked.append((-size, f.index, len(ranked), f))  # sorts in C; the position: stable
            f.heavy = size >= heavy and not f.inline
        else:
            f.heavy = False if size is None or f.inline else \
                size >= heavy and (t is None or f.segment == t or f.segment == ran)
    ranked.sort()
    report.heaviest = [x[1] for x in ranked[: opts.top]]
    report.heaviest_drivers = [x[1] for x in ranked if x[3].driver][: opts.top]


def _segment_accounts(report: StackReport, frames: List[Frame], top: int) -> None:
    """Every stack the call stack ran on: the bytes its SPs prove used and its heaviest driver
    frames (a breakpoint on a DPC stack has its drivers there, not on the thread's stack)."""
    for seg in report.segments:
        if seg.index == report.thread_segment:
            seg.used, seg.budget = report.used, report.budget
        elif seg.low is not None and seg.high is not None and seg.high > seg.low and \
                seg.note != S.PAST_START:  # (stale frame pointers prove no bytes used)
            seg.used = seg.high - seg.low
        ranked = sorted((f for f in frames if f.segment == seg.index and f.size and f.driver
                         and f.size_note is None),
                        key=lambda f: (-f.size, f.index))
        seg.heaviest_drivers = [f.index for f in ranked[:top]]


def _high_water(report: StackReport, stack: StackInput) -> None:
    report.high_water = stack.high_water
    report.committed_limit = stack.committed_limit
    base, limit = report.stack_base, report.stack_limit
    if report.high_water is None and not report.kernel and stack.committed_limit is not None \
            and base is not None and stack.committed_limit < base:
        # user stack: the committed bottom is the deepest page the thread ever touched
        report.high_water = HighWater(address=stack.committed_limit,
                                      used=base - stack.committed_limit,
                                      remaining=None if limit is None
                                      else stack.committed_limit - limit,
                                      page_granular=True,
                                      origin="TEB StackLimit (committed bottom)")


def _lost_proof(report: StackReport, lost: LostTrack) -> None:
    """Nothing judged on a walk that lost track is proven (unless an overflow is proven)."""
    if report.overflow and report.verdict_proven:
        return
    report.verdict_proven = False
    if lost.cause == LostCause.FRAMES_MISSING and \
            NotProven.FRAMES_MISSING not in report.not_proven:
        report.not_proven.append(NotProven.FRAMES_MISSING)  # (its gap went with the slots)
    report.not_proven.append(NotProven.WALK_LOST)


def analyze(stack: StackInput, options: Optional[AnalysisOptions] = None,
            owned: bool = False) -> StackReport:
    """The whole analysis of one stack. The input's frames are copied, never changed -- unless
    the caller `owned` them (a log's stack read only to be analysed once: no copy per frame)."""
    opts = options or AnalysisOptions()
    arch = detect_arch(stack, opts.arch)
    frames = list(stack.frames) if owned else [_copy_frame(f) for f in stack.frames]
    kernel = stack.kernel
    if kernel is None:
        kernel = any(f.sp is not None and K.is_kernel_address(f.sp, arch) for f in frames)
    lost = find_lost(frames, kernel, arch, stack.frames_from, stack.bugcheck)
    walked = frames  # KiStartSystemThread's bounds hold even past where the walk lost track
    walked_names = _routine_keys(walked, arch)
    if lost is not None:
        frames = frames[:lost[0]]  # stack slots past the point the unwinder lost track
    # x86 ChildEBP 0 ends the EBP chain: no stack pointer (not a switch to another stack); no
    # thread runs on a stack at address 0 (a Child-SP of 0: text whose backticks became blanks)
    null_fp = no_frame_pointer(frames, K.ARCH[arch].sp_is_frame_pointer)
    for f, _ in null_fp:
        f.sp = None
    names = walked_names if lost is None else walked_names[:lost[0]]
    report = _new_report(stack, arch, kernel, frames, opts)
    report.lost_track = lost[1] if lost is not None else None
    origin = stack.bounds_origin
    if stack.stack_base is None and stack.stack_limit is None and kernel:
        found = _bounds_from_start_frame(walked, walked_names)
        if found:
            report.stack_base, report.stack_limit = found
            origin = Origin.LOG
    _segments(report, frames, names, stack, opts)
    P.on_dpc_stack(report, frames, stack)
    fill_sizes(frames, arch, report.stack_base, report.thread_segment, stack.current_sp)
    if K.ARCH[arch].sp_is_frame_pointer:
        split_traps(frames, names, stack.traps)
    S.past_start(frames, report.segments)
    for f, why in null_fp:
        f.size_unknown_reason = why
    if lost is not None:
        mark_lost(frames, lost[1].cause)
    start_area(frames, names, report, report.stack_base)
    _judge(report, stack, frames, names, opts, origin)
    _marks(report, frames, opts, stack.export_modules)
    if opts.totals:
        rollups(report, frames)
    _segment_accounts(report, frames, opts.top)
    P.account(report, frames, stack)
    if opts.totals:
        report.cycles = find_cycles(frames, report.thread_segment, report.remaining)
    for c in report.cycles:
        c.rounds_left_at_most = report.remaining_is_upper_bound
    _high_water(report, stack)
    _annotate(frames, stack, arch)
    if stack.complete is False:
        report.warnings.append("this stack is cut short: frames beyond the last one shown are "
                               "not in the log")
    return report


def _routine_keys(frames: List[Frame], arch: str) -> List[str]:
    """Each frame's key in the routine tables (K.fn_key), computed once, inline."""
    names = [(f.function or "").lower() for f in frames]
    if arch == "x86":  # "_KiTrap0E": x86 symbols keep the C decoration
        names = [K.undecorated(n) for n in names]
    return names


def _judge(report: StackReport, stack: StackInput, frames: List[Frame], names: List[str],
           opts: AnalysisOptions, origin: Optional[Origin]) -> None:
    """The budget, the double fault and the verdict (stackext.verdict's steps, in order); on a
    walk that lost track, nothing judged is proven."""
    V.budget(report, opts.budget, origin, stack.bounds_note)
    report.double_fault = V.is_double_fault(report, names)
    m = V.measure(stack, report, frames)
    if m is not None:
        V.judge(report, m)
    V.invalid_stack_pointer(report)
    V.corrupt_esp(report, frames, stack.traps)
    if report.lost_track is not None:
        _lost_proof(report, report.lost_track)


def _new_report(stack: StackInput, arch: str, kernel: bool, frames: List[Frame],
                opts: AnalysisOptions) -> StackReport:
    """The report with what the input says of the thread, before any analysis."""
    report = StackReport(source=stack.source, arch=arch, kernel=kernel, frames=frames,
                         segments=[], thread=stack.thread, process=stack.process,
                         thread_number=stack.thread_number,
                         image=stack.image, state=stack.state, bugcheck=stack.bugcheck,
                         warnings=list(stack.warnings), heavy_threshold=opts.heavy,
                         frames_from=FramesFrom(stack.frames_from), bounds_note=stack.bounds_note)
    report.stack_base, report.stack_limit = V.bounds(report, stack.stack_base, stack.stack_limit)
    report.exception_code = stack.exception_code
    bc = stack.bugcheck
    if bc is not None and K.ARCH[arch].ptr_size == 4:  # !analyze's BUGCHECK_Pn: sign-extended
        report.bugcheck = Bugcheck(bc.code, [None if a is None else a & 0xFFFFFFFF
                                             for a in bc.args])
    return report


def _annotate(frames: List[Frame], stack: StackInput, arch: str) -> None:
    """Each frame's locals and layout from the dv/.fnent notes the log or debugger gave."""
    if not stack.frame_notes:
        return
    ptr = stack.ptr_size or K.ARCH[arch].ptr_size
    by_index = {f.index: f for f in frames}
    for index, notes in stack.frame_notes.items():
        if index in by_index:
            annotate(by_index[index], notes.get("dv"), notes.get("fnent"), ptr)


__all__ = ["AnalysisOptions", "analyze", "detect_arch"]
