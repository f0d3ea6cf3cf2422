"""The sentences people read, written from the report's typed facts: the verdict, why a frame is
big. One place for wording; the JSON carries the same sentences beside the stable ids.

Imports stackext.model only.
"""

from __future__ import annotations

from typing import Optional

from stackext import knowledge as K
from stackext.model import (
    Frame,
    GapKind,
    LostCause,
    LostTrack,
    Segment,
    SegmentKind,
    StackReport,
    SymbolQuality,
    VerdictKind,
)


def _guard_overflow(r: StackReport) -> str:
    what = "stack overflow"
    if r.exception_code == K.STATUS_STACK_OVERFLOW:
        what += " (exception 0xC00000FD, STATUS_STACK_OVERFLOW)"
    if K.near_reserve_end(r.guard_left):
        what += (": the innermost SP is {:,} bytes above the end of the stack's reservation "
                 "(DeallocationStack), on the guard page and the pages kept for handling the "
                 "overflow, which the thread cannot grow into".format(r.guard_left))
    elif r.guard_left is not None:
        what += (": yet the innermost SP shown is {:,} bytes above the end of the stack's "
                 "reservation (DeallocationStack): the access that overflowed lay below the "
                 "frames shown (a large _chkstk/_alloca probe, a read past the stack) or no page "
                 "could be committed".format(r.guard_left))
    elif r.exception_code == K.STATUS_STACK_OVERFLOW:
        what += (": the stack could not grow past its guard page; how much of its reservation "
                 "was left is not in the text (no %s)"
                 % ("DeallocationStack" if r.stack_base is not None
                    else "StackBase/DeallocationStack"))
    return what


def _overflow(r: StackReport) -> str:
    if r.guard_overflow:
        return _guard_overflow(r)
    what = "kernel stack overflow" if r.kernel else "stack overflow"
    if r.double_fault:
        what += " (double fault 0x7F/8)"
    if r.below_limit:
        what += ": the innermost thread-stack frame is %d bytes below StackLimit" % r.below_limit
    elif r.remaining is not None:
        what += ": %d bytes left at the innermost frame" % r.remaining
    return what


def _double_fault_unproven(r: StackReport) -> str:
    text = ("double fault (0x7F/8): probably a kernel stack overflow, but this log has no "
            "StackBase/StackLimit to prove it (run !thread for Base/Limit, or give --budget)")
    if r.arg3_below_page is not None:
        text += ("; Arg3 is the innermost thread-stack SP, %d bytes below a page boundary, where "
                 "an overflow into the guard page faults (inferred)" % r.arg3_below_page)
    return text


def _double_fault_off_stack(r: StackReport) -> str:
    ist = min(s.index for s in r.segments if s.kind == SegmentKind.IST)
    low = next((s.low for s in r.segments if s.index > ist and s.kind == SegmentKind.USER
                and s.low is not None), None)
    return ("double fault (0x7F/8), but the frames after the double-fault stack run kernel code on "
            "user-space stack pointers%s: a stack pointer corrupted or switched to user memory, "
            "not a thread stack shown running out" % ("" if low is None else " (from 0x%x)" % low))


_FIXED = {
    VerdictKind.CLOSE: "close to the limit",
    VerdictKind.OK: "no overflow",
    VerdictKind.BUDGET_UNKNOWN: "budget unknown",
    VerdictKind.NO_THREAD_STACK: "no frame lies on the thread's own stack",
    VerdictKind.NO_STACK_POINTERS: "no stack pointers on the thread's stack",
    VerdictKind.DOUBLE_FAULT_ON_IST: (
        "double fault (0x7F/8): the walk stops on the double-fault stack; switch to the "
        "faulting context (.trap) to see the overflowed thread stack"),
    VerdictKind.DOUBLE_FAULT_NOT_NEAR: (
        "double fault (0x7F/8), but the thread stack is not near its limit: look for another "
        "cause (a corrupted stack pointer gives the same bugcheck)"),
    VerdictKind.DOUBLE_FAULT_CORRUPT_SP: (
        "double fault (0x7F/8) from a corrupted ESP (its context's ESP above frame 00's EBP), "
        "not an overflow"),
    VerdictKind.INVALID_STACK_POINTER: (
        "invalid stack pointer: the kernel found the stack pointer outside the thread's stack "
        "limits (bug check 0x139, Arg1 4: FAST_FAIL_INCORRECT_STACK); not shown to be an "
        "overflow (a corrupted stack pointer, or code running on a stack of its own, gives the "
        "same bug check)"),
}


