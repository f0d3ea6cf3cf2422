"""Split a call stack into the stacks it actually ran on, and label each one.

A Child-SP difference means something only between two frames on the same stack (the Linux crash
utility's INSTACK rule). Pure: imports stackext.model and stackext.knowledge only.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from stackext import knowledge as K
from stackext.model import SIDE_STACKS, Frame, Segment, SegmentKind, StackReport, UnknownReason


def _in_thread(sp: int, limit: Optional[int], base: Optional[int]) -> Optional[bool]:
    """Is sp on the thread's own stack? None when the bounds do not say."""
    if base is not None and sp >= base:
        return False
    if limit is not None and sp < limit - K.OVERFLOW_SLACK:
        return False
    if base is None and limit is None:
        return None
    if base is None:
        # Only the limit is known (STACK_OVERFLOW line): above it by more than the largest
        # stack is not this thread's.
        return sp < limit + K.ONE_BOUND_REACH or None
    if limit is None:
        return sp >= base - K.ONE_BOUND_REACH or None
    return True


def split(frames: List[Frame], arch: str, jump_limit: int, limit: Optional[int],
          base: Optional[int], names: List[str]) -> List[Tuple[int, int]]:
    """Positions [start, end) of each run of frames on one stack, innermost run first. `names`:
    each frame's K.fn_key.

    Inline frames and frames without an SP stay with the physical frame before them. Between
    two physical frames, inner SP a and outer SP b, the stack changes when:
    - one is in kernel space and the other not: the system-call boundary;
    - the inner frame is an IST handler: what it interrupted is on another stack;
    - b < a: stacks grow down, so going outward the SP can only rise;
    - in kernel space, b - a > jump_limit: no kernel frame is bigger than the whole stack;
    - one is on the thread's own stack and the other not (kernel bounds, or a user target's TEB
      bounds: a fiber or a hand-made stack), where the bounds say;
    - the inner frame is where a kernel thread's stack begins (K.THREAD_ORIGIN_ROUTINES): a
      kernel frame outward of it is the walk following stale frame pointers.
    User stacks reserve 1 MB or more: a huge frame there (_alloca) is real, not a switch --
    short of K.USER_JUMP_LIMIT."""
    runs: List[Tuple[int, int]] = []
    start = 0
    floor = K.ARCH[arch].kernel_floor
    ist_routines, origins = K.IST_ROUTINES, K.THREAD_ORIGIN_ROUTINES
    # the last physical frame's SP, kernel, on the thread, IST handler, thread start
    a = ka = ta = ist = origin = None
    for pos, f in enumerate(frames):
        sp = f.sp
        if f.inline or sp is None:
            continue
        kb, tb = sp >= floor, _in_thread(sp, limit, base)
        name = names[pos]
        if a is not None and (ka != kb or ist and name not in K.IST_ENTRY_OF.get(ist, ()) or
                              (origin and kb) or sp < a or sp - a > (
                jump_limit if kb else K.USER_JUMP_LIMIT) or
                (ta is not None and tb is not None and ta != tb)):
            # inline frames between belong to the outer physical frame they sit in
            cut = pos
            while cut > start and frames[cut - 1].inline:
                cut -= 1
            runs.append((start, cut))
            start = cut
        a, ka, ta, origin = sp, kb, tb, name in origins
        ist = name if name in ist_routines else None
    if frames:
        runs.append((start, len(frames)))
    return runs


def _all_in_thread(p: List[Frame], limit: Optional[int], base: Optional[int]) -> bool:
    """Are all these frames' SPs on the thread's own stack (as _in_thread says of each)?"""
    if base is not None and limit is not None:  # _in_thread with both bounds, in C
        sps = [f.sp for f in p]
        return not sps or (max(sps) < base and min(sps) >= limit - K.OVERFLOW_SLACK)
    return all(_in_thread(f.sp, limit, base) for f in p)


def _switched(names: List[str], nxt_name: Optional[str], switcher, returns) -> bool:
    """The segment's outermost frame is the routine that switched to its stack, or the frame
    outward of it is where that switch comes back."""
    return bool(names) and names[-1] in switcher or nxt_name is not None and nxt_name in returns


