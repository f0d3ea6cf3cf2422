"""What every human-readable renderer shows, as plain strings: one place for wording and numbers.

Imports stackext.model and stackext.addresses only.
"""

from __future__ import annotations

import textwrap
from typing import List, Optional

from stackext import knowledge as K
from stackext import words
from stackext.addresses import fmt_addr
from stackext.model import Frame, Origin, StackReport, VerdictKind
from stackext.render import headline
from stackext.segments import PAST_START


def addr(value: Optional[int], arch: str = "x64") -> str:
    """An address the way WinDbg prints it: fffff880`0b9c7000 on 64-bit, 8 digits on 32-bit."""
    return fmt_addr(value, K.ptr64(arch))


def nbytes(value: Optional[int]) -> str:
    return "-" if value is None else "{:,}".format(value)


def hexbytes(value: Optional[int]) -> str:
    if value is None:
        return "-"
    return "-0x%x" % -value if value < 0 else "0x%x" % value


def depth(report: StackReport, f: Frame) -> Optional[int]:
    """How far below StackBase this frame's SP is (the stack used up to it)."""
    if report.stack_base is None or f.sp is None or f.segment != report.thread_segment:
        return None
    return report.stack_base - f.sp


def _who(r: StackReport) -> str:
    who = "%s %s" % (r.arch, "kernel" if r.kernel else "user")
    if r.thread_number is not None:  # as WinDbg names it: ~1
        who += " thread ~%d" % r.thread_number
        # a user thread's is its id, as its "Id: pid.tid" line prints it; a kernel one's ETHREAD
        who += "" if r.thread is None else " id %x" % r.thread if not r.kernel else \
            " %s" % addr(r.thread, r.arch)
    elif r.thread is not None:
        who += " thread %s" % addr(r.thread, r.arch)
    if r.image or r.state:
        who += " (%s)" % ", ".join(x for x in (r.image, r.state) if x)
    line = "%s, %s" % (who, r.source)
    if r.bugcheck:
        args = ", ".join("?" if a is None else "0x%x" % a for a in r.bugcheck.args)
        line += "; bugcheck 0x%x (%s)" % (r.bugcheck.code, args)
    return line


def _budget(r: StackReport) -> str:
    if r.budget is None:
        text = "budget   unknown: %s" % (r.budget_note or "no bounds")
    else:
        text = "budget   %s (%s bytes): %s" % (hexbytes(r.budget), nbytes(r.budget),
                                              r.budget_note or r.budget_origin.value)
    if r.stack_base is not None or r.stack_limit is not None:
        said = r.bounds_note and r.bounds_note != r.budget_note  # (once, when it is the same)
        text += "; Base %s Limit %s%s" % (addr(r.stack_base, r.arch), addr(r.stack_limit, r.arch),
                                          " (%s)" % r.bounds_note if said else "")
    return text


def _used(r: StackReport) -> Optional[str]:
    if r.used is None and r.remaining is not None:
        return "used     unknown (%s); the innermost SP is %s bytes %s StackLimit" % (
            "no StackBase" if r.stack_base is None else "no SP",
            nbytes(abs(r.remaining)), "past" if r.remaining < 0 else "above")
    if r.used is None:
        if r.thread_segment is None or r.stack_base is not None or r.verdict in (
                VerdictKind.NO_THREAD_STACK, VerdictKind.NO_STACK_POINTERS):
            return None  # (the verdict line says why)
        # measure: without StackBase, used is the span of the stack's SPs; none here
        return "used     unknown: the budgeted stack's frames show one stack pointer, and " \
            "StackBase is not known"
    used = ("at least " if r.used_is_lower_bound else "") + "%s (%s bytes)" % (
        hexbytes(r.used), nbytes(r.used))
    if r.percent is not None:
        used += ", %.0f%% of budget" % r.percent
    if r.remaining is not None and r.remaining < 0:
        used += ", %s bytes past StackLimit" % nbytes(-r.remaining)
    elif r.remaining is not None:
        # (on a default budget, what is left is only of that default: the thread's may be larger)
        used += ", %s%s bytes left%s" % ("at most " if r.remaining_is_upper_bound else "",
                                         nbytes(r.remaining), " of the default budget"
                                         if r.budget_origin == Origin.DEFAULT else "")
    return "used     " + used


