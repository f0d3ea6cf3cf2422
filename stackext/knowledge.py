"""Windows facts the analysis needs, each stated once: the per-architecture table, budgets,
address ranges, thread states, slack constants, inbox modules, special routines.

Pure data and tiny predicates; imports nothing from stackext. Sources for the numbers are in
../shared/reference/kernel-stacks.md (restated in the comments).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

PAGE = 0x1000


@dataclass(frozen=True)
class Arch:
    """What stackext needs to know of an architecture."""

    name: str
    ptr_size: int
    # Bytes a call leaves on the stack for the return address (ARM64 keeps it in LR; a non-leaf
    # function saves LR with FP in its own frame, counted in its allocation).
    ret_size: int
    # Lowest kernel address: x64/ARM64 canonical high half, x86 the 2 GB split.
    kernel_floor: int
    # KERNEL_STACK_SIZE from the WDK headers: x86 12 KB, x64 24 KB. ARM64 is not confirmed by
    # the headers; 24 KB is what x64 uses and what ARM64 builds are seen with. Recent Windows
    # 10/11 x64 builds give threads 28 KB (Base - Limit = 0x7000 in real !thread output), so a
    # default is always labelled as one.
    default_budget: int
    # How the stack-pointer column reads: x86's ChildEBP is the frame pointer (a frame's locals
    # lie below its own EBP: size(i) = ebp(i) - ebp(inner)); x64/ARM64's Child-SP is the SP
    # after the prologue (size(i) = sp(caller) - sp(i)).
    sp_is_frame_pointer: bool
    # `.fnent` prints the function's unwind codes (a static layout to compare with).
    unwind_layout: bool


ARCH = {
    "x86": Arch("x86", 4, 4, 0x80000000, 0x3000, True, False),
    "x64": Arch("x64", 8, 8, 0xFFFF800000000000, 0x6000, False, True),
    "arm64": Arch("arm64", 8, 0, 0xFFFF800000000000, 0x6000, False, False),
    # 32-bit ARM (Windows on ARM, `# Child-SP RetAddr` with 8 digits): the return address in LR
    # as on ARM64, the 2 GB split as on x86; its kernel stack size is not confirmed by headers we
    # have: 12 KB as on x86, always labelled a default.
    "arm": Arch("arm", 4, 0, 0x80000000, 0x3000, False, False),
}
ARCHES = tuple(ARCH)

# A thread that calls win32k is a GUI thread: the kernel gives it the large kernel stack, which
# it grows into as it needs (KERNEL_LARGE_STACK_SIZE: 60 KB x86, 72 KB x64 and ARM64 in the WDK
# headers), so the default budget of a plain thread can understate it.
GUI_MODULES = frozenset({"win32k", "win32kbase", "win32kfull"})
LARGE_STACK_KB = {"x86": 60, "x64": 72, "arm64": 72}
# MSVC /analyze C6262 uses 1 KB per function frame for kernel mode: a good "heavy frame" line.
DEFAULT_HEAVY = 1024

# A thread-stack SP a little below StackLimit is the overflow itself (the guard page and the page
# below it), not another stack. Further down than this it is some other stack. The same slack
# says whether a saved SP (KernelStack) or a trap frame still lies on the thread's stack.
OVERFLOW_SLACK = 3 * PAGE

# STATUS_STACK_OVERFLOW: a user thread touched the guard page with no room for a new one.
STATUS_STACK_OVERFLOW = 0xC00000FD

# A user thread stops 1-3 pages above its reserve's end (DeallocationStack) when it overflows:
# the last page is never committed, and the guard page and the guaranteed pages (for the
# exception's own handling) sit above it. A live SP that low is inside the guard region.
USER_GUARD_REGION = 3 * PAGE


def near_reserve_end(left: Optional[int]) -> bool:
    """A user SP `left` bytes above its reservation's end (DeallocationStack) lies on the guard
    page or the pages kept for handling an overflow: nothing is left to grow into."""
    return left is not None and left < USER_GUARD_REGION


# A cut-off thread stack is judged "near its limit" within one page (a double fault there is
# the overflow itself).
NEAR_LIMIT = PAGE

# How far outside its known bound an SP can be and still be on the same stack, when only one
# bound is known: three of the largest default stacks.
ONE_BOUND_REACH = 3 * ARCH["x64"].default_budget
# No user-mode frame is bigger than this: a user stack reserves 1 MB by default and a program
# may ask for more (a huge _alloca is real), but an SP that far above the one before it was
# never on the same stack (an EBP chain that ran into code or data: "Following frames may be
# wrong").
USER_JUMP_LIMIT = 0x10000000  # 256 MB

# Past this displacement a "function" is only the nearest export (a module without its PDB, as
# rosempio!DsmWriteEvent+0x3e3f3 in fixture 004): no function is that long.
EXPORT_DISPLACEMENT = 0x10000

# Thread states as !thread prints them (KTHREAD_STATE), "WAIT: (Executive) KernelMode ..." or
# "RUNNING on processor 4"; the log reader and the pykd thread reader both write the first word.
THREAD_STATES = ("INITIALIZED", "READY", "RUNNING", "STANDBY", "TERMINATED", "WAIT",
                 "TRANSITION", "DEFERREDREADY", "GATEWAITOBSOLETE", "WAITINGFORPROCESSINSWAP")


def is_running(state: Optional[str]) -> bool:
    return bool(state) and state.upper().startswith("RUNNING")


def is_waiting(state: Optional[str]) -> bool:
    """Not running: its SP is the one saved in the KTHREAD (KernelStack)."""
    return bool(state) and not is_running(state)


def default_budget(arch: str) -> int:
    return ARCH[arch].default_budget


def ptr64(arch: str) -> bool:
    """Does WinDbg print this architecture's addresses in the 64-bit form?"""
    return arch not in ARCH or ARCH[arch].ptr_size == 8


