"""What every human-readable renderer shows, as plain strings: one place for wording and numbers.

Imports stackext.model and stackext.addresses only.
"""

from __future__ import annotations

from typing import List, Optional

from stackext import knowledge as K
from stackext import words
from stackext.addresses import fmt_addr
from stackext.model import Frame, StackReport

BAR_WIDTH = 20


def addr(value: Optional[int], arch: str = "x64") -> str:
    """An address the way WinDbg prints it: fffff880`0b9c7000 on 64-bit, 8 digits on x86."""
    return fmt_addr(value, arch != "x86")


def nbytes(value: Optional[int]) -> str:
    return "-" if value is None else "{:,}".format(value)


def hexbytes(value: Optional[int]) -> str:
    if value is None:
        return "-"
    return "-0x%x" % -value if value < 0 else "0x%x" % value


def bar(size: Optional[int], budget: Optional[int]) -> str:
    if not size or not budget:
        return ""
    n = max(1, min(BAR_WIDTH, round(BAR_WIDTH * size / budget)))
    return "#" * n


def depth(report: StackReport, f: Frame) -> Optional[int]:
    """How far below StackBase this frame's SP is (the stack used up to it)."""
    if report.stack_base is None or f.sp is None or f.segment != report.thread_segment:
        return None
    return report.stack_base - f.sp


def marks(f: Frame) -> str:
    out = []
    if f.inline:
        out.append("inline")
    if f.heavy:
        out.append("HEAVY")
    if f.driver:
        out.append("driver")
    if f.size is None and f.size_unknown_reason:
        out.append("? " + f.size_unknown_reason.short)
    if f.estimated:
        out.append("estimated")
    return ", ".join(out)


def size_cell(f: Frame) -> str:
    if f.size is None:
        return "?"
    return nbytes(f.size)


def header_lines(r: StackReport) -> List[str]:
    """The few lines a kd user reads first: whose stack, the budget, the verdict."""
    who = "%s %s" % (r.arch, "kernel" if r.kernel else "user")
    if r.thread is not None:
        who += ", thread %s" % addr(r.thread, r.arch)
    if r.image or r.state:
        who += " (%s)" % ", ".join(x for x in (r.image, r.state) if x)
    lines = ["stack %s: %s" % (r.source, who)]
    if r.bugcheck:
        args = ", ".join("?" if a is None else "0x%x" % a for a in r.bugcheck.args)
        lines.append("bugcheck 0x%x (%s)" % (r.bugcheck.code, args))
    if r.budget is not None:
        lines.append("budget   %s bytes (%s), %s: %s" % (nbytes(r.budget), hexbytes(r.budget),
                                                     r.budget_origin.value, r.budget_note))
    else:
        lines.append("budget   unknown: %s" % (r.budget_note or "no bounds"))
    if r.stack_base is not None or r.stack_limit is not None:
        lines.append("bounds   Base %s  Limit %s%s" % (addr(r.stack_base, r.arch),
                                                      addr(r.stack_limit, r.arch),
                                                      "  (%s)" % r.bounds_note if r.bounds_note
                                                      else ""))
    if r.used is None and r.remaining is not None:
        lines.append("used     unknown (%s); the innermost SP is %s bytes %s StackLimit" % (
            "no StackBase" if r.stack_base is None else "no SP",
            nbytes(abs(r.remaining)), "past" if r.remaining < 0 else "above"))
    if r.used is not None:
        used = ("at least " if r.used_is_lower_bound else "") + "%s bytes (%s)" % (
            nbytes(r.used), hexbytes(r.used))
        pct = r.percent
        if pct is not None:
            used += ", %.0f%% of budget" % pct
        rem = ""
        if r.remaining is not None and r.remaining < 0:
            rem = ", %s bytes past StackLimit" % nbytes(-r.remaining)
        elif r.remaining is not None:
            rem = ", %s%s bytes left" % ("at most " if r.remaining_is_upper_bound else "",
                                         nbytes(r.remaining))
        lines.append("used     %s%s" % (used, rem))
    hw = r.high_water
    if hw and hw.used is not None:
        pct = " (%.0f%% of budget)" % (100.0 * hw.used / r.budget) if r.budget else ""
        lines.append("deepest  ever written: %s bytes%s, %s bytes left at that point%s" % (
            nbytes(hw.used), pct, nbytes(hw.remaining),
            " (page-granular: the committed bottom)" if hw.page_granular else
            " (a recycled stack can hold an earlier owner's writes)"))
    elif hw and hw.unreadable_pages:
        lines.append("deepest  unknown: %d stack page(s) not readable (not in the dump)"
                     % hw.unreadable_pages)
    if r.unattributed:
        lines.append("missing  %s bytes lie between known SPs where frames are missing (counted "
                     "in used, no function named)" % nbytes(r.unattributed))
    if r.start_area is not None:
        lines.append("start    %s bytes between the outermost frame and StackBase "
                     "(thread start frames and initial trap/context area)" % nbytes(r.start_area))
    if r.not_shown:
        lines.append("shown    the frames stop %s bytes below StackBase: the log or walk ends "
                     "before the thread's start" % nbytes(r.not_shown))
    lost = words.lost_track(r)
    if lost:
        lines.append("walk     %s" % lost)
    lines.append("verdict  %s" % (("OVERFLOW: " if r.overflow else "") + words.verdict(r)))
    segs = "; ".join("#%d %s %s-%s" % (s.index, s.kind.value, "%02x" % s.first_frame,
                                        "%02x" % s.last_frame) for s in r.segments)
    lines.append("segments %s%s" % (segs, "  (budget applies to #%d)" % r.thread_segment
                                     if r.thread_segment is not None and len(r.segments) > 1
                                     else ""))
    return lines