_GAP = {GapKind.ELIDED: "a `...` line", GapKind.NUMBER_JUMP: "the frame numbers jump",
        GapKind.UNWIND_WARNING: "an unwind warning", GapKind.UNREADABLE: "an unreadable row"}


def _where_lost(lt: LostTrack, symbols: bool) -> str:
    """The first clause: what the text shows about the frame in no module."""
    ip = "frame %02x's instruction pointer %s" % (lt.frame, lt.call_site)
    fault = "" if lt.fault_arg is None else \
        " (the bug check's Arg%d: the faulting instruction)" % lt.fault_arg
    if lt.cause == LostCause.NOT_CANONICAL:
        return ("after frame %02x (%s), %s%s is not a valid (canonical) address: the stack "
                "contents were overwritten" % (lt.after, lt.after_site, ip, fault))
    if lt.cause == LostCause.NOT_USER_CODE:
        return ("after frame %02x (%s), %s lies above user space, where no user-mode code runs: "
                "the walk read stack contents as return addresses" % (lt.after, lt.after_site, ip))
    if lt.cause == LostCause.FRAMES_MISSING and lt.frame - lt.after < 2:  # no number left out
        return ("the text has %s just before frame %02x, so where the walk lost track is not "
                "shown; %s lies in no loaded module%s"
                % (_GAP.get(lt.gap, "frames missing"), lt.frame, ip, fault))
    if lt.cause == LostCause.FRAMES_MISSING:
        cut = "frames %02x-%02x are" % (lt.after + 1, lt.frame - 1) if lt.frame - lt.after > 2 \
            else "frame %02x is" % (lt.after + 1)
        return ("%s not in the text (%s), so where the walk lost track is not shown; %s lies in "
                "no loaded module%s" % (cut, _GAP.get(lt.gap, "frames missing"), ip, fault))
    if lt.cause == LostCause.OUTSIDE_MODULES:
        trap = "" if lt.trap_site is None else " (from %s's trap frame)" % lt.trap_site
        return ("%s%s is code outside any loaded module%s, so the unwinder has no unwind data "
                "for it" % (ip, trap, fault))
    if lt.module and symbols:  # its PDB is loaded: the advice to load it would be wrong
        why = ("%s's symbols are loaded (the log names its functions), so the address the walk "
               "read as its return address was no return into a loaded module: code outside "
               "them, or the stack overwritten there" % lt.module)
    elif lt.module:
        # x64/ARM64 unwind data is the image's (.pdata), which a small or triage dump does not
        # hold; x86 frame data is the PDB's
        why = ("the debugger had no unwind data for %s there: give it the image (`.exepath+`: "
               "x64/ARM64 unwind data is in the image, which a small dump does not hold) and its "
               "PDB (`.sympath+`), then run `.reload /f %s`" % (lt.module, lt.module))
    else:
        why = "no module there"
    return ("the stack walk lost track after frame %02x (%s): %s lies in no loaded module, so "
            "the unwinder guessed the caller from the next stack slots; %s" % (
                lt.after, lt.after_site, ip, why))


def lost_track(r: StackReport) -> Optional[str]:
    """What the text shows about the frame in no loaded module (and for a module without unwind
    data, the `.reload` to run); None when every frame is in a module."""
    lt = r.lost_track
    if lt is None:
        return None
    pdb = SymbolQuality.PDB
    text = _where_lost(lt, lt.module is not None and any(
        f.module == lt.module and f.function and f.symbol_quality is pdb for f in r.frames))
    if lt.invalid_from is not None and lt.invalid_from != lt.frame:
        text += ("; frame %02x's instruction pointer %s is not a valid (canonical) address: the "
                 "stack contents were overwritten" % (lt.invalid_from, lt.invalid_site))
    if not lt.dropped:
        return text
    one = lt.dropped == 1
    what = "the frame" if one else "the %d frames" % lt.dropped
    are, slots, them = ("is", "a stack slot", "it") if one else ("are", "stack slots", "them")
    if lt.trap_site is not None:  # the frame itself is kept: what follows it is guessed
        return text + "; %s after it %s the unwinder's guess%s from %s, not listed, and " \
            "nothing is judged on %s" % (what, are, "" if one else "es", slots, them)
    return text + "; %s from %02x on %s %s, not listed, and nothing is judged on %s" % (
        what, lt.frame, are, slots, them)


