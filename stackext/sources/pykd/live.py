"""Read a thread's stack from the live debugger into a StackInput: the stack walk, the thread's
bounds (sources.pykd.bounds), the bugcheck. Everything goes through the adapter it is given.

Never calls anything that writes target memory or registers; state it changes (--thread) is put
back in try/finally.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Iterator, List, Optional, Tuple

from stackext.addresses import fmt_addr
from stackext.doublefault import double_fault_trap, handler_frame, mark_trap_frame
from stackext.errors import StackextError
from stackext.model import Bugcheck, Frame, FramesFrom, StackInput
from stackext.sources.pykd.adapter import Debugger, DebuggerError, RawFrame, boundary
from stackext.sources.pykd.bounds import kernel_bounds, user_bounds
from stackext.sources.pykd.context import (
    bugcheck_context,
    exception_context,
    show_context,
    switched_context,
    thread_exception,
    user_context,
)
from stackext.sources.pykd.continued import KNF_COUNT, continue_walk
from stackext.sources.pykd.nosymbols import modules_without_symbols
from stackext.sources.pykd.procstack import read_processor_stacks
from stackext.sources.pykd.state import switched_thread
from stackext.symbols import parse_symbol

# pykd's getStack stops at 1024 frames (kdlib's fixed buffer).
MAX_FRAMES = 1024


def target_arch(dbg: Debugger) -> str:
    with boundary("cannot read the target's processor mode"):
        arch, mode = dbg.arch()
    if arch is None:
        raise StackextError("unsupported processor mode %s: stackext knows x86, x64 and ARM64"
                            % mode)
    return arch


def read_frames(dbg: Debugger, arch: str, kernel: bool) -> Tuple[List[Frame], bool]:
    """The stack walk -> Frames; list index = WinDbg frame number. Returns (frames,
    may_continue)."""
    with boundary("cannot walk the stack", ".reload; check the thread with !thread"):
        raw = dbg.stack(arch == "x86")
    modules = ModuleFacts(dbg) if kernel else None
    frames = [_frame(index, rf, modules) for index, rf in enumerate(raw)]
    return frames, len(raw) >= MAX_FRAMES


def _frame(index: int, rf: RawFrame, modules: Optional["ModuleFacts"]) -> Frame:
    site, module, function, offset = parse_symbol(rf.symbol)
    frame = Frame(index=index, sp=rf.sp, ret=rf.ret, call_site=site, module=module,
                  function=function, offset=offset, inline=rf.inline, ip=rf.ip)
    if module is not None and modules is not None:
        # What the module's version resource says wins over the analysis's name table.
        frame.microsoft = modules.is_microsoft(rf.ip)
    return frame


class ModuleFacts:
    """Module facts looked up once per module (cached by address range), never per frame."""

    def __init__(self, dbg: Debugger):
        self.dbg = dbg
        self.ranges: List[Tuple[int, int, Optional[bool]]] = []
        self.version_unreadable = 0

    def is_microsoft(self, ip: int) -> Optional[bool]:
        """True/False from the module's version resource; None when it cannot be read (then
        the analysis's inbox-module table decides)."""
        for begin, end, microsoft in self.ranges:
            if begin <= ip < end:
                return microsoft
        try:
            mod = self.dbg.module(ip)
        except DebuggerError:
            return None
        microsoft = self._company_says(mod)
        self.ranges.append((mod.begin, mod.end, microsoft))
        return microsoft

    def _company_says(self, mod) -> Optional[bool]:
        # The version resource is absent from most minidumps, then the name table decides. After
        # two failures in a row, stop asking (a dump without them). On the real engine
        # getVersion() on a module with only export symbols crashed the whole process (a page
        # fault inside pykd, nothing to catch); queryVersion worked there
        # (tests/realengine/FINDINGS.md), but a process that dies loses the user's session, so
        # ask no module that `lm` lists with export symbols only (`lm` is read once;
        # module.symfile() would load symbols and print an error summary per module).
        if mod.export_only():
            return None
        if self.version_unreadable < 2:
            try:
                company = mod.company()
                self.version_unreadable = 0
                return "microsoft" in company.lower()
            except DebuggerError:
                self.version_unreadable += 1
        return None


