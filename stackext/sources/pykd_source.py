"""Read a thread's stack from the live debugger through pykd into a StackInput.

The only module that imports pykd (lazily, inside functions) and the only one that uses pykd's
camelCase names. Never calls anything that writes target memory or registers; state it changes
(--thread) is put back in try/finally. pykd errors become StackextError here.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, List, Optional, Tuple

from stackext.errors import StackextError
from stackext.model import Bugcheck, Frame, StackInput
from stackext.symbols import parse_symbol

# pykd's getStack stops at 1024 frames (kdlib's fixed buffer).
MAX_FRAMES = 1024
NO_NT_SYMBOLS = ("no symbols for nt: cannot read the thread's StackBase/StackLimit "
                 "(.symfix; .reload nt) — using the default budget")
_DOUBLE_FAULT_FUNC = "nt!KiDoubleFaultAbort"


def load_pykd() -> Any:
    try:
        import pykd  # noqa: PLC0415 - lazily: only this backend needs it
    except ImportError:
        raise StackextError("pykd is not available: run this inside WinDbg after `.load pykd` "
                            "(pip install pykd; Windows only)") from None
    return pykd


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def boundary(pykd: Any, what: str, advice: str = "") -> Iterator[None]:
    """Turn pykd's DbgException (and its subclasses) into one StackextError line."""
    try:
        yield
    except pykd.DbgException as exc:
        tail = " (%s)" % advice if advice else ""
        raise StackextError("%s: %s%s" % (what, first_line(exc), tail)) from None


def fmt_addr(value: int, ptr64: bool = True) -> str:
    """An address as WinDbg prints it: fffff880`021748b0 on 64-bit targets."""
    if not ptr64:
        return "%08x" % value
    text = "%016x" % value
    return text[:8] + "`" + text[8:]


# -- register context: --thread switches it; everything changed is put back ----------------------

@contextlib.contextmanager
def switched_thread(pykd: Any, thread: Optional[int]) -> Iterator[List[str]]:
    """Make `thread` (an ETHREAD/KTHREAD address) current for the body; restore exactly what
    changed: implicit thread, implicit process, current frame, and check the register context.
    Yields a list the body may append warnings to."""
    notes: List[str] = []
    if thread is None:
        yield notes
        return
    with boundary(pykd, "cannot read the current thread"):
        saved_thread = pykd.getImplicitThread()
        saved_process = pykd.getImplicitProcess()
        saved_frame = pykd.getFrameNumber()
        saved_sp = pykd.getSP()
    if thread == saved_thread:
        yield notes
        return
    try:
        with boundary(pykd, "cannot switch to thread %s" % fmt_addr(thread),
                      "is it an ETHREAD/KTHREAD address? try !thread %x" % thread):
            pykd.setImplicitThread(thread)
        yield notes
    finally:
        _restore(pykd, saved_thread, saved_process, saved_frame, saved_sp, notes)


def _restore(pykd: Any, thread: int, process: int, frame: int, sp: int, notes: List[str]) -> None:
    # Each step on its own: one failing (or a Ctrl+Break) must not skip the others.
    steps = (
        (lambda: pykd.getImplicitThread() != thread, lambda: pykd.setImplicitThread(thread)),
        (lambda: pykd.getImplicitProcess() != process, lambda: pykd.setImplicitProcess(process)),
        (lambda: pykd.getFrameNumber() != frame, lambda: pykd.setFrame(frame)),
    )
    pending: Optional[BaseException] = None
    for changed, undo in steps:
        try:
            if changed():
                undo()
        except BaseException as exc:  # noqa: BLE001 - finish restoring, then re-raise
            pending = pending or exc
    try:
        if pykd.getSP() != sp:
            notes.append("the register context changed (.cxr/.trap context lost): run your "
                         ".cxr/.trap again")
    except BaseException as exc:  # noqa: BLE001
        pending = pending or exc
    if pending is not None and not isinstance(pending, pykd.DbgException):
        raise pending


# -- the target -------------------------------------------------------------------------------

