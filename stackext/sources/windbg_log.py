"""Read call stacks from saved WinDbg/kd text (k*, !thread, !process, !analyze -v, ~*k), streaming.

Standard library only; imports stackext.model/errors and the row parser, never pykd or analyze.
"""

from __future__ import annotations

import io
import re
import sys
from collections import deque
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Optional, Union

from stackext import knowledge as K
from stackext.errors import StackextError
from stackext.model import Bugcheck, StackInput
from stackext.report_json import MARKER_BEGIN, MARKER_END
from stackext.sources.windbg_dps import DpsCapture
from stackext.sources.windbg_notes import FrameNotes
from stackext.sources.windbg_rows import (
    ADDR,
    MAX_LINE,
    PROMPT_RE,
    Layout,
    clean_line,
    looks_like_row,
    parse_header,
    parse_row,
    to_int,
)

READ_CHUNK = 1 << 20  # read_file never holds more than this of a line without a newline
MAX_JSON = 64 << 20
MAX_FRAMES = 65536
MAX_WARNINGS = 200
BINARY_PROBE = 8192

# ~*kb per-thread header: "   1  Id: 4884.53dc Suspend: 1 Teb: 01172000 Unfrozen"
TILDE_RE = re.compile(r"^[.#]?\s*\d+\s+Id:\s*[0-9a-fA-F]+\.[0-9a-fA-F]+\s+Suspend:")
# "THREAD ffff8a071d5a3040  Cid 2f38.0bd4  Teb: 0000006d28977000 Win32Thread: 0000000000000000
#  WAIT: (WrQueue) UserMode Alertable"   (also "RUNNING on processor 4", "TERMINATED")
THREAD_RE = re.compile(r"^THREAD\s+(?P<t>" + ADDR + r")\s+Cid\b(?P<tail>.*)$")
STATE_RE = re.compile(
    r"\b(RUNNING|READY|STANDBY|TERMINATED|TRANSITION|INITIALIZED|DEFERREDREADY|GATEWAIT"
    r"|WAIT)\b(?::\s*\((\w+)\))?"
)
# "Owning Process            ffff8a07222e60c0       Image:         ioctlapp.exe"
OWNER_RE = re.compile(r"^Owning Process\s+(" + ADDR + r")\s+Image:\s*(.*)$")
# "Stack Init ffffa681165975f0 Current ffffa68116596680"
INIT_RE = re.compile(r"^Stack Init\s+(" + ADDR + r")\s+Current\s+(" + ADDR + ")")
# "Base ffffa68116598000 Limit ffffa68116591000 Call 0000000000000000"
# Older x86 WinDbg prints both on one line:
# "Stack Init 8b1c7fd0 Current 8b1c7c68 Base 8b1c8000 Limit 8b1c5000 Call 00000000"
BASE_RE = re.compile(r"(?:^|\s)Base\s+(" + ADDR + r")\s+Limit\s+(" + ADDR + ")")
# x64 kb in recent WinDbg has no Child-SP column:
# " # RetAddr               : Args to Child                                      : Call Site"
NO_SP_HEADER_RE = re.compile(r"^#?\s*RetAddr\s+:\s*Args to Child\s*:\s*Call Site", re.I)
# "Implicit thread is now fffffa80`09da7b00"
IMPLICIT_RE = re.compile(r"^Implicit thread is now\s+(" + ADDR + ")")
# "UNEXPECTED_KERNEL_MODE_TRAP (7f)"
BUGNAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{3,}\s+\(([0-9a-fA-F]{1,8})\)$")
# "Arg1: 0000000000000008, EXCEPTION_DOUBLE_FAULT"   "Arg2: 0000000080050033"
ARGN_RE = re.compile(r"^Arg([1-4]):\s*([0-9a-fA-F`]{1,17})(?![0-9a-fA-F`])")
# "BUGCHECK_CODE:  13c"   "BUGCHECK_P1: ffff8b0351756040"   "BUGCHECK_P2: 1"
BUGFIELD_RE = re.compile(r"^BUGCHECK_(CODE|P[1-4]):\s*(?:0x)?([0-9a-fA-F`]{1,17})(?![0-9a-fA-F`])")
# "BUGCHECK_STR:  0x7f_8" (older !analyze; only a 0x number is a code, "AV_..." is not)
BUGSTR_RE = re.compile(r"^BUGCHECK_STR:\s*0x([0-9a-fA-F]{1,8})(?![0-9a-fA-F])")
# .bugcheck: "Bugcheck code 0000009F"
#            "Arguments 00000000`00000003 ffffcf07`04d3caf0 ffffcd04`6bb4f010 ffffcf07`0dec88a0"
DOTBUG_RE = re.compile(r"^Bugcheck code\s+([0-9a-fA-F]{1,8})$")
DOTARGS_RE = re.compile(r"^Arguments((?:\s+" + ADDR + "){1,4})$")
# Dump banner: "BugCheck 7F, {8, 0, 0, 0}"
BANNER_RE = re.compile(r"^BugCheck\s+([0-9a-fA-F]{1,8}),\s*\{([0-9a-fA-F`,\s]*)\}")
# "STACK_OVERFLOW: Stack Limit: ffff84028b90a000. Use (kF) and (!stackusage) to investigate ..."
OVERFLOW_RE = re.compile(r"^STACK_OVERFLOW:\s*Stack Limit:\s*(" + ADDR + ")")
# "WARNING: Stack unwind information not available. Following frames may be wrong."
# "WARNING: Frame IP not in any known module. Following frames may be wrong."
UNWIND_RE = re.compile(r"^WARNING:.*(?:Following frames may be wrong|unwind information not avail)")
# Elisions by whoever pasted the log: "...", "[…]", "[...]", "<snip>"
ELISION_RE = re.compile(r"^(?:\.{3,}|\u2026|\[\s*(?:\.{3}|\u2026)\s*\]|<snip>|\(\.\.\.\))$")
# Debugger chatter that can sit between two rows without ending the stack:
# "*** WARNING: Unable to verify checksum for ...WindowDemo.exe", "Unable to load image ..."
NOISE_RE = re.compile(
    r"^(?:\*\*\*|WARNING:|Unable to load image|DBGHELP:|SYMSRV:|Page [0-9a-f]+ not)"
)
# Lines that end a stack: "SYMBOL_NAME:  fileinfo!FIPfFileFSOpPostCreate+2ff", "rax=00000002",
# markdown fences, "PROCESS ffff8a07222e60c0".
LABEL_RE = re.compile(r"^(?:[A-Z][A-Z0-9_]{2,}:|[a-z][a-z0-9]{1,4}=[0-9a-fA-F]|```|~~~|PROCESS\s)")
# "start             end                 module name" (lm): a table of ranges, not of frames.
NONSTACK_HEADER_RE = re.compile(r"^start\s+end\s+module name")
# Commands whose output has address-address-symbol lines that are not stack frames.
NONSTACK_COMMANDS = {
    "dps", "dqs", "dds", "dpp", "dq", "dd", "dp", "db", "dw", "dc", "da", "du", "dt", "dv",
    "lm", "lmv", "lmi", "u", "ub", "uf", "r", "kd", "x", "ln", "!pte", "!pool", "!address",
}

