"""stackext.sources.pykd.memory on the kernel-shaped fake (tests/fakes/pykd_kernel.py): stacks built
from the real !thread logs (Base/Limit, Current, Child-SP, RetAddr exactly as WinDbg printed)."""

from __future__ import annotations

import struct

import pytest
from fakes import pykd_kernel as K

from stackext.analyze import analyze
from stackext.model import Frame, StackInput
from stackext.scan import needs_raw_scan
from stackext.sources.pykd import live
from stackext.sources.pykd import memory as M
from stackext.sources.pykd.scrape import parse_lm
from stackext.symbols import parse_symbol

T116_WAIT = 0xFFFF8A071D5A3040  # Base ffff808de0a90000 Limit ffff808de0a89000
T101 = 0xFFFFBC0406B7A040  # Base ffffa68116598000 Limit ffffa68116591000, Current ...96680
T122 = 0xFFFFFA800B2BE8C0  # "Kernel stack not resident."
T116_RUN = 0xFFFF8A072084B080


def setup(monkeypatch, marks=None):
    system = K.fixture_system()
    for addr, mark in (marks or {}).items():
        system.thread(addr).mark = mark
    engine = system.engine()
    return system, engine, engine.dbg


def kernel_stack(t: K.FakeThread, frames=()) -> StackInput:
    return StackInput(frames=list(frames), arch="x64", kernel=True, thread=t.address,
                      stack_base=t.base, stack_limit=t.limit, kernel_stack=t.current,
                      bounds_origin="thread")


def test_high_water_is_the_first_written_qword_one_page_per_read(monkeypatch):
    mark = 0xFFFF808DE0A89000 + 0x2A58
    system, engine, pykd = setup(monkeypatch, {T116_WAIT: mark})
    engine.calls.clear()
    hw = M.read_high_water(pykd, kernel_stack(system.thread(T116_WAIT)))
    assert hw.address == 0xffff808de0a8ba58
    assert hw.used == 0xFFFF808DE0A90000 - mark == 0x45A8
    assert hw.remaining == 0x2A58 and hw.unreadable_pages == 0
    # the mark lies in the third page above StackLimit: three reads, then it stops
    assert engine.count("loadBytes") == 3 == hw.pages_read
    assert [c[1] for c in engine.calls if c[0] == "loadBytes"] == [
        (0xFFFF808DE0A89000, 0x1000), (0xFFFF808DE0A8A000, 0x1000), (0xFFFF808DE0A8B000, 0x1000)]


def test_high_water_never_below_the_deepest_frame_of_the_log(monkeypatch):
    # default mark: 0x800 below the saved SP (Current ffff808de0a8ee20)
    system, engine, pykd = setup(monkeypatch)
    hw = M.read_high_water(pykd, kernel_stack(system.thread(T116_WAIT)))
    assert hw.address == 0xFFFF808DE0A8EE20 - 0x800
    assert hw.used >= 0xFFFF808DE0A90000 - 0xFFFF808DE0A8EE20  # 0x11e0, what the walk shows


def test_not_resident_stack_makes_the_mark_unknown_not_zero(monkeypatch):
    system, engine, pykd = setup(monkeypatch)
    engine.calls.clear()
    hw = M.read_high_water(pykd, kernel_stack(system.thread(T122)))
    assert hw.address is None and hw.used is None and hw.unreadable_pages == 1
    assert engine.count("loadBytes") == 1
    r = analyze(StackInput(frames=[], arch="x64", kernel=True, stack_base=0xFFFFF8800EB5F000,
                           stack_limit=0xFFFFF8800EB59000, high_water=hw))
    assert r.high_water.used is None  # never shown as 0


def test_a_paged_out_page_below_the_mark_also_makes_it_unknown(monkeypatch):
    system, engine, pykd = setup(monkeypatch)
    del engine.pages[0xFFFF808DE0A8A000]
    hw = M.read_high_water(pykd, kernel_stack(system.thread(T116_WAIT)))
    assert hw.used is None and hw.unreadable_pages == 1 and hw.pages_read == 2


def test_user_stack_zero_scan_from_the_committed_bottom_when_in_the_dump(monkeypatch):
    # Wine commits the whole reserve (tests/realengine/FINDINGS.md): StackLimit says nothing,
    # the zero scan does. Shape of the seed dump: reserve 0x20000, StackBase 0x120000.
    _, engine, pykd = setup(monkeypatch)
    base, reserve, committed = 0x120000, 0x20000, 0x22000
    engine.map(reserve, base)
    engine.write(0x11F000 - 0x1A8, struct.pack("<Q", 0x1234) * 0x35)
    stack = StackInput(frames=[], arch="x64", kernel=False, stack_base=base,
                       stack_limit=reserve, committed_limit=committed)
    hw = M.read_high_water(pykd, stack)
    assert hw.address == 0x11ee58 and hw.used == base - 0x11EE58
    assert hw.remaining == 0x11EE58 - reserve  # against the whole reserve (the budget)
    # a minidump holds only [sp, StackBase): no mark from memory -> the TEB's page-granular one
    for page in range(reserve, 0x11F000, 0x1000):
        engine.pages.pop(page, None)
    assert M.read_high_water(pykd, stack) is None
    stack.frames = [Frame(index=0, sp=0x11F100, ret=0, call_site="seed!main+0x10",
                          module="seed", function="main", offset=0x10, ip=0x140001010)]
    r = analyze(stack)
    assert r.high_water.page_granular and r.high_water.used == base - committed


