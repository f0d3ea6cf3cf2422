"""The core on hand-built frames. Every row is copied from a real log in fixtures/ (named)."""

from __future__ import annotations

import pytest
from build_frames import frames
from real_rows import DEEPDIVE, DOKANY, DPC_SWITCH, EXPANDED, ISR, K7, QL2300, SESSION

from stackext.analyze import AnalysisOptions, analyze
from stackext.model import Bugcheck, Gap, GapKind, StackInput, UnknownReason
from stackext.words import verdict


def test_x64_size_is_charged_to_the_frame_that_owns_it():
    r = analyze(StackInput(frames=frames(DEEPDIVE), arch="x64"))
    sizes = [f.size for f in r.frames]
    # kf prints 8, 160, 60, a0 on rows 1..4: the callee (rows 0..3) owns each
    assert sizes[:4] == [0x8, 0x160, 0x60, 0xA0]
    assert r.frames[1].call_site == "KERNELBASE!CreateFileW+0x2cd" and r.frames[1].size == 0x160
    assert sizes[4] is None and r.frames[4].size_unknown_reason == UnknownReason.BASE_UNKNOWN
    assert not r.kernel and r.budget is None and r.budget_origin is None
    assert r.used == 0x8 + 0x160 + 0x60 + 0xA0 and r.used_is_lower_bound
    assert [s.kind for s in r.segments] == ["user"]


def test_double_fault_splits_ist_and_thread_stack_and_proves_the_overflow():
    s = StackInput(frames=frames(QL2300), stack_base=0xFFFFF8800B9C7000,
                   stack_limit=0xFFFFF8800B9C1000, bounds_origin="thread",
                   bugcheck=Bugcheck(0x7F, [8, 0x80050033, 0x406F8, 0xFFFFF88001482416]))
    r = analyze(s)
    assert [(g.kind, g.first_frame, g.last_frame) for g in r.segments] == [
        ("ist", 0, 2), ("thread", 3, 7)]
    assert r.thread_segment == 1
    f = r.frames
    assert f[0].size == 8 and f[1].size == 0x140
    assert f[2].size is None and f[2].size_unknown_reason == UnknownReason.OTHER_STACK
    assert f[3].size == 0x140 and f[4].size == 0x80 and f[5].size == 0x70
    assert f[7].size is None and f[7].size_unknown_reason == UnknownReason.STACK_CONTINUES
    assert r.not_shown == 0xFFFFF8800B9C7000 - 0xFFFFF8800B9C11B0
    assert r.budget == 0x6000 and r.budget_origin == "thread"
    assert r.used == 0x60F0 and not r.used_is_lower_bound
    assert r.remaining == -0xF0 and r.below_limit == 0xF0
    assert r.overflow and r.double_fault
    assert "240 bytes below StackLimit" in verdict(r)
    assert f[3].driver and f[4].driver and not f[5].driver and not f[6].driver
    assert r.heaviest_drivers[:2] == [3, 4]


def test_complete_thread_start_area_inline_frames_and_budget_from_thread():
    s = StackInput(frames=frames(SESSION), stack_base=0xFFFFA68116598000,
                   stack_limit=0xFFFFA68116591000, bounds_origin="thread")
    r = analyze(s)
    f = r.frames
    assert f[11].inline and f[11].size == 0 and f[13].size == 0
    assert f[10].size == 0xE0  # PopInvokeWin32Callout owns up to the next physical frame
    assert f[12].size == 0x70
    assert f[3].size == 0x3A0  # KeWaitForSingleObject
    assert f[19].size is None and f[19].size_unknown_reason == UnknownReason.START_AREA
    assert r.start_area == 0xA40
    assert r.used == 0x1940 and r.budget == 0x7000 and r.remaining == 0x7000 - 0x1940
    assert not r.overflow and verdict(r) == "no overflow" and r.verdict_proven
    # every byte of the used stack is either a frame's or the start area's
    assert sum(x.size or 0 for x in f) + r.start_area == r.used
    assert r.heaviest[0] == 3 and 19 not in r.heaviest
    assert r.not_shown is None  # the walk reached the thread's start
    assert r.heaviest_drivers == []  # nt and win32k* are Windows


def test_bounds_from_kistartsystemthread_arguments_when_no_thread_block():
    r = analyze(StackInput(frames=frames(SESSION)))
    assert r.budget_origin == "log" and r.budget == 0x7000
    assert r.stack_base == 0xFFFFA68116598000 and r.used == 0x1940


def test_kistartsystemthread_arguments_that_disagree_with_the_frame_are_ignored():
    rows = list(SESSION)
    rows[-1] = rows[-1][:3] + (("ffffa681`26598000", "ffffa681`26591000", "0", "0"),)
    r = analyze(StackInput(frames=frames(rows)))
    assert r.budget_origin == "default" and r.budget == 0x6000 and r.used_is_lower_bound
    assert r.frames[-1].size_unknown_reason == UnknownReason.BASE_UNKNOWN


