"""Every kernel thread of the target through the adapter: bounds, saved SP and state, without
walking.

nt!PsActiveProcessHead -> _EPROCESS.ActiveProcessLinks -> each process's ThreadListHead ->
_ETHREAD.ThreadListEntry (typedVarList), then ONE memory read per thread covering the _KTHREAD
fields needed (offsets from symbols, resolved once). Round trips grow with threads, not frames.
Stacks are walked (live.collect, which restores the debugger's thread, process and frame) only
for the threads the caller picks (stackext.survey.to_walk, passed in by the entry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Set

from stackext import knowledge as K
from stackext.addresses import fmt_addr
from stackext.errors import StackextError
from stackext.model import Origin, StackInput
from stackext.sources.pykd import live
from stackext.sources.pykd.adapter import Debugger, DebuggerError, boundary, first_line

# KWAIT_REASON (wdm.h), as !thread prints it in "WAIT: (WrQueue) UserMode Alertable".
WAIT_REASONS = (
    "Executive", "FreePage", "PageIn", "PoolAllocation", "DelayExecution", "Suspended",
    "UserRequest", "WrExecutive", "WrFreePage", "WrPageIn", "WrPoolAllocation",
    "WrDelayExecution", "WrSuspended", "WrUserRequest", "WrEventPair", "WrQueue",
    "WrLpcReceive", "WrLpcReply", "WrVirtualMemory", "WrPageOut", "WrRendezvous", "WrKeyedEvent",
    "WrTerminated", "WrProcessInSwap", "WrCpuRateControl", "WrCalloutStack", "WrKernel",
    "WrResource", "WrPushLock", "WrMutex", "WrQuantumEnd", "WrDispatchInt", "WrPreempted",
    "WrYieldExecution", "WrFastMutex", "WrGuardedMutex", "WrRundown", "WrAlertByThreadId",
    "WrDeferredPreempt", "WrPhysicalFault", "WrIoRing", "WrMdlCache")
WAITING = K.THREAD_STATES.index("WAIT")

KTHREAD_FIELDS = ("InitialStack", "StackLimit", "StackBase", "KernelStack", "State",
                  "WaitReason")
KTHREAD_NEEDED = ("StackLimit", "StackBase", "KernelStack", "State")
NO_SYMBOLS = "no symbols for nt: cannot walk the process and thread lists (.symfix; .reload nt)"
PROGRESS_EVERY = 200


class FieldBlock:
    """Where the fields of one nt type lie, from its symbols (typeInfo: answered locally), so
    one memory read covers them all. Field offsets move between Windows builds: never
    hard-coded."""

    def __init__(self, dbg: Debugger, tname: str, fields: Sequence[str], needed: Sequence[str]):
        self.tname = tname
        with boundary(NO_SYMBOLS):
            self.fields = dbg.field_layout(tname, fields)
        for name in needed:
            if name not in self.fields:
                raise StackextError("%s has no field %s here: %s" % (tname, name, NO_SYMBOLS))
        self.lo = min(off for off, _ in self.fields.values())
        self.hi = max(off + size for off, size in self.fields.values())

    def read(self, dbg: Debugger, addr: int) -> Dict[str, int]:
        """All the fields at `addr` in one memory read (raises DebuggerError)."""
        data = dbg.read_bytes(addr + self.lo, self.hi - self.lo)
        return {name: int.from_bytes(data[off - self.lo:off - self.lo + size], "little")
                for name, (off, size) in self.fields.items()}


def state_text(state: Optional[int], reason: Optional[int]) -> Optional[str]:
    """As the log reader writes !thread's state: RUNNING, WAIT:WrQueue, TERMINATED."""
    if state is None:
        return None
    states = K.THREAD_STATES
    name = states[state] if 0 <= state < len(states) else "STATE%d" % state
    if state == WAITING and reason is not None:
        return "WAIT:" + (WAIT_REASONS[reason] if 0 <= reason < len(WAIT_REASONS)
                          else "%d" % reason)
    return name


def _image(dbg: Debugger, eprocess: int, off: Optional[int]) -> Optional[str]:
    if off is None:
        return None
    try:
        raw = dbg.read_bytes(eprocess + off, 15)  # UCHAR ImageFileName[15]
    except DebuggerError:
        return None
    return raw.split(b"\0", 1)[0].decode("latin-1") or None


