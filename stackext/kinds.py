"""The typed vocabulary of the model. The enums: why a size
is unknown, what a stack segment is, where a budget came from, how frames were found, why frames
are missing, what the verdict is; each value is a stable id of the JSON contract (README) and
`label`/`short` are the words people read (the small values built from them: stackext.values).

Imports nothing from stackext; stackext.model re-exports these names as part of its face.
"""

from __future__ import annotations

from enum import Enum


class UnknownReason(str, Enum):
    """Why a frame's size is unknown (JSON `size_unknown_reason`; the label is for people)."""

    OTHER_STACK = "other-stack"
    FRAMES_MISSING = "frames-missing"
    NO_SP = "no-sp"
    BASE_UNKNOWN = "base-unknown"
    NO_CURRENT_SP = "no-current-sp"
    START_AREA = "start-area"
    STACK_CONTINUES = "stack-continues"
    WALK_LOST = "walk-lost"  # the next frame's IP lies in no loaded module: its SP is a guess
    # x86: a trap handler's row whose trap frame the log does not place (its bytes are counted
    # on the faulting frame, the next one: SizeNote.INCLUDES_TRAP_FRAME)
    TRAP_FRAME = "trap-frame-unknown"
    NULL_FRAME_POINTER = "null-frame-pointer"  # x86 ChildEBP 0: the end of the EBP chain
    # x86: a ChildEBP equal to the return address read beside it: no frame pointer (a broken chain)
    SELF_FRAME_POINTER = "self-frame-pointer"
    # the next frame's return address is no valid address: the stack contents were overwritten
    STACK_OVERWRITTEN = "stack-overwritten"
    # a kernel row outward of the thread's start routine: the walk followed stale frame pointers
    PAST_START = "past-thread-start"

    @property
    def label(self) -> str:
        return _REASON_LABELS[self]

    @property
    def short(self) -> str:
        return _REASON_SHORT[self]


_REASON_LABELS = {
    UnknownReason.OTHER_STACK: "next frame is on another stack",
    UnknownReason.FRAMES_MISSING: "frames are missing between this frame and the next",
    UnknownReason.NO_SP: "stack pointer missing",
    UnknownReason.BASE_UNKNOWN: "outermost frame and the stack base is unknown",
    UnknownReason.NO_CURRENT_SP: "innermost frame on x86 needs the current ESP, which is not known",
    UnknownReason.START_AREA: "thread start: its bytes up to StackBase are counted as the start "
                              "area",
    UnknownReason.STACK_CONTINUES: "outermost frame shown, but the stack continues beyond it",
    UnknownReason.WALK_LOST: "the unwinder lost track after this frame (the next instruction "
                             "pointer lies in no loaded module)",
    UnknownReason.TRAP_FRAME: "trap handler: the log does not say where its trap frame lies, so "
                              "its bytes and the trap frame's are counted on the next frame",
    UnknownReason.NULL_FRAME_POINTER: "ChildEBP 0: the end of the EBP chain, no frame pointer "
                                      "to measure from",
    UnknownReason.SELF_FRAME_POINTER: "its ChildEBP equals the return address read beside it: no "
                                      "frame pointer (the EBP chain broke), nothing to measure",
    UnknownReason.STACK_OVERWRITTEN: "the return address above this frame is not a valid "
                                     "(canonical) address: the stack contents were overwritten",
    UnknownReason.PAST_START: "outward of the thread's start routine: the walk followed stale "
                              "frame pointers, no frame of this thread",
}
_REASON_SHORT = {
    UnknownReason.OTHER_STACK: "stack switch",
    UnknownReason.FRAMES_MISSING: "frames missing",
    UnknownReason.NO_SP: "no SP",
    UnknownReason.BASE_UNKNOWN: "base unknown",
    UnknownReason.NO_CURRENT_SP: "ESP unknown",
    UnknownReason.START_AREA: "thread start",
    UnknownReason.STACK_CONTINUES: "stack continues",
    UnknownReason.WALK_LOST: "walk lost",
    UnknownReason.TRAP_FRAME: "trap frame unknown",
    UnknownReason.NULL_FRAME_POINTER: "null EBP",
    UnknownReason.SELF_FRAME_POINTER: "EBP = RetAddr",
    UnknownReason.STACK_OVERWRITTEN: "stack overwritten",
    UnknownReason.PAST_START: "past thread start",
}


class SizeNote(str, Enum):
    """What a known size holds besides the frame's own bytes (JSON `size_note`)."""

    # x86: the faulting frame of a trap whose trap frame the log does not place: its size runs
    # from the trap handler's EBP, so it holds the handler's bytes and the trap frame too
    INCLUDES_TRAP_FRAME = "includes-trap-frame"

    @property
    def label(self) -> str:
        return _SIZE_NOTE_LABELS[self]

    @property
    def short(self) -> str:
        return _SIZE_NOTE_SHORT[self]


_SIZE_NOTE_LABELS = {
    SizeNote.INCLUDES_TRAP_FRAME: "at most: includes the trap frame and the trap handler's bytes "
                                  "(the log does not say where the trap frame lies)",
}
_SIZE_NOTE_SHORT = {SizeNote.INCLUDES_TRAP_FRAME: "incl. trap frame"}