def verdict(r: StackReport) -> str:
    """The verdict as one sentence (JSON `verdict`; the table prefixes OVERFLOW)."""
    if r.verdict == VerdictKind.OVERFLOW:
        text = _overflow(r)
    elif r.verdict == VerdictKind.DOUBLE_FAULT_UNPROVEN:
        return _double_fault_unproven(r)
    elif r.verdict == VerdictKind.DOUBLE_FAULT_OFF_STACK:
        return _double_fault_off_stack(r)
    elif r.verdict == VerdictKind.DOUBLE_FAULT_CORRUPT_SP and r.fault_sp is not None and \
            r.frames and r.frames[0].sp is not None:
        ebp = r.frames[0].sp
        return ("double fault (0x7F/8), but its context's ESP 0x%x lies 0x%x above frame 00's "
                "EBP 0x%x, where no function runs (a stack running out leaves ESP below EBP): "
                "a corrupted ESP, not an overflow" % (r.fault_sp, r.fault_sp - ebp, ebp))
    elif r.verdict == VerdictKind.OK and not r.verdict_proven:
        text = "no overflow seen"
    else:
        text = _FIXED[r.verdict]
    if not r.verdict_proven and r.not_proven and r.verdict in _JUDGED:
        text += " (not proven: %s)" % ", ".join(n.label for n in r.not_proven)
    return text


_JUDGED = (VerdictKind.OVERFLOW, VerdictKind.CLOSE, VerdictKind.OK)


_SEGMENT_VERDICT = {VerdictKind.OVERFLOW: "%s stack overflow", VerdictKind.CLOSE:
                    "close to the %s stack's limit", VerdictKind.OK: "no overflow of the %s stack"}


def segment_verdict(r: StackReport, seg: Segment) -> Optional[str]:
    """The running DPC/ISR stack judged against its own size (JSON per segment `verdict`)."""
    if seg.verdict is None or seg.budget is None or seg.used is None:
        return None
    text = (_SEGMENT_VERDICT[seg.verdict] % seg.kind.value.upper()) + \
        ": {:,} of {:,} bytes used, {:,} left".format(seg.used, seg.budget, seg.remaining or 0)
    if not seg.verdict_proven:
        text += " (not proven: %s)" % ("the stack walk lost track" if r.lost_track is not None
                                        else "innermost frames missing")
    return text


def _dynamic_why(f: Frame) -> str:
    if K.fn_key(f.function) in K.EXCEPTION_DISPATCH_ROUTINES:
        return " (the CONTEXT and EXCEPTION_RECORD the kernel pushed)"
    return " (_alloca or a frame pointer)" if f.layout and f.layout.is_dynamic else ""


def describe(f: Frame) -> Optional[str]:
    """"2,192 bytes = 2,184 fixed (largest local `copy`, `struct MYSTRUCT`, 2,064 bytes at
    rsp+0x70) + return address": one line under a heavy frame."""
    if f.size is None or (not f.locals and not f.layout):
        return None
    parts = []
    lay = f.layout
    big = f.locals[0] if f.locals else None
    local = ""
    if big and big.size:
        local = " (largest local `%s`, `%s`, %s%s bytes at %s)" % (
            big.name, big.type, "~" if big.size_estimated else "", "{:,}".format(big.size),
            big.offset)
    if lay:
        parts.append("{:,} fixed{}".format(lay.fixed, local))
        if lay.push_count:
            parts.append("%d push%s" % (lay.push_count, "es" if lay.push_count > 1 else ""))
        parts.append("return address")
        if lay.dynamic:
            parts.append("{:,} dynamic{}".format(lay.dynamic, _dynamic_why(f)))
        return "{:,} bytes = ".format(f.size) + " + ".join(parts)
    return "{:,} bytes;{}".format(f.size, local.replace(" (", " ", 1).rstrip(")"))