def read_threads(dbg: Debugger, progress: Optional[Callable[[str], None]] = None,
                 every: int = PROGRESS_EVERY) -> Iterator[StackInput]:
    """A StackInput without frames for every thread in every active process."""
    with boundary("cannot read the target"):
        kernel = dbg.is_kernel()
    if not kernel:
        raise StackextError("stackext.threads lists kernel threads: open a kernel dump or "
                            "attach kd (in user mode use ~* k and stackext.usage per thread)")
    arch = live.target_arch(dbg)
    kthread = FieldBlock(dbg, "nt!_KTHREAD", KTHREAD_FIELDS, KTHREAD_NEEDED)
    eprocess = FieldBlock(dbg, "nt!_EPROCESS", ("ThreadListHead", "ImageFileName"),
                          ("ThreadListHead",))
    threads_at = eprocess.fields["ThreadListHead"][0]
    image_at = eprocess.fields.get("ImageFileName", (None, 0))[0]
    with boundary(NO_SYMBOLS):
        head = dbg.symbol_address("nt!PsActiveProcessHead")
    with boundary("cannot walk nt!PsActiveProcessHead"):
        processes = dbg.list_entries(head, "nt!_EPROCESS", "ActiveProcessLinks")
    count = 0
    for n, proc in enumerate(processes, 1):
        image = _image(dbg, proc, image_at)
        try:
            threads = dbg.list_entries(proc + threads_at, "nt!_ETHREAD", "ThreadListEntry")
        except DebuggerError:
            continue  # a process torn down mid-walk or paged out: skip it, keep going
        for addr in threads:
            yield _thread(dbg, kthread, addr, proc, image, arch)
            count += 1
            if progress and count % every == 0:
                progress("stackext: %d threads read (%d of %d processes)..."
                         % (count, n, len(processes)))


def _thread(dbg: Debugger, block: FieldBlock, addr: int, proc: int, image: Optional[str],
            arch: str) -> StackInput:
    stack = StackInput(frames=[], source="thread %s" % fmt_addr(addr, arch != "x86"),
                       arch=arch, kernel=True, thread=addr, process=proc, image=image)
    try:
        f = block.read(dbg, addr)
    except DebuggerError as exc:
        stack.warnings.append("cannot read the thread's _KTHREAD (%s)" % first_line(exc))
        return stack
    stack.state = state_text(f.get("State"), f.get("WaitReason"))
    stack.stack_base, stack.stack_limit = f["StackBase"], f["StackLimit"]
    stack.initial_stack, stack.kernel_stack = f.get("InitialStack"), f["KernelStack"]
    stack.bounds_origin = Origin.THREAD
    stack.bounds_note = "from the thread (nt!_KTHREAD)"
    return stack
# -- gathering: the list, then the few stacks worth walking -------------------------------------

@dataclass
class Gathered:
    stacks: List[StackInput] = field(default_factory=list)
    walked: Set[int] = field(default_factory=set)  # threads whose stack was walked
    current: Optional[int] = None  # the debugger's current thread
    interrupted: Optional[str] = None  # "CTRL+BREAK" when the user stopped it
    phase: str = ""  # what was under way when interrupted
    to_walk: int = 0  # stacks chosen for a walk (walked + failed + not reached)

    def progress_note(self) -> str:
        if self.phase == "walking stacks":
            return "%d thread(s) read, %d of %d stacks walked" % (
                len(self.stacks), len(self.walked), self.to_walk)
        return "%d thread(s) read" % len(self.stacks)


def walk(dbg: Debugger, stack: StackInput) -> StackInput:
    """The thread's frames (switching to it and back); the list's facts stay."""
    walked = live.collect(dbg, thread=stack.thread)
    walked.source, walked.image, walked.state = stack.source, stack.image, stack.state
    walked.process = stack.process
    return walked


Chooser = Callable[[List[StackInput], Optional[int]], List[int]]


def gather(dbg: Debugger, choose: Chooser,
           progress: Optional[Callable[[str], None]] = None,
           every: int = PROGRESS_EVERY) -> Gathered:
    """Read every thread, then walk the ones `choose(stacks, current thread)` names (the
    analysis decides: stackext.survey.to_walk). Ctrl+Break (SystemExit("CTRL+BREAK")
    raised inside a pykd call) ends the gathering: what was read so far is returned, and the
    walk in progress has already put the debugger's thread/process/frame back (collect's
    try/finally)."""
    g = Gathered()
    try:
        g.phase = "reading threads"
        with boundary("cannot read the current thread"):
            g.current = dbg.implicit_thread()
        for stack in read_threads(dbg, progress, every):
            g.stacks.append(stack)
        g.phase = "walking stacks"
        by_thread = {s.thread: i for i, s in enumerate(g.stacks)}
        todo = choose(g.stacks, g.current)
        g.to_walk = len(todo)
        step = max(1, every // 4)  # walks cost more than reads: report them more often
        for n, addr in enumerate(todo, 1):
            i = by_thread[addr]
            try:
                g.stacks[i] = walk(dbg, g.stacks[i])
                g.walked.add(addr)
            except StackextError as exc:
                g.stacks[i].warnings.append("stack walk failed: %s" % exc)
            if progress and len(todo) > step and n % step == 0:
                progress("stackext: %d of %d stacks walked..." % (n, len(todo)))
        g.phase = ""
    except SystemExit as exc:  # Ctrl+Break arrives as SystemExit("CTRL+BREAK") inside pykd
        g.interrupted = str(exc.code if exc.code is not None else "exit")
    return g


__all__ = ["read_threads", "gather", "Gathered", "state_text", "FieldBlock"]