FRAME_HEADERS = ["#", "size", "hex", "depth", "share of budget", "notes", "call site"]
FRAME_ALIGN = ("left", "right", "right", "right", "left", "left", "left")


def frame_cells(r: StackReport, f: Frame) -> List[str]:
    on_budget = r.thread_segment is None or f.segment == r.thread_segment
    d = depth(r, f)
    return ["%02x" % f.index, size_cell(f), "" if f.size is None else "%x" % f.size,
            "" if d is None else nbytes(d),
            bar(f.size, r.budget) if on_budget else "", marks(f), f.call_site]


def gap_cells(f: Frame) -> List[str]:
    """The row under a frame after which frames are missing: the bytes the SPs prove."""
    own = "" if f.gap_bytes is None else "%s bytes with %02x" % (nbytes(f.gap_bytes), f.index)
    return ["", "?", "", "", "", "? frames missing", own]


def table_rows(r: StackReport):
    """(frame, cells) per table row; a gap row (frame None) sits where the frames are missing:
    outward of the frame on x64/ARM64 (the bytes up to its caller's SP), inward of it on x86
    (the bytes down to the inner frame's EBP)."""
    before = K.ARCH[r.arch].sp_is_frame_pointer
    for f in r.frames:
        if before and f.gap_bytes is not None:
            yield None, gap_cells(f)
        yield f, frame_cells(r, f)
        if not before and f.gap_bytes is not None:
            yield None, gap_cells(f)


def heaviest_lines(r: StackReport, drivers_only: bool, top: int) -> List[Frame]:
    idx = r.heaviest_drivers if drivers_only else r.heaviest
    return [r.frame(i) for i in idx[:top]]


def module_cells(r: StackReport) -> List[List[str]]:
    return [[m.module, nbytes(m.bytes), str(m.frames),
             "" if m.share is None else "%.0f%%" % (100 * m.share), "driver" if m.driver else ""]
            for m in r.modules]


def cycle_lines(r: StackReport) -> List[str]:
    out = []
    for c in r.cycles:
        left = "" if c.rounds_left is None else ", %s%d more rounds fit in what is left" % (
            "at most " if c.rounds_left_at_most else "", c.rounds_left)
        per = "?" if c.bytes_per_round is None else nbytes(c.bytes_per_round)
        out.append("frames %02x-%02x: a round of %d calls repeats %d times, %s bytes per round%s"
                   % (c.first_frame, c.last_frame, len(c.call_sites), c.repeats, per, left))
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
