"""The stack being read from a log: rows added one by one, gaps between them, and the StackInput
it becomes with what the log said around it (!thread, session, bugcheck).

Imports stackext.model/knowledge and the reader's helpers; never pykd, analyze or render.
"""

from __future__ import annotations

from typing import List, Optional, Set, Tuple

from stackext import knowledge as K
from stackext.model import Frame, Gap, GapKind, Origin, StackInput
from stackext.sources.windbg import callsite, params, rows
from stackext.sources.windbg.context import Context, ThreadInfo
from stackext.sources.windbg.rows import Layout, Row, looks_like_row, names_nothing

MAX_FRAMES = 65536
MAX_WARNINGS = 200
# After a blank line, an unnumbered row still continues the stack when its SP lies this close
# above the last one.
CONTINUE_REACH = 0x10000


class OpenStack:
    """The stack being read: frames so far and where it came from."""

    def __init__(self, name: str, line: int, layout: Layout, stacktext: bool):
        self.name = name
        self.line = line
        self.layout = layout
        self.stacktext = stacktext  # read under a STACK_TEXT: label (else k/!thread rows)
        self.frames: List[Frame] = []
        self.warnings: List[str] = []
        self.dropped_warnings = 0
        self.numbered: Optional[bool] = None
        self.widths: Set[int] = set()
        self.wide_args = False  # a row with 64-bit arguments
        self.gap: Optional[Gap] = None  # frames left out before the next row
        self.after_blank = False
        self.blank_rows = 0  # rows that came after a blank line
        self.closed = False  # STACK_TEXT saw its closing blank line
        self.last_unreadable_row = False
        self.tinfo: Optional[ThreadInfo] = None
        self.tilde: Optional[Tuple[int, int]] = None  # a ~*k header's (thread number, id)
        self.complete: Optional[bool] = None
        # kP: the row whose parameter lines are still to come, and how many came so far
        self.params_of: Optional[Frame] = None
        self.param_lines = 0

    def warn(self, text: str, n: int) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append("%s:%d: %s" % (self.name, n, text))
        else:
            self.dropped_warnings += 1

    def add_gap(self, gap: Gap, n: int) -> None:
        """A line that says frames are missing: it marks the next row (an unwind warning
        before the first row is only a warning)."""
        if not self.frames and gap.kind is GapKind.UNWIND_WARNING:
            self.warn("WinDbg: %s (%s)" % (gap.text[len("WARNING:"):].strip(), gap.where), n)
        else:
            self.gap = gap

    def tail(self, text: str) -> bool:
        """A line that belongs to the last row: kP's parameter lines (windbg.params), the
        row's source on the line after it, as kv prints it ("    [f:\\dd\\...\\crtexe.c @ 555]"),
        or the rest of its FPO note that a fixed-width text wrapped ("[Non-Fpo]")."""
        if self.params_of is not None and self.params_of is self.frames[-1]:
            closed = params.tail(self.params_of, text)
            if closed is not None and self.param_lines < params.MAX_PARAM_LINES:
                self.param_lines += 1
                self.params_of = None if closed else self.params_of
                return True
        self.params_of = None
        if not self.frames or not text.startswith("["):
            return False
        if callsite.FPO_REST_RE.match(text):
            return True
        # the row's own source tail, standing alone: " [file @ line]" (callsite.SOURCE_RE)
        m = callsite.SOURCE_RE.match(" " + text)
        if m is None or not text.endswith("]"):
            return False
        last = self.frames[-1]
        if last.source_file is None:
            last.source_file, last.source_line = m.group("file").strip(), int(m.group("line"))
        return True

    def ends_at(self, text: str) -> bool:
        """Does this line (one no row could be read from) end the listing? Yes after a blank
        line when it does not even look like a row (WinDbg prints no blank line inside a
        listing: prose, a note, the next command's output), when the walk ended, or when it
        is a row of some other table (names_nothing)."""
        return self.walk_ended() or (self.after_blank and bool(self.frames)
                                     and not looks_like_row(text)) or names_nothing(text)

    def walk_ended(self) -> bool:
        """No row of this listing can follow: the last one returns to 0 (the walk reached the
        thread's start), or the log cut the listing off ("[...]") and a non-row line came next."""
        if not self.frames:
            return False
        if self.gap is None:
            return self.frames[-1].ret == 0
        return self.gap.kind is GapKind.ELIDED

    def continues(self, row: Row) -> bool:
        """Whether a row belongs to this stack rather than starting another listing."""
        prev = self.frames[-1]
        if row.numbered != bool(self.numbered):
            return False
        if row.numbered:
            if row.frame.index <= prev.index:
                return False  # numbering restarts: another k listing
            if not self.after_blank or row.frame.index == prev.index + 1:
                return True
            # "03 020ef048 ...", a blank line, "07 020ef3b4 ...": rows cut out of this listing
            return row.frame.sp is not None and self._just_above(row.frame.sp)
        if not self.after_blank:
            return True
        return row.frame.sp is None or self._just_above(row.frame.sp)

    def _just_above(self, sp: int) -> bool:
        last_sp = next((f.sp for f in reversed(self.frames) if f.sp is not None), None)
        return last_sp is not None and 0 < sp - last_sp <= CONTINUE_REACH

    def append_next(self, frame: Frame, numbered: bool) -> bool:
        """add_row for the common row, when nothing is pending: the next frame of this listing
        (numbered as the rows before it, the next number, no blank line or gap before it, room
        for it); False (nothing done) for any other row, which add_row then takes."""
        frames = self.frames
        if not frames or self.after_blank or self.gap is not None or \
                numbered != self.numbered or len(frames) >= MAX_FRAMES or 16 not in self.widths:
            return False
        if not numbered:
            frame.index = len(frames)
        elif frame.index != frames[-1].index + 1:
            return False
        self.last_unreadable_row = False
        frames.append(frame)
        return True

    def taking_unnumbered(self) -> Optional[List[Frame]]:
        """The frames, when append_next would take an unnumbered row (while there is room) and
        leave nothing else changed: the next rows can be appended as they come."""
        frames = self.frames
        if not frames or self.after_blank or self.gap is not None or self.numbered is not False \
                or 16 not in self.widths or self.last_unreadable_row:
            return None
        return frames

    def add_row(self, n: int, row: Row) -> None:
        if len(self.frames) >= MAX_FRAMES:
            if self.complete is None:
                self.warn("more than %d frames; the rest were not read" % MAX_FRAMES, n)
            self.complete = False
            return
        frame = row.frame
        prev = self.frames[-1] if self.frames else None
        if self.numbered is None:
            self.numbered = row.numbered
        if not row.numbered:
            frame.index = len(self.frames)
        gap = self.gap
        # "03 ... / 07 ...", or a log that starts at frame 02: frames were left out
        jumped = prev.index + 1 if prev is not None else 0
        if gap is None and row.numbered and frame.index > jumped:
            gap = Gap(GapKind.NUMBER_JUMP, "%s:%d" % (self.name, n), "%02x" % frame.index)
        elif gap is None and not row.numbered and self.after_blank and prev is not None and \
                len(self.frames) - 1 > self.blank_rows:
            # WinDbg prints no blank line inside a listing: one between unnumbered rows that came
            # one to a line before is rows cut out (a paste with a blank line after every row is
            # not; numbered rows say by their numbers whether any are missing)
            gap = Gap(GapKind.ELIDED, "%s:%d" % (self.name, n), "a blank line inside the listing")
        if gap is None and (rows.runtime_frame(frame) or
                            prev is not None and rows.runtime_frame(prev)):
            gap = Gap(GapKind.ELIDED, "%s:%d" % (self.name, n), "the runtime's native frames "
                      "around an explicit Frame (!clrstack prints none of them)")
        if self.after_blank and prev is not None:
            self.blank_rows += 1
        frame.gap_before = gap
        self.params_of, self.param_lines = (frame if params.opened(frame) else None), 0
        self.gap = None
        self.after_blank = False
        self.last_unreadable_row = False
        if row.width:
            self.widths.add(row.width)
        self.wide_args = self.wide_args or row.wide_args
        self.frames.append(frame)

    def arch(self) -> Optional[str]:
        # A ChildEBP header, or 8-digit SPs under no header, is x86. A Child-SP header means the
        # Child-SP rule whatever the width: 8 digits with 64-bit arguments is an older WinDbg's
        # x64 view of a WoW64 thread, without them 32-bit ARM; 16 digits are x64 (or ARM64).
        if self.layout.x86 or (self.widths == {8} and self.layout.x86 is None):
            return "x86"
        if self.widths == {8}:
            return "x64" if self.wide_args else "arm"
        return "x64" if self.widths else None