def is_kernel_address(addr: int, arch: str) -> bool:
    """Kernel half of the address space: x64/ARM64 canonical high half, x86 2 GB split."""
    return addr >= ARCH[arch].kernel_floor


def above_user_space(addr: int, arch: str) -> bool:
    """No user-mode code can run here: x64's user half ends below 2^47, or 2^56 with 5-level
    paging (`0xfff90000`00000000` is canonical, yet no user address on any machine)."""
    return arch == "x64" and addr >= 1 << 56


def is_canonical(addr: int, arch: str) -> bool:
    """Could this be an x64 address at all (bits 63-57 copy bit 56: canonical even with 5-level
    paging, so `0x41414141`41414141` fails on any machine)? Other architectures: True."""
    if arch != "x64":
        return True
    top = addr >> 56
    return top == 0 or top == 0xFF


# Where the walk returns from a stack the kernel switched to onto the stack it left: a return
# address of 0 there ends what the dump holds (a triage dump keeps the switched-to stack only),
# not the thread's start.
SWITCH_BACK_ROUTINES = frozenset({"kiswitchkernelstackcontinue"})
# Routines a kernel or user thread starts in: reaching one means the walk saw the whole stack.
START_ROUTINES = frozenset(
    s.lower()
    for s in (
        "KiStartSystemThread",
        "KxStartSystemThread",
        "KiThreadStartup",
        "KiStartUserThread",
        "KiStartUserThreadReturn",
        "PspSystemThreadStartup",
        "RtlUserThreadStart",
        "_RtlUserThreadStart",
        "__RtlUserThreadStart",
        "KiIdleLoop",
        "KiSystemStartup",
        "BaseThreadInitThunk",
        "BaseThreadStart",  # kernel32 before Windows 7 (its process's first thread: below)
        "BaseProcessStart",
        "BaseThreadStartThunk",
        "BaseFiberStart",
    )
)

# Where a kernel thread's stack begins: the frame the kernel built at StackBase for the thread.
# A kernel row outward of one is no frame of the thread: the walk followed stale frame pointers
# (x86's EBP chain runs on into whatever the stack held before). KiStartUserThread is not one:
# KiStartUserThreadReturn and the thread's user frames follow it.
THREAD_ORIGIN_ROUTINES = frozenset({"kithreadstartup", "kistartsystemthread",
                                    "kxstartsystemthread"})


def starts_thread(name: str, ret: Optional[int], kernel_frame: bool) -> bool:
    """Is this outermost frame where its thread's stack begins? A start routine (`name`: the
    frame's fn_key); in user mode also a frame the walk found no caller for (RetAddr 0), unless
    it is where a switched-to stack returns. A kernel thread always starts in one of nt's start
    routines: a driver frame with RetAddr 0 is where the walk lost the stack, not its start."""
    return name in START_ROUTINES or (ret == 0 and not kernel_frame
                                      and name not in SWITCH_BACK_ROUTINES)
# x64 IST handlers run on the double-fault/NMI or machine-check stack, the frames outward on the
# interrupted one; x86 reaches them through task gates (KiTrap08 double fault, 02 NMI, 12 MCE).
IST_ROUTINES = frozenset(s.lower() for s in ("KiDoubleFaultAbort", "KiNmiInterrupt",
                                             "KiNmiInterruptShadow", "KiMcheckAbort",
                                             "KiMcheckAbortShadow", "KxMcheckAbort",
                                             "KiTrap08", "KiTrap02", "KiTrap12"))
