"""Debugger output that explains single frames in a log (`.frame N` + `dv /V /t`, `.fnent`),
kept with the stack printed before it as StackInput.frame_notes; and `!teb` (or
`!wow64exts.info`), whose bounds are the user stack's they hold (stackext.sources.windbg.teb).

Standard library only; imports stackext.model and the line helpers.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Deque, Iterator, List, Optional, Union

from stackext.model import ProcessorStack, StackInput
from stackext.sources.windbg.lines import ADDR, MAX_LINE, clean_line, may_be_prompt, parse_prompt
from stackext.sources.windbg.prcb import is_prcb_command, processor_stacks
from stackext.sources.windbg.teb import Teb, apply, holds, is_teb_line, read_tebs

Item = Union[StackInput, object]  # a stack, or the reader's EmbeddedJson

# The commands whose output explains one frame: ".frame /c 4; dv /V /t", "dv /V /t", ".fnent ip"
FRAME_CMD_RE = re.compile(r"^\.frame\s+(?:/[a-z]+\s+)*(?:0n(?P<dec>\d+)|(?:0x)?(?P<hex>[0-9a-f]+))"
                          r"\s*$", re.I)
# ".fnent" output names its function first: "(00000001`40001510)   seed!MyStruct_toDebugStr+0x72 |"
FNENT_SYM_RE = re.compile(r"^\(\s*" + ADDR + r"\s*\)\s+(?P<sym>\S.*?)\s+\|")
MAX_NOTE_LINES = 4000
MAX_GROUP = 64  # user stacks held back for a !teb printed after them


class FrameNotes:
    """`.frame N` + `dv /V /t` and `.fnent` output that follow a stack in the log: kept as
    StackInput.frame_notes of the stack printed before them (which is held back until the next
    stack begins, so memory stays at one stack). User stacks are held back together, at most
    MAX_GROUP, for a `!teb` (or `!wow64exts.info`) printed after them."""

    def __init__(self, name: str):
        self.name = name
        self.held: Optional[StackInput] = None
        self.frame: Optional[int] = None  # from the last .frame command
        self.kind: Optional[str] = None  # "dv", "fnent" or "frame" while capturing
        self.target: Optional[int] = None
        self.lines: List[str] = []
        self.prcb: List[ProcessorStack] = []  # DPC/ISR stack tops the log showed (dt/dx _KPRCB)
        self.tebs: Deque[Teb] = deque(maxlen=16)  # !teb blocks no stack has taken yet
        self.where = ""  # "file:line" of the prompt whose output is being captured
        self.earlier: Deque[StackInput] = deque()  # the user stacks before `held`, held back

    def feed(self, raw: str, n: int = 0) -> bool:
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
            elif low == ["!teb"] or low == ["!wow64exts.info"]:
                self.kind, self.target = "teb", None
            elif low and low[0].startswith(".frame") and self.frame is not None:
                self.kind, self.target = "frame", self.frame  # its frame line and registers
            self.where = "%s:%d" % (self.name, n)
            return False
        if self.kind is None:
            return False
        if self.kind == "teb" and text and not is_teb_line(text):
            self._close()  # the TEB's fields end here: what follows is the log's again
            return False
        if len(self.lines) < MAX_NOTE_LINES:
            self.lines.append(text[:MAX_LINE])
        return True

    def _close(self) -> None:
        kind, lines, self.kind, self.lines = self.kind, self.lines, None, []
        if kind == "prcb":  # before or after the stack in the log, all the same
            self._found(processor_stacks(lines))
            return
        if kind == "teb":  # the stack just printed, or one printed later
            for teb in read_tebs(lines, self.where):
                stack = next((x for x in [self.held, *reversed(self.earlier)]
                              if x is not None and holds(teb, x)), None)
                if stack is not None:
                    apply(teb, stack)
                else:
                    self.tebs.append(teb)
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
            if isinstance(item, StackInput):
                if self.held is not None:
                    if self.held.kernel or not self.held.frames:
                        yield from self._release()  # (no !teb is a kernel stack's)
                    else:  # a user stack: kept for a !teb printed after it
                        self.earlier.append(self.held)
                        if len(self.earlier) > MAX_GROUP:
                            yield self.earlier.popleft()
                self.held = item
                item.processor_stacks.extend(self.prcb)
                teb = next((t for t in reversed(self.tebs) if holds(t, item)), None) \
                    if self.tebs else None  # (most logs print no !teb)
                if teb is not None:
                    apply(teb, item)
            else:
                yield from self._release()
                yield item
        if final:
            self._close()
            yield from self._release()

    def _release(self) -> Iterator[StackInput]:
        while self.earlier:
            yield self.earlier.popleft()
        if self.held is not None:
            yield self.held
            self.held = None
