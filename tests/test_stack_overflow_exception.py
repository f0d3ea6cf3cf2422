"""Issue 9 point 2 on the fake pykd: a real user-mode stack overflow (STATUS_STACK_OVERFLOW,
0xC00000FD) is an overflow, proven, with nothing left, though its SP stays 2 pages above the
reserve's end. The session holds what the real engine gave on the lane's `overflow` dump
(fixtures/sessions/real_overflow_user_x64.json): the dump's current context is the vectored
handler waiting on what was left of the stack; `.ecxr` is the overflowing `grow` frame."""

from __future__ import annotations

import json

from fakes import pykd as fakepykd

from stackext import usage, words
from stackext.analyze import analyze
from stackext.model import VerdictKind
from stackext.report_json import load_stack, stack_dict
from stackext.sources.pykd import live

BASE, DEALLOC = 0x14A0000, 0x13A0000
ECXR_SP, HANDLER_SP = 0x13A1FE0, 0x13A14B8


def _commands(engine):
    return [c[1][0] for c in engine.calls if c[0] == "dbgCommand"]


def test_the_exception_context_is_analysed_and_put_back():
    engine = fakepykd.fake("real_overflow_user_x64")
    before = engine.snapshot()
    stack = live.collect(engine.dbg)
    assert engine.snapshot() == before  # the dump's own context again
    assert _commands(engine) == [".lastevent", "~.", ".ecxr", ".cxr"]
    assert stack.exception_code == 0xC00000FD
    assert stack.frames[0].sp == ECXR_SP and stack.frames[0].call_site == "overflow!grow+0x22"
    assert any("stack overflow (0xC00000FD): its stack is analysed (`.ecxr`" in w
               for w in stack.warnings)
    r = analyze(stack)
    assert r.verdict == VerdictKind.OVERFLOW and r.overflow and r.verdict_proven
    assert r.used == BASE - ECXR_SP == 1040416 and r.budget == BASE - DEALLOC
    assert r.remaining == 0 and r.guard_left == ECXR_SP - DEALLOC == 8160
    assert r.cycles and all(c.rounds_left == 0 for c in r.cycles)
    text = words.verdict(r)
    assert text.startswith("stack overflow (exception 0xC00000FD, STATUS_STACK_OVERFLOW): the "
                           "innermost SP is 8,160 bytes above the end of the stack's reservation")
    assert "not proven" not in text
    d = stack_dict(r)
    assert d["exception_code"] == "0xc00000fd" and d["remaining"] == 0 and d["verdict_proven"]
    again = load_stack(d)  # the JSON read back says the same
    assert words.verdict(again) == text


def test_a_live_sp_inside_the_guard_region_is_an_overflow_too():
    # the same dump's current context without the exception: the handler's SP lies 5,304 bytes
    # above the reserve's end, inside the guard region: an overflow on its own (a live thread
    # whose SP is on the guard pages), proven by the thread's own bounds
    session = fakepykd.load_session("real_overflow_user_x64")
    session["last_event"]["tid"] = 0x24  # the exception was another thread's
    engine = fakepykd.fake(session)
    stack = live.collect(engine.dbg)
    assert ".ecxr" not in _commands(engine) and stack.exception_code is None
    assert stack.frames[0].sp == HANDLER_SP
    r = analyze(stack)
    assert r.verdict == VerdictKind.OVERFLOW and r.verdict_proven and r.remaining == 0
    assert r.guard_left == HANDLER_SP - DEALLOC == 5304
    assert words.verdict(r).startswith("stack overflow: the innermost SP is 5,304 bytes above")


def test_a_sp_above_the_guard_region_is_not_an_overflow():
    session = fakepykd.load_session("real_overflow_user_x64")
    session["last_event"] = {"pid": 0x20, "tid": 0x24, "code": 0x80000003}
    session["memory"]["0x67fd1478"] = hex(DEALLOC - 0x2000)  # 2 more pages: 13,496 bytes left
    r = analyze(live.collect(fakepykd.fake(session).dbg))
    assert r.verdict == VerdictKind.CLOSE and not r.overflow and r.remaining == 0x14B8 + 0x2000 == 13496
    assert r.guard_left is None and r.exception_code is None


def test_a_context_the_user_set_first_stays_and_the_exception_still_counts():
    engine = fakepykd.fake("real_overflow_user_x64")
    engine.pykd.dbgCommand(".ecxr")
    before = engine.snapshot()
    stack = live.collect(engine.dbg)
    assert engine.snapshot() == before and engine.pykd.reg("rsp") == ECXR_SP
    assert _commands(engine).count(".ecxr") == 1 and ".cxr" not in _commands(engine)
    r = analyze(stack)
    assert r.frames[0].sp == ECXR_SP and r.exception_code == 0xC00000FD
    assert r.verdict == VerdictKind.OVERFLOW and r.verdict_proven and r.remaining == 0


def _usage_json(engine):
    assert usage.main(["--format", "json"], debugger=engine.dbg) == 0
    return json.loads("\n".join(fakepykd.output_text(engine).splitlines()[1:-1]))["stacks"][0]


def test_the_largest_local_is_read_in_the_exception_context_then_put_back():
    # `.frame N; dv` runs while `.ecxr` is in place (after it, `.frame 0` is the handler's
    # wait): the heaviest grow frame's largest local is its `char pad[512]` (overflow.c), the
    # dv/.fnent texts the real engine printed after `.ecxr`
    engine = fakepykd.fake("real_overflow_user_x64")
    before = engine.snapshot()
    st = _usage_json(engine)
    assert engine.snapshot() == before
    cmds = _commands(engine)
    assert cmds.index(".ecxr") < cmds.index(".frame 0; dv /V /t") < cmds.index(".cxr")
    big = st["frames"][st["heaviest"][0]]
    assert int(big["sp"], 16) == ECXR_SP and big["call_site"] == "overflow!grow+0x22"
    assert big["locals"][0] == {"name": "pad", "type": "char [512]", "size": 512,
                                "offset": "rsp+0x20", "address": hex(ECXR_SP + 0x20)}
    # .fnent's fixed allocation plus the return address is the frame's Child-SP difference
    assert big["layout"]["fixed"] + 8 == big["size"] == 0x230
    assert not any("locals" in w or ".frame /c" in w for w in st["warnings"])


def test_ctrl_break_while_reading_locals_in_the_exception_context_puts_it_back():
    engine = fakepykd.fake("real_overflow_user_x64")
    _usage_json(engine)
    nth = _commands(engine).index(".frame 1; dv /V /t") + 1
    engine = fakepykd.fake("real_overflow_user_x64")
    before = engine.snapshot()
    engine.interrupt, engine.interrupt_once = ("dbgCommand", nth), True
    usage.main(["--format", "json"], debugger=engine.dbg)
    assert "interrupted (CTRL+BREAK)" in fakepykd.output_text(engine)
    assert engine.snapshot() == before and _commands(engine)[-1] == ".cxr"