def bugcheck(dbg: Debugger) -> Optional[Bugcheck]:
    values = dbg.bugcheck()
    if values is None:  # a dump without a bugcheck, or a live target
        return None
    values = list(values) + [None] * 5
    if not values[0]:
        return None
    return Bugcheck(code=values[0], args=values[1:5])


def _double_fault_warning(stack: StackInput, ptr64: bool) -> None:
    mark_trap_frame(stack)
    trap = double_fault_trap(stack)
    if trap is None:
        return
    thread = " or `.thread %s`" % fmt_addr(stack.thread, ptr64) if stack.thread else ""
    stack.warnings.append(
        "the stack walk ends on the double-fault stack at %s: to see the overflowed thread "
        "stack run `.trap %s` (its trap frame), then this command again%s"
        % (handler_frame(stack).symbol, fmt_addr(trap, ptr64), thread))


def _walk(dbg: Debugger, arch: str, kernel: bool, want, notes: List[str],
          ptr64: bool) -> Tuple[List[Frame], bool, bool]:
    """The walk, in the context `want` (then put back) when given: (frames, may_continue,
    whether the context was switched)."""
    with switched_context(dbg, want, notes, ptr64) as switched:
        frames, may_continue = _frames_here(dbg, arch, kernel, notes)
    return frames, may_continue, switched


def _frames_here(dbg: Debugger, arch: str, kernel: bool,
                 notes: List[str]) -> Tuple[List[Frame], bool]:
    """The walk in the current context, past pykd's 1,024 frames (knf) when it may go on."""
    frames, may_continue = read_frames(dbg, arch, kernel)
    if may_continue:
        more = continue_walk(dbg, frames, notes)
        if more is not None:
            frames, may_continue = more, len(more) >= KNF_COUNT
    return frames, may_continue


def _follow_double_fault(dbg: Debugger, walk: Walk, arch: str, ptr64: bool,
                         notes: List[str]) -> None:
    """A walk that ends on the double-fault (IST) stack: walk the overflowed thread's stack from
    KiDoubleFaultAbort's trap frame (`.trap`, then put back) and append it, numbered on (from
    walk.reach on)."""
    stack = walk.stack
    mark_trap_frame(stack)
    trap = double_fault_trap(stack)
    if trap is None:
        return
    more, _, switched = _walk(dbg, arch, True, (".trap", trap), notes, ptr64)
    if not switched or not more or more[0].sp == stack.frames[0].sp:
        return  # the engine did not switch: keep the walk and say how to get there
    at = handler_frame(stack)
    keep = stack.frames[:next(i for i, f in enumerate(stack.frames) if f is at) + 1]
    for i, f in enumerate(more):
        f.index = len(keep) + i
    stack.frames = keep + more
    notes.append("the walk ended on the double-fault stack at %s: the thread stack was walked "
                 "from its trap frame (`.trap %s`, frames %02x on) and the debugger's context "
                 "put back" % (at.symbol, fmt_addr(trap, ptr64), len(keep)))
    walk.reach, walk.trap = len(keep), show_context((".trap", trap), ptr64)


@dataclasses.dataclass
class Walk:
    """What `walked` yields: the stack, and what putting the debugger back found (filled on
    exit). `reach`: `.frame N` reaches only the frames below it (the rest were walked from a
    trap frame, `trap`, whose context is put back at once); None: all of them."""
    stack: StackInput
    put_back: List[str] = dataclasses.field(default_factory=list)
    reach: Optional[int] = None
    trap: Optional[str] = None
    switched: bool = False  # walked in a context stackext set (and resets on exit)