def _more(r: StackReport) -> List[str]:
    """The lines that appear only when they have something to say."""
    lines = []
    hw = r.high_water
    if hw and hw.used is not None:
        pct = " (%.0f%% of budget)" % (100.0 * hw.used / r.budget) if r.budget else ""
        left = "" if hw.remaining is None else ", %s bytes left at that point" % nbytes(
            hw.remaining)
        lines.append("deepest  ever written: %s bytes%s%s%s" % (nbytes(hw.used), pct, left,
            " (page-granular: the committed bottom)" if hw.page_granular else
            " (a recycled stack can hold an earlier owner's writes)"))
    elif hw and hw.unreadable_pages:
        lines.append("deepest  unknown: %d stack page(s) not readable (not in the dump)"
                     % hw.unreadable_pages)
    below = _below_frame_0(r)
    if below:
        lines.append("saved    %s bytes from the thread's saved SP (Current) up to frame 00's "
                     "Child-SP: the context switch's own, counted in used" % nbytes(below))
    if r.unattributed:
        lines.append("missing  %s bytes lie between known SPs where frames are missing (counted "
                     "in used, no function named)" % nbytes(r.unattributed))
    if r.start_area is not None:
        lines.append("start    %s bytes between the outermost frame and StackBase "
                     "(thread start frames and initial trap/context area)" % nbytes(r.start_area))
    if r.not_shown:
        lines.append("shown    the frames stop %s bytes below StackBase: the log or walk ends "
                     "before the thread's start" % nbytes(r.not_shown))
    return lines


def _below_frame_0(r: StackReport) -> Optional[int]:
    """x64/ARM64: the bytes a waiting thread's saved SP lies below frame 00's Child-SP (used
    runs from it: StackBase - used); x86 sizes frame 00 from it instead."""
    if r.used is None or r.used_is_lower_bound or r.stack_base is None or not r.frames or \
            K.ARCH[r.arch].sp_is_frame_pointer:
        return None
    f = r.frames[0]
    if f.index != 0 or f.segment != r.thread_segment or f.sp is None:
        return None
    gap = f.sp - (r.stack_base - r.used)
    return gap if gap > 0 else None


def header_lines(r: StackReport) -> List[str]:
    """Under the headline, the few lines a kd user reads first: whose stack, the budget, what
    was used, the verdict's details, the stacks the walk crossed. No line repeats another."""
    lines = [_who(r), _budget(r)]
    used = _used(r)
    if used:
        lines.append(used)
    lines.extend(_more(r))
    lost = words.lost_track(r)
    if lost:
        lines.append("walk     %s" % lost)
    lines.append("verdict  %s" % words.verdict(r))
    if len(r.segments) > 1:
        segs = "; ".join(_segment_text(r, s) for s in r.segments)
        lines.append("stacks   %s%s" % (segs, "  (budget applies to #%d)" % r.thread_segment
                                         if r.thread_segment is not None else ""))
    lines.extend(_processor_stacks(r))
    return lines


def _processor_stacks(r: StackReport) -> List[str]:
    """`dpc      #0 no overflow of the DPC stack: 4,680 of 24,576 bytes used, 19,896 left;
    bounds from ...`: a DPC/ISR stack judged against its own size, or why it cannot be."""
    lines = []
    for s in r.segments:
        if s.top is None and not s.budget_note:
            continue  # not a DPC/ISR stack (those have a top or a reason they have none)
        text = words.segment_verdict(r, s)
        if text is None and s.budget is not None and s.used is not None:
            text = "{:,} of {:,} bytes used, {:,} left (interrupted, not running)".format(
                s.used, s.budget, s.remaining or 0)
        if text is not None:
            lines.append("%-8s #%d %s; bounds %s..%s from %s" % (
                s.kind.value, s.index, text, addr((s.top or 0) - s.budget, r.arch),
                addr(s.top, r.arch), s.bounds_from))
        elif s.budget_note:
            lines.append("%-8s #%d budget unknown: %s" % (s.kind.value, s.index, s.budget_note))
    return lines


