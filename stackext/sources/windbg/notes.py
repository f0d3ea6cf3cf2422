"""Debugger output that explains single frames in a log (`.frame N` + `dv /V /t`, `.fnent`),
kept with the stack printed before it as StackInput.frame_notes.

Standard library only; imports stackext.model and the line helpers.
"""

from __future__ import annotations

import re
from typing import Iterator, List, Optional, Union

from stackext.model import ProcessorStack, StackInput
from stackext.sources.windbg.lines import ADDR, MAX_LINE, clean_line, may_be_prompt, parse_prompt
from stackext.sources.windbg.prcb import is_prcb_command, processor_stacks

Item = Union[StackInput, object]  # a stack, or the reader's EmbeddedJson

# The commands whose output explains one frame: ".frame /c 4; dv /V /t", "dv /V /t", ".fnent ip"
FRAME_CMD_RE = re.compile(r"^\.frame\s+(?:/[a-z]+\s+)*(?:0n(?P<dec>\d+)|(?:0x)?(?P<hex>[0-9a-f]+))"
                          r"\s*$", re.I)
# ".fnent" output names its function first: "(00000001`40001510)   seed!MyStruct_toDebugStr+0x72 |"
FNENT_SYM_RE = re.compile(r"^\(\s*" + ADDR + r"\s*\)\s+(?P<sym>\S.*?)\s+\|")
MAX_NOTE_LINES = 4000


class FrameNotes:
    """`.frame N` + `dv /V /t` and `.fnent` output that follow a stack in the log: kept as
    StackInput.frame_notes of the stack printed before them (which is held back until the next
    stack begins, so memory stays at one stack)."""

    def __init__(self, name: str):
        self.name = name
        self.held: Optional[StackInput] = None
        self.frame: Optional[int] = None  # from the last .frame command
        self.kind: Optional[str] = None  # "dv", "fnent" or "frame" while capturing
        self.target: Optional[int] = None
        self.lines: List[str] = []
        self.prcb: List[ProcessorStack] = []  # DPC/ISR stack tops the log showed (dt/dx _KPRCB)

    def feed(self, raw: str) -> bool:
        """True when the line was a frame command's output (and not a stack row)."""
        if self.kind is None and not may_be_prompt(raw):
            if "DPC_STACK_BASE:" in raw:  # !analyze's: the crashing processor's DpcStack
                self._found(processor_stacks([clean_line(raw)]))
            return False  # not a prompt, and nothing being captured: the common case, fast
        text = clean_line(raw)
        prompt = parse_prompt(text)
        if prompt:
            self._close()
            for c in prompt.commands:
                f = FRAME_CMD_RE.match(c)
                if f:
                    self.frame = int(f.group("dec")) if f.group("dec") else int(f.group("hex"), 16)
            low = prompt.names
            if "dv" in low and self.frame is not None:
                self.kind, self.target = "dv", self.frame
            elif ".fnent" in low:
                self.kind, self.target = "fnent", None
            elif is_prcb_command(prompt.commands):
                self.kind, self.target = "prcb", None
            elif low and low[0].startswith(".frame") and self.frame is not None:
                self.kind, self.target = "frame", self.frame  # its frame line and registers
            return False
        if self.kind is None:
            return False
        if len(self.lines) < MAX_NOTE_LINES:
            self.lines.append(text[:MAX_LINE])
        return True

    def _close(self) -> None:
        kind, lines, self.kind, self.lines = self.kind, self.lines, None, []
        if kind == "prcb":  # before or after the stack in the log, all the same
            self._found(processor_stacks(lines))
            return
        if kind in (None, "frame") or self.held is None or not lines:
            return
        text = "\n".join(lines)
        if kind == "dv":
            self.held.frame_notes.setdefault(self.target, {})["dv"] = text
            return
        for line in lines:
            m = FNENT_SYM_RE.match(line)
            if m:
                sym = m.group("sym").strip()
                for f in self.held.frames:
                    if not f.inline and (f.call_site == sym or f.symbol == sym.split("+")[0]):
                        self.held.frame_notes.setdefault(f.index, {})["fnent"] = text
                return

    def _found(self, found: List[ProcessorStack]) -> None:
        self.prcb.extend(found)
        if self.held is not None:
            self.held.processor_stacks.extend(found)

    def hold(self, items: List[Item], final: bool = False) -> Iterator[Item]:
        for item in items:
            if self.held is not None:
                yield self.held
                self.held = None
            if isinstance(item, StackInput):
                self.held = item
                item.processor_stacks.extend(self.prcb)
            else:
                yield item
        if final:
            self._close()
            if self.held is not None:
                yield self.held
                self.held = None