Item = Union[StackInput, "EmbeddedJson"]


@dataclass
class EmbeddedJson:
    """A JSON document stackext printed into a debugger log between MARKER_BEGIN and MARKER_END."""

    source: str
    text: str


class _ThreadInfo:
    """What a !thread block (or its tail) said before the stack rows."""

    def __init__(self, line: int, thread: Optional[int] = None):
        self.line = line
        self.thread = thread
        self.process = None  # type: Optional[int]
        self.image = None  # type: Optional[str]
        self.state = None  # type: Optional[str]
        self.init = self.current = self.base = self.limit = None  # type: Optional[int]
        self.notes = []  # type: List[str]
        self.used = False  # a stack was built with it


class _Stack:
    """The stack being read: frames so far and where it came from."""

    def __init__(self, line: int, layout: Layout, mode: str):
        self.line = line
        self.layout = layout
        self.mode = mode  # "k" or "stacktext"
        self.frames = []  # type: list
        self.warnings = []  # type: List[str]
        self.dropped_warnings = 0
        self.numbered = None  # type: Optional[bool]
        self.widths = set()  # type: set
        self.gap = None  # type: Optional[str]
        self.after_blank = False
        self.closed = False  # STACK_TEXT saw its closing blank line
        self.last_unreadable_row = False
        self.tinfo = None  # type: Optional[_ThreadInfo]
        self.tilde = False
        self.complete = None  # type: Optional[bool]


