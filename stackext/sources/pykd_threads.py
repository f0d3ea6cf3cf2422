"""Every kernel thread of the target through pykd: bounds, saved SP and state, without walking.

nt!PsActiveProcessHead -> _EPROCESS.ActiveProcessLinks -> each process's ThreadListHead ->
_ETHREAD.ThreadListEntry (pykd's typedVarList), then ONE memory read per thread covering the
_KTHREAD fields needed (offsets from symbols, resolved once). Round trips grow with threads, not
frames. Stacks are walked (pykd_source.collect, which restores the debugger's thread, process and
frame) only for --top/--driver and the current running thread. Never imports pykd itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from stackext.errors import StackextError
from stackext.model import StackInput
from stackext.sources import pykd_source as P

# KTHREAD_STATE (wdm.h / the kernel's _KTHREAD_STATE enum); !thread prints them upper-case.
STATES = ("INITIALIZED", "READY", "RUNNING", "STANDBY", "TERMINATED", "WAIT", "TRANSITION",
          "DEFERREDREADY", "GATEWAIT", "WAITINGFORPROCESSINSWAP")
RUNNING, WAITING = 2, 5
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

KTHREAD_FIELDS = ("InitialStack", "StackLimit", "StackBase", "KernelStack", "State",
                  "WaitReason")
KTHREAD_NEEDED = ("StackLimit", "StackBase", "KernelStack", "State")
NO_SYMBOLS = "no symbols for nt: cannot walk the process and thread lists (.symfix; .reload nt)"
PROGRESS_EVERY = 200


class Layout:
    """Where the fields of one nt type lie, from its symbols (typeInfo: answered locally), so
    one loadBytes covers them all. Field offsets move between Windows builds: never hard-coded."""

    def __init__(self, pykd: Any, tname: str, fields: Sequence[str], needed: Sequence[str]):
        self.tname = tname
        self.fields: Dict[str, Tuple[int, int]] = {}
        with P.boundary(pykd, NO_SYMBOLS):
            ti = pykd.typeInfo(tname)
        for name in fields:
            try:
                self.fields[name] = (int(ti.fieldOffset(name)), int(ti.field(name).size()))
            except (pykd.DbgException, AttributeError):
                if name in needed:
                    raise StackextError("%s has no field %s here: %s"
                                        % (tname, name, NO_SYMBOLS)) from None
        self.lo = min(off for off, _ in self.fields.values())
        self.hi = max(off + size for off, size in self.fields.values())

    def read(self, pykd: Any, addr: int) -> Dict[str, int]:
        """All the fields at `addr` in one memory read (raises pykd.MemoryException)."""
        data = bytes(pykd.loadBytes(addr + self.lo, self.hi - self.lo))
        return {name: int.from_bytes(data[off - self.lo:off - self.lo + size], "little")
                for name, (off, size) in self.fields.items()}


def state_text(state: Optional[int], reason: Optional[int]) -> Optional[str]:
    """As the log reader writes !thread's state: RUNNING, WAIT:WrQueue, TERMINATED."""
    if state is None:
        return None
    name = STATES[state] if 0 <= state < len(STATES) else "STATE%d" % state
    if state == WAITING and reason is not None:
        return "WAIT:" + (WAIT_REASONS[reason] if 0 <= reason < len(WAIT_REASONS)
                          else "%d" % reason)
    return name


def _image(pykd: Any, eprocess: int, off: Optional[int]) -> Optional[str]:
    if off is None:
        return None
    try:
        raw = bytes(pykd.loadBytes(eprocess + off, 15))  # UCHAR ImageFileName[15]
    except pykd.DbgException:
        return None
    return raw.split(b"\0", 1)[0].decode("latin-1") or None


def _addresses(pykd: Any, head: int, tname: str, entry: str) -> List[int]:
    """The records of a LIST_ENTRY list (one typedVarList call: the engine follows the links)."""
    return [int(tv.getAddress()) for tv in pykd.typedVarList(head, tname, entry)]


def read_threads(pykd: Any, progress: Optional[Callable[[str], None]] = None,
                 every: int = PROGRESS_EVERY) -> Iterator[StackInput]:
    """A StackInput without frames for every thread in every active process."""
    with P.boundary(pykd, "cannot read the target"):
        if not pykd.isKernelDebugging():
            raise StackextError("stackext.threads lists kernel threads: open a kernel dump or "
                                "attach kd (in user mode use ~* k and stackext.usage per thread)")
    arch = P.target_arch(pykd)
    kthread = Layout(pykd, "nt!_KTHREAD", KTHREAD_FIELDS, KTHREAD_NEEDED)
    eprocess = Layout(pykd, "nt!_EPROCESS", ("ThreadListHead", "ImageFileName"),
                      ("ThreadListHead",))
    threads_at = eprocess.fields["ThreadListHead"][0]
    image_at = eprocess.fields.get("ImageFileName", (None, 0))[0]
    with P.boundary(pykd, NO_SYMBOLS):
        head = int(pykd.getOffset("nt!PsActiveProcessHead"))
    with P.boundary(pykd, "cannot walk nt!PsActiveProcessHead"):
        processes = _addresses(pykd, head, "nt!_EPROCESS", "ActiveProcessLinks")
    count = 0
    for n, proc in enumerate(processes, 1):
        image = _image(pykd, proc, image_at)
        try:
            threads = _addresses(pykd, proc + threads_at, "nt!_ETHREAD", "ThreadListEntry")
        except pykd.DbgException:
            continue  # a process torn down mid-walk or paged out: skip it, keep going
        for addr in threads:
            yield _thread(pykd, kthread, addr, proc, image, arch)
            count += 1
            if progress and count % every == 0:
                progress("stackext: %d threads read (%d of %d processes)..."
                         % (count, n, len(processes)))