def test_x86_size_is_own_ebp_minus_inner_ebp_and_warning_breaks_the_chain():
    fs = frames(K7)
    fs[1].gap_before = Gap(GapKind.UNWIND_WARNING, "022.txt:8",
                           "WARNING: Stack unwind information not available. Following frames "
                           "may be wrong.")
    r = analyze(StackInput(frames=fs))
    f = r.frames
    assert r.arch == "x86" and r.kernel
    assert f[0].size is None and f[0].size_unknown_reason == UnknownReason.NO_CURRENT_SP
    assert f[1].size is None and f[1].size_unknown_reason == UnknownReason.FRAMES_MISSING
    assert f[2].size == 0x18 and f[3].size == 0x20 and f[4].size == 0xBC
    assert f[6].size == 0x9C and f[7].size == 0
    assert f[8].size_unknown_reason == UnknownReason.OTHER_STACK
    assert [g.kind for g in r.segments] == ["thread", "user"]
    assert r.budget == 0x3000 and r.budget_origin == "default"
    assert f[1].driver and f[1].module == "K7Sentry"


def test_x86_innermost_frame_uses_current_esp_when_known():
    r = analyze(StackInput(frames=frames(K7[:3]), current_sp=0xA72AB990))
    assert r.frames[0].size == 0xA72AB9D4 - 0xA72AB990


def test_x86_huge_frame_on_a_user_stack_is_real_not_a_switch():
    # shape of the real x86 kf that shows fbfb8 for an _alloca of ~1 MB
    rows = [("0012f000", "00401010", "app!leaf+0x10"),
            ("0022afb8", "00401020", "app!uses_alloca+0x30"),
            ("0022afd0", "00000000", "app!main+0x20")]
    r = analyze(StackInput(frames=frames(rows)))
    assert len(r.segments) == 1 and r.segments[0].kind == "user"
    assert r.frames[1].size == 0xFBFB8


def test_isr_stack_is_its_own_segment():
    r = analyze(StackInput(frames=frames(ISR)))
    assert [(g.kind, g.first_frame, g.last_frame) for g in r.segments] == [
        ("isr", 0, 3), ("thread", 4, 7)]
    assert r.frames[3].size_unknown_reason == UnknownReason.OTHER_STACK
    assert r.frames[4].size == 0x190
    assert r.frames[7].size_unknown_reason == UnknownReason.BASE_UNKNOWN
    assert r.used_is_lower_bound and r.used == 0x190 + 0x380 + 0x50


def test_limit_alone_proves_the_overflow_and_by_how_much():
    r = analyze(StackInput(frames=frames(DOKANY), limit_hint=0xFFFF84028B90A000,
                           bugcheck=Bugcheck(0x7F, [8, 0xFFFFF8037A483E50,
                                                    0xFFFF84028B909FC0, None])))
    assert [g.kind for g in r.segments] == ["ist", "thread"]
    assert r.overflow and r.double_fault and r.below_limit == 0x40
    assert r.remaining == -0x40
    assert r.frames[3].size_unknown_reason == UnknownReason.BASE_UNKNOWN
    assert "64 bytes below StackLimit" in verdict(r)


def test_double_fault_without_thread_frames_says_how_to_get_there():
    r = analyze(StackInput(frames=frames(DOKANY[:3])))
    assert r.thread_segment is None and not r.overflow and r.double_fault
    assert ".trap" in verdict(r)


def test_budget_option_overrides_and_parses_in_bytes():
    s = StackInput(frames=frames(SESSION), stack_base=0xFFFFA68116598000,
                   stack_limit=0xFFFFA68116591000, bounds_origin="thread")
    r = analyze(s, AnalysisOptions(budget=0x1800))
    assert r.budget == 0x1800 and r.budget_origin == "option"
    assert r.used == 0x1940 and r.remaining == 0x1800 - 0x1940 and r.overflow


def test_gap_in_frame_numbers_makes_the_size_unknown():
    fs = frames(DEEPDIVE)
    for f in fs[2:]:
        f.index += 5  # as if frames 02-06 were elided
    r = analyze(StackInput(frames=fs))
    assert r.frames[1].size is None and r.frames[1].size_unknown_reason == UnknownReason.FRAMES_MISSING
    assert r.frames[0].size == 8 and r.frames[2].size == 0x60


