"""What `stackext frames` finds in a binary: functions with their fixed frames, and the deepest
call path from each root. Plain data; ints in bytes; reasons as stable ids (labels in REASONS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

# why a path's bytes are a lower bound (stable ids for JSON -> short labels for people)
INDIRECT_CALL = "indirect_call"
RECURSION = "recursion"
DYNAMIC_FRAME = "dynamic_frame"
EXTERNAL_CALL = "external_call"
REASONS: Dict[str, str] = {
    INDIRECT_CALL: "indirect call",
    RECURSION: "recursion",
    DYNAMIC_FRAME: "dynamic frame",
    EXTERNAL_CALL: "call into another module",
}


@dataclass
class Function:
    """One function. `frame` = return address + 8 x pushes + alloc: the bytes of stack it owns
    while it calls something (the same `size` a stack walk gives its frame)."""
    name: str
    rva: int
    frame: int
    pushes: int = 0
    alloc: int = 0
    leaf: bool = False                 # no unwind data: only the return address
    dynamic: bool = False              # allocates more at run time (alloca)
    dynamic_why: Optional[str] = None  # "pdb" (HasAlloca) or "code" (sub rsp, reg)
    calls: List[int] = field(default_factory=list)    # rvas of functions it calls
    tails: List[int] = field(default_factory=list)    # rvas it tail-jumps to
    imports: List[str] = field(default_factory=list)  # dll!name of imports it calls
    indirect: int = 0                  # call sites through a pointer (CFG dispatch included)
    thunk_of: Optional[str] = None     # a `jmp [__imp_X]` stub: it is the import X
    address_taken: bool = False


@dataclass
class Path:
    """The deepest path from one root: `bytes` sums the frames on `chain` (outermost first).
    `complete` is False when something on it is not known (see `reasons`)."""
    root: str
    bytes: int
    chain: List[str]
    complete: bool
    unknown_calls: int = 0
    recursion: List[str] = field(default_factory=list)
    external: List[str] = field(default_factory=list)
    dynamic: List[str] = field(default_factory=list)
    reasons: List[str] = field(default_factory=list)


@dataclass
class FramesReport:
    binary: str
    module: str
    pdb: Optional[str]
    functions: List[Function]          # heaviest frame first
    paths: List[Path]                  # deepest first
    warnings: List[str] = field(default_factory=list)
    names_from: str = "exports"        # "pdb", "exports" (then module+rva)