def read_file(path: str, threads_without_stack: bool = False) -> Iterator[Item]:
    """Stacks from a file ("-" is stdin), streamed; StackextError on unreadable input."""
    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            raw = getattr(sys.stdin, "buffer", None)
            stream = _text(raw) if raw is not None else sys.stdin
            yield from read_stacks(_bounded_lines(stream), name, threads_without_stack)
            return
        with open(path, "rb") as raw, _text(raw) as text:
            yield from read_stacks(_bounded_lines(text), name, threads_without_stack)
    except OSError as e:
        raise StackextError("cannot read the log: %s" % (e.strerror or e), where=name) from None


def _text(raw) -> io.TextIOBase:
    # `.logopen /u` writes UTF-16 with a BOM; everything else is read as UTF-8, bad bytes replaced.
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    encoding = "utf-16" if head in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
    return io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline=None)


def _bounded_lines(stream) -> Iterator[str]:
    """Lines of at most READ_CHUNK characters (the rest of a longer line is skipped unread)."""
    dropping = False
    while True:
        chunk = stream.readline(READ_CHUNK)
        if not chunk:
            return
        ends = chunk.endswith("\n")
        if not dropping:
            yield chunk
        dropping = not ends


def read_stacks(lines: Iterable[str], name: str,
                threads_without_stack: bool = False) -> Iterator[Item]:
    """Yield each stack (and each embedded stackext JSON) as soon as it ends in the log. With
    `threads_without_stack`, also the !thread blocks that printed no stack (frames empty)."""
    reader = _Reader(name)
    reader.threads_without_stack = threads_without_stack
    notes = FrameNotes(name)
    dps = DpsCapture(name)
    lineno = seen = 0
    for lineno, raw in enumerate(lines, 1):
        if seen < BINARY_PROBE:
            if "\x00" in raw[: BINARY_PROBE - seen]:
                raise StackextError("binary file, not a WinDbg text log", where="%s:1" % name)
            seen += len(raw)
        consumed, scanned = dps.feed(lineno, raw)
        if scanned:
            yield from notes.hold(reader.raw_scan(scanned))
        if consumed or notes.feed(raw):
            continue
        yield from notes.hold(reader.feed(lineno, raw) + reader.drain())
    last = reader.raw_scan(dps.finish()) + reader.finish(lineno)
    if reader.tinfo is not None:
        reader._retire(reader.tinfo)
    yield from notes.hold(last + reader.drain(), final=True)
    if not reader.found and reader.no_sp_line:
        raise StackextError(
            "this stack has no Child-SP column (recent WinDbg prints only RetAddr for x64 kb): "
            "run kf, kn or kv, which print Child-SP", where="%s:%d" % (name, reader.no_sp_line))
    if not reader.found:
        raise StackextError(
            "no call stack found (expected WinDbg k/kn/kv/kf/!thread/!analyze -v output)",
            where=name,
        )


