"""stackext.sources.pykd.live against the fake pykd built from real stacks (fixtures/sessions)."""

from __future__ import annotations

import copy

import pytest
from fakes import pykd as fakepykd

from stackext.doublefault import double_fault_trap
from stackext.errors import StackextError
from stackext.sources.pykd import bounds, live
from stackext.symbols import parse_symbol


def collect(monkeypatch, session, **kw):
    engine = fakepykd.fake(session)
    return engine, live.collect(engine.dbg, **kw)


@pytest.mark.parametrize("text, want", [
    ("deep3!big_frame+54", ("deep3!big_frame+0x54", "deep3", "big_frame", 0x54)),
    ("deep2+1684", ("deep2+0x1684", "deep2", None, 0x1684)),
    ("12345", ("0x12345", None, None, None)),
    ("ntdll!NtWaitForMultipleObjects", ("ntdll!NtWaitForMultipleObjects", "ntdll",
                                        "NtWaitForMultipleObjects", 0)),
    ("seed!WinMainCRTStartup-102", ("seed!WinMainCRTStartup-0x102", "seed", "WinMainCRTStartup",
                                    -0x102)),
    ("CLASSPNP! ?? ::FNODOBFM::string'+4bb3", ("CLASSPNP! ?? ::FNODOBFM::string'+0x4bb3",
                                               "CLASSPNP", " ?? ::FNODOBFM::string'", 0x4bb3)),
])
def test_find_symbol_forms_become_windbg_call_sites(text, want):
    assert parse_symbol(text) == want


def test_x64_sp_is_child_sp_and_call_sites_match_the_log(monkeypatch):
    engine, stack = collect(monkeypatch, "005_doublefault_x64")
    session = engine.session["threads"][0]["frames"]
    assert [f.index for f in stack.frames] == list(range(len(session)))
    for frame, raw in zip(stack.frames, session):
        assert frame.sp == int(raw["sp"], 16)
        # the call site WinDbg printed, without the "(TrapFrame @ ...)" annotation
        assert raw["windbg"].split(" : ")[-1].split(" (TrapFrame")[0].strip() == frame.call_site
    assert stack.arch == "x64" and stack.kernel is True
    assert (stack.stack_base, stack.stack_limit) == (0xFFFFF8800B9C7000, 0xFFFFF8800B9C1000)
    assert stack.initial_stack == 0xFFFFF8800B9C6C70 and stack.kernel_stack == 0xFFFFF8800B9C1A50
    assert stack.thread == 0xFFFFFAB0F950DB50 and stack.bounds_origin == "thread"
    assert stack.bugcheck.code == 0x7F and stack.bugcheck.args[0] == 8


def test_x86_sp_is_child_ebp_and_current_esp_is_read(monkeypatch):
    engine, stack = collect(monkeypatch, "022_k7sentry_x86")
    raw = engine.session["threads"][0]["frames"]
    assert stack.arch == "x86"
    assert [f.sp for f in stack.frames] == [int(r["fp"], 16) for r in raw]
    assert stack.frames[0].sp == 0xA72AB9D4  # ChildEBP of nt!ProbeForRead+0x2e, fixture 022
    assert stack.current_sp == int(engine.session["threads"][0]["regs"]["esp"], 16)
    assert stack.frames[-1].call_site == "0x76e170d4"
    assert stack.frames[1].call_site == "K7Sentry+0x78b6" and stack.frames[1].function is None


def test_inline_frames_have_no_sp_and_their_own_name(monkeypatch):
    _, stack = collect(monkeypatch, "real_inline_user_x64")
    inl = [f for f in stack.frames if f.inline]
    assert [f.call_site for f in inl] == ["inline!inner_helper+0x1a", "inline!middle_helper+0x20"]
    assert all(f.sp is None and f.ret is None for f in inl)
    assert stack.frames[6].call_site == "inline!outer_dispatch+0x42"
    assert stack.frames[8].call_site == "inline!WinMainCRTStartup-0x102"


def test_no_nt_symbols_is_a_warning_not_an_error(monkeypatch):
    s = fakepykd.load_session("102_vidschworker_x64")
    s["symbols"] = []
    _, stack = collect(monkeypatch, s)
    assert bounds.NO_NT_SYMBOLS in stack.warnings
    assert stack.stack_base is None and len(stack.frames) == 35


def test_user_bounds_from_teb_with_symbols(monkeypatch):
    _, stack = collect(monkeypatch, "013_ldrp_user_x64")
    assert stack.kernel is False and stack.thread is None
    assert (stack.stack_base, stack.stack_limit) == (0x160000, 0x60000)
    assert stack.bounds_note.startswith("user stack from the TEB")


def test_user_bounds_without_ntdll_symbols_as_on_the_real_engine(monkeypatch):
    engine, stack = collect(monkeypatch, "real_seed_user_x64")
    # loadQWords(teb, 3) and loadQWords(teb+0x1478, 1) as recorded: 0x120000, 0x22000, 0x20000
    assert (stack.stack_base, stack.stack_limit) == (0x120000, 0x20000)
    assert "without ntdll symbols" in stack.bounds_note
    assert engine.count("loadPtrs") == 2