IST_ENTRY_OF = {"kxmcheckabort": ("kimcheckabort", "kimcheckabortshadow")}  # same stack: no switch
# The double-fault handler: x64 KiDoubleFaultAbort (IST stack), x86 KiTrap08 (task gate).
DOUBLE_FAULT_ROUTINES = frozenset(("kidoublefaultabort", "kitrap08"))
# UNEXPECTED_KERNEL_MODE_TRAP (7f) and its _M form (1000007f): Arg1 8 is EXCEPTION_DOUBLE_FAULT
UNEXPECTED_KERNEL_MODE_TRAP = frozenset((0x7F, 0x1000007F))
# x86 trap handlers (nt!KiTrap0E, KiTrap0D, KiTrap00, ...): the row after one is the frame that
# faulted. Their frame and the KTRAP_FRAME lie between that frame's ESP at the fault and the
# handler's ChildEBP.
TRAP_HANDLER_PREFIX = "kitrap"
# x86 KTRAP_FRAME.HardwareEsp: a trap taken in kernel mode pushes no ESP, so the ESP at the fault
# is the trap frame's address + 0x74 (real logs: TRAP_FRAME b22192e8, `.trap` esp=b221935c).
X86_TRAP_FRAME_ESP = 0x74
# Bugchecks whose arguments carry the faulting context, as !analyze uses them: code -> (argument
# index 0..3, the command that switches to it). 0x7E: Arg4 is a CONTEXT record; 0x3B: Arg3 is a
# CONTEXT; 0x8E: Arg3 is a KTRAP_FRAME (bug-check reference).
BUGCHECK_CONTEXT = {0x7E: (3, ".cxr"), 0x1000007E: (3, ".cxr"), 0x3B: (2, ".cxr"),
                    0x8E: (2, ".trap"), 0x1000008E: (2, ".trap")}
DPC_ROUTINES = frozenset(s.lower() for s in ("KiRetireDpcList", "KxRetireDpcList",
                                             "KiExecuteAllDpcs", "KiExecuteDpc",
                                             "KiDispatchInterruptContinue"))
# A processor's DPC stack is [_KPRCB.DpcStack - KERNEL_STACK_SIZE, _KPRCB.DpcStack]: the NT
# exception dispatcher (RtlDispatchException; ReactOS ntoskrnl/rtl/libsupp.c
# RtlpHandleDpcStackException, "StackLow = DpcStack - KERNEL_STACK_SIZE") switches its stack limits
# to that range when DpcRoutineActive, and a decompiled Windows 10 x64 kernel routine tests
# `sp < CurrentPrcb->DpcStack - 24576` (0x6000, x64's KERNEL_STACK_SIZE; x86's is 0x3000). ARM64's
# is not sourced: no size, so no budget. DpcStack is the top (public x86 `dt nt!_KPRCB` dumps show
# it page-aligned: `+0x868 DpcStack : 0xf88c7000 Void`; x64's is the initial RSP, ...fb0, which
# KxRetireDpcList's Child-SP equals: the top itself is on the stack).
DPC_STACK_SIZE = {"x86": 0x3000, "x64": 0x6000}
# The ISR stack (Windows 10+, _KPRCB.IsrStack) is [IsrStack - nt!KeIsrStackSize, IsrStack]:
# KiInterruptDispatch* compare RSP with gs:[Prcb.IsrStack] - KeIsrStackSize before switching,
# MmAllocateIsrStack allocates KeIsrStackSize + a guard page, MmFreeIsrStack frees KeIsrStackSize
# below the top. Its value is the kernel's variable, not a constant any source states: read from
# the target (nt!KeIsrStackSize), never assumed.
ISR_STACK_SIZE_SYMBOL = "nt!KeIsrStackSize"
ISR_ROUTINES_PREFIX = ("kiinterruptsubdispatch", "kicallinterruptserviceroutine",
                       "kiinterruptdispatch", "kiisrthunk", "kiisrlinkage")
EXPAND_ROUTINES = frozenset(s.lower() for s in ("KeExpandKernelStackAndCallout",
                                                "KeExpandKernelStackAndCalloutEx",
                                                "KeExpandKernelStackAndCalloutInternal",
                                                "KiExpandKernelStackAndCallout",
                                                "KiExpandKernelStackAndCalloutOnStackSegment",
                                                "KxSwitchKernelStackCallout",
                                                "KiSwitchKernelStackCallout",
                                                "KiSwitchKernelStackAndCallout",
                                                "KySwitchKernelStackCallout"))
