"""What an x64 UNWIND_INFO says about a function's fixed frame (PE/COFF spec, "x64 exception
handling"): the prologue's pushes and allocations, in the unwind codes pefile decoded.

    frame = 8 (return address) + 8 x UWOP_PUSH_NONVOL + UWOP_ALLOC_SMALL/LARGE bytes

UWOP_SET_FPREG (a frame pointer), UWOP_SAVE_NONVOL(_FAR) and UWOP_SAVE_XMM128(_FAR) (stores
into the allocated area) move no stack pointer. UWOP_PUSH_MACHFRAME (interrupt and exception
entry points) is the 40-byte machine frame, 48 with an error code, pushed by the processor in
place of a return address. A `__chkstk` prologue is an ordinary UWOP_ALLOC_LARGE: static.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional

RETURN_ADDRESS = 8
MACHFRAME = 40            # SS, RSP, EFLAGS, CS, RIP
MACHFRAME_ERROR_CODE = 8

UWOP_PUSH_NONVOL = 0
UWOP_ALLOC_LARGE = 1
UWOP_ALLOC_SMALL = 2
UWOP_SET_FPREG = 3
UWOP_SAVE_NONVOL = 4
UWOP_SAVE_NONVOL_FAR = 5
UWOP_EPILOG = 6
UWOP_SAVE_XMM128 = 8
UWOP_SAVE_XMM128_FAR = 9
UWOP_PUSH_MACHFRAME = 10


@dataclass
class Prologue:
    """One unwind entry's own codes. `ret` is 8 (a return address) or 0 under a machine frame,
    whose bytes are in `machframe`."""
    pushes: int = 0
    alloc: int = 0
    frame_register: int = 0   # 0: none; else the register number (5 = rbp)
    prolog_size: int = 0
    machframe: int = 0
    saves: int = 0            # UWOP_SAVE_* codes (no rsp change; counted for --format json)

    @property
    def ret(self) -> int:
        return 0 if self.machframe else RETURN_ADDRESS

    @property
    def frame(self) -> int:
        return self.ret + self.machframe + 8 * self.pushes + self.alloc

    def plus(self, parent: "Prologue") -> "Prologue":
        """This (chained) entry's codes on top of the entry it continues."""
        return Prologue(pushes=self.pushes + parent.pushes, alloc=self.alloc + parent.alloc,
                        frame_register=self.frame_register or parent.frame_register,
                        prolog_size=parent.prolog_size,
                        machframe=self.machframe or parent.machframe,
                        saves=self.saves + parent.saves)


def prologue(codes: Iterable[Any], frame_register: int = 0, prolog_size: int = 0) -> Prologue:
    """The pushes and allocations of pefile's decoded unwind codes (PrologEpilogOp objects)."""
    p = Prologue(frame_register=frame_register, prolog_size=prolog_size)
    for code in codes:
        op = code.struct.UnwindOp
        if op == UWOP_PUSH_NONVOL:
            p.pushes += 1
        elif op in (UWOP_ALLOC_SMALL, UWOP_ALLOC_LARGE):
            p.alloc += code.get_alloc_size()
        elif op == UWOP_PUSH_MACHFRAME:
            p.machframe = MACHFRAME + (MACHFRAME_ERROR_CODE if code.struct.OpInfo else 0)
        elif op in (UWOP_SAVE_NONVOL, UWOP_SAVE_NONVOL_FAR, UWOP_SAVE_XMM128,
                    UWOP_SAVE_XMM128_FAR):
            p.saves += 1
    return p


def of_unwind_info(ui: Optional[Any]) -> Prologue:
    """The Prologue of one pefile UnwindInfo (None: an entry pefile could not read)."""
    if ui is None:
        return Prologue()
    return prologue(getattr(ui, "UnwindCodes", ()), ui.FrameRegister, ui.SizeOfProlog)