def test_driver_option_wins_over_the_inbox_table_and_heavy_threshold():
    s = StackInput(frames=frames(SESSION), stack_base=0xFFFFA68116598000,
                   stack_limit=0xFFFFA68116591000, bounds_origin="thread")
    r = analyze(s, AnalysisOptions(drivers=("win32kbase",), heavy=0x100, top=3))
    assert r.frames[4].driver and not r.frames[3].driver
    assert r.heaviest_drivers[0] == 6  # W32CalloutDispatch 0x150
    assert r.frames[3].heavy and not r.frames[10].heavy
    assert len(r.heaviest) == 3


def test_module_and_function_rollups_count_recursion_once():
    rows = [("fffff880`0b9c1000", "0", "drv!Leaf+0x10")]
    sp = 0xFFFFF8800B9C1000
    for _ in range(6):
        sp += 0x90
        rows.append(("%x" % sp, "0", "drv!Recurse+0x42"))
    sp += 0x100
    rows.append(("%x" % sp, "0", "nt!IofCallDriver+0x55"))
    r = analyze(StackInput(frames=frames(rows)))
    fn = {x.function: x for x in r.functions}
    assert fn["drv!Recurse"].count == 6 and fn["drv!Recurse"].bytes == 5 * 0x90 + 0x100
    mod = {m.module: m for m in r.modules}
    assert mod["drv"].frames == 7 and mod["drv"].driver and not mod["nt"].driver
    assert r.cycles and r.cycles[0].repeats >= 3


def test_unknown_architecture_is_an_error():
    from stackext.errors import StackextError

    with pytest.raises(StackextError):
        analyze(StackInput(frames=frames(DEEPDIVE), arch="mips"))


def test_input_frames_are_not_changed():
    s = StackInput(frames=frames(DEEPDIVE))
    analyze(s)
    assert all(f.size is None for f in s.frames)


def test_dpc_stack_is_labelled_and_not_charged_to_the_thread():
    r = analyze(StackInput(frames=frames(DPC_SWITCH)))
    assert [(g.kind, g.first_frame, g.last_frame) for g in r.segments] == [
        ("dpc", 0, 3), ("thread", 4, 7)]
    assert r.frames[3].size_unknown_reason == UnknownReason.OTHER_STACK
    assert r.frames[0].size == 0x38 and not r.frames[0].heavy
    assert r.heaviest_drivers == [6]  # only the thread stack's driver frames rank


def test_expanded_stack_segment():
    r = analyze(StackInput(frames=frames(EXPANDED), stack_base=0xFFFFB80639768000,
                           stack_limit=0xFFFFB80639761000, bounds_origin="thread"))
    assert [(g.kind, g.first_frame, g.last_frame) for g in r.segments] == [
        ("expanded", 0, 1), ("thread", 2, 5)]
    assert r.frames[0].size == 0x500 and r.frames[1].size_unknown_reason == UnknownReason.OTHER_STACK
    assert r.used == 0xFFFFB80639768000 - 0xFFFFB80639767060


def test_cycle_of_the_real_004_stack_text():
    from stackext.sources import windbg

    path = "fixtures/004_ql2300_0x7f8_stacktext_doublefault_x64.txt"
    from pathlib import Path

    r = analyze(next(iter(windbg.read_file(str(Path(__file__).resolve().parent.parent
                                                    / path)))))
    c = r.cycles[0]
    # IopfCompleteRequest -> 7 rosempio frames -> 3 CLASSPNP frames, again and again
    assert len(c.call_sites) == 11 and c.repeats == 5
    assert sum(1 for s in c.call_sites if s.startswith("rosempio!")) == 7
    assert sum(1 for s in c.call_sites if s.startswith("CLASSPNP!")) == 3
    assert "nt!IopfCompleteRequest+0x341" in c.call_sites
    assert c.bytes_per_round == 1232


def test_recursion_through_different_call_sites_is_found_by_function():
    rows = []
    sp = 0xFFFFF8800B9C1000
    for i in range(8):
        rows.append(("%x" % sp, "0", "drv!Walk+0x%x" % (0x40 if i % 2 else 0x90)))
        sp += 0x80
    rows.append(("%x" % sp, "0", "nt!IofCallDriver+0x55"))
    r = analyze(StackInput(frames=frames(rows)))
    assert r.cycles and r.cycles[0].repeats == 8 and r.cycles[0].bytes_per_round == 0x80


def test_double_fault_without_bounds_notes_arg3_at_the_innermost_sp():
    # fixtures/002's frames and bugcheck, without its STACK_OVERFLOW line
    r = analyze(StackInput(frames=frames(DOKANY),
                           bugcheck=Bugcheck(0x7F, [8, 0xFFFFF8037A483E50,
                                                    0xFFFF84028B909FC0, None])))
    assert not r.overflow and r.double_fault
    assert "probably a kernel stack overflow" in verdict(r)
    assert "Arg3 is the innermost thread-stack SP, 64 bytes below a page boundary" in verdict(r)