def _thread(pykd: Any, layout: Layout, addr: int, proc: int, image: Optional[str],
            arch: str) -> StackInput:
    stack = StackInput(frames=[], source="thread %s" % P.fmt_addr(addr, arch != "x86"),
                       arch=arch, kernel=True, thread=addr, process=proc, image=image)
    try:
        f = layout.read(pykd, addr)
    except pykd.DbgException as exc:
        stack.warnings.append("cannot read the thread's _KTHREAD (%s)" % P.first_line(exc))
        return stack
    stack.state = state_text(f.get("State"), f.get("WaitReason"))
    stack.stack_base, stack.stack_limit = f["StackBase"], f["StackLimit"]
    stack.initial_stack, stack.kernel_stack = f.get("InitialStack"), f["KernelStack"]
    stack.bounds_origin = "thread"
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


def headroom(stack: StackInput) -> Optional[int]:
    """Budget left for a thread that is not running: KernelStack - StackLimit (no walk)."""
    if stack.state is None or stack.state.startswith("RUNNING") or stack.kernel_stack is None:
        return None
    if stack.stack_base is None or stack.stack_limit is None:
        return None
    if not stack.stack_limit - 0x3000 <= stack.kernel_stack <= stack.stack_base:
        return None
    return stack.kernel_stack - stack.stack_limit


def to_walk(stacks: Sequence[StackInput], current: Optional[int], drivers: Iterable[str],
            top: int) -> List[int]:
    """--driver: every thread (their frames decide). --top N: the N closest to the edge, plus the
    running threads whose SP is not known without a walk. Always: the current thread when it is
    running (its live SP is the current frames)."""
    if list(drivers):
        return [s.thread for s in stacks if s.thread is not None]
    picked: List[int] = []
    running = [s.thread for s in stacks if (s.state or "").startswith("RUNNING")]
    if current in running:
        picked.append(current)
    if top > 0:
        known = sorted((h, s.thread) for s in stacks for h in [headroom(s)] if h is not None)
        picked += [t for _, t in known[:top]] + running
    seen: Set[int] = set()
    return [t for t in picked if t is not None and not (t in seen or seen.add(t))]


def walk(stack: StackInput) -> StackInput:
    """The thread's frames (switching to it and back); the list's facts stay."""
    walked = P.collect(thread=stack.thread)
    walked.source, walked.image, walked.state = stack.source, stack.image, stack.state
    walked.process = stack.process
    return walked


def gather(pykd: Any, drivers: Iterable[str] = (), top: int = 0,
           progress: Optional[Callable[[str], None]] = None,
           every: int = PROGRESS_EVERY) -> Gathered:
    """Read every thread, then walk the few that need it. Ctrl+Break (SystemExit("CTRL+BREAK")
    raised inside a pykd call) ends the gathering: what was read so far is returned, and the
    walk in progress has already put the debugger's thread/process/frame back (collect's
    try/finally)."""
    g = Gathered()
    try:
        g.phase = "reading threads"
        with P.boundary(pykd, "cannot read the current thread"):
            g.current = int(pykd.getImplicitThread())
        for stack in read_threads(pykd, progress, every):
            g.stacks.append(stack)
        g.phase = "walking stacks"
        by_thread = {s.thread: i for i, s in enumerate(g.stacks)}
        todo = to_walk(g.stacks, g.current, drivers, top)
        g.to_walk = len(todo)
        step = max(1, every // 4)  # walks cost more than reads: report them more often
        for n, addr in enumerate(todo, 1):
            i = by_thread[addr]
            try:
                g.stacks[i] = walk(g.stacks[i])
                g.walked.add(addr)
            except StackextError as exc:
                g.stacks[i].warnings.append("stack walk failed: %s" % exc)
            if progress and len(todo) > step and n % step == 0:
                progress("stackext: %d of %d stacks walked..." % (n, len(todo)))
        g.phase = ""
    except SystemExit as exc:  # Ctrl+Break arrives as SystemExit("CTRL+BREAK") inside pykd
        g.interrupted = str(exc.code if exc.code is not None else "exit")
    return g


__all__ = ["read_threads", "gather", "Gathered", "state_text", "headroom", "to_walk", "Layout"]