def target_arch(pykd: Any) -> str:
    with boundary(pykd, "cannot read the target's processor mode"):
        mode = pykd.getCPUMode()
    for name, arch in (("I386", "x86"), ("AMD64", "x64"), ("ARM64", "arm64")):
        if mode == getattr(pykd.CPUType, name, None):
            return arch
    raise StackextError("unsupported processor mode %s: stackext knows x86, x64 and ARM64" % mode)


def read_frames(pykd: Any, arch: str, kernel: bool) -> Tuple[List[Frame], bool]:
    """getStack(inlineFrames=True) -> Frames; list index = WinDbg frame number.
    Returns (frames, may_continue)."""
    with boundary(pykd, "cannot walk the stack", ".reload; check the thread with !thread"):
        try:
            raw = pykd.getStack(True)
        except TypeError:  # an older pykd without the inlineFrames argument
            raw = pykd.getStack()
    modules = ModuleFacts(pykd) if kernel else None
    frames = []
    for index, sf in enumerate(raw):
        frames.append(_frame(pykd, index, sf, arch, modules))
    return frames, len(raw) >= MAX_FRAMES


def _symbol_at(pykd: Any, sf: Any, ip: int, inline: bool) -> str:
    try:
        if inline:
            # findSymbol(ip) names the function the code was inlined into; the frame knows its own.
            mod, func, disp = sf.findSymbol()
            return "%s!%s%s%x" % (mod, func, "-" if disp < 0 else "+", abs(disp))
        return pykd.findSymbol(ip)
    except pykd.DbgException:
        return "%x" % ip


def _frame(pykd: Any, index: int, sf: Any, arch: str, modules: Optional["ModuleFacts"]) -> Frame:
    ip = int(sf.instructionOffset)
    inline = bool(sf.isInline())
    site, module, function, offset = parse_symbol(_symbol_at(pykd, sf, ip, inline))
    # Child-SP on x64/ARM64 is stackOffset; x86's ChildEBP is frameOffset. An inline frame has no
    # stack of its own: WinDbg prints dashes there, so no sp and no return address.
    sp = None if inline else int(sf.frameOffset if arch == "x86" else sf.stackOffset)
    ret = None if inline else int(sf.returnOffset)
    frame = Frame(index=index, sp=sp, ret=ret, call_site=site, module=module, function=function,
                  offset=offset, inline=inline, ip=ip)
    if module is not None and modules is not None:
        # What the module's version resource says wins over the analysis's name table.
        frame.microsoft = modules.is_microsoft(ip, module)
    return frame


class ModuleFacts:
    """Module facts looked up once per module (cached by address range), never per frame."""

    def __init__(self, pykd: Any):
        self.pykd = pykd
        self.ranges: List[Tuple[int, int, Optional[bool]]] = []
        self.version_unreadable = 0

    def is_microsoft(self, ip: int, name: str) -> Optional[bool]:
        """True/False from the module's version resource; None when it cannot be read (then
        the analysis's inbox-module table decides)."""
        for begin, end, microsoft in self.ranges:
            if begin <= ip < end:
                return microsoft
        pykd = self.pykd
        try:
            mod = pykd.module(ip)
            begin, end = int(mod.begin()), int(mod.end())
        except pykd.DbgException:
            return None
        microsoft = self._company_says(mod, name)
        self.ranges.append((begin, end, microsoft))
        return microsoft

    def _company_says(self, mod: Any, name: str) -> Optional[bool]:
        # queryVersion reads the image's version resource: absent from most minidumps, then the
        # name table decides. After two failures in a row, stop asking (a dump without them).
        # On the real engine getVersion() on a module with only export symbols crashed the whole
        # process (a page fault inside pykd, nothing to catch); queryVersion worked there
        # (tests/realengine/FINDINGS.md), but a process that dies loses the user's session, so
        # ask only modules with a PDB.
        try:
            symfile = str(mod.symfile() or "")
        except self.pykd.DbgException:
            symfile = ""
        if not symfile or symfile.lower() == "export symbols":
            return None
        if self.version_unreadable < 2:
            try:
                company = mod.queryVersion("CompanyName")
                self.version_unreadable = 0
                return "microsoft" in str(company).lower()
            except self.pykd.DbgException:
                self.version_unreadable += 1
        return None