class _Reader:
    """The state machine: one call of feed() per line; finished stacks come out as they end."""

    def __init__(self, name: str):
        self.name = name
        self.found = False
        self.stack = None  # type: Optional[_Stack]
        self.layout = Layout()
        self.mode = "k"
        self.session = None  # type: Optional[str]  # "kernel" or "user", from the prompt
        self.skip_rows = False
        self.tinfo = None  # type: Optional[_ThreadInfo]
        self.recent = deque(maxlen=64)  # type: Deque[_ThreadInfo]
        self.implicit_thread = None  # type: Optional[int]
        self.bug_code = None  # type: Optional[int]
        self.bug_args = [None, None, None, None]  # type: List[Optional[int]]
        self.limit_hint = None  # type: Optional[int]
        self.pending_gap = None  # type: Optional[str]
        self.json_lines = None  # type: Optional[List[str]]
        self.json_line = 0
        self.json_size = 0
        self.no_sp_line = 0  # a " # RetAddr : Args to Child : Call Site" header (no SPs)
        self.threads_without_stack = False
        self.retired = []  # type: List[Item]

    # -- the line dispatcher -------------------------------------------------------------------

    def feed(self, n: int, raw: str) -> List[Item]:
        out = []  # type: List[Item]
        if self.json_lines is not None:
            return self._json(n, raw)
        text = clean_line(raw)
        if text == MARKER_BEGIN:
            self._end(out)
            self.json_lines, self.json_line, self.json_size = [], n, 0
            return out
        if not text:
            if self.stack is not None:
                self.stack.after_blank = True
                self.stack.closed = True
            return out
        if len(raw) > MAX_LINE and self.stack is not None:
            self._warn("line is %d characters long; only the first %d were read"
                       % (len(raw), MAX_LINE), n)
        if self._context_line(n, text, out):
            return out
        if NO_SP_HEADER_RE.match(text):
            self.no_sp_line = self.no_sp_line or n
        layout = parse_header(text)
        if layout is not None:
            self.layout, self.skip_rows = layout, False
            if self.stack is not None and not self.stack.frames:  # "~ Id:" header, then columns
                self.stack.layout = layout
            else:
                self._end(out)
                self.stack = self._new_stack(n)
            return out
        if UNWIND_RE.match(text):
            self._gap("WinDbg: %s (%s:%d)" % (text[9:].strip(), self.name, n), n)
            return out
        if ELISION_RE.match(text):
            self._gap("frames left out of the log ('%s' at %s:%d)" % (text, self.name, n), n)
            return out
        if NOISE_RE.match(text):
            return out
        row = None if self.skip_rows else parse_row(text, self.layout, n)
        if row is not None:
            self._add_row(n, row, out)
        elif self.stack is not None and not LABEL_RE.match(text):
            self._warn("could not read this line inside a stack: %s" % text[:60], n)
            self.stack.last_unreadable_row = looks_like_row(text)
        else:
            self._end(out)
        return out

    def _context_line(self, n: int, text: str, out: List[Item]) -> bool:
        """Prompts, thread/bugcheck context and section labels; True when the line was one."""
        m = PROMPT_RE.match(text)
        if m:
            self._end(out)
            self._reset_command()
            self.session = "kernel" if m.group("who").endswith("kd") else "user"
            cmds = [c.split()[0].lower() for c in m.group("cmd").split(";") if c.strip()]
            self.skip_rows = bool(cmds) and all(c in NONSTACK_COMMANDS for c in cmds)
            return True
        if TILDE_RE.match(text):
            self._end(out)
            self._reset_command(keep_prompt_state=True)
            self.stack = self._new_stack(n)
            self.stack.tilde = True
            return True
        m = THREAD_RE.match(text)
        if m:
            self._end(out)
            self._reset_command(keep_prompt_state=True)
            self.tinfo = _ThreadInfo(n, to_int(m.group("t")))
            s = STATE_RE.search(m.group("tail"))
            if s:
                self.tinfo.state = s.group(1) + (":" + s.group(2) if s.group(2) else "")
            return True
        if text.startswith("STACK_TEXT:"):
            self._end(out)
            self.layout, self.mode, self.skip_rows = Layout(), "stacktext", False
            self.stack = self._new_stack(n)
            return True
        if self._thread_field(n, text) or self._bugcheck_field(text):
            if self.stack is not None and not self.stack.frames and self.stack.tinfo is None:
                return True  # a header printed before its !thread fields: keep waiting for rows
            self._end(out)
            return True
        if NONSTACK_HEADER_RE.match(text):
            self._end(out)
            self.skip_rows = True
            return True
        return False

    def _thread_field(self, n: int, text: str) -> bool:
        m = OWNER_RE.match(text)
        if m:
            t = self._tinfo(n)
            t.process, t.image = to_int(m.group(1)), m.group(2).strip() or None
            return True
        m = INIT_RE.match(text)
        if m:
            t = self._tinfo(n)
            t.init, t.current = to_int(m.group(1)), to_int(m.group(2))
            b = BASE_RE.search(text)
            if b:
                t.base, t.limit = to_int(b.group(1)), to_int(b.group(2))
            return True
        m = BASE_RE.match(text)
        if m:
            t = self._tinfo(n)
            t.base, t.limit = to_int(m.group(1)), to_int(m.group(2))
            return True
        if text.startswith("Kernel stack not resident"):
            self._tinfo(n).notes.append("%s:%d: WinDbg: %s" % (self.name, n, text))
            return True
        m = IMPLICIT_RE.match(text)
        if m:
            self.implicit_thread = to_int(m.group(1))
            return True
        return False

    def _tinfo(self, n: int) -> _ThreadInfo:
        if self.tinfo is None:  # a !thread tail without its THREAD line (fixture 015)
            self.tinfo = _ThreadInfo(n)
        return self.tinfo

    def _bugcheck_field(self, text: str) -> bool:
        m = BUGNAME_RE.match(text) or DOTBUG_RE.match(text)
        if m:
            self._set_code(int(m.group(1), 16))
            return True
        m = ARGN_RE.match(text)
        if m:
            self.bug_args[int(m.group(1)) - 1] = to_int(m.group(2))
            return True
        m = BUGFIELD_RE.match(text)
        if m:
            if m.group(1) == "CODE":
                self._set_code(to_int(m.group(2)))
            else:
                self.bug_args[int(m.group(1)[1]) - 1] = to_int(m.group(2))
            return True
        m = BUGSTR_RE.match(text)
        if m:
            if self.bug_code is None:
                self._set_code(int(m.group(1), 16))
            return True
        m = DOTARGS_RE.match(text) or BANNER_RE.match(text)
        if m:
            if m.re is BANNER_RE:
                self._set_code(int(m.group(1), 16))
                values = [v for v in m.group(2).replace(",", " ").split()]
            else:
                values = m.group(1).split()
            for i, v in enumerate(values[:4]):
                self.bug_args[i] = to_int(v)
            return True
        m = OVERFLOW_RE.match(text)
        if m:
            self.limit_hint = to_int(m.group(1))
            return True
        return False

    def _set_code(self, code: int) -> None:
        if self.bug_code is not None and code != self.bug_code:  # another dump in the same log
            self.bug_args = [None, None, None, None]
        self.bug_code = code

    def _reset_command(self, keep_prompt_state: bool = False) -> None:
        """A new debugger command (or !thread block): column layout and thread context restart."""
        if self.tinfo is not None:
            self.recent.append(self.tinfo)
            self._retire(self.tinfo)
        self.tinfo = None
        self.layout, self.mode = Layout(), "k"
        self.pending_gap = None
        if not keep_prompt_state:
            self.limit_hint = None  # belongs to the !analyze that printed it
            self.skip_rows = False

    # -- stacks --------------------------------------------------------------------------------

    def _new_stack(self, n: int) -> _Stack:
        stack = _Stack(n, self.layout, self.mode)
        if self.tinfo is not None:
            stack.tinfo, stack.line = self.tinfo, self.tinfo.line
            self.recent.append(self.tinfo)
            self.tinfo = None
        if self.pending_gap:
            stack.gap, self.pending_gap = self.pending_gap, None
        return stack

    def _add_row(self, n: int, row, out: List[Item]) -> None:
        stack, frame = self.stack, row.frame
        if stack is not None and stack.frames and not self._continues(stack, row):
            self._end(out)
            stack = None
        if stack is None:
            stack = self.stack = self._new_stack(n)
        if len(stack.frames) >= MAX_FRAMES:
            if stack.complete is None:
                self._warn("more than %d frames; the rest were not read" % MAX_FRAMES, n)
            stack.complete = False
            return
        prev = stack.frames[-1] if stack.frames else None
        if stack.numbered is None:
            stack.numbered = row.numbered
        if not row.numbered:
            frame.index = len(stack.frames)
        gap = stack.gap
        if prev is not None and row.numbered and frame.index > prev.index + 1:
            jump = "frame numbers jump from %02x to %02x" % (prev.index, frame.index)
            gap = "%s; %s" % (gap, jump) if gap else jump
        elif prev is None and row.numbered and frame.index > 0:
            first = "the log starts at frame %02x" % frame.index
            gap = "%s; %s" % (gap, first) if gap else first
        frame.gap_before = gap
        stack.gap = None
        stack.after_blank = False
        stack.last_unreadable_row = False
        if row.width:
            stack.widths.add(row.width)
        stack.frames.append(frame)

    def _continues(self, stack: _Stack, row) -> bool:
        prev = stack.frames[-1]
        if row.numbered != bool(stack.numbered):
            return False
        if row.numbered:
            if row.frame.index <= prev.index:
                return False  # numbering restarts: another k listing
            return not stack.after_blank or row.frame.index == prev.index + 1
        if not stack.after_blank:
            return True
        last_sp = next((f.sp for f in reversed(stack.frames) if f.sp is not None), None)
        sp = row.frame.sp
        return sp is None or (last_sp is not None and 0 < sp - last_sp <= 0x10000)

    def _gap(self, text: str, n: int) -> None:
        if self.stack is not None and self.stack.frames:
            self.stack.gap = text
        elif self.stack is not None and text.startswith("WinDbg"):
            self._warn(text, n)
        elif self.stack is not None:
            self.stack.gap = text
        else:
            self.pending_gap = text

    def _warn(self, text: str, n: int) -> None:
        stack = self.stack
        if stack is None:
            return
        if len(stack.warnings) < MAX_WARNINGS:
            stack.warnings.append("%s:%d: %s" % (self.name, n, text))
        else:
            stack.dropped_warnings += 1

    def _end(self, out: List[Item], at_eof: bool = False) -> None:
        stack, self.stack = self.stack, None
        self.pending_gap = None
        if stack is None:
            return
        if not stack.frames:
            if stack.tinfo is not None and self.tinfo is None:
                self.tinfo = stack.tinfo  # a header without rows yet: keep the !thread context
            return
        self.found = True
        out.append(self._build(stack, at_eof))
        self.layout, self.mode = Layout(), "k"

    def _build(self, stack: _Stack, at_eof: bool) -> StackInput:
        frames = stack.frames
        # 8-digit SPs (or a ChildEBP header) are x86; 16 digits are x64 -- ARM64 looks the same.
        arch = "x64" if stack.widths else None
        if stack.layout.x86 or stack.widths == {8}:
            arch = "x86"
        result = StackInput(frames=frames, source="%s:%d" % (self.name, stack.line), arch=arch)
        result.warnings = stack.warnings
        if stack.dropped_warnings:
            result.warnings.append(
                "%s: %d more warnings not shown" % (self.name, stack.dropped_warnings))
        t = stack.tinfo or self._matching_thread(frames)
        if t is not None:
            t.used = True
            result.thread, result.process, result.image, result.state = (
                t.thread, t.process, t.image, t.state)
            result.initial_stack, result.kernel_stack = t.init, t.current
            if t.base is not None:
                result.stack_base, result.stack_limit = t.base, t.limit
                result.bounds_origin = "thread"
                if t is not stack.tinfo:
                    result.bounds_note = "Base/Limit from the !thread output at %s:%d" % (
                        self.name, t.line)
            result.warnings.extend(t.notes)
        elif self.implicit_thread is not None and not stack.tilde:
            result.thread = self.implicit_thread
        result.kernel = self._kernel(stack, arch)
        result.limit_hint = self.limit_hint
        result.bugcheck = self._bugcheck(frames)
        result.complete = stack.complete
        if stack.last_unreadable_row:
            result.complete = False
        elif stack.gap and stack.gap.startswith("frames left out"):
            result.complete = False
            result.warnings.append("%s: the log leaves out frames after the last one shown" % (
                stack.gap.split("at ")[-1].rstrip(")")))
        elif at_eof and stack.mode == "stacktext" and not stack.closed and frames[-1].ret:
            result.complete = False
            result.warnings.append(
                "%s:%d: the log ends inside STACK_TEXT after a frame whose return address is not 0:"
                " the stack was cut off" % (self.name, frames[-1].line or 0))
        return result

    def _retire(self, t: _ThreadInfo) -> None:
        """A !thread block that printed no stack ("Kernel stack not resident."): still a thread
        with bounds and a saved SP, for `stackext threads`."""
        if self.threads_without_stack and not t.used and t.thread is not None and \
                (t.base is not None or t.current is not None):
            t.used = True
            self.found = True
            self.retired.append(StackInput(
                frames=[], source="%s:%d" % (self.name, t.line), thread=t.thread,
                process=t.process, image=t.image, state=t.state, stack_base=t.base,
                stack_limit=t.limit, bounds_origin="thread" if t.base is not None else None,
                initial_stack=t.init, kernel_stack=t.current, kernel=True,
                warnings=list(t.notes)))

    def raw_scan(self, stacks: List[StackInput]) -> List[Item]:
        """Stacks rebuilt from dps output: bounds and thread from a !thread block they lie in."""
        for stack in stacks:
            self.found = True
            t = self._matching_thread(stack.frames)
            if t is not None:
                stack.thread, stack.process, stack.image, stack.state = (
                    t.thread, t.process, t.image, t.state)
                if t.base is not None:
                    stack.stack_base, stack.stack_limit = t.base, t.limit
                    stack.bounds_origin = "thread"
                    stack.bounds_note = "Base/Limit from the !thread output at %s:%d" % (
                        self.name, t.line)
            stack.kernel = self._kernel_addresses(stack)
        return list(stacks)

    def _kernel_addresses(self, stack: StackInput) -> Optional[bool]:
        low = K.ARCH[stack.arch or "x64"].kernel_floor
        return any(f.sp is not None and f.sp >= low for f in stack.frames) or None

    def drain(self) -> List[Item]:
        out, self.retired = self.retired, []
        return out

    def _matching_thread(self, frames) -> Optional[_ThreadInfo]:
        """An earlier !thread of this log whose Base/Limit hold this stack (kf after !thread)."""
        sps = [f.sp for f in frames if f.sp is not None]
        for t in reversed(self.recent):
            if sps and t.base is not None and t.limit is not None and t.limit <= sps[0] < t.base:
                return t
        return None

    def _kernel(self, stack: _Stack, arch: Optional[str]) -> Optional[bool]:
        if stack.tinfo is not None:
            return True
        if self.session == "user":
            return False
        if self.session == "kernel":
            return True
        if arch in K.ARCH:
            low = K.ARCH[arch].kernel_floor
            for f in stack.frames:
                if (f.sp is not None and f.sp >= low) or (f.ret is not None and f.ret >= low):
                    return True
        return None

    def _bugcheck(self, frames) -> Optional[Bugcheck]:
        # KeBugCheckEx's row: its first argument is the code, the next three are Arg1..Arg3
        # (x64 homes rcx/rdx/r8/r9 there; x86 kb shows three stack arguments). Arg4 is not shown.
        row = None
        for f in frames:
            if f.function == "KeBugCheckEx" and f.args and f.args[0] is not None:
                row = [f.args[0]] + (list(f.args[1:4]) + [None, None, None])[:3] + [None]
                break
        if self.bug_code is not None:
            args = list(self.bug_args)
            if row is not None and row[0] == self.bug_code:
                args = [a if a is not None else r for a, r in zip(args, row[1:])]
            return Bugcheck(self.bug_code, args)
        if row is not None:
            return Bugcheck(row[0], row[1:])
        return None

    # -- embedded JSON and the end -------------------------------------------------------------

    def _json(self, n: int, raw: str) -> List[Item]:
        if raw.strip() == MARKER_END:
            text, self.json_lines = "\n".join(self.json_lines or []), None
            self.found = True
            return [EmbeddedJson("%s:%d" % (self.name, self.json_line), text)]
        self.json_size += len(raw)
        if self.json_size > MAX_JSON:
            raise StackextError("stackext JSON block is larger than %d MB" % (MAX_JSON >> 20),
                                where="%s:%d" % (self.name, self.json_line))
        self.json_lines.append(raw.rstrip("\r\n"))
        return []

    def finish(self, last_line: int) -> List[Item]:
        if self.json_lines is not None:
            raise StackextError("stackext JSON block has no end marker (%s)" % MARKER_END,
                                where="%s:%d" % (self.name, self.json_line))
        out = []  # type: List[Item]
        self._end(out, at_eof=True)
        return out
