"""Issue 9 point 4 on the fake pykd: the stack of the faulting context. A double fault whose walk
stops on the IST stack is followed through KiDoubleFaultAbort's trap frame (`.trap`) and the
context put back; a context the user set first (`.trap`/`.cxr`) is analysed and stays. The
session is fixture 005 (a real 0x7F/8 STACK_TEXT): the IST-only walk plus the thread stack the
real `.trap` shows."""

from __future__ import annotations

import json

from fakes import pykd as fakepykd

from stackext import usage
from stackext.analyze import analyze
from stackext.model import SegmentKind, VerdictKind
from stackext.sources.pykd import live

TRAP = 0xFFFFF880021748B0


def test_double_fault_walk_is_followed_through_the_trap_frame_and_put_back():
    engine = fakepykd.fake("005_doublefault_ist_only_x64")
    engine.pykd.dbgCommand(".frame 2")  # the user's scope: put back afterwards
    before = engine.snapshot()
    stack = live.collect(engine.dbg)
    assert engine.snapshot() == before
    assert ".trap %x" % TRAP in [c[1][0] for c in engine.calls if c[0] == "dbgCommand"]
    # the same frames as the walk that crossed the trap frame itself (fixture 005, 40 frames)
    whole = live.collect(fakepykd.fake("005_doublefault_x64").dbg)
    assert [(f.index, f.sp, f.call_site) for f in stack.frames] == \
        [(f.index, f.sp, f.call_site) for f in whole.frames]
    assert any("walked from its trap frame (`.trap fffff880`021748b0`" in w
               for w in stack.warnings)
    assert not any("then this command again" in w for w in stack.warnings)
    r, full = analyze(stack), analyze(whole)
    assert r.verdict == full.verdict == VerdictKind.OVERFLOW and r.verdict_proven
    assert r.used == full.used == 0xFFFFF8800B9C7000 - 0xFFFFF8800B9C0F10
    assert r.segments[r.thread_segment].kind == SegmentKind.THREAD
    assert [f.size for f in r.frames] == [f.size for f in full.frames]


def test_a_context_the_user_set_first_is_analysed_and_stays():
    engine = fakepykd.fake("005_doublefault_ist_only_x64")
    engine.pykd.dbgCommand(".trap fffff880`021748b0")
    before = engine.snapshot()
    stack = live.collect(engine.dbg)
    assert engine.snapshot() == before  # the user's .trap is still in place
    assert engine.pykd.reg("rsp") == 0xFFFFF8800B9C0F10
    assert [c for c in engine.calls if c[0] == "dbgCommand"
            and c[1][0].split()[0] in (".cxr", ".trap")] == [("dbgCommand", (".trap fffff880`021748b0",))]
    assert stack.frames[0].call_site == "ql2300+0x69416" and len(stack.frames) == 37
    r = analyze(stack)
    assert r.verdict == VerdictKind.OVERFLOW and r.used == 0xFFFFF8800B9C7000 - 0xFFFFF8800B9C0F10


def test_a_user_stack_off_its_teb_bounds_is_its_own_unknown_segment():
    # fixture 013's user stack moved onto a block of its own (a coroutine's stack), the TEB
    # still saying 0x60000..0x160000: never the budgeted stack, never "20 MB below StackLimit"
    session = fakepykd.load_session("013_ldrp_user_x64")
    for f in session["threads"][0]["frames"]:
        for key in ("sp", "fp"):
            if f.get(key):
                f[key] = hex(int(f[key], 16) + 0x1400000)
    r = analyze(live.collect(fakepykd.fake(session).dbg))
    assert [s.kind for s in r.segments] == [SegmentKind.UNKNOWN]
    assert r.thread_segment is None and r.verdict == VerdictKind.NO_THREAD_STACK
    assert not r.overflow and r.below_limit is None and r.used is None
    unmoved = analyze(live.collect(fakepykd.fake("013_ldrp_user_x64").dbg))
    assert unmoved.segments[unmoved.thread_segment].kind == SegmentKind.USER


def test_locals_beyond_the_trap_frame_say_why_they_are_not_read():
    # the frames walked from KiDoubleFaultAbort's trap frame (03 on) are not where `.frame N`
    # lands once the `.trap` is put back: the warning says so, not "a .cxr context is set"
    engine = fakepykd.fake("005_doublefault_ist_only_x64")
    before = engine.snapshot()
    assert usage.main(["--format", "json"], debugger=engine.dbg) == 0
    st = json.loads("\n".join(fakepykd.output_text(engine).splitlines()[1:-1]))["stacks"][0]
    assert engine.snapshot() == before
    why = [w for w in st["warnings"] if w.startswith("locals of frame")]
    assert len(why) == 1 and why[0].endswith(
        " not read: walked from the double fault's trap frame (`.trap fffff880`021748b0`), "
        "which `.frame N` does not reach once the debugger's context is put back (run `.trap "
        "fffff880`021748b0`, then this command)")
    named = [int(n, 16) for n in why[0].split(" not read")[0].split("frames ")[1].split(", ")]
    assert named[0] == st["heaviest"][0] and len(named) == 5 and min(named) == 3
    assert not any("context is set" in w or "landed on another" in w for w in st["warnings"])
