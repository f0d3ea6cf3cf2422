"""A thread's stack bounds through the adapter: kernel threads from nt!_KTHREAD (and the
previous segment of an expanded stack), user threads from the TEB."""

from __future__ import annotations

from typing import Optional

from stackext.addresses import fmt_addr
from stackext.model import Origin, StackInput
from stackext.sources.pykd.adapter import Debugger, DebuggerError, SymbolError, first_line

NO_NT_SYMBOLS = ("no symbols for nt: cannot read the thread's StackBase/StackLimit "
                 "(.symfix; .reload nt): using the default budget")
_KTHREAD = ("StackBase", "StackLimit", "InitialStack", "KernelStack")
# TEB.DeallocationStack (bottom of the stack reservation) when ntdll has no type info: the same
# offset from XP to Windows 11 (x64 0x1478, x86 0xe0c); the real engine read the reserve there
# (tests/realengine/recorded/seed.json: loadQWords(teb+0x1478) = 0x20000).
_DEALLOCATION_STACK = {"x64": 0x1478, "x86": 0xE0C}


def kernel_bounds(dbg: Debugger, stack: StackInput) -> None:
    """StackBase/StackLimit/InitialStack/KernelStack of the implicit thread, from nt!_KTHREAD."""
    try:
        thread = dbg.implicit_thread()
        stack.thread = thread
        stack.process = dbg.implicit_process()
        kt = dbg.typed("nt!_KTHREAD", thread)
        values = [kt[name] for name in _KTHREAD]
    except SymbolError:
        stack.warnings.append(NO_NT_SYMBOLS)
        return
    except DebuggerError as exc:
        stack.warnings.append("cannot read the thread's StackBase/StackLimit (%s): using the "
                              "default budget" % first_line(exc))
        return
    stack.stack_base, stack.stack_limit, stack.initial_stack, stack.kernel_stack = values
    stack.bounds_origin = Origin.THREAD
    stack.bounds_note = "from the thread (nt!_KTHREAD)"
    expanded_segments(dbg, stack)


def expanded_segments(dbg: Debugger, stack: StackInput) -> None:
    """Best effort: when frames lie above StackBase, the thread may be running on a stack that
    KeExpandKernelStackAndCallout added; _KSTACK_CONTROL at the top of the current segment links
    to the previous segment (_KERNEL_STACK_SEGMENT: StackBase, StackLimit). Kernels or symbols
    without these types simply get no note."""
    base = stack.stack_base
    above = [f.index for f in stack.frames if f.sp is not None and base and f.sp >= base]
    if not above:
        return
    try:
        prev = dbg.typed("nt!_KSTACK_CONTROL", stack.initial_stack or base).field("Previous")
        low, high = prev["StackLimit"], prev["StackBase"]
    except DebuggerError:
        return  # no such types here, or a DPC/ISR stack above the thread's: say nothing
    inside = [i for i in above if low <= stack.frames[i].sp < high]
    if inside:
        stack.warnings.append("frames %d.. are on the previous stack segment %s..%s "
                              "(KeExpandKernelStackAndCallout)" % (inside[0], fmt_addr(low),
                                                                  fmt_addr(high)))


def user_bounds(dbg: Debugger, stack: StackInput) -> None:
    """User-mode thread: NtTib.StackBase/StackLimit and the reserve's bottom (DeallocationStack)
    from the TEB, which is dbgeng's implicit thread in user mode."""
    how = "TEB"
    try:
        teb = dbg.implicit_thread()
        try:
            tv = dbg.typed("ntdll!_TEB", teb)
            base, committed = tv.field("NtTib")["StackBase"], tv.field("NtTib")["StackLimit"]
            reserve: Optional[int] = tv["DeallocationStack"]
        except SymbolError:
            # ntdll with export symbols only (no _TEB type): NT_TIB opens the TEB with
            # ExceptionList, StackBase, StackLimit (winnt.h), pointer-sized.
            how = "TEB, read without ntdll symbols"
            try:
                _, base, committed = dbg.read_pointers(teb, 3)
            except DebuggerError as exc:
                stack.warnings.append(_no_teb(dbg, teb, exc, stack.arch != "x86"))
                return
            reserve = _dealloc(dbg, teb, stack.arch)
    except DebuggerError as exc:
        stack.warnings.append("cannot read the thread's TEB (%s): user stack bounds unknown "
                              "(.symfix; .reload ntdll)" % first_line(exc))
        return
    ptr64 = stack.arch != "x86"
    stack.stack_base = base
    stack.bounds_origin = Origin.THREAD
    stack.committed_limit = committed
    # The budget is the whole reservation (StackBase - DeallocationStack): the stack grows into
    # it on demand. StackLimit is only the committed bottom (under Wine it is the reserve + 2
    # pages from the start; on Windows it follows the deepest touch, a high-water mark).
    if reserve and reserve < committed:
        stack.stack_limit = reserve
        stack.bounds_note = ("user stack from the %s at %s: StackBase - DeallocationStack (the "
                             "reserve); StackLimit (committed bottom) %s"
                             % (how, fmt_addr(teb, ptr64), fmt_addr(committed, ptr64)))
    else:
        stack.stack_limit = committed
        stack.bounds_note = ("user stack from the %s at %s: StackBase - StackLimit (committed; "
                             "DeallocationStack not readable)" % (how, fmt_addr(teb, ptr64)))


def _no_teb(dbg: Debugger, teb: int, exc: DebuggerError, ptr64: bool) -> str:
    """The TEB's memory is not there: on a dump that is the dump lacking it (a minidump written
    without it), which no symbol path fixes."""
    try:
        dump = dbg.is_dump()
    except DebuggerError:
        dump = False
    if dump:
        return ("cannot read the thread's TEB: the dump lacks it (its memory at %s is not in the "
                "dump: %s), so the user stack bounds are unknown; a dump with the thread's TEB "
                "(.dump /ma, procdump -ma) has them" % (fmt_addr(teb, ptr64), first_line(exc)))
    return ("cannot read the thread's TEB at %s (%s): user stack bounds unknown"
            % (fmt_addr(teb, ptr64), first_line(exc)))


def _dealloc(dbg: Debugger, teb: int, arch: Optional[str]) -> Optional[int]:
    off = _DEALLOCATION_STACK.get(arch or "")
    if off is None:
        return None
    try:
        return dbg.read_pointers(teb + off, 1)[0]
    except DebuggerError:
        return None
