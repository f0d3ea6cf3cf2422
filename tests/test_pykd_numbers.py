"""The pykd path's per-frame numbers: equal to a hand computation of Child-SP (x64) / ChildEBP
(x86) differences on the same real stack, equal to the log reader's numbers for the same fixture,
and engine round trips that do not grow with the number of frames."""

from __future__ import annotations

import pytest
from fakes import pykd as fakepykd

from stackext.analyze import AnalysisOptions, analyze
from stackext.sources import windbg
from stackext.sources.pykd import live as L

ROOT_FIXTURES = fakepykd.SESSIONS.parent


def pykd_report(monkeypatch, session):
    engine = fakepykd.fake(session)
    return engine, analyze(L.collect(engine.dbg), AnalysisOptions())


def test_x64_sizes_are_child_sp_differences(monkeypatch):
    engine, report = pykd_report(monkeypatch, "005_doublefault_x64")
    sps = [int(f["sp"], 16) for f in engine.session["threads"][0]["frames"]]
    # x64: frame N owns Child-SP[N+1] - Child-SP[N] (kf prints it on row N+1); the thread-stack
    # frames of fixture 005 are rows 3..27, the double-fault (IST) stack rows 0..2.
    for n in list(range(0, 2)) + list(range(3, 27)):
        assert report.frame(n).size == sps[n + 1] - sps[n], n
    assert report.frame(0xb).size == 0xFFFFF8800B9C1670 - 0xFFFFF8800B9C13F0  # 0x280
    assert report.frame(2).size is None  # next frame is on another stack


def test_x86_sizes_are_child_ebp_differences(monkeypatch):
    engine, report = pykd_report(monkeypatch, "022_k7sentry_x86")
    thread = engine.session["threads"][0]
    ebps = [int(f["fp"], 16) for f in thread["frames"]]
    # x86: the row's own function owns ChildEBP[N] - ChildEBP[N-1]; frame 0 needs the live ESP.
    assert report.frame(0).size == ebps[0] - int(thread["regs"]["esp"], 16)
    for n in range(1, 7):
        assert report.frame(n).size == ebps[n] - ebps[n - 1], n
    assert report.frame(1).size == 0x40  # K7Sentry+0x78b6: a72aba14 - a72ab9d4


def test_real_engine_recording_matches_its_own_kf(monkeypatch):
    """seed: real dbgeng's kf printed 0x890 on log_struct's row = MyStruct_toDebugStr's frame."""
    _, report = pykd_report(monkeypatch, "real_seed_user_x64")
    assert report.frame(4).call_site == "seed!MyStruct_toDebugStr+0x72"
    assert report.frame(4).size == 0x890
    kf = (ROOT_FIXTURES.parent / "tests" / "realengine" / "recorded" / "seed_kf.txt")
    if kf.exists():
        memory = [line.split()[0] for line in kf.read_text().splitlines()[5:]]
        for n, cell in enumerate(memory[:-1]):  # row n+1's Memory = frame n's size
            assert report.frame(n).size == int(cell, 16), n


@pytest.mark.parametrize("session, fixture", [
    ("005_doublefault_x64", "005_ql2300_0x7f8_thread_base_limit_x64.txt"),
    ("102_vidschworker_x64", "102_jellykuo_0x19c_vidschiworker_thread_base_limit_x64.txt"),
    ("022_k7sentry_x86", "022_k7sentry_kb_x86_kernel.txt"),
    ("013_ldrp_user_x64", "013_ldrpdodebuggerbreak_kn_kf_x64_user.txt"),
])
def test_same_numbers_as_the_log_reader(monkeypatch, session, fixture):
    items = [i for i in windbg.read_file(str(ROOT_FIXTURES / fixture))
             if not isinstance(i, windbg.EmbeddedJson)]
    log = analyze(items[0], AnalysisOptions())
    _, live = pykd_report(monkeypatch, session)
    assert [f.index for f in live.frames] == [f.index for f in log.frames]
    assert [f.call_site for f in live.frames] == [f.call_site for f in log.frames]
    compared = 0
    for a, b in zip(live.frames, log.frames):
        if b.size is not None and not (a.index == 0 and live.arch == "x86"):
            assert a.size == b.size, (a.index, a.call_site)
            compared += 1
    assert compared >= len(log.frames) // 2


def _costs(monkeypatch, frames, modules):
    engine = fakepykd.fake(fakepykd.synthetic_session(frames, modules))
    analyze(L.collect(engine.dbg), AnalysisOptions())
    return engine


def test_round_trips_do_not_grow_with_frames(monkeypatch):
    costs = {n: _costs(monkeypatch, n, 4) for n in (10, 100, 1000)}
    rt = {n: e.cost("round-trip") for n, e in costs.items()}
    assert rt[1000] <= rt[10] and rt[100] <= rt[10]
    # symbol lookups are local and may be one per frame, no more
    assert all(e.count("findSymbol") <= n for n, e in costs.items())
    assert all(e.count("module") <= 4 for e in costs.values())


def test_round_trips_grow_at_most_one_per_distinct_module(monkeypatch):
    small = _costs(monkeypatch, 10, 4).cost("round-trip")
    big = _costs(monkeypatch, 1000, 40).cost("round-trip")
    assert big <= small + 40