def expected_raw_frames(thread: K.FakeThread):
    """The physical frames a raw scan can find: every frame but the innermost (no return address
    points into it), at its Child-SP, named by the return address its callee pushed."""
    phys = [r for r in thread.rows if not r["inline"]]
    return [(r["sp"], prev["ret"], r["site"]) for prev, r in zip(phys, phys[1:])]


def test_raw_scan_rebuilds_the_real_return_addresses_of_fixture_101(monkeypatch):
    system, engine, pykd = setup(monkeypatch)
    t = system.thread(T101)
    stack = kernel_stack(t)  # the unwinder returned no frames
    engine.calls.clear()
    frames = M.raw_scan_frames(pykd, stack)
    want = expected_raw_frames(t)
    assert len(want) == 17
    assert [(f.sp, f.ip) for f in frames] == [(sp, ret) for sp, ret, _ in want]
    # named as knf names them (findSymbol is answered locally)
    assert [f.call_site for f in frames][:3] == ["nt!KiSwapThread+0xab5",
                                                 "nt!KiCommitThreadWait+0x134",
                                                 "nt!KeWaitForSingleObject+0x256"]
    assert frames[4].call_site == "win32kbase!UserPowerStateCallout+0x126"
    assert frames[-1].call_site == "nt!KiStartSystemThread+0x34"
    assert all(f.estimated for f in frames)
    # one memory read of [Current, StackBase) and one module list: nothing per frame
    assert engine.round_trips() == 2
    assert engine.count("loadPtrs") == 1 and engine.count("getModulesList") == 1
    assert [c[1] for c in engine.calls if c[0] == "loadPtrs"] == [
        (0xFFFFA68116596680, (0xFFFFA68116598000 - 0xFFFFA68116596680) // 8)]
    # sizes are the Child-SP differences of the log
    stack.frames, stack.frames_from = frames, "raw-scan"
    r = analyze(stack)
    sps = [sp for sp, _, _ in want]
    assert [f.size for f in r.frames[:-1]] == [b - a for a, b in zip(sps, sps[1:])]
    assert r.frames[0].size == 0xFFFFA68116596950 - 0xFFFFA68116596800 == 0x150  # KiSwapThread
    assert r.start_area == 0xFFFFA68116598000 - 0xFFFFA681165975C0
    assert r.frames_from == "raw-scan"


def test_raw_scan_keeps_the_walked_frames_and_continues_beyond_them(monkeypatch):
    system, engine, pykd = setup(monkeypatch)
    t = system.thread(T101)
    phys = [r for r in t.rows if not r["inline"]]
    walked = []
    for i, r in enumerate(phys[:5]):  # the unwinder gave up after frame 4
        site, mod, fn, off = parse_symbol(r["site"].replace("+0x", "+"))
        walked.append(Frame(index=i, sp=r["sp"], ret=r["ret"], call_site=site, module=mod,
                            function=fn, offset=off))
    stack = kernel_stack(t, walked)
    assert needs_raw_scan(stack)
    frames = M.raw_scan_frames(pykd, stack)
    assert frames[:5] == walked and not any(f.estimated for f in frames[:5])
    assert [f.index for f in frames] == list(range(len(frames)))
    beyond = frames[5:]
    assert [(f.sp, f.call_site) for f in beyond] == [
        (r["sp"], r["site"]) for r in phys[5:]]
    assert all(f.estimated for f in beyond)
    # the scan starts at the outermost walked frame, not at StackLimit
    assert [c[1][0] for c in engine.calls if c[0] == "loadPtrs"] == [phys[4]["sp"]]


def test_no_raw_scan_for_complete_walks_or_walks_that_reach_user_mode(monkeypatch):
    system, _, _ = setup(monkeypatch)

    def walked(addr):
        t = system.thread(addr)
        return kernel_stack(t, [Frame(index=i, sp=r["sp"], ret=r["ret"], call_site=r["site"],
                                      function=r["site"].split("!")[-1].split("+")[0])
                                for i, r in enumerate(t.rows) if not r["inline"]])

    assert not needs_raw_scan(walked(T101))  # ends at nt!KiStartSystemThread
    assert not needs_raw_scan(walked(T116_RUN))  # goes on to the user stack
    assert needs_raw_scan(kernel_stack(system.thread(T101)))  # no frames at all
    assert not needs_raw_scan(StackInput(frames=[]))  # bounds unknown: nothing to read


def test_attach_marks_the_stack_raw_scan_and_reads_the_high_water(monkeypatch):
    system, engine, pykd = setup(monkeypatch)
    stack = kernel_stack(system.thread(T101))
    M.attach(pykd, stack)
    assert stack.frames_from == "raw-scan" and len(stack.frames) == 17
    assert "rebuilt by a raw scan" in stack.warnings[0]
    assert stack.high_water.used == 0xFFFFA68116598000 - (0xFFFFA68116596680 - 0x800)
    engine.calls.clear()
    quiet = kernel_stack(system.thread(T101))
    M.attach(pykd, quiet, high_water=False, raw=False)  # --no-high-water: no reads at all
    assert quiet.high_water is None and engine.round_trips() == 0


def test_module_list_from_lm_when_getModulesList_is_missing(monkeypatch):
    _, engine, dbg = setup(monkeypatch)
    monkeypatch.delattr(engine.pykd, "getModulesList")
    lm = ("start             end                 module name\n"
          "00000001`40000000 00000001`4003e000   seed     C (private pdb symbols)  "
          "z:\\work\\seed.pdb\n"
          "00000001`70000000 00000001`70361000   ntdll      (export symbols)       ntdll.dll\n")
    engine.session["commands"] = {"lm": lm}
    assert M.module_ranges(dbg) == [(0x140000000, 0x14003E000, "seed"),
                                     (0x170000000, 0x170361000, "ntdll")]


@pytest.mark.parametrize("path", ["tests/realengine/recorded/seed_lm.txt"])
def test_parse_lm_on_the_real_engine_text(path):
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / path).read_text(encoding="utf-8")
    mods = parse_lm(text)
    assert (0x140000000, 0x14003E000, "seed") in mods and len(mods) == 8


def test_usage_prototype_collect_attach_analyze(monkeypatch):
    """What debugger.run would do (collect, attach, analyze), on a walk cut short after 6 rows."""
    from stackext.render import RenderOptions, render

    system = K.fixture_system()
    system.thread(T101).walk_stops_after = 6  # the unwinder stops in win32kbase
    engine = system.engine()
    before = engine.snapshot()
    stack = live.collect(engine.dbg, thread=T101)
    assert len(stack.frames) == 6 and needs_raw_scan(stack)
    engine.calls.clear()
    M.attach(engine.dbg, stack)
    assert engine.snapshot() == before
    # one stack read + one module list for the scan, then pages up to the mark for high water
    assert engine.count("loadPtrs") == 1 and engine.count("getModulesList") == 1
    assert engine.count("loadBytes") == stack.high_water.pages_read == 5
    r = analyze(stack)
    assert r.frames_from == "raw-scan" and len(r.frames) == 6 + 12
    assert [f.call_site for f in r.frames[6:8]] == ["win32kbase!W32CalloutDispatch+0x1a6",
                                                    "win32k!W32CalloutDispatchThunk+0x2b"]
    assert r.frames[5].size == 0xFFFFA68116596E50 - 0xFFFFA68116596E00  # walked: exact
    assert r.frames[6].estimated and not r.frames[5].estimated
    text = render([r], "table", RenderOptions())
    assert "deepest  ever written" in text and "rebuilt by a raw scan" in text


def _usage_json(engine, argv):
    import json

    from fakes.pykd import output_text

    from stackext import report_json as RJ
    from stackext import usage

    engine.output.clear()
    usage.main(argv, debugger=engine.dbg)
    out = output_text(engine)
    body = out.split(RJ.MARKER_BEGIN, 1)[1].split(RJ.MARKER_END, 1)[0]
    return json.loads(body)["stacks"][0]


def test_usage_command_reports_high_water_and_raw_scan_and_restores_state(monkeypatch):
    system = K.fixture_system()
    system.thread(T101).walk_stops_after = 6
    engine = system.engine()
    before = engine.snapshot()
    s = _usage_json(engine, ["--thread", "ffffbc04`06b7a040", "--format", "json",
                                          "--no-locals"])
    assert engine.snapshot() == before
    assert s["frames_from"] == "raw-scan" and len(s["frames"]) == 18
    assert s["frames"][6]["estimated"] is True and s["frames"][5]["estimated"] is False
    assert s["high_water"]["used"] >= s["used"] > 0
    assert any("raw scan" in w for w in s["warnings"])
    s = _usage_json(engine, ["--thread", "ffffbc04`06b7a040", "--format", "json",
                                          "--no-locals", "--no-high-water"])
    assert s["high_water"] is None


def test_user_stack_scan_of_a_1mb_reserve_costs_log2_round_trips(monkeypatch):
    """The seed dump's stack pages as the real engine read them (254 pages from the committed
    bottom, two written): 1, 2, 4, ... pages per loadBytes."""
    from fakes import pykd as fakepykd

    engine = fakepykd.fake("real_seed_user_x64")
    stack = live.collect(engine.dbg)
    engine.calls.clear()
    hw = M.read_high_water(engine.dbg, stack)
    assert hw.pages_read == 253 and hw.used == 0x120000 - hw.address
    assert hw.address == 0x11ef70
    assert engine.count("loadBytes") <= 9