def build(stack: OpenStack, ctx: Context, session: Optional[bool], at_eof: bool) -> StackInput:
    """The StackInput of a finished stack. `session`: True in a kd session, False in a user-mode
    one, None when the log showed no prompt."""
    frames, arch = stack.frames, stack.arch()
    if arch == "x64" and (ctx.machine == "arm64" or any(
            f.function is not None and f.function.startswith("KiArm64") for f in frames)):
        arch = "arm64"  # ARM64's rows look like x64's: the banner or nt's own routines tell
    result = StackInput(frames=frames, source="%s:%d" % (stack.name, stack.line), arch=arch)
    result.warnings = stack.warnings
    if stack.dropped_warnings:
        result.warnings.append(
            "%s: %d more warnings not shown" % (stack.name, stack.dropped_warnings))
    t = stack.tinfo or ctx.matching_thread(frames)
    if t is not None:
        t.used = True
        _thread_facts(result, t, "" if t is stack.tinfo else stack.name)
    elif stack.tilde is not None:  # user mode: the thread id names the thread
        result.thread = stack.tilde[1]
    elif ctx.implicit_thread is not None:
        result.thread = ctx.implicit_thread
    if stack.tilde is not None:
        result.thread_number = stack.tilde[0]
    result.kernel = _kernel(stack, arch, session)
    result.limit_hint = ctx.limit_hint
    result.exception_code = ctx.exception.code_for(result.thread, result.thread_number)
    result.bugcheck = ctx.bugcheck(frames)
    result.traps = ctx.traps.contexts()
    if arch == "x86" and frames and frames[0].sp is not None:
        # walked from a trap's context (.trap, then kb; !analyze's STACK_TEXT of a 0x8E): the
        # registers whose EBP is frame 00's ChildEBP give the ESP it ran at
        result.current_sp = next((t.sp for t in result.traps if t.fp == frames[0].sp and
                                  t.sp is not None and t.sp <= t.fp), None)
        waited = result.kernel_stack
        if result.current_sp is None and waited is not None and K.is_waiting(result.state) \
                and 0 <= frames[0].sp - waited <= K.PAGE:
            # a thread not running: !thread's "Current" is the ESP KiSwapContext saved, frame 00's
            result.current_sp = waited
    result.complete = stack.complete
    if stack.last_unreadable_row:
        result.complete = False
    elif stack.gap is not None and stack.gap.kind is GapKind.ELIDED and frames[-1].ret != 0:
        # (a "..." after a row that returns to 0 leaves out what came after the walk's end)
        result.complete = False
        result.warnings.append(
            "%s: the log leaves out frames after the last one shown" % stack.gap.where)
    elif at_eof and stack.stacktext and not stack.closed and frames[-1].ret:
        result.complete = False
        result.warnings.append(
            "%s:%d: the log ends inside STACK_TEXT after a frame whose return address is not 0:"
            " the stack was cut off" % (stack.name, frames[-1].line or 0))
    return result