def _segment_text(r: StackReport, s) -> str:
    """`#0 dpc 00-09, 1,184 B, heaviest driver #03 mydrv+0x10 (400 B)`: every stack the call
    stack ran on, with the bytes its SPs prove and, off the budgeted stack, its heaviest
    third-party frame (a breakpoint on a DPC stack still names the drivers there)."""
    text = "#%d %s %02x-%02x" % (s.index, s.kind.value, s.first_frame, s.last_frame)
    if s.used is not None and s.index != r.thread_segment:
        text += ", %s B" % nbytes(s.used)
    if s.note == PAST_START:
        text += " (past the thread's start: stale frame pointers)"
    if s.heaviest_drivers and s.index != r.thread_segment:
        f = r.frame(s.heaviest_drivers[0])
        text += ", heaviest driver #%02x %s (%s B)" % (f.index, f.call_site, nbytes(f.size))
    return text


def module_cells(r: StackReport) -> List[List[str]]:
    return [[m.module, nbytes(m.bytes), str(m.frames),
             "" if m.share is None else "%.0f%%" % (100 * m.share), "driver" if m.driver else ""]
            for m in r.modules]


def wrapped(title: str, items: List[str], width: Optional[int]) -> List[str]:
    """`title item; item; ...` over as many lines as `width` needs (one line without a width)."""
    if not items:
        return []
    text = title + " " + "; ".join(items)
    if not width:
        return [text]
    return textwrap.wrap(text, width=max(width, 40), subsequent_indent=" " * (len(title) + 1),
                         break_long_words=False, break_on_hyphens=False)


def module_items(r: StackReport) -> List[str]:
    """`rosempio 2,736 B in 22 frames (11%, driver)`, heaviest module first; nothing when no
    module owns a byte there (the budget's stack holds only the outermost frame)."""
    if not any(m.bytes for m in r.modules):
        return []
    # a module none of whose frames has a known size owns "?" bytes, not 0
    sized = {f.module or "?" for f in r.frames if f.size is not None}
    out = []
    for m in r.modules:
        total = nbytes(m.bytes) if m.bytes or m.module in sized else "?"
        share = "" if m.share is None or total == "?" else "%.0f%%" % (100 * m.share)
        tags = ", ".join(x for x in (share, "driver" if m.driver else "") if x)
        out.append("%s %s B in %d frame%s%s" % (m.module, total, m.frames,
                                               "" if m.frames == 1 else "s",
                                               " (%s)" % tags if tags else ""))
    return out


def repeated_items(r: StackReport, limit: int) -> List[str]:
    """Functions on the stack more than once: `rosempio!DsmWriteEvent 22x 2,736 B`."""
    return ["%s %dx %s B" % (fn.function, fn.count, nbytes(fn.bytes))
            for fn in r.functions if fn.count > 1][:limit]


def cycle_lines(r: StackReport, wide: bool = False) -> List[str]:
    """One line per cycle; --wide also lists the round's call sites."""
    out = []
    for c in r.cycles:
        left = "" if c.rounds_left is None else ", %s%d more rounds fit in what is left" % (
            "at most " if c.rounds_left_at_most else "", c.rounds_left)
        out.append("frames %02x-%02x: %s%s" % (c.first_frame, c.last_frame,
                                               headline.cycle_phrase(c), left))
        if not wide:
            continue
        # innermost first, as the stack lists them; the whole round, so the re-entry shows
        shown = c.call_sites[:16]
        out.extend("    " + ("   " if i else "") + site for i, site in enumerate(shown))
        if len(c.call_sites) > len(shown):
            out.append("       ... %d more" % (len(c.call_sites) - len(shown)))
    return out


def why_lines(f: Frame, locals_shown: int = 3) -> List[str]:
    """Under a heavy frame: its layout sentence and its largest locals."""
    out = []
    line = words.describe(f)
    if line:
        out.append(line)
    for loc in (f.locals or [])[:locals_shown]:
        size = "?" if loc.size is None else "{}{:,}".format(
            "~" if loc.size_estimated else "", loc.size)
        out.append("local %-24s %8s bytes at %-12s %s" % (loc.name, size, loc.offset, loc.type))
    return out