class SegmentKind(str, Enum):
    """The stacks a call stack runs on (the kernel's _KERNEL_STACK_LIMITS, folded)."""

    THREAD = "thread"
    IST = "ist"  # double-fault / NMI / machine-check stack
    DPC = "dpc"
    ISR = "isr"
    EXPANDED = "expanded"  # KeExpandKernelStackAndCallout
    EXCEPTION = "exception"  # the processor's exception stack (KxExceptionDispatchOnExceptionStack)
    USER = "user"
    UNKNOWN = "unknown"


# The kernel's stacks besides the thread's own that a driver's code runs on: where frame 00 runs
# on one of them, the crash (or the breakpoint) happened there.
SIDE_STACKS = frozenset({SegmentKind.DPC, SegmentKind.ISR, SegmentKind.EXPANDED,
                         SegmentKind.EXCEPTION})


class Origin(str, Enum):
    """Where a budget (or a stack's bounds) came from."""

    THREAD = "thread"  # the thread's own StackBase/StackLimit (!thread, _KTHREAD, the TEB)
    LOG = "log"  # KiStartSystemThread's arguments in a kv/STACK_TEXT
    OPTION = "option"  # --budget
    DEFAULT = "default"  # the architecture's default


class FramesFrom(str, Enum):
    """How the frame list was obtained."""

    STACK_WALK = "stack-walk"  # the debugger's unwinder
    RAW_SCAN = "raw-scan"  # return addresses found in the stack's raw memory (estimated)
    LOG = "log"


class GapKind(str, Enum):
    """Why frames are missing before (inward of) a frame."""

    ELIDED = "elided"  # a "..." line: the log leaves frames out
    UNWIND_WARNING = "unwind-warning"  # WinDbg's "WARNING: ... unwind" / "Stack unwind ..."
    NUMBER_JUMP = "number-jump"  # frame numbers jump
    UNREADABLE = "unreadable"  # a row stackext could not read


class VerdictKind(str, Enum):
    """What the analysis concluded (JSON `verdict_id`; the sentence is the renderer's)."""

    OVERFLOW = "overflow"
    CLOSE = "close"  # less than a quarter of the budget left
    OK = "ok"
    BUDGET_UNKNOWN = "budget-unknown"
    NO_THREAD_STACK = "no-thread-stack"  # no frame lies on the thread's own stack
    NO_STACK_POINTERS = "no-stack-pointers"
    DOUBLE_FAULT_ON_IST = "double-fault-on-ist"  # the walk stops on the double-fault stack
    DOUBLE_FAULT_UNPROVEN = "double-fault-unproven"  # no bounds to prove an overflow
    # what follows the double-fault stack runs kernel code on a user-space SP (corrupted/switched)
    DOUBLE_FAULT_OFF_STACK = "double-fault-off-stack"
    DOUBLE_FAULT_NOT_NEAR = "double-fault-not-near-limit"
    DOUBLE_FAULT_CORRUPT_SP = "double-fault-corrupt-sp"  # x86: the fault's ESP above the EBP
    # 0x139 Arg1 4 (FAST_FAIL_INCORRECT_STACK): the kernel found the SP outside the thread's stack
    # limits; the frames do not show an overflow
    INVALID_STACK_POINTER = "invalid-stack-pointer"


class LostCause(str, Enum):
    """Why the walk has a frame in no loaded module (JSON `lost_track.cause`)."""

    NO_UNWIND = "no-unwind-data"  # the frame before: its module's unwind data is not there
    # the frame's IP and SP come from a trap frame: the code ran outside any loaded module
    OUTSIDE_MODULES = "code-outside-modules"
    NOT_CANONICAL = "not-canonical"  # the return address is no valid address (overwritten)
    NOT_USER_CODE = "not-user-code"  # on a user stack: an IP in kernel space, no user code's
    FRAMES_MISSING = "frames-missing"  # frames left out of the text before it: not shown where


class NotProven(str, Enum):
    """Why a verdict is not proven (JSON `not_proven`; the label is for people)."""

    DEFAULT_BUDGET = "default-budget"
    OPTION_BUDGET = "option-budget"
    NO_BOUNDS = "no-bounds"
    FRAMES_MISSING = "frames-missing"
    INNER_FRAMES_MISSING = "inner-frames-missing"
    INNER_ESP_UNKNOWN = "inner-esp-unknown"  # x86: its locals lie below the innermost ChildEBP
    CUT_OFF = "cut-off"
    NO_THREAD_STACK = "no-thread-stack"
    WALK_LOST = "walk-lost"  # the unwinder lost track: the outer frames are not known

    @property
    def label(self) -> str:
        return _NOT_PROVEN_LABELS[self]


_NOT_PROVEN_LABELS = {
    NotProven.DEFAULT_BUDGET: "default budget",
    NotProven.OPTION_BUDGET: "budget from --budget",
    NotProven.NO_BOUNDS: "no StackBase/StackLimit",
    NotProven.FRAMES_MISSING: "frames missing",
    NotProven.INNER_FRAMES_MISSING: "innermost frames missing",
    NotProven.INNER_ESP_UNKNOWN: "the innermost frame's ESP not known",
    NotProven.CUT_OFF: "the log is cut off",
    NotProven.NO_THREAD_STACK: "no frame on the thread's own stack",
    NotProven.WALK_LOST: "the stack walk lost track",
}


class SymbolQuality(str, Enum):
    """How far a frame's function name can be trusted (JSON `symbol_quality`)."""

    PDB = "pdb"  # a function from the module's symbols
    EXPORT = "export"  # the nearest export: a module without its PDB (big displacement)
    NONE = "none"  # no function name: module+offset or a bare address
