"""`dps Limit Base` (or `dps esp`) output in a log, read as a raw-scan stack: what Microsoft's
NTDebugging write-up does by hand when the unwinder fails on an overflowed stack (the words that
point into code are return addresses; the distances between them are estimated frame sizes).

Standard library only; imports stackext.model, the symbol parser and the line helpers.
"""

from __future__ import annotations

import re
from typing import Callable, List, Optional, Tuple

from stackext.model import Frame, FramesFrom, StackInput
from stackext.sources.windbg.lines import (
    ADDR,
    MAX_LINE,
    clean_line,
    may_be_prompt,
    parse_prompt,
    to_int,
)
from stackext.symbols import split_call_site

# the commands that print one pointer-sized word a line with its symbol
DPS_COMMANDS = ("dps", "dqs", "dds")
# "fffff880`0b9c1008  fffff880`01486c7a ql2300+0x6dc7a"
# "8b1c5a14  8f1a2a90 mydrv!DeepHelper+0x10"
DPS_ROW_RE = re.compile(r"^(?P<slot>" + ADDR + r")\s+(?P<value>" + ADDR
                        + r")(?:\s+(?P<sym>\S.*))?$")
# a symbol with a displacement points into code; an exact symbol is usually data (a global):
# "ql2300+0x6dc7a" and "nt!KiSwapThread+0xab5" are return addresses, "nt!KiInitialThread" is not
CODE_SYMBOL_RE = re.compile(r"\+0x[0-9a-f]+$", re.I)
MAX_ROWS = 1 << 16
# What a stack dump is given: a stack or frame pointer ("dps esp", "dqs @rsp L100", "dps
# @$csp", "dps ebp-40") or a range of two addresses ("dps Limit Base"). A dump of one address
# ("dqs ffff9d01`69ff0f78", "dps nt!KiServiceTable L2") is a table in memory unless the log's
# !thread puts it inside a thread's stack (stackext.sources.windbg.reader's raw_scan).
STACK_ARGS_RE = re.compile(r"^(?:@?\$?[re]?[sb]p\b|@?\$csp\b|@?sp\b|@?fp\b|"
                           r"(?:0x)?[0-9a-f`]+\s+(?:0x)?[0-9a-f`]{5,}\s*$)", re.I)


class DpsCapture:
    """Collects the rows of a `dps`/`dqs`/`dds` command and, at the next prompt or the end of
    the log, hands back one StackInput of the return addresses it holds."""

    def __init__(self, name: str, in_thread: Callable[[List[Frame]], object] = lambda _: None):
        self.name = name
        self.in_thread = in_thread  # the !thread of the log whose stack holds these frames
        self.rows: Optional[List[Tuple[int, int, int, str]]] = None  # the command being read
        self.line = 0
        self.width = 8
        self.named_stack = False  # the command names a stack (STACK_ARGS_RE)

    def feed(self, n: int, raw: str) -> Tuple[bool, List[StackInput]]:
        """(the line was dps output, stacks finished by this line)."""
        if self.rows is None and not may_be_prompt(raw):
            return False, []
        text = clean_line(raw[:MAX_LINE])
        prompt = parse_prompt(text)
        if prompt:
            done = self.finish()
            if prompt.names and prompt.names[0] in DPS_COMMANDS:
                self.rows, self.line = [], n
                self.width = 4 if prompt.names[0] == "dds" else 8
                args = prompt.commands[0].split(None, 1)[1:]
                self.named_stack = bool(args and STACK_ARGS_RE.match(args[0]))
            return False, done
        if self.rows is None:
            return False, []
        row = DPS_ROW_RE.match(text)
        if row and len(self.rows) < MAX_ROWS:
            sym = (row.group("sym") or "").strip()
            if len(row.group("slot").replace("`", "")) == 8:
                self.width = 4
            self.rows.append((n, to_int(row.group("slot")), to_int(row.group("value")), sym))
        return True, []

    def finish(self) -> List[StackInput]:
        rows, self.rows = self.rows, None
        frames = []
        for n, slot, value, sym in rows or []:
            if not sym or not CODE_SYMBOL_RE.search(sym):
                continue
            module, function, offset, _ = split_call_site(sym)
            # the slot above a return address is its caller's Child-SP (x64)
            frames.append(Frame(index=len(frames), sp=slot + self.width, ret=None,
                                call_site=sym, module=module, function=function, offset=offset,
                                ip=value, estimated=True, line=n))
        for a, b in zip(frames, frames[1:]):
            a.ret = b.ip
        if not frames or (not self.named_stack or len(frames) < 2) and \
                self.in_thread(frames) is None:
            # a table in memory (no stack was asked for and none holds it), or one slot of a
            # stack ("dqs @rsp L1", a look at a return address): nothing to measure
            return []
        return [StackInput(frames=frames, source="%s:%d" % (self.name, self.line),
                           arch="x86" if self.width == 4 else "x64",
                           frames_from=FramesFrom.RAW_SCAN,
                           warnings=["%s:%d: frames rebuilt from dps output (values that point "
                                     "into code); their sizes are estimates"
                                     % (self.name, self.line)])]
