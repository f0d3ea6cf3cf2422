"""A DPC or ISR segment judged against its own stack. When the source read the processor's stack
top (`_KPRCB.DpcStack` / `IsrStack`) and its size, and every SP of the segment lies in
[top - size, top), the segment's budget is that size and its bounds are proven; the running
(innermost) one gets a verdict as the thread's stack does. Otherwise its budget stays unknown and
`budget_note` says what is missing.

Pure: imports stackext.model and stackext.knowledge only.
"""

from __future__ import annotations

from typing import List, Optional

from stackext import knowledge as K
from stackext.model import (
    Frame,
    ProcessorStack,
    Segment,
    SegmentKind,
    StackInput,
    StackReport,
    VerdictKind,
)

KINDS = (SegmentKind.DPC, SegmentKind.ISR)
# Why a DPC/ISR segment has no budget, when the source said nothing more precise.
NOT_READ = {
    SegmentKind.DPC: "the processor's DpcStack is not known (in the log: `dt nt!_KPRCB @$prcb "
                     "DpcStack`, or !analyze's DPC_STACK_BASE)",
    SegmentKind.ISR: "the processor's IsrStack and its size (nt!KeIsrStackSize) are not known "
                     "(stackext reads them inside the debugger)",
}
NO_SIZE = {
    SegmentKind.DPC: "no source states the DPC stack's size for %s",
    SegmentKind.ISR: "the ISR stack's size is not known (%s: stackext reads nt!KeIsrStackSize "
                     "inside the debugger)",
}
OUTSIDE = "its stack pointers lie outside the processor's %s stack as read (%s)"


def account(report: StackReport, frames: List[Frame], stack: StackInput) -> None:
    """Budget, used and remaining of every DPC/ISR segment whose stack is known; the verdict of
    the running one."""
    for seg in report.segments:
        if seg.kind not in KINDS:
            continue
        sps = [f.sp for f in frames
               if f.segment == seg.index and not f.inline and f.sp is not None]
        if not sps:
            continue
        read = [ps for ps in stack.processor_stacks if ps.kind == seg.kind]
        found = [_sized(ps, report.arch) for ps in read]
        found = [ps for ps in found if ps.size]
        ps = _holding(found, sps)
        if ps is not None:
            _bounded(report, frames, seg, ps, min(sps))
        elif found:
            seg.budget_note = OUTSIDE % (seg.kind.value.upper(), found[0].origin)
        elif read:
            seg.budget_note = NO_SIZE[seg.kind] % report.arch
        else:
            seg.budget_note = stack.processor_stack_missing.get(seg.kind.value) or \
                NOT_READ[seg.kind]


def on_dpc_stack(report: StackReport, frames: List[Frame], stack: StackInput) -> None:
    """A segment the names left as the thread's (or unknown) whose SPs all lie on the
    processor's DPC stack as the log states it (!analyze's DPC_STACK_BASE, _KPRCB.DpcStack) runs
    on that stack, when the thread's own bounds are not known: a crash in a DPC whose listing
    stops before KiRetireDpcList (a WFP callout's DbgPrint at IRQL 2)."""
    if report.stack_base is not None or not report.kernel:
        return
    found = [ps for ps in (_sized(p, report.arch) for p in stack.processor_stacks
                           if p.kind == SegmentKind.DPC) if ps.size]
    if not found:  # (most stacks: no DPC stack is known, no segment to look at)
        return
    for seg in report.segments:
        if seg.kind not in (SegmentKind.THREAD, SegmentKind.UNKNOWN) or seg.note:
            continue
        sps = [f.sp for f in frames
               if f.segment == seg.index and not f.inline and f.sp is not None]
        if sps and _holding(found, sps) is not None:
            seg.kind = SegmentKind.DPC
            if report.thread_segment == seg.index:
                report.thread_segment = None


def _sized(ps: ProcessorStack, arch: str) -> ProcessorStack:
    """A DPC stack's size is the architecture's KERNEL_STACK_SIZE (knowledge.DPC_STACK_SIZE)."""
    if ps.size is None and ps.kind == SegmentKind.DPC:
        return ProcessorStack(ps.kind, ps.top, K.DPC_STACK_SIZE.get(arch), ps.origin)
    return ps


def _holding(found: List[ProcessorStack], sps: List[int]) -> Optional[ProcessorStack]:
    """The processor stack every one of these SPs lies on (a log may show several processors').
    The top is the stack's initial SP (x64 DpcStack: ...fb0, below its page's end), which the
    outermost frame's Child-SP equals (KxRetireDpcList's)."""
    for ps in found:
        if all(ps.top - ps.size <= sp <= ps.top for sp in sps):
            return ps
    return None


def _bounded(report: StackReport, frames: List[Frame], seg: Segment, ps: ProcessorStack,
             innermost: int) -> None:
    size = ps.size or 0
    seg.top, seg.budget, seg.bounds_from = ps.top, size, ps.origin
    seg.used = ps.top - innermost
    seg.remaining = innermost - (ps.top - size)
    if not frames or frames[0].segment != seg.index:
        return  # not running now: something interrupted it (its innermost SP is where)
    if seg.remaining <= 0:
        seg.verdict = VerdictKind.OVERFLOW
    elif seg.remaining < size // 4:
        seg.verdict = VerdictKind.CLOSE
    else:
        seg.verdict = VerdictKind.OK
    # as the thread's stack: proven when it rests on the stack's own bounds with its innermost
    # frames shown, on a walk that did not lose track
    seg.verdict_proven = frames[0].index == 0 and frames[0].gap_before is None and \
        report.lost_track is None

