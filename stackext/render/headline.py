"""The report's first line: the verdict with its number and the finding that explains it, e.g.
`OVERFLOW by 240 bytes - heaviest third-party frame rosempio!DsmWriteEvent+0x3c4f4 (640 B);
an 11-call cycle repeats 2x at 1,232 B per round`. A kernel developer reads this line only.
ASCII only (debugger output): " - ", never a dash of another width.
"""

from __future__ import annotations

from typing import List, Optional

from stackext.model import Cycle, StackReport, VerdictKind
from stackext.segments import side_stack


def _n(value: int) -> str:
    return "{:,}".format(value)


def _of_budget(r: StackReport) -> str:
    """`24,816 of 24,576 bytes used (101%)`; "" when used is not known."""
    if r.used is None:
        return ""
    text = "%s%s" % ("at least " if r.used_is_lower_bound else "", _n(r.used))
    if r.budget:
        text += " of %s bytes used (%.0f%%)" % (_n(r.budget), 100.0 * r.used / r.budget)
    else:
        text += " bytes used"
    return text


def _overflow(r: StackReport) -> str:
    if r.below_limit:
        return "OVERFLOW by %s bytes" % _n(r.below_limit)
    if r.remaining is not None and r.remaining < 0:
        return "OVERFLOW by %s bytes" % _n(-r.remaining)
    used = _of_budget(r)
    return "OVERFLOW: " + used if used else "OVERFLOW"


_OTHER = {
    VerdictKind.BUDGET_UNKNOWN: "BUDGET UNKNOWN",
    VerdictKind.NO_THREAD_STACK: "NO FRAME ON THE THREAD'S STACK",
    VerdictKind.NO_STACK_POINTERS: "NO STACK POINTERS",
    VerdictKind.DOUBLE_FAULT_ON_IST: "DOUBLE FAULT: the walk stops on the double-fault stack "
                                     "(.trap to see the thread stack)",
    VerdictKind.DOUBLE_FAULT_OFF_STACK: "DOUBLE FAULT: after it, kernel code runs on a "
                                        "user-space stack pointer, not on a kernel stack",
    VerdictKind.DOUBLE_FAULT_UNPROVEN: "DOUBLE FAULT: probably a stack overflow, not proven "
                                       "(no StackBase/StackLimit)",
    VerdictKind.DOUBLE_FAULT_NOT_NEAR: "DOUBLE FAULT, but the thread stack is not near its "
                                       "limit",
    VerdictKind.DOUBLE_FAULT_CORRUPT_SP: "DOUBLE FAULT from a corrupted ESP (above frame 00's "
                                         "EBP), not an overflow",
    VerdictKind.INVALID_STACK_POINTER: "INVALID STACK POINTER (0x139/4): the kernel found the "
                                       "SP outside the thread's stack limits, not shown to be "
                                       "an overflow",
}


def verdict_part(r: StackReport) -> str:
    if r.verdict == VerdictKind.OVERFLOW:
        return _overflow(r)
    used = _of_budget(r)
    if r.verdict == VerdictKind.CLOSE:
        left = "" if r.remaining is None else "%s%s bytes left, " % (
            "at most " if r.remaining_is_upper_bound else "", _n(r.remaining))
        return "CLOSE to the limit: " + left + used
    if r.verdict == VerdictKind.OK:
        head = "OK" if r.verdict_proven else "no overflow seen"
        return head + (": " + used if used else "")
    head = _OTHER[r.verdict]
    return head + (": " + used if used and r.verdict == VerdictKind.BUDGET_UNKNOWN else "")


def _article(n: int) -> str:
    """"an 11-call", "an 8-call", "a 12-call": as the number is spoken."""
    return "an" if str(n).startswith("8") or n in (11, 18) else "a"


def cycle_phrase(c: Cycle) -> str:
    per = "?" if c.bytes_per_round is None else _n(c.bytes_per_round)
    times = ("at least %dx" if c.repeats_at_least else "%dx") % c.repeats
    if len(c.call_sites) == 1:
        return "%s calls itself %s at %s B per call" % (c.call_sites[0], times, per)
    n = len(c.call_sites)
    return "%s %d-call cycle repeats %s at %s B per round" % (_article(n), n, times, per)


def _biggest_cycle(r: StackReport) -> Optional[Cycle]:
    if not r.cycles:
        return None
    return max(r.cycles, key=lambda c: (c.bytes_per_round or 0) * c.repeats)


def findings(r: StackReport) -> List[str]:
    out = []
    if r.heaviest_drivers:
        f = r.frame(r.heaviest_drivers[0])
        out.append("heaviest third-party frame %s (%s B)" % (f.call_site, _n(f.size or 0)))
    elif r.heaviest:
        f = r.frame(r.heaviest[0])
        out.append("heaviest frame %s (%s B)" % (f.call_site, _n(f.size or 0)))
    side = side_stack_phrase(r)
    if side is not None:
        out.append(side)
    c = _biggest_cycle(r)
    if c is not None:
        out.append(cycle_phrase(c))
    return out


_SIDE_NAMES = {"dpc": "the DPC stack", "isr": "the ISR stack", "expanded": "an expanded stack",
               "exception": "the exception stack"}


def side_stack_phrase(r: StackReport) -> Optional[str]:
    """`frames 00-0f run on the DPC stack: 7,960 B used there, heaviest third-party frame ...`:
    where frame 00 runs on a kernel stack other than the thread's (the crash or the breakpoint
    happened there, whatever the thread's own stack shows)."""
    seg = side_stack(r)
    if seg is None or seg.used is None:
        return None
    text = "frames %02x-%02x run on %s: %s B used there" % (
        seg.first_frame, seg.last_frame, _SIDE_NAMES[seg.kind.value], _n(seg.used))
    sized = [f for f in r.frames if f.segment == seg.index and f.size]
    drivers = [f for f in sized if f.driver]
    if drivers or sized:
        f = min(drivers or sized, key=lambda x: (-(x.size or 0), x.index))
        text += ", heaviest %s%s (%s B)" % ("third-party frame " if drivers else "",
                                            f.call_site, _n(f.size or 0))
    return text


def headline(r: StackReport) -> str:
    found = findings(r)
    return verdict_part(r) + (" - " + "; ".join(found) if found else "")


def summary_line(r: StackReport) -> str:
    """One stack's line in the summary a file with many stacks starts with."""
    return "  %s: %s" % (r.source, headline(r))


def summary_lines(lines: List[str]) -> List[str]:
    """A file with many stacks starts with one line per stack."""
    return ["%d stacks:" % len(lines)] + lines
