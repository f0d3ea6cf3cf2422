"""stackext.sources.pykd.adapter: pykd's exceptions become stackext's own errors there, and
nothing else (Ctrl+Break) is swallowed. Against the fake pykd passed in."""

from __future__ import annotations

import pytest
from fakes import pykd as fakepykd

from stackext.errors import StackextError
from stackext.sources.pykd.adapter import DebuggerError, SymbolError, boundary


def test_symbol_exception_becomes_symbol_error_with_its_first_line():
    engine = fakepykd.fake("102_vidschworker_x64")
    engine.fail["typedVar"] = fakepykd.SymbolException("no type nt!_KTHREAD\nsecond line")
    with pytest.raises(SymbolError, match="^no type nt!_KTHREAD$"):
        engine.dbg.typed("nt!_KTHREAD", engine.thread)


def test_memory_exception_and_missing_field_are_debugger_errors():
    engine = fakepykd.fake("102_vidschworker_x64")
    with pytest.raises(DebuggerError) as e:
        engine.dbg.typed("nt!_KTHREAD", engine.thread).field("NoSuchField")
    assert not isinstance(e.value, SymbolError) and "NoSuchField" in str(e.value)
    engine.fail["loadBytes"] = fakepykd.MemoryException("Memory exception at 0x1000")
    with pytest.raises(DebuggerError, match="Memory exception"):
        engine.dbg.read_bytes(0x1000, 16)
    assert isinstance(e.value, StackextError)


def test_ctrl_break_passes_through_and_boundary_says_what_was_done():
    engine = fakepykd.fake("102_vidschworker_x64")
    engine.interrupt = ("getStack", 1)
    with pytest.raises(SystemExit, match="CTRL\\+BREAK"):
        engine.dbg.stack(x86=False)
    engine.interrupt = None
    engine.fail["getStack"] = fakepykd.DbgException("GetStackTrace failed\nHRESULT 0x80004005")
    with pytest.raises(StackextError) as e:
        with boundary("cannot walk the stack", ".reload"):
            engine.dbg.stack(x86=False)
    assert str(e.value) == "cannot walk the stack: GetStackTrace failed (.reload)"
    assert not isinstance(e.value, DebuggerError)


def test_stack_frames_carry_the_engine_symbol_text():
    engine = fakepykd.fake("real_inline_user_x64")
    frames = engine.dbg.stack(x86=False)
    inline = [f for f in frames if f.inline]
    assert [f.symbol for f in inline] == ["inline!inner_helper+1a", "inline!middle_helper+20"]
    assert all(f.sp is None and f.ret is None for f in inline)
