"""The processor's own stacks a DPC or ISR segment runs on, read through the adapter only when the
walk has DPC or ISR frames off the thread's stack: the current processor's `_KPRCB.DpcStack`
(one round trip: the engine evaluates `poi(@$prcb+offset)`, the offset from the symbols) and, for
an ISR, `_KPRCB.IsrStack` and nt!KeIsrStackSize (two). Independent of the frame count. A read that
fails leaves a sentence in StackInput.processor_stack_missing (the segment's budget stays
unknown and the report says why).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from stackext import knowledge as K
from stackext.model import Frame, ProcessorStack, SegmentKind, StackInput
from stackext.sources.pykd.adapter import Debugger, DebuggerError, SymbolError, first_line

_FIELD = {SegmentKind.DPC: "DpcStack", SegmentKind.ISR: "IsrStack"}
ORIGIN = "_KPRCB.%s of the current processor (the debugger)"


def _off_thread(f: Frame, stack: StackInput) -> bool:
    base, limit = stack.stack_base, stack.stack_limit
    return f.sp is not None and not f.inline and (
        base is None or limit is None or not limit <= f.sp < base)


def wanted(stack: StackInput) -> List[SegmentKind]:
    """Which processor stacks the walk may have run on: DPC or ISR routines off the thread's
    stack (a DPC the idle loop retires on its own stack needs nothing)."""
    kinds = []
    names = [(K.fn_key(f.function), f) for f in stack.frames if _off_thread(f, stack)]
    if any(n in K.DPC_ROUTINES for n, _ in names):
        kinds.append(SegmentKind.DPC)
    if any(n.startswith(K.ISR_ROUTINES_PREFIX) for n, _ in names):
        kinds.append(SegmentKind.ISR)
    return kinds


def read_processor_stacks(dbg: Debugger, stack: StackInput) -> None:
    kinds = wanted(stack)
    if not kinds:
        return
    try:
        layout = dbg.field_layout("nt!_KPRCB", [_FIELD[k] for k in kinds])  # the symbols
    except SymbolError:
        _missing(stack, kinds, "no symbols for nt: cannot read _KPRCB (.symfix; .reload nt)")
        return
    except DebuggerError as exc:
        _missing(stack, kinds, "cannot read _KPRCB (%s)" % first_line(exc))
        return
    for kind in kinds:
        found, why = _read(dbg, kind, layout)
        if found is not None:
            stack.processor_stacks.append(found)
        else:
            stack.processor_stack_missing[kind.value] = why


def _read(dbg: Debugger, kind: SegmentKind,
          layout: Dict[str, Tuple[int, int]]) -> Tuple[Optional[ProcessorStack], str]:
    name = _FIELD[kind]
    if name not in layout:
        return None, "this kernel's _KPRCB has no %s field" % name
    try:
        top = dbg.evaluate("poi(@$prcb+0x%x)" % layout[name][0])
    except DebuggerError as exc:
        return None, "cannot read _KPRCB.%s (%s)" % (name, first_line(exc))
    if not top:
        return None, "_KPRCB.%s is 0 on this processor" % name
    size = None  # a DPC stack's is the architecture's KERNEL_STACK_SIZE (stackext.procstacks)
    if kind == SegmentKind.ISR:
        try:
            size = dbg.evaluate("dwo(%s)" % K.ISR_STACK_SIZE_SYMBOL)
        except DebuggerError as exc:
            return None, "cannot read %s, the ISR stack's size (%s)" % (
                K.ISR_STACK_SIZE_SYMBOL, first_line(exc))
    return ProcessorStack(kind=kind, top=top, size=size or None, origin=ORIGIN % name), ""


def _missing(stack: StackInput, kinds: List[SegmentKind], why: str) -> None:
    for kind in kinds:
        stack.processor_stack_missing[kind.value] = why
