"""Plain data: frames, stacks as a source reads them, and the report the analysis makes.

Imports only stackext.kinds (its enums), stackext.values and stackext.slotted. Sizes are ints in
bytes; a value that cannot be known is None with a typed reason beside it, never a silent 0. The
enums' values are the stable ids of the JSON contract; their `label` is the short text people read.

The one definition of a frame's **size**: the bytes its function owns on the stack (locals,
saved registers, outgoing-argument area and the return address into it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set

from stackext.kinds import (
    SIDE_STACKS,
    FramesFrom,
    GapKind,
    LostCause,
    NotProven,
    Origin,
    SegmentKind,
    SizeNote,
    SymbolQuality,
    UnknownReason,
    VerdictKind,
)
from stackext.slotted import slotted
from stackext.values import (
    FrameLayout,
    Gap,
    HighWater,
    Local,
    LostTrack,
    ProcessorStack,
    TrapContext,
    hex_words,
)

__all__ = [  # the vocabulary and small values (stackext.kinds, .values), then the data
    "FramesFrom", "GapKind", "NotProven", "Origin", "SegmentKind", "SymbolQuality",
    "UnknownReason", "VerdictKind", "SizeNote", "TrapContext", "Gap", "Local", "FrameLayout",
    "HighWater", "LostTrack", "LostCause", "ProcessorStack", "SIDE_STACKS",
    "Frame", "Bugcheck", "StackInput", "Segment", "ModuleTotal", "FunctionTotal", "Cycle",
    "StackReport",
]


@slotted(lazy={"args": hex_words})  # (a log's row gives its argument words as text)
@dataclass
class Frame:
    """One row of a call stack, innermost first.

    `sp` is the frame's stack pointer as WinDbg prints it: Child-SP on x64/ARM64 (the stack pointer
    after the frame's prologue), ChildEBP on x86 (the frame pointer). `size` is what this frame's
    function owns on the stack (locals, saved registers, outgoing arguments, the return address
    into it) and is filled in by stackext.analyze.
    """

    index: int
    sp: Optional[int]
    ret: Optional[int]
    call_site: str
    module: Optional[str] = None
    function: Optional[str] = None
    offset: Optional[int] = None
    inline: bool = False
    ip: Optional[int] = None
    args: List[Optional[int]] = field(default_factory=list)
    source_file: Optional[str] = None
    source_line: Optional[int] = None
    # WinDbg's own kf "Memory" cell when the log had one: read, never trusted over the SPs.
    memory: Optional[int] = None
    trap_frame: Optional[int] = None
    # What the debugger knows of the module (its version resource's CompanyName): True for a
    # Microsoft module, False for a third-party one, None when not known (the name table decides).
    microsoft: Optional[bool] = None
    # Set by a source when frames are missing just inward: "...", a number jump, an unwind warning.
    gap_before: Optional[Gap] = None
    line: Optional[int] = None  # line in the log this row came from
    # Filled in by the analysis:
    symbol_quality: Optional[SymbolQuality] = None
    size: Optional[int] = None
    size_unknown_reason: Optional[UnknownReason] = None
    size_note: Optional[SizeNote] = None  # what a known size holds besides the frame's own
    # FRAMES_MISSING: the bytes between this frame's SP and the next known one on the same stack
    # (this frame's own and the missing frames'), which the SPs prove were used.
    gap_bytes: Optional[int] = None
    segment: int = 0
    driver: bool = False
    heavy: bool = False
    estimated: bool = False
    locals: Optional[List[Local]] = None
    layout: Optional[FrameLayout] = None

    @property
    def symbol(self) -> str:
        """`module!function` (or the module, or the call site) without displacement."""
        if self.module and self.function:
            return "%s!%s" % (self.module, self.function)
        return self.module or self.call_site


@dataclass
class Bugcheck:
    """The bugcheck code and its four arguments, as the log or the dump shows them."""

    code: int
    args: List[Optional[int]]  # always four entries; None where the log does not show one


@dataclass
class StackInput:
    """A call stack as a source (a WinDbg log, pykd) hands it to the analysis."""

    frames: List[Frame]
    source: str = "<input>"  # "file:line"
    arch: Optional[str] = None
    kernel: Optional[bool] = None  # None: decide from addresses
    thread: Optional[int] = None
    thread_number: Optional[int] = None  # the debugger's ~N (a ~*k thread header)
    process: Optional[int] = None
    image: Optional[str] = None
    state: Optional[str] = None
    stack_base: Optional[int] = None
    stack_limit: Optional[int] = None
    bounds_origin: Optional[Origin] = None  # THREAD (debugger / !thread / TEB) or LOG
    bounds_note: Optional[str] = None  # e.g. "user stack from the TEB"
    initial_stack: Optional[int] = None
    kernel_stack: Optional[int] = None  # !thread "Current": saved SP of a thread not running
    # The limit alone, e.g. from !analyze's "STACK_OVERFLOW: Stack Limit: ...".
    limit_hint: Optional[int] = None
    current_sp: Optional[int] = None  # the live ESP/RSP when known (x86 innermost frame size)
    bugcheck: Optional[Bugcheck] = None
    warnings: List[str] = field(default_factory=list)
    complete: Optional[bool] = None  # False when the source knows the stack was cut off
    frames_from: FramesFrom = FramesFrom.STACK_WALK
    # Deepest point ever written (stackext.scan.high_water), when the source read it.
    high_water: Optional[HighWater] = None
    # Debugger text about single frames, by frame number ({"dv": `dv /V /t` output, "fnent":
    # `.fnent` output}), from a log or read live: the analysis makes Frame.locals and .layout.
    frame_notes: Dict[int, Dict[str, str]] = field(default_factory=dict)
    ptr_size: Optional[int] = None
    # Modules the debugger loaded with export symbols only ("Defaulted to export symbols for
    # X.sys"), lower case without extension: their "functions" are the nearest exports.
    export_modules: Set[str] = field(default_factory=set)
    # User stacks: the TEB's StackLimit, the committed bottom (StackLimit above is the reserve's
    # bottom, DeallocationStack). On Windows it follows the deepest touch: a page-granular
    # high-water mark.
    committed_limit: Optional[int] = None
    # The exception this thread took, when the source knows it was this thread's (the dump's
    # last event on it, !analyze's exception record): 0xC00000FD proves a stack overflow.
    exception_code: Optional[int] = None
    # The processor's DPC/ISR stacks as the source read them (stackext.procstacks judges a DPC
    # or ISR segment against its own), and why one could not be read: {"dpc": sentence}.
    processor_stacks: List[ProcessorStack] = field(default_factory=list)
    processor_stack_missing: Dict[str, str] = field(default_factory=dict)
    # x86 trap contexts the log printed (TRAP_FRAME, .trap registers): stackext.traps splits
    # a trap handler's bytes from the faulting frame's with them
    traps: List[TrapContext] = field(default_factory=list)


@dataclass
class Segment:
    """A run of consecutive frames on one physical stack (the thread's own, a DPC or ISR
    stack, ...): its SP range, and its use and budget where known."""

    index: int
    kind: SegmentKind
    first_frame: int  # WinDbg frame numbers
    last_frame: int
    low: Optional[int] = None  # lowest / highest physical SP in the segment
    high: Optional[int] = None
    note: Optional[str] = None
    # bytes the SPs prove used on this stack (the thread's: StackBase - innermost SP when known)
    used: Optional[int] = None
    budget: Optional[int] = None  # where known (the thread's own stack, a DPC/ISR stack's size)
    heaviest_drivers: List[int] = field(default_factory=list)  # frame numbers
    # A DPC/ISR stack whose bounds are known (stackext.procstacks): its top, what is left below
    # the innermost SP, where the bounds came from; the running one's verdict. `budget_note`
    # says why a DPC/ISR segment has no budget.
    top: Optional[int] = None
    remaining: Optional[int] = None
    bounds_from: Optional[str] = None
    verdict: Optional[VerdictKind] = None
    verdict_proven: bool = False
    budget_note: Optional[str] = None


@dataclass
class ModuleTotal:
    """The bytes and frames of one module over the stack (the module rollup)."""

    module: str
    bytes: int
    frames: int
    driver: bool
    share: Optional[float] = None  # of used, 0..1


@dataclass
class FunctionTotal:
    """The bytes and calls of one function over the stack (the function rollup)."""

    function: str
    bytes: int
    count: int
    module: Optional[str] = None
    driver: bool = False


@dataclass
class Cycle:
    """A round of call sites repeated on the stack (recursion), and how many more rounds the
    remaining stack would hold."""

    call_sites: List[str]
    repeats: int
    bytes_per_round: Optional[int]
    first_frame: int
    last_frame: int
    rounds_left: Optional[int] = None
    rounds_left_at_most: bool = False  # from a remaining that is itself an upper bound
    repeats_at_least: bool = False  # the run reaches frames the text leaves out ("...")


@dataclass
class StackReport:
    """What stackext says about one stack. Renderers read this; nothing here is formatted."""

    source: str
    arch: str
    kernel: bool
    frames: List[Frame]
    segments: List[Segment]
    thread: Optional[int] = None
    thread_number: Optional[int] = None  # the debugger's ~N
    process: Optional[int] = None
    image: Optional[str] = None
    state: Optional[str] = None
    bugcheck: Optional[Bugcheck] = None
    stack_base: Optional[int] = None
    stack_limit: Optional[int] = None
    bounds_note: Optional[str] = None
    budget: Optional[int] = None
    budget_origin: Optional[Origin] = None
    budget_note: Optional[str] = None
    used: Optional[int] = None
    used_is_lower_bound: bool = False
    remaining: Optional[int] = None
    overflow: bool = False
    double_fault: bool = False
    below_limit: Optional[int] = None  # bytes the innermost thread SP lies below StackLimit
    verdict: VerdictKind = VerdictKind.OK
    # True only when the verdict rests on the thread's own bounds or on an event that proves it;
    # otherwise `not_proven` says what is missing.
    verdict_proven: bool = False
    not_proven: List[NotProven] = field(default_factory=list)
    # Bytes the SPs prove used on the budgeted stack where frames are missing (no function named).
    unattributed: int = 0
    # A double fault without bounds whose Arg3 is the innermost thread-stack SP: how far below a
    # page boundary it lies (where an overflow into the guard page faults; inferred).
    arg3_below_page: Optional[int] = None
    fault_sp: Optional[int] = None  # x86 0x7F/8: its .tss/.trap ESP, above frame 00's EBP
    start_area: Optional[int] = None
    thread_segment: Optional[int] = None
    heaviest: List[int] = field(default_factory=list)  # frame numbers, heaviest first
    heaviest_drivers: List[int] = field(default_factory=list)
    modules: List[ModuleTotal] = field(default_factory=list)
    functions: List[FunctionTotal] = field(default_factory=list)
    cycles: List[Cycle] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    heavy_threshold: int = 1024
    frames_from: FramesFrom = FramesFrom.STACK_WALK
    high_water: Optional[HighWater] = None
    committed_limit: Optional[int] = None
    # The walk stops this many bytes below StackBase, before the thread's start.
    not_shown: Optional[int] = None
    # `remaining` comes from a lower-bound `used`: it is an upper bound.
    remaining_is_upper_bound: bool = False
    lost_track: Optional[LostTrack] = None
    exception_code: Optional[int] = None  # the thread's exception (StackInput.exception_code)
    # The overflow is proven by the guard region: the STATUS_STACK_OVERFLOW exception, or a user
    # SP within USER_GUARD_REGION of the reserve's end. `guard_left` is the bytes the SP still
    # had above that end (not usable by the thread), when the bounds are known.
    guard_overflow: bool = False
    guard_left: Optional[int] = None

    def frame(self, index: int) -> Frame:
        for f in self.frames:
            if f.index == index:
                return f
        raise KeyError(index)

    @property
    def percent(self) -> Optional[float]:
        if self.used is None or not self.budget:
            return None
        return 100.0 * self.used / self.budget