def thread_stack(t: ThreadInfo, name: str) -> StackInput:
    """A !thread block that printed no stack: a thread with bounds and a saved SP, no frames."""
    stack = StackInput(frames=[], source="%s:%d" % (name, t.line), kernel=True)
    _thread_facts(stack, t, "")
    return stack


def _thread_facts(stack: StackInput, t: ThreadInfo, other_block_of: str) -> None:
    """What a !thread block says, onto a stack; `other_block_of` names the log when the block
    is an earlier one whose Base/Limit hold the stack (not the block the stack was printed in)."""
    stack.thread, stack.process, stack.image, stack.state = t.thread, t.process, t.image, t.state
    stack.initial_stack, stack.kernel_stack = t.init, t.current
    if t.base is not None:
        stack.stack_base, stack.stack_limit = t.base, t.limit
        stack.bounds_origin = Origin.THREAD
        if other_block_of:
            stack.bounds_note = "Base/Limit from the !thread output at %s:%d" % (
                other_block_of, t.line)
    stack.warnings.extend(t.notes)


def _kernel(stack: OpenStack, arch: Optional[str], session: Optional[bool]) -> Optional[bool]:
    if stack.tinfo is not None:
        return True
    if session is False:
        return False
    # the SPs say where the stack is (a RetAddr of ffffffff`ffffffff ends a broken user walk;
    # a large-address-aware x86 program returns above 0x80000000); stops at the first kernel SP
    touches = arch in K.ARCH and any(
        f.sp is not None and K.is_kernel_address(f.sp, arch) for f in stack.frames)
    if session and arch in K.ARCH and stack.frames and not touches:
        return False  # a kd session stopped in user mode: no SP in kernel space
    return True if session or touches else None


def attach_thread(stack: StackInput, ctx: Context, name: str) -> None:
    """A stack rebuilt from dps output: thread and bounds from a !thread block it lies in."""
    t = ctx.matching_thread(stack.frames)
    if t is not None:
        stack.thread, stack.process, stack.image, stack.state = (
            t.thread, t.process, t.image, t.state)
        if t.base is not None:
            stack.stack_base, stack.stack_limit = t.base, t.limit
            stack.bounds_origin = Origin.THREAD
            stack.bounds_note = "Base/Limit from the !thread output at %s:%d" % (name, t.line)
    arch = stack.arch or "x64"
    stack.kernel = any(f.sp is not None and K.is_kernel_address(f.sp, arch)
                       for f in stack.frames) or None
