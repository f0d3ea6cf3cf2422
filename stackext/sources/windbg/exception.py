"""The exception a log's thread took, as WinDbg prints it (!analyze -v, .exr, .lastevent, the
break-in line), and which thread took it (FAULTING_THREAD, the event's pid.tid). A stack gets the
code unless the log names another thread as the one that took it.

Imports stackext.knowledge only.
"""

from __future__ import annotations

import re
from typing import Optional

from stackext import knowledge as K
from stackext.addresses import parse_hex

# .exr / !analyze's EXCEPTION_RECORD: "   ExceptionCode: c00000fd (Stack overflow)"
EXR_RE = re.compile(r"^ExceptionCode:\s*([0-9a-fA-F]{8})\b")
# !analyze: "EXCEPTION_CODE: (NTSTATUS) 0xc00000fd - A new guard page for the stack cannot be
# created."  "ERROR_CODE: (NTSTATUS) 0xc00000fd - ..."
NTSTATUS_RE = re.compile(r"^(?:EXCEPTION|ERROR)_CODE:\s*\(NTSTATUS\)\s*0x([0-9a-fA-F]{1,8})\b")
# !analyze: "EXCEPTION_CODE_STR:  c00000fd"
CODE_STR_RE = re.compile(r"^EXCEPTION_CODE_STR:\s*([0-9a-fA-F]{8})\b")
# .lastevent: "Last event: 4198.99ec: Stack overflow - code c00000fd (first/second chance not
# available)"; the break-in: "(f70.1ac8): Stack overflow - code c00000fd (first chance)"
EVENT_RE = re.compile(r"^(?:Last event:\s*|\()([0-9a-fA-F]+)\.([0-9a-fA-F]+)\)?:.*?"
                      r"\bcode ([0-9a-fA-F]{1,8})\b")
# !analyze: "FAULTING_THREAD:  00000e68"
THREAD_RE = re.compile(r"^FAULTING_THREAD:\s*([0-9a-fA-F`]{1,17})\s*$")

_FIRST = ("ExceptionCode", "EXCEPTION_CODE", "ERROR_CODE", "Last event", "(", "FAULTING_THREAD")


class ExceptionFacts:
    """The log's exception code and the thread that took it. A stack overflow wins over a code
    seen with it (an access violation in the handler that ran on what was left of the stack:
    the record says c00000fd, EXCEPTION_CODE c0000005); an event on another thread replaces
    both. The thread is known by its id (the event's pid.tid, FAULTING_THREAD) and, in a
    user-mode session, by its number: the debugger stops on the event's thread, so the first
    prompt after the event ("0:005>") numbers it."""

    def __init__(self) -> None:
        self.code: Optional[int] = None
        self.thread: Optional[int] = None
        self.number: Optional[int] = None
        self._numbering = False  # an event line came: the next prompt numbers its thread

    def feed(self, text: str) -> bool:
        """True when the line states the exception or its thread."""
        if not text.startswith(_FIRST):
            return False
        m = THREAD_RE.match(text)
        if m:
            self.thread = parse_hex(m.group(1))
            return True
        m = EVENT_RE.match(text)
        if m:
            thread = int(m.group(2), 16)
            if self.thread is not None and thread != self.thread:
                self.code = None  # another thread's event: not the stack overflow before it
            self._code(int(m.group(3), 16))
            self.thread, self.number, self._numbering = thread, None, True
            return True
        m = EXR_RE.match(text) or NTSTATUS_RE.match(text) or CODE_STR_RE.match(text)
        if m:
            self._code(int(m.group(1), 16))
            return True
        return False

    def prompted(self, current: Optional[int]) -> None:
        """A prompt: after an event, its thread number is the event thread's."""
        if self._numbering:
            self.number, self._numbering = current, False

    def _code(self, code: int) -> None:
        if self.code != K.STATUS_STACK_OVERFLOW:
            self.code = code

    def code_for(self, thread: Optional[int], number: Optional[int] = None) -> Optional[int]:
        """The code, for a stack of `thread` (id) and `number` (None: not known): unless the
        log says another thread took it."""
        if self.code is None or (thread is not None and self.thread is not None
                                 and thread != self.thread):
            return None
        if thread is None and number is not None and self.number is not None and \
                number != self.number:
            return None
        return self.code
