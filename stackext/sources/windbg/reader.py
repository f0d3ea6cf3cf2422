"""Read call stacks from saved WinDbg/kd text (k*, !thread, !process, !analyze -v, ~*k), streaming.

The state machine: one call of feed() per line; finished stacks come out as they end. Standard
library only; imports stackext.model/errors/report_json and this package, never pykd or analyze.
"""

from __future__ import annotations

from functools import partial
from typing import Iterable, Iterator, List, Optional, Tuple

from stackext.errors import StackextError
from stackext.model import Gap, GapKind, StackInput
from stackext.report_json import MARKER_BEGIN
from stackext.sources.windbg import fastrow
from stackext.sources.windbg import lines as L
from stackext.sources.windbg import refusals as R
from stackext.sources.windbg.context import Context, ThreadInfo, thread_header
from stackext.sources.windbg.dps import DpsCapture
from stackext.sources.windbg.embedded import JsonBlock
from stackext.sources.windbg.lines import Item
from stackext.sources.windbg.lmv import ModuleFacts
from stackext.sources.windbg.notes import FrameNotes
from stackext.sources.windbg.pasted import Paste, tilde_thread
from stackext.sources.windbg.rows import (
    SP_ROW_RE,
    Layout,
    Row,
    may_hold_row,
    parse_header,
    parse_row,
)
from stackext.sources.windbg.stack import OpenStack, attach_thread, build, thread_stack


def read_stacks(lines: Iterable[str], name: str, threads_without_stack: bool = False,
                skipped: bool = False) -> Iterator[Item]:
    """Yield each stack (and each embedded stackext JSON) as soon as it ends in the log. With
    `threads_without_stack`, also the !thread blocks that printed no stack (frames empty); with
    `skipped`, at the end a lines.Skipped for the first listing no size can come from."""
    reader = Reader(name, threads_without_stack)
    notes = FrameNotes(name)
    dps = DpsCapture(name, reader.ctx.matching_thread)
    lineno = 0
    paste = Paste(name)
    # the plain rows are read in fastrow.left's own loop; only what they end comes out here
    for lineno, raw, done in fastrow.left(reader, paste, dps, notes, L.probed(lines, name)):
        if done is not None:
            if done or reader.retired:
                yield from notes.hold(done + reader.drain())
            continue
        raw = paste.line(lineno, raw)
        consumed, scanned = dps.feed(lineno, raw)
        if scanned:
            yield from notes.hold(reader.raw_scan(scanned))
        if consumed or notes.feed(raw, lineno):
            continue
        yield from notes.hold(reader.feed(lineno, raw) + reader.drain())
    last = reader.raw_scan(dps.finish()) + reader.finish(lineno)
    reader.retire_last()
    yield from notes.hold(last + reader.drain(), final=True)
    paste.finish(reader.found)
    yield from R.said(reader.refused, reader.found, name, skipped)
    if not reader.found:
        raise StackextError(
            "no call stack found (expected WinDbg k/kn/kv/kf/!thread/!analyze -v output)",
            where=name,
        )