# The processor's exception stack (ExceptionStackLimits among the kernel's _KERNEL_STACK_LIMITS):
# Windows 10+ x64 dispatches a kernel exception on it; the routine that switches runs on it and
# the frame outward of it is on the stack it left. Real STACK_TEXT (SKLib #10, a 0x139):
#   ffffe480`92d92fb0 ... nt!KxExceptionDispatchOnExceptionStack+0x12
#   ffffe480`92d51008 ... nt!KiExceptionDispatchOnExceptionStackContinue
EXCEPTION_STACK_ROUTINES = frozenset(("kxexceptiondispatchonexceptionstack",))
EXCEPTION_STACK_CONTINUE = frozenset(("kiexceptiondispatchonexceptionstackcontinue",))
# x64 trap and interrupt handlers (the NMI's, the interrupt dispatchers', kernel CET's fault;
# KVA shadow's *Shadow entry points): entered with a machine frame, their unwind data starts with
# UWOP_PUSH_MACHFRAME (Microsoft, "x64 exception handling"), so the frame outward of one has the
# interrupted RIP and RSP from the trap frame, not a guess.
TRAP_ROUTINES = frozenset(s.lower() + shadow for s in (
    "KiPageFault", "KiGeneralProtectionFault", "KiBreakpointTrap", "KiDebugTrapOrFault",
    "KiDivideErrorFault", "KiInvalidOpcodeFault", "KiNpxNotAvailableFault", "KiStackFault",
    "KiSegmentNotPresentFault", "KiInvalidTssFault", "KiAlignmentFault", "KiFloatingErrorFault",
    "KiXmmException", "KiOverflowTrap", "KiBoundFault", "KiRaiseAssertion",
    "KiRaiseSecurityCheckFailure", "KiDebugServiceTrap", "KiNmiInterrupt", "KiMcheckAbort",
    "KiControlProtectionFault", "KiInterruptDispatch", "KiInterruptDispatchNoLock",
    "KiInterruptDispatchNoLockNoEtw", "KiInterruptDispatchNoEOI", "KiInterruptDispatchLBControl",
    "KiChainedDispatch", "KiIpiInterrupt", "KiDpcInterrupt", "KiApcInterrupt", "KiHvInterrupt",
    "KiVmbusInterrupt0", "KiVmbusInterrupt1", "KiVmbusInterrupt2", "KiVmbusInterrupt3")
    for shadow in ("", "shadow"))
# Bug checks with the address of the faulting instruction among their arguments (Microsoft's
# bug-check reference): code -> argument index 0..3. 0x1E/0x7E/0x8E: Arg2 "the address where
# the exception occurred"; 0x3B: Arg2 "the address of the instruction that caused the bug
# check"; 0x50: Arg3, the instruction that referenced the bad address (when not 0); 0xA/0xD1:
# Arg4 "the address that referenced memory".
BUGCHECK_FAULT_IP = {0x1E: 1, 0x7E: 1, 0x1000007E: 1, 0x8E: 1, 0x1000008E: 1, 0x3B: 1,
                     0x50: 2, 0xA: 3, 0xD1: 3}
# 0x50: KeBugCheckEx's row shows the trap frame's address as Arg3 (= TRAP_FRAME:), which
# KeBugCheck2 reports as the trap's instruction pointer.
ROW_ARG3_IS_TRAP_FRAME = frozenset({0x50})
# 0x139 KERNEL_SECURITY_CHECK_FAILURE, Arg1 4: FAST_FAIL_INCORRECT_STACK (winnt.h `#define
# FAST_FAIL_INCORRECT_STACK 4`): the kernel found the stack pointer outside the current
# thread's stack limits (raised from RtlpGetStackLimitsEx under RtlDispatchException).
SECURITY_CHECK_FAILURE = 0x139
FAST_FAIL_INCORRECT_STACK = 4
# User-mode exception dispatch: the kernel pushes the CONTEXT and EXCEPTION_RECORD onto the user
# stack before it enters this routine, so its frame is big without any _alloca.
EXCEPTION_DISPATCH_ROUTINES = frozenset(("kiuserexceptiondispatcher",
                                         "kiuserexceptiondispatch"))
SYSCALL_ROUTINES = frozenset(s.lower() for s in ("KiSystemServiceCopyEnd", "KiSystemCall64",
                                                 "KiSystemCall64Shadow", "KiSystemServiceExit",
                                                 "KiSystemServicePostCall", "KiFastCallEntry",
                                                 "KiServiceExit", "KiSystemService"))

# The kernel image and HAL under their names in a stack (kernel code whatever the SP says)
KERNEL_IMAGES = frozenset({"nt", "ntoskrnl", "ntkrnlmp", "ntkrnlpa", "ntkrpamp", "hal",
                           "halmacpi"})


def fn_key(function: Optional[str]) -> str:
    """Lower-cased function name for the routine tables (no module), undecorated."""
    return undecorated((function or "").lower())


_STDCALL_TAIL = re.compile(r"@\d+\Z")


def undecorated(name: str) -> str:
    """An x86 name without its C decoration, as x86 and older public symbols print it:
    `_KiTrap0E` and `@KiSwapContext@4` are the routines KiTrap0E and KiSwapContext."""
    if name and name[0] in "_@":
        name = name.lstrip("_@")
        return _STDCALL_TAIL.sub("", name) if "@" in name else name
    return name
