"""What a log says around its stacks: !thread blocks (thread, state, Base/Limit, saved SP) and
the bugcheck (!analyze -v, .bugcheck, the dump banner, KeBugCheckEx's row).

Imports stackext.model/knowledge and the line helpers; never pykd, analyze or render.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Callable, Deque, Dict, List, Optional, Tuple

from stackext import knowledge as K
from stackext.model import Bugcheck, Frame
from stackext.sources.windbg.exception import ExceptionFacts
from stackext.sources.windbg.lines import ADDR, Prompt, to_int
from stackext.sources.windbg.trap import TrapFacts

# "THREAD ffff8a071d5a3040  Cid 2f38.0bd4  Teb: 0000006d28977000 Win32Thread: 0000000000000000
#  WAIT: (WrQueue) UserMode Alertable"   (also "RUNNING on processor 4", "TERMINATED"); a post
# may keep only "THREAD ffffc2895a49f040" of it
THREAD_RE = re.compile(r"^THREAD\s+(?P<t>" + ADDR + r")(?:\s+Cid\b(?P<tail>.*)|\s*)$")
# knowledge.THREAD_STATES, and GATEWAIT (state 8 before Windows named it GateWaitObsolete):
STATE_RE = re.compile(
    r"\b(" + "|".join(K.THREAD_STATES + ("GATEWAIT",)) + r")\b(?::\s*\((\w+)\))?"
)
# mex's !t header row: image (process), thread, flags, Cid, ..., wait reason, time, state:
# "System (ffff9b84742ea040) ffff9b8479441580 (E|K|W|R|V) 4.19e8 0 0 1 WrPushLock 32s.578 Waiting"
# "svchost.exe (ffffd80c0578b0c0) ffffd80c05988080 (E|K|W|R|V) b68.cc8 ... Running on processor 2"
MEX_THREAD_RE = re.compile(
    r"^(?P<image>\S+(?: \S+)*?) \((?P<p>[0-9a-fA-F]{8,16})\)\s+(?P<t>[0-9a-fA-F]{8,16})\s+"
    r"\([A-Z|]*\)\s+[0-9a-fA-F]+\.[0-9a-fA-F]+\s.*?(?:(?P<reason>\w+)\s+\S+\s+(?P<wait>Waiting)|"
    r"(?P<state>Running|Ready|Standby|Terminated|Initialized|Transition|DeferredReady)\b.*)$")
# "Owning Process            ffff8a07222e60c0       Image:         ioctlapp.exe"
OWNER_RE = re.compile(r"^Owning Process\s+(" + ADDR + r")\s+Image:\s*(.*)$")
# "Stack Init ffffa681165975f0 Current ffffa68116596680"
INIT_RE = re.compile(r"^Stack Init\s+(" + ADDR + r")\s+Current\s+(" + ADDR + ")")
# "Base ffffa68116598000 Limit ffffa68116591000 Call 0000000000000000"
# Older x86 WinDbg prints both on one line:
# "Stack Init 8b1c7fd0 Current 8b1c7c68 Base 8b1c8000 Limit 8b1c5000 Call 00000000"
BASE_RE = re.compile(r"(?:^|\s)Base\s+(" + ADDR + r")\s+Limit\s+(" + ADDR + ")")
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
# kd's own line when the target bugchecks, its arguments on the line after it:
# "*** Fatal System Error: 0x00000139" / "    (0x0000000000000003,0xFFFFF90EA867EE40,...)"
FATAL_RE = re.compile(r"^\*\*\* Fatal System Error:\s*0x([0-9a-fA-F]{1,8})\s*$")
FATAL_ARGS_RE = re.compile(r"^\((0x[0-9a-fA-F]{1,16}(?:,\s*0x[0-9a-fA-F]{1,16}){0,3})\)$")
BANNER_RE = re.compile(r"^BugCheck\s+([0-9a-fA-F]{1,8}),\s*\{([0-9a-fA-F`,\s]*)\}")
# "STACK_OVERFLOW: Stack Limit: ffff84028b90a000. Use (kF) and (!stackusage) to investigate ..."
OVERFLOW_RE = re.compile(r"^STACK_OVERFLOW:\s*Stack Limit:\s*(" + ADDR + ")")
# The machine, from the dump banner or the build lab (text alone cannot tell ARM64's Child-SP
# rows from x64's): "Windows 10 Kernel Version 22621 MP (4 procs) Free ARM 64-bit (AArch64)",
# "Edition build lab: 22621.1.arm64fre.ni_release.220506-1250", "Built by: 19041.1.amd64fre..."
MACHINE_RE = re.compile(
    r"^(?:Windows .*Kernel Version \d+ .*\b(?:Free|Checked) (?P<banner>x86|x64|ARM 64-bit|ARM)\b"
    r"|(?:Built by|Edition build lab|BUILD_VERSION_STRING):\s*\S*?\b"
    r"(?P<lab>x86|amd64|arm64|arm)(?:fre|chk)\b)")
MACHINES = {"x86": "x86", "x64": "x64", "amd64": "x64", "ARM 64-bit": "arm64", "arm64": "arm64",
            "ARM": "arm", "arm": "arm"}


class ThreadInfo:
    """What a !thread block (or its tail) said before the stack rows."""

    def __init__(self, line: int, thread: Optional[int] = None):
        self.line = line
        self.thread = thread
        self.process: Optional[int] = None
        self.image: Optional[str] = None
        self.state: Optional[str] = None
        self.init: Optional[int] = None
        self.current: Optional[int] = None
        self.base: Optional[int] = None
        self.limit: Optional[int] = None
        self.notes: List[str] = []
        self.used = False  # a stack was built with it


def thread_header(line: int, text: str) -> Optional[ThreadInfo]:
    """A "THREAD ... Cid ..." line as the start of a !thread block, or None."""
    m = THREAD_RE.match(text)
    if not m:
        return _mex_thread(line, text) if ") " in text else None
    info = ThreadInfo(line, to_int(m.group("t")))
    s = STATE_RE.search(m.group("tail") or "")
    if s:
        info.state = s.group(1) + (":" + s.group(2) if s.group(2) else "")
    return info


def _mex_thread(line: int, text: str) -> Optional[ThreadInfo]:
    """mex's !t header row as a !thread block's first lines (its state as !thread's words)."""
    m = MEX_THREAD_RE.match(text)
    if not m:
        return None
    info = ThreadInfo(line, to_int(m.group("t")))
    info.process, info.image = to_int(m.group("p")), m.group("image")
    info.state = "WAIT:" + m.group("reason") if m.group("wait") else m.group("state").upper()
    return info


class Context:
    """The !thread block being read, the recent ones, and the bugcheck facts of the log."""

    def __init__(self, name: str):
        self.name = name
        self.tinfo: Optional[ThreadInfo] = None
        self.recent: Deque[ThreadInfo] = deque(maxlen=64)
        self.implicit_thread: Optional[int] = None  # `.thread`'s, on the prompt's processor
        self.processor: Optional[int] = None  # the last kd prompt's ("9: kd>")
        self.bug_code: Optional[int] = None
        self.bug_args: List[Optional[int]] = [None, None, None, None]
        self.limit_hint: Optional[int] = None
        self.exception = ExceptionFacts()
        self.machine: Optional[str] = None  # the dump banner's (x86, x64, arm64, arm)
        self.traps = TrapFacts()
        self.fatal = False  # the last line was kd's "*** Fatal System Error: 0x..."
        # user mode: the thread a k at the last prompt walks, and each thread number's id as
        # `~`, `~.` or `~*k` printed it ("   49  Id: 20ec.28a4 Suspend: 0 ...")
        self.prompt_thread: Optional[int] = None
        self.thread_ids: Dict[int, int] = {}
        self.first_row: Optional[tuple] = None  # frame 00 of the last stack since the prompt
        self.each_frame = False  # under !for_each_frame: its command prints between the rows

    def prompted(self, prompt: Prompt) -> None:
        """A new prompt: the thread its k walks, what its commands print, the event's thread."""
        self.prompt_thread, self.first_row = prompt.thread, None
        self.each_frame = "!for_each_frame" in prompt.names
        self.exception.prompted(prompt.current)
        if prompt.processor != self.processor and self.processor is not None:
            self.implicit_thread = None  # `.thread` set it on the processor before ("9: kd>")
        self.processor = prompt.processor

    def reprinted(self, frames: List[Frame]) -> bool:
        """A stack of one row that repeats frame 00 of the stack just read (no prompt between):
        the row !for_each_frame prints again when it puts the context back, no stack."""
        row = (frames[0].index, frames[0].sp, frames[0].ret, frames[0].call_site)
        if len(frames) == 1 and row == self.first_row:
            return True
        self.first_row = row
        return False

    def k_thread(self) -> Optional[Tuple[int, Optional[int]]]:
        """(thread number, id if the log showed it) of the user-mode thread a k command at the
        last prompt printed, or None."""
        n = self.prompt_thread
        return None if n is None else (n, self.thread_ids.get(n))

    def field(self, n: int, text: str, end: Optional[Callable[[], None]]) -> bool:
        """A !thread or bugcheck line, True when the line was one. `end` (the open stack's end,
        when it ends here) runs first, under the bugcheck facts from before this line: the
        next crash's `KERNEL_MODE_EXCEPTION_NOT_HANDLED (8e)` is not the stack before it's."""
        before = None if end is None else self._facts()
        if not (self.thread_field(n, text) or self.bugcheck_field(text)):
            return False
        if before is not None:
            after = self._facts()
            self._restore(before)
            end()
            self._restore(after)
        return True

    def _facts(self) -> Tuple[Optional[int], List[Optional[int]], Optional[int], Optional[str]]:
        return self.bug_code, list(self.bug_args), self.limit_hint, self.machine

    def _restore(self, facts) -> None:
        self.bug_code, self.bug_args, self.limit_hint, self.machine = facts  # (each once)

    def thread_field(self, n: int, text: str) -> bool:
        """A line of a !thread block after its THREAD line; True when the line was one."""
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

    def _tinfo(self, n: int) -> ThreadInfo:
        if self.tinfo is None:  # a !thread tail without its THREAD line (fixture 015)
            self.tinfo = ThreadInfo(n)
        return self.tinfo

    def bugcheck_field(self, text: str) -> bool:
        """A line that states the bugcheck code or its arguments; True when the line was one."""
        fatal, self.fatal = self.fatal, False
        m = FATAL_RE.match(text)
        if m:
            self._set_code(int(m.group(1), 16))
            self.fatal = True  # its arguments come on the next line
            return True
        m = FATAL_ARGS_RE.match(text) if fatal else None
        if m:
            for i, v in enumerate(m.group(1).split(",")):
                self.bug_args[i] = int(v, 16)
            return True
        m = BUGNAME_RE.match(text.replace("\\_", "_") if "\\_" in text else text) or \
            DOTBUG_RE.match(text)
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
                values = m.group(2).replace(",", " ").split()
            else:
                values = m.group(1).split()
            for i, v in enumerate(values[:4]):
                self.bug_args[i] = to_int(v)
            return True
        m = OVERFLOW_RE.match(text)
        if m:
            self.limit_hint = to_int(m.group(1))
            return True
        m = MACHINE_RE.match(text)
        if m:
            self.machine = MACHINES[m.group("banner") or m.group("lab")]
            return True
        return self.exception.feed(text) or self.traps.feed(text)

    def _set_code(self, code: int) -> None:
        if self.bug_code is not None and code != self.bug_code:  # another dump in the same log
            self.bug_args = [None, None, None, None]
        self.bug_code = code

    def matching_thread(self, frames: List[Frame]) -> Optional[ThreadInfo]:
        """An earlier !thread of this log whose Base/Limit hold this stack (kf after !thread)."""
        sps = [f.sp for f in frames if f.sp is not None]
        for t in reversed(self.recent):
            if sps and t.base is not None and t.limit is not None and t.limit <= sps[0] < t.base:
                return t
        return None

    def bugcheck(self, frames: List[Frame]) -> Optional[Bugcheck]:
        """The log's bugcheck, with arguments it did not state taken from KeBugCheckEx's row."""
        # KeBugCheckEx's row: its first argument is the code, the next three are Arg1..Arg3
        # (x64 homes rcx/rdx/r8/r9 there; x86 kb shows three stack arguments). Arg4 is not shown.
        row = None
        for f in frames:
            if f.function == "KeBugCheckEx" and f.args and f.args[0] is not None:
                row = [f.args[0]] + (list(f.args[1:4]) + [None, None, None])[:3] + [None]
                row[3] = None if row[0] in K.ROW_ARG3_IS_TRAP_FRAME else row[3]
                break
        if self.bug_code is not None:
            args = list(self.bug_args)
            if row is not None and row[0] == self.bug_code:
                args = [a if a is not None else r for a, r in zip(args, row[1:])]
            return Bugcheck(self.bug_code, args)
        if row is not None:
            return Bugcheck(row[0], row[1:])
        return None