def collect(dbg: Debugger, thread: Optional[int] = None) -> StackInput:
    """The current (or given) thread's stack, bounds, bugcheck and architecture (`walked`,
    with the debugger put back at once)."""
    with walked(dbg, thread) as walk:
        pass
    walk.stack.warnings.extend(walk.put_back)
    return walk.stack


@contextlib.contextmanager
def walked(dbg: Debugger, thread: Optional[int] = None) -> Iterator[Walk]:
    """The current (or given) thread's stack, bounds, bugcheck and architecture. On a kernel
    dump whose bugcheck carries the faulting context, that context's stack (as !analyze does),
    unless the user set a context first (.cxr/.trap), which then stays. The body runs while the
    thread and context the stack was walked in are still current (`.frame N` lands on its frame
    N); on exit, also on an error or Ctrl+Break, both are put back."""
    with boundary("cannot read the target"):
        kernel, dump, ptr64 = dbg.is_kernel(), dbg.is_dump(), dbg.is_64bit()
    if thread is not None and not kernel:
        raise StackextError("--thread takes an ETHREAD/KTHREAD address on kernel targets; in user "
                            "mode switch threads with ~Ns first")
    arch = target_arch(dbg)
    bc = bugcheck(dbg) if kernel and dump else None
    code = None if kernel else thread_exception(dbg)
    want = bugcheck_context(bc) if kernel and thread is None else exception_context(code)
    # only stackext's own switches: a context the user set is theirs to keep
    ours = (kernel and thread is None or want is not None) and not user_context(dbg, arch)
    want = want if ours else None
    with switched_thread(dbg, thread) as notes, \
            switched_context(dbg, want, notes, ptr64) as switched:
        walk = _walk_here(dbg, arch, kernel, ptr64, notes)
        stack, walk.switched = walk.stack, switched
        if switched:
            notes.append("the %s: its stack is analysed (`%s`, as !analyze does) and the "
                         "debugger's context put back" % (
                             "bugcheck carries the faulting context" if kernel else
                             "thread took a stack overflow (0xC00000FD)",
                             show_context(want, ptr64)))
        if ours and kernel and not switched:
            _follow_double_fault(dbg, walk, arch, ptr64, notes)
        stack.warnings.extend(notes)
        del notes[:]  # from here on: what putting the debugger back finds
        stack.bugcheck = bc
        stack.exception_code = code
        _last_words(stack, walk, ptr64)
        yield walk
    walk.put_back.extend(notes)


def _walk_here(dbg: Debugger, arch: str, kernel: bool, ptr64: bool, notes: List[str]) -> Walk:
    """The walk in the current context, with the thread's bounds."""
    frames, may_continue = _frames_here(dbg, arch, kernel, notes)
    stack = StackInput(frames=frames, source="debugger", arch=arch, kernel=kernel,
                       frames_from=FramesFrom.STACK_WALK)
    if may_continue:
        stack.complete = False
    if kernel:
        kernel_bounds(dbg, stack)
        read_processor_stacks(dbg, stack)  # DPC/ISR frames off the thread's stack only
    else:
        user_bounds(dbg, stack)
    if arch == "x86" and frames:
        with boundary("cannot read esp"):
            stack.current_sp = dbg.reg("esp")
    return Walk(stack)


def _last_words(stack: StackInput, walk: Walk, ptr64: bool) -> None:
    missing = modules_without_symbols(stack.frames)
    if missing:
        stack.warnings.append(missing)
    if stack.complete is False:
        stack.warnings.append("the walk stops at %d frames: the stack continues beyond frame "
                              "%x" % (len(stack.frames), len(stack.frames) - 1))
    if not stack.frames:
        if stack.stack_base is None:
            raise StackextError("the debugger returned no frames for this thread (.reload; "
                                ".thread)")
        # the unwinder failed: the caller may rebuild the frames from the raw stack
        stack.warnings.append("the debugger returned no frames for this thread")
    if walk.reach is None:
        _double_fault_warning(stack, ptr64)