class Reader:
    """The state machine: one call of feed() per line; finished stacks come out as they end."""

    def __init__(self, name: str, threads_without_stack: bool = False):
        self.name = name
        self.threads_without_stack = threads_without_stack
        self.found = False
        self.stack: Optional[OpenStack] = None
        self.layout = Layout()
        self.stacktext = False  # rows under a STACK_TEXT: label
        self.session: Optional[bool] = None  # True "kd>", False user mode, from the prompt
        self.skip_rows = False
        self.ctx = Context(name)
        self.pending_gap: Optional[Gap] = None
        self.json = JsonBlock(name)
        self.refused: Optional[Tuple[int, str]] = None  # (line, R.REFUSALS key): see refusal()
        self.named = R.NamedRun()  # lines that name functions without a stack pointer
        self.retired: List[Item] = []
        self.modules = ModuleFacts()  # lmv's CompanyName, export-only modules: anywhere

    def feed(self, n: int, raw: str) -> List[Item]:
        out: List[Item] = []
        if self.json.open:
            doc = self.json.feed(n, raw)
            self.found = self.found or doc is not None
            return [doc] if doc is not None else []
        text = L.clean_line(raw)
        if text == MARKER_BEGIN:
            self._end(out)
            self.json.start(n)
            return out
        if not text:
            if self.stack is not None:
                self.stack.after_blank = True
                self.stack.closed = True
            return out
        if len(raw) > L.MAX_LINE and self.stack is not None:
            self.stack.warn("line is %d characters long; only the first %d were read"
                            % (len(raw), L.MAX_LINE), n)
        if not self.skip_rows and SP_ROW_RE.match(text):  # a row, unless it cannot be read
            row = parse_row(text, self.layout, n)
            if row is not None:
                self._add_row(n, row, out)
                return out
        if self._context_line(n, text, out) or self._header(n, text, out):
            return out
        gap = L.gap_of(text, "%s:%d" % (self.name, n))
        if gap is not None:
            self._gap(gap, n)
            return out
        if L.NOISE_RE.match(text):
            self.modules.note(text)
            return out
        row = None if self.skip_rows else parse_row(text, self.layout, n)
        if row is None and self.refused is None:
            # a row without Child-SP, rows run into one line, a STACK_TEXT of call sites only
            rows = self.stack is not None and bool(self.stack.frames)
            self.refused = R.refusal(text, n, self.stacktext and self.stack is not None
                                     and not rows, rows) or self.named.see(
                text, n, self.stack is not None and self.stack.tinfo is not None)
        if row is not None:
            self._add_row(n, row, out)
        elif self.stack is not None and self.stack.tail(text):
            pass  # kv prints a row's source on a line of its own
        elif self.stack is not None and self.ctx.each_frame:
            pass  # !for_each_frame's command output and separators between the rows
        elif self.stack is not None and self.stack.ends_at(text):
            self._end(out)  # disassembly, prose, a prompt after the listing: not a frame
        elif self.stack is not None and not L.LABEL_RE.match(text):
            self.stack.warn("could not read this line inside a stack: %s" % text[:60], n)
            self.stack.last_unreadable_row = may_hold_row(text)
            if self.stack.last_unreadable_row:  # a frame we could not read: a hole (before
                # the first row, frames missing inward), never bytes charged to its neighbour
                self.stack.gap = self.stack.gap or Gap(GapKind.UNREADABLE,
                                                       "%s:%d" % (self.name, n), text[:60])
        else:
            self._end(out)
        return out

    def _header(self, n: int, text: str, out: List[Item]) -> bool:
        """A column header line ("# Child-SP RetAddr Call Site"): a new stack starts."""
        if R.NO_SP_HEADER_RE.match(text):
            self.refused = self.refused or (n, "no-sp")
        if R.SLOT_SCAN_HEADER_RE.match(text):  # its rows are no frames: none is read
            self.refused = self.refused or (n, "slot-scan")
            self._end(out)
            self.skip_rows = True
            return True
        layout = parse_header(text)
        if layout is None:
            return False
        self.layout, self.skip_rows = layout, False
        if self.stack is not None and not self.stack.frames:  # "~ Id:" header, then columns
            self.stack.layout = layout
        else:
            self._end(out)
            self.stack = self._new_stack(n)
        return True

    def _context_line(self, n: int, text: str, out: List[Item]) -> bool:
        """Prompts, thread/bugcheck context and section labels; True when the line was one."""
        prompt = L.parse_prompt(text)
        self.modules.feed(text, prompt is not None)
        if prompt:
            self._end(out)
            self._reset_command()
            self.session = prompt.kernel
            self.ctx.prompted(prompt)
            self.skip_rows = prompt.prints_no_stack
            if R.SLOT_SCAN_COMMANDS.intersection(prompt.names):  # SOS !dumpstack (-ee)
                self.refused, self.skip_rows = self.refused or (n, "slot-scan"), True
            return True
        if L.TILDE_RE.match(text):
            self._end(out)
            self._reset_command(keep_prompt_state=True)
            self.stack = self._new_stack(n)
            self.stack.tilde = tilde = tilde_thread(text)
            if tilde is not None:
                self.ctx.thread_ids[tilde[0]] = tilde[1]
            return True
        tinfo = thread_header(n, text)
        if tinfo is not None:
            self._end(out)
            self._reset_command(keep_prompt_state=True)
            self.ctx.tinfo = tinfo
            return True
        if text.startswith("STACK_TEXT:"):
            self._end(out)
            self.layout, self.stacktext, self.skip_rows = Layout(), True, False
            self.stack = self._new_stack(n)
            return True
        # a header printed before its !thread fields keeps waiting for its rows
        waiting = self.stack is not None and not self.stack.frames and self.stack.tinfo is None
        if self.ctx.field(n, text, None if waiting else partial(self._end, out)):
            return True
        if L.NONSTACK_HEADER_RE.match(text):
            self._end(out)
            self.skip_rows = True
            return True
        return False

    def _reset_command(self, keep_prompt_state: bool = False) -> None:
        """A new debugger command (or !thread block): column layout and thread context restart."""
        if self.ctx.tinfo is not None:
            self.ctx.recent.append(self.ctx.tinfo)
            self._retire(self.ctx.tinfo)
        self.ctx.tinfo = None
        self.layout, self.stacktext = Layout(), False
        self.pending_gap = None
        if not keep_prompt_state:
            self.ctx.limit_hint = None  # belongs to the !analyze that printed it
            self.skip_rows = False

    # -- stacks --------------------------------------------------------------------------------

    def _new_stack(self, n: int) -> OpenStack:
        stack = OpenStack(self.name, n, self.layout, self.stacktext)
        tinfo = self.ctx.tinfo
        if tinfo is not None:
            stack.tinfo, stack.line = tinfo, tinfo.line
            self.ctx.recent.append(tinfo)
            self.ctx.tinfo = None
        elif not self.stacktext:  # user mode: k at "0:049>" walks thread ~49 (one stack)
            stack.tilde, self.ctx.prompt_thread = self.ctx.k_thread(), None
        if self.pending_gap is not None:
            stack.gap, self.pending_gap = self.pending_gap, None
        return stack

    def _add_row(self, n: int, row: Row, out: List[Item]) -> None:
        stack = self.stack
        if stack is not None and stack.frames and not stack.continues(row):
            self._end(out)
            stack = None
        if stack is None:
            stack = self.stack = self._new_stack(n)
        stack.add_row(n, row)

    def _gap(self, gap: Gap, n: int) -> None:
        if self.stack is not None:
            self.stack.add_gap(gap, n)
        else:
            self.pending_gap = gap

    def _end(self, out: List[Item], at_eof: bool = False) -> None:
        stack, self.stack = self.stack, None
        self.pending_gap = None
        if stack is None:
            return
        if not stack.frames:
            if stack.tinfo is not None and self.ctx.tinfo is None:
                self.ctx.tinfo = stack.tinfo  # a header without rows yet: keep the !thread context
            return
        if self.ctx.reprinted(stack.frames):
            return
        self.found = True
        result = build(stack, self.ctx, self.session, at_eof)
        self.modules.apply(result)
        out.append(result)
        self.layout, self.stacktext = Layout(), False

    def _retire(self, t: ThreadInfo) -> None:
        """A !thread block that printed no stack ("Kernel stack not resident."): still a thread
        with bounds and a saved SP, for `stackext threads`."""
        if self.threads_without_stack and not t.used and t.thread is not None and \
                (t.base is not None or t.current is not None):
            t.used = True
            self.found = True
            self.retired.append(thread_stack(t, self.name))

    def raw_scan(self, stacks: List[StackInput]) -> List[Item]:
        """Stacks rebuilt from dps output: bounds and thread from a !thread block they lie in."""
        for stack in stacks:
            self.found = True
            attach_thread(stack, self.ctx, self.name)
        return list(stacks)

    def drain(self) -> List[Item]:
        out, self.retired = self.retired, []
        return out

    def finish(self, last_line: int) -> List[Item]:
        """The end of the log: the last stack, and the last !thread block's thread."""
        self.json.finish()
        out: List[Item] = []
        self._end(out, at_eof=True)
        return out

    def retire_last(self) -> None:
        if self.ctx.tinfo is not None:
            self._retire(self.ctx.tinfo)