def kernel_bounds(pykd: Any, stack: StackInput) -> None:
    """StackBase/StackLimit/InitialStack/KernelStack of the implicit thread, from nt!_KTHREAD."""
    try:
        thread = pykd.getImplicitThread()
        stack.thread = int(thread)
        stack.process = int(pykd.getImplicitProcess())
        kt = pykd.typedVar("nt!_KTHREAD", thread)
        stack.stack_base = int(kt.StackBase)
        stack.stack_limit = int(kt.StackLimit)
        stack.initial_stack = int(kt.InitialStack)
        stack.kernel_stack = int(kt.KernelStack)
    except pykd.SymbolException:
        stack.warnings.append(NO_NT_SYMBOLS)
        return
    except pykd.DbgException as exc:
        stack.warnings.append("cannot read the thread's StackBase/StackLimit (%s) — using the "
                              "default budget" % first_line(exc))
        return
    stack.bounds_origin = "thread"
    stack.bounds_note = "from the thread (nt!_KTHREAD)"
    expanded_segments(pykd, stack)


def expanded_segments(pykd: Any, stack: StackInput) -> None:
    """Best effort: when frames lie above StackBase, the thread may be running on a stack that
    KeExpandKernelStackAndCallout added; _KSTACK_CONTROL at the top of the current segment links
    to the previous segment (_KERNEL_STACK_SEGMENT: StackBase, StackLimit). Kernels or symbols
    without these types simply get no note."""
    base = stack.stack_base
    above = [f.index for f in stack.frames if f.sp is not None and base and f.sp >= base]
    if not above:
        return
    try:
        control = pykd.typedVar("nt!_KSTACK_CONTROL", stack.initial_stack or base)
        prev = control.Previous
        low, high = int(prev.StackLimit), int(prev.StackBase)
    except (pykd.DbgException, AttributeError):
        return  # no such types here, or a DPC/ISR stack above the thread's: say nothing
    inside = [i for i in above if low <= stack.frames[i].sp < high]
    if inside:
        stack.warnings.append("frames %d.. are on the previous stack segment %s..%s "
                              "(KeExpandKernelStackAndCallout)" % (inside[0], fmt_addr(low),
                                                                  fmt_addr(high)))


# TEB.DeallocationStack (bottom of the stack reservation) when ntdll has no type info: the same
# offset from XP to Windows 11 (x64 0x1478, x86 0xe0c); the real engine read the reserve there
# (tests/realengine/recorded/seed.json: loadQWords(teb+0x1478) = 0x20000).
_DEALLOCATION_STACK = {"x64": 0x1478, "x86": 0xE0C}


def user_bounds(pykd: Any, stack: StackInput) -> None:
    """User-mode thread: NtTib.StackBase/StackLimit and the reserve's bottom (DeallocationStack)
    from the TEB, which is dbgeng's implicit thread in user mode."""
    how = "TEB"
    try:
        teb = int(pykd.getImplicitThread())
        try:
            tv = pykd.typedVar("ntdll!_TEB", teb)
            base, committed = int(tv.NtTib.StackBase), int(tv.NtTib.StackLimit)
            reserve = int(tv.DeallocationStack)
        except pykd.SymbolException:
            # ntdll with export symbols only (no _TEB type): NT_TIB opens the TEB with
            # ExceptionList, StackBase, StackLimit (winnt.h), pointer-sized.
            how = "TEB, read without ntdll symbols"
            _, base, committed = (int(v) for v in pykd.loadPtrs(teb, 3))
            reserve = _dealloc(pykd, teb, stack.arch)
    except (pykd.DbgException, AttributeError) as exc:
        stack.warnings.append("cannot read the thread's TEB (%s): user stack bounds unknown "
                              "(.symfix; .reload ntdll)" % first_line(exc))
        return
    ptr64 = stack.arch != "x86"
    stack.stack_base = base
    stack.bounds_origin = "thread"
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


def _dealloc(pykd: Any, teb: int, arch: Optional[str]) -> Optional[int]:
    off = _DEALLOCATION_STACK.get(arch or "")
    if off is None:
        return None
    try:
        return int(pykd.loadPtrs(teb + off, 1)[0])
    except pykd.DbgException:
        return None