def test_unreadable_teb_memory_is_a_warning(monkeypatch):
    _, stack = collect(monkeypatch, "real_seed_mini_user_x64")
    assert stack.stack_base is None
    (w,) = [w for w in stack.warnings if "cannot read the thread's TEB" in w]
    # a minidump written without the TEB: no symbol path brings it back (issue 9 point 14)
    assert "the dump lacks it (its memory at 00000000`67fe0000 is not in the dump" in w
    assert ".symfix" not in w


def test_double_fault_without_thread_frames_says_how_to_get_there(monkeypatch):
    # an engine that cannot switch to the trap frame (no such context): the hint stays
    session = fakepykd.load_session("005_doublefault_ist_only_x64")
    session.pop("contexts")
    _, stack = collect(monkeypatch, session)
    assert any(w.startswith("cannot switch to the faulting context (`.trap") for w in stack.warnings)
    warning = [w for w in stack.warnings if "then this command again" in w]
    assert warning and ".trap fffff880`021748b0" in warning[0]
    assert ".thread fffffab0`f950db50" in warning[0]
    assert double_fault_trap(stack) == 0xFFFFF880021748B0


def test_double_fault_that_reaches_the_thread_stack_has_no_such_warning(monkeypatch):
    _, stack = collect(monkeypatch, "005_doublefault_x64")
    assert not [w for w in stack.warnings if ".trap" in w]
    assert double_fault_trap(stack) is None


def test_no_bugcheck_on_a_user_dump_and_no_bugcheck_call(monkeypatch):
    engine, stack = collect(monkeypatch, "013_ldrp_user_x64")
    assert stack.bugcheck is None and engine.count("bugCheckData") == 0


def test_bugcheck_data_exception_means_no_bugcheck(monkeypatch):
    s = fakepykd.load_session("102_vidschworker_x64")
    s["bugcheck"] = None
    engine, stack = collect(monkeypatch, s)
    assert stack.bugcheck is None and engine.count("bugCheckData") == 1


def test_module_facts_once_per_module_and_never_version_of_export_only(monkeypatch):
    engine, stack = collect(monkeypatch, "005_doublefault_x64")
    asked = [c[1][0] for c in engine.calls if c[0] == "module.queryVersion"]
    assert len(asked) == len(set(asked))
    assert "rosempio" not in asked  # export symbols only: queryVersion would crash pykd
    assert engine.count("module") == len({f.module for f in stack.frames if f.module})
    from stackext.analyze import analyze

    drivers = {f.module for f in analyze(stack).frames if f.driver}
    assert drivers == {"ql2300", "rosempio"}


def test_getstack_limit_of_1024_frames_continues_with_knf(monkeypatch):
    session = fakepykd.synthetic_session(1500)
    engine, stack = collect(monkeypatch, session)
    assert engine.count("getStack") == 1 and "knf 0x2000" in str(engine.calls)
    assert len(stack.frames) == 1500 and stack.complete is not False
    want = session["threads"][0]["frames"]
    assert [f.sp for f in stack.frames] == [int(f["sp"], 16) for f in want]
    assert [f.index for f in stack.frames] == list(range(1500))
    assert any("frames 400-5db are the engine's own walk" in w for w in stack.warnings)


def test_getstack_limit_without_knf_is_reported(monkeypatch):
    session = fakepykd.synthetic_session(1500)
    session["commands"] = {"knf 0x2000": " #   Memory  Child-SP          RetAddr           "
                                         "Call Site\n"}
    _, stack = collect(monkeypatch, session)
    assert len(stack.frames) == 1024 and stack.complete is False
    assert any("does not agree" in w for w in stack.warnings)
    assert any("the walk stops at 1024 frames" in w for w in stack.warnings)


def test_thread_option_switches_and_restores(monkeypatch):
    s = fakepykd.load_session("005_doublefault_x64")
    other = fakepykd.load_session("102_vidschworker_x64")
    s["threads"].append(dict(other["threads"][0], process=other["implicit_process"]))
    s["types"]["nt!_KTHREAD"].update(other["types"]["nt!_KTHREAD"])
    s["modules"] += other["modules"]
    engine = fakepykd.fake(s)
    before = engine.snapshot()
    stack = live.collect(engine.dbg, thread=0xFFFF800BA6B11500)
    assert stack.thread == 0xFFFF800BA6B11500 and len(stack.frames) == 35
    assert stack.stack_base == 0xFFFFA083E1E40000
    assert engine.snapshot() == before
    assert engine.count("setImplicitThread") == 2


def test_thread_option_on_user_target_is_refused(monkeypatch):
    engine = fakepykd.fake("013_ldrp_user_x64")
    with pytest.raises(StackextError, match="kernel targets"):
        live.collect(engine.dbg, thread=0x1234)


def test_pykd_errors_become_one_line(monkeypatch):
    engine = fakepykd.fake("102_vidschworker_x64")
    engine.fail["getStack"] = fakepykd.DbgException(
        "Call IDebugControl4::GetStackTrace failed\nHRESULT 0x80004005")
    with pytest.raises(StackextError) as e:
        live.collect(engine.dbg)
    assert "\n" not in str(e.value) and "GetStackTrace failed" in str(e.value)


def test_unknown_cpu_mode_fails_loudly(monkeypatch):
    s = copy.deepcopy(fakepykd.load_session("013_ldrp_user_x64"))
    s["cpu"] = "ARM"
    engine = fakepykd.fake(s)
    with pytest.raises(StackextError, match="unsupported processor mode"):
        live.collect(engine.dbg)
