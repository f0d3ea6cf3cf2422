"""The small values of the model, built from its vocabulary (stackext.kinds): a gap, a trap's
context, a local, a frame's layout, the high-water mark, where a walk lost track, a processor's
own stack; and a row's argument words read from their text.

Imports stackext.kinds only; stackext.model re-exports these names as part of its face.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from stackext.kinds import GapKind, LostCause, SegmentKind


@dataclass
class Gap:
    """Frames missing before (inward of) a frame: why, and where the source shows it."""

    kind: GapKind
    where: str = ""  # "file:line" of the line that shows it
    text: str = ""  # what the log said there, verbatim


@dataclass
class TrapContext:
    """A trap's context as a log prints it (x86): the trap frame's address (!analyze's
    TRAP_FRAME line) and the registers `.trap` shows (the faulting EIP, ESP, EBP)."""

    trap_frame: Optional[int] = None
    ip: Optional[int] = None
    sp: Optional[int] = None
    fp: Optional[int] = None


@dataclass
class Local:
    """One local variable of a frame, from `dv /V /t`."""

    name: str
    type: str
    size: Optional[int]
    offset: str  # "rsp+0x70"
    address: Optional[int] = None
    size_estimated: bool = False  # bounded by the next local above it


@dataclass
class FrameLayout:
    """A frame's static layout from `.fnent` (the x64 unwind info), against its measured size:
    static = fixed allocation + pushes + return address; dynamic = measured - static."""

    fixed: int
    pushes: int  # bytes
    push_count: int
    return_address: int
    frame_pointer: bool
    static: int
    dynamic: Optional[int] = None
    is_dynamic: Optional[bool] = None  # dynamic is large enough to be _alloca / frame pointer


@dataclass
class HighWater:
    """The deepest point ever written on a stack, or a page-granular mark."""

    address: Optional[int]
    used: Optional[int]
    remaining: Optional[int]
    unreadable_pages: int = 0
    pages_read: Optional[int] = None
    page_granular: bool = False
    origin: Optional[str] = None  # e.g. "TEB StackLimit (committed bottom)"


@dataclass
class LostTrack:
    """Where the unwinder lost track: the first frame whose instruction pointer lies in no loaded
    module (JSON `lost_track`), and why. The frames after the last one kept are not listed."""
    frame: int  # WinDbg number of the first frame in no module
    ip: Optional[int]
    call_site: str
    after: int  # the last frame kept (its size is unknown)
    after_site: str
    module: Optional[str]  # NO_UNWIND: the module of the last frame kept (no unwind data there)
    dropped: int  # frames not listed
    cause: LostCause = LostCause.NO_UNWIND
    fault_arg: Optional[int] = None  # the bug check argument (1-4) that is this IP: the fault
    trap_site: Optional[str] = None  # the trap handler whose trap frame gave this frame (kept)
    gap: Optional[GapKind] = None  # FRAMES_MISSING: how the text leaves the frames out
    invalid_from: Optional[int] = None  # the first dropped frame whose IP is not canonical
    invalid_site: Optional[str] = None  # its call site, as the text wrote it


@dataclass
class ProcessorStack:
    """A processor's own stack that a segment can run on (the DPC stack, the ISR stack): its top
    (`_KPRCB.DpcStack` / `IsrStack`, the highest address) and its size when known. `origin` says
    where the top was read (the debugger's _KPRCB, a `dt`/`dx` line of the log)."""
    kind: SegmentKind
    top: int
    size: Optional[int]
    origin: str


def hex_words(text: str) -> List[Optional[int]]:
    """A row's argument words as a log prints them ("ffffb507`72616018 00000000`00000001"):
    Frame.args read lazily from the text stackext.sources.windbg.fastrow keeps."""
    return [int(w, 16) for w in text.replace("`", "").split()]