def bugcheck(pykd: Any) -> Optional[Bugcheck]:
    try:
        data = pykd.bugCheckData()
    except pykd.DbgException:  # a dump without a bugcheck, or a live target
        return None
    if hasattr(data, "code"):
        values = [data.code, data.arg1, data.arg2, data.arg3, data.arg4]
    else:
        values = list(data)
    values = [int(v) for v in values] + [None] * 5
    if not values[0]:
        return None
    return Bugcheck(code=values[0], args=values[1:5])


def double_fault_trap(stack: StackInput) -> Optional[int]:
    """The trap frame to `.trap` to when the walk does not reach the thread stack after
    nt!KiDoubleFaultAbort (its KTRAP_FRAME is at its Child-SP on x64: fixtures 002/004/005)."""
    at = next((i for i, f in enumerate(stack.frames) if f.symbol == _DOUBLE_FAULT_FUNC), None)
    if at is None:
        return None
    rest = [f for f in stack.frames[at + 1:] if f.sp is not None]
    base, limit = stack.stack_base, stack.stack_limit
    if rest and (base is None or limit is None or any(limit - 0x2000 <= f.sp < base for f in rest)):
        return None
    return stack.frames[at].trap_frame


def _double_fault_warning(stack: StackInput, ptr64: bool) -> None:
    at = next((f for f in stack.frames if f.symbol == _DOUBLE_FAULT_FUNC), None)
    if at is None or at.sp is None or stack.arch == "x86":
        return
    at.trap_frame = at.sp
    trap = double_fault_trap(stack)
    if trap is None:
        return
    thread = " or `.thread %s`" % fmt_addr(stack.thread, ptr64) if stack.thread else ""
    stack.warnings.append(
        "the stack walk ends on the double-fault stack at %s: to see the overflowed thread "
        "stack run `.trap %s` (its trap frame), then this command again%s"
        % (_DOUBLE_FAULT_FUNC, fmt_addr(trap, ptr64), thread))


def collect(thread: Optional[int] = None) -> StackInput:
    """The current (or given) thread's stack, bounds, bugcheck and architecture."""
    pykd = load_pykd()
    with boundary(pykd, "cannot read the target"):
        kernel = bool(pykd.isKernelDebugging())
        dump = bool(pykd.isDumpAnalyzing())
        ptr64 = bool(pykd.is64bitSystem())
    if thread is not None and not kernel:
        raise StackextError("--thread takes an ETHREAD/KTHREAD address on kernel targets; in user "
                            "mode switch threads with ~Ns first")
    arch = target_arch(pykd)
    with switched_thread(pykd, thread) as notes:
        frames, may_continue = read_frames(pykd, arch, kernel)
        stack = StackInput(frames=frames, source="debugger", arch=arch, kernel=kernel,
                           frames_from="stack-walk")
        if kernel:
            kernel_bounds(pykd, stack)
        else:
            user_bounds(pykd, stack)
        if arch == "x86" and frames:
            with boundary(pykd, "cannot read esp"):
                stack.current_sp = int(pykd.reg("esp"))
    stack.warnings.extend(notes)
    if kernel and dump:
        stack.bugcheck = bugcheck(pykd)
    if may_continue:
        stack.complete = False
        stack.warnings.append("pykd returns at most %d frames: the stack continues beyond frame "
                              "%d (kf 0x2000 shows more)" % (MAX_FRAMES, MAX_FRAMES - 1))
    if not frames:
        if stack.stack_base is None:
            raise StackextError("the debugger returned no frames for this thread (.reload; "
                                ".thread)")
        # the unwinder failed: the caller may rebuild the frames from the raw stack
        stack.warnings.append("the debugger returned no frames for this thread")
    _double_fault_warning(stack, ptr64)
    return stack


def in_debugger() -> bool:
    """True inside WinDbg/kd (`!py`), where sys.stdout has writedml."""
    return bool(load_pykd().isWindbgExt())


def open_dump(path: str) -> None:
    pykd = load_pykd()
    with boundary(pykd, "cannot open dump %s" % path):
        pykd.loadDump(path)


def output(text: str, dml: bool = False) -> None:
    """Print through the debugger (dprintln), so DML reaches WinDbg's output window."""
    load_pykd().dprintln(text, dml)