def label(frames: List[Frame], runs: List[Tuple[int, int]], arch: str, kernel: bool,
          limit: Optional[int], base: Optional[int],
          all_names: List[str]) -> Tuple[List[Segment], Optional[int]]:
    """Segments with their kinds, and the index of the thread's own stack segment (or None).
    `all_names`: each frame's K.fn_key."""
    segs: List[Segment] = []
    phys = [[f for f in frames[s:e] if not f.inline and f.sp is not None] for s, e in runs]
    is_kernel = [bool(p) and K.is_kernel_address(p[0].sp, arch) for p in phys]
    # a kernel run outward of the thread's start routine: stale frame pointers (split's rule)
    stale = [i > 0 and is_kernel[i] and _ends_in(frames, runs[i - 1], all_names,
                                                 K.THREAD_ORIGIN_ROUTINES)
             for i in range(len(runs))]
    kernel_runs = [i for i, k in enumerate(is_kernel) if k and not stale[i]]
    outermost_kernel = kernel_runs[-1] if kernel_runs else None
    thread: Optional[int] = None
    for i, (s, e) in enumerate(runs):
        seg_frames = frames[s:e]
        names = all_names[s:e]
        p = phys[i]
        nxt_name = all_names[e] if e < len(frames) else None
        kind, note = SegmentKind.UNKNOWN, None
        if stale[i]:
            note = PAST_START
        elif p and not is_kernel[i]:
            kind, note = _user_kind(p, phys[i - 1] if i else [], kernel, limit, base)
        elif not K.IST_ROUTINES.isdisjoint(n for f, n in zip(seg_frames, names)
                                           if f.sp is not None):
            # (x86 KiTrap08 with a null EBP is no frame on the double-fault stack: the frames
            # after it run on the thread's)
            kind = SegmentKind.IST
            note = "double-fault/NMI/machine-check stack"
        elif p and base is not None and _all_in_thread(p, limit, base):
            kind = SegmentKind.THREAD
        elif i != outermost_kernel and (side := _side_kind(names, nxt_name)) is not None:
            kind = side
        elif i == outermost_kernel and base is None:
            kind = SegmentKind.THREAD
        segs.append(Segment(index=i, kind=kind, first_frame=seg_frames[0].index if seg_frames
                            else 0, last_frame=seg_frames[-1].index if seg_frames else 0,
                            low=p[0].sp if p else None, high=p[-1].sp if p else None, note=note))
    threads = [s.index for s in segs if s.kind == SegmentKind.THREAD]
    if threads:
        thread = threads[-1]
        for extra in threads[:-1]:
            segs[extra].kind = SegmentKind.UNKNOWN
    elif not kernel:
        # A user-mode target: its own (user) stack is the one the budget applies to, the one it
        # runs on (innermost); a later user run follows an SP that stepped back or far away
        users = [s.index for s in segs if s.kind == SegmentKind.USER]
        thread = users[0] if users else None
    return segs, thread


def _ends_in(frames: List[Frame], run: Tuple[int, int], names: List[str], routines) -> bool:
    """Is the run's outermost physical frame one of these routines? (From its end: one step,
    as a run rarely ends in inline frames.)"""
    for pos in range(run[1] - 1, run[0] - 1, -1):
        if not frames[pos].inline and frames[pos].sp is not None:
            return names[pos] in routines
    return False


PAST_START = "outward of the thread's start routine: stale frame pointers, no stack the thread " \
    "ran on"


def past_start(frames: List[Frame], segments: List[Segment]) -> None:
    """The frames outward of a kernel thread's start routine have no size: the stale frame
    pointers the walk followed there measure nothing of the thread's."""
    stale = {s.index for s in segments if s.note == PAST_START}
    if not stale:
        return
    for f in frames:
        if f.segment in stale and not f.inline:
            f.size, f.gap_bytes = None, None
            f.size_unknown_reason = UnknownReason.PAST_START


def _user_kind(p: List[Frame], before: List[Frame], kernel: bool, limit: Optional[int],
               base: Optional[int]) -> Tuple[SegmentKind, Optional[str]]:
    """A run of user-space SPs (`p`: its physical frames; `before`: the run's before it)."""
    if not kernel and base is not None and limit is not None and \
            not _all_in_thread(p, limit, base):
        # a user target's SP off its TEB stack: a fiber, a hand-made stack, a zero context
        return SegmentKind.UNKNOWN, "not on the thread's stack (StackBase/StackLimit)"
    if before and p[0].sp - before[-1].sp > K.USER_JUMP_LIMIT:
        return SegmentKind.UNKNOWN, "its SP lies %s above the frame before it: no stack the " \
            "thread ran on (where a frame pointer chain ran off)" % _mb(p[0].sp - before[-1].sp)
    return SegmentKind.USER, None


def _side_kind(names: List[str], nxt_name: Optional[str]) -> Optional[SegmentKind]:
    """A kernel run other than the outermost: the stack a routine in it (or the one outward
    of it) switched to, if any says."""
    if _switched(names, nxt_name, K.EXCEPTION_STACK_ROUTINES, K.EXCEPTION_STACK_CONTINUE):
        return SegmentKind.EXCEPTION
    if not K.DPC_ROUTINES.isdisjoint(names):
        return SegmentKind.DPC
    if any(n.startswith(K.ISR_ROUTINES_PREFIX) for n in names) or \
            (nxt_name is not None and nxt_name.startswith(K.ISR_ROUTINES_PREFIX)):
        return SegmentKind.ISR
    if _switched(names, nxt_name, K.EXPAND_ROUTINES, K.EXPAND_ROUTINES):
        return SegmentKind.EXPANDED
    return None


def _mb(n: int) -> str:
    return "%d MB" % (n >> 20)


def side_stack(report: StackReport) -> Optional[Segment]:
    """The segment frame 00 runs on when it is a kernel stack other than the thread's own (a
    DPC, ISR, expanded or exception stack: where the crash or the breakpoint happened)."""
    first = report.segments[0] if report.segments else None
    if first is None or first.index == report.thread_segment or first.kind not in SIDE_STACKS:
        return None
    return first
