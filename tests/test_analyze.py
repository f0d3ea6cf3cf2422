"""The core on hand-built frames. Every row is copied from a real log in fixtures/ (named)."""

from __future__ import annotations

import pytest
from build_frames import frames

from stackext.analyze import AnalysisOptions, analyze
from stackext.model import Bugcheck, Gap, GapKind, StackInput, UnknownReason
from stackext.words import verdict

# fixtures/012_x64deepdive_knf_memory_x64_user.txt (knf; Memory 8, 160, 60, a0 on rows 1-4)
DEEPDIVE = [
    ("00000000`0029bbf8", "000007fe`fdd24d76", "ntdll!NtCreateFile"),
    ("00000000`0029bc00", "00000000`77ac2aad", "KERNELBASE!CreateFileW+0x2cd"),
    ("00000000`0029bd60", "000007fe`fe5b9ebd", "kernel32!CreateFileWImplementation+0x7d"),
    ("00000000`0029bdc0", "000007fe`fe55dc08", "usp10!UniStorInit+0xdd"),
    ("00000000`0029be60", "000007fe`fe5534af", "usp10!InitUnistor+0x1d8"),
]

# fixtures/005_ql2300_0x7f8_thread_base_limit_x64.txt (!thread: Base fffff8800b9c7000,
# Limit fffff8800b9c1000; the first 8 rows)
QL2300 = [
    ("fffff88002174768", "fffff80001cf2f69", "nt!KeBugCheckEx"),
    ("fffff88002174770", "fffff80001cefa4b", "nt!KiBugCheckDispatch+0x69"),
    ("fffff880021748b0", "fffff88001482416", "nt!KiDoubleFaultAbort+0x28b"),
    ("fffff8800b9c0f10", "fffff88001486c7a", "ql2300+0x69416"),
    ("fffff8800b9c1050", "fffff8800136c113", "ql2300+0x6dc7a"),
    ("fffff8800b9c10d0", "fffff80001c0d5f3", "storport!RaidpAdapterContinueScatterGather+0xc3"),
    ("fffff8800b9c1140", "fffff8800136be7a", "hal!HalBuildScatterGatherList+0x203"),
    ("fffff8800b9c11b0", "fffff8800136baf7", "storport!RaUnitStartIo+0x28a"),
]


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


# fixtures/101_jellykuo_session_space_thread_base_limit_x64.txt (!thread, Base ffffa68116598000,
# Limit ffffa68116591000), complete to KiStartSystemThread with two inline rows
SESSION = [
    ("ffffa681`165966c0", "fffff805`3903f405", "nt!KiSwapContext+0x76"),
    ("ffffa681`16596800", "fffff805`3903d764", "nt!KiSwapThread+0xab5"),
    ("ffffa681`16596950", "fffff805`3903c996", "nt!KiCommitThreadWait+0x134"),
    ("ffffa681`16596a00", "fffff99b`3c078c87", "nt!KeWaitForSingleObject+0x256"),
    ("ffffa681`16596da0", "fffff99b`3c0787b2", "win32kbase!QueuePowerRequest+0x187"),
    ("ffffa681`16596e00", "fffff99b`3c0e35d6", "win32kbase!UserPowerStateCallout+0x126"),
    ("ffffa681`16596e50", "fffff99b`3c5710cb", "win32kbase!W32CalloutDispatch+0x1a6"),
    ("ffffa681`16596fa0", "fffff805`395f168b", "win32k!W32CalloutDispatchThunk+0x2b"),
    ("ffffa681`16596fd0", "fffff805`394d3612", "nt!ExCallSessionCallBack+0xa3"),
    ("ffffa681`16597090", "fffff805`395784b7", "nt!PsInvokeWin32Callout+0x82"),
    ("ffffa681`165970c0", "fffff805`39578307", "nt!PopInvokeWin32Callout+0x177"),
    ("(inline)", None, "nt!PerfIsGroupOnInGroupMask+0x25"),
    ("ffffa681`165971a0", "fffff805`395f9630", "nt!PopDispatchStateCallout+0x5b"),
    ("(inline)", None, "nt!PoStartPowerStateTasks+0x25"),
    ("ffffa681`16597210", "fffff805`395f9b20", "nt!PopIssueActionRequest+0x1b8"),
    ("ffffa681`165972c0", "fffff805`3915ac68", "nt!PopPolicyWorkerAction+0x80"),
    ("ffffa681`16597340", "fffff805`390b6625", "nt!PopPolicyWorkerThread+0xa8"),
    ("ffffa681`16597380", "fffff805`390e5c07", "nt!ExpWorkerThread+0x155"),
    ("ffffa681`16597570", "fffff805`3923f044", "nt!PspSystemThreadStartup+0x57"),
    ("ffffa681`165975c0", "00000000`00000000", "nt!KiStartSystemThread+0x34",
     ("ffffa681`16598000", "ffffa681`16591000", "0", "0")),
]


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
    assert not r.overflow and verdict(r) == "ok"
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


# fixtures/022_k7sentry_kb_x86_kernel.txt (kb; an unwind WARNING after frame 0)
K7 = [
    ("a72ab9d4", "88c8b8b6", "nt!ProbeForRead+0x2e"),
    ("a72aba14", "82a39d9d", "K7Sentry+0x78b6"),
    ("a72aba2c", "82c31324", "nt!IofCallDriver+0x63"),
    ("a72aba4c", "82c34673", "nt!IopSynchronousServiceTail+0x1f8"),
    ("a72abb08", "82c7b90d", "nt!IopXxxControlFile+0x810"),
    ("a72abb68", "82c28ed6", "nt!NtDeviceIoControlFile+0x2a"),
    ("a72abc04", "82a40a06", "nt!ObpRemoveObjectRoutine+0x5e"),
    ("a72abc04", "76e170d4", "nt!KiSystemServicePostCall"),
    ("0029f5b4", "00000000", "0x76e170d4"),
]


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


# fixtures/111_jellykuo_0x133_clock_isr_stack_to_thread_x64.txt (k; ISR stack then thread)
ISR = [
    ("fffff807`0cb0fa28", "fffff807`09ed00e1", "nt!KeBugCheckEx"),
    ("fffff807`0cb0fa30", "fffff807`09ecf95c", "nt!KeAccumulateTicks+0x231"),
    ("fffff807`0cb0ff70", "fffff807`0a03429a", "nt!KiCallInterruptServiceRoutine+0x9c"),
    ("fffff807`0cb0ffb0", "fffff807`0a034b07", "nt!KiInterruptSubDispatchNoLockNoEtw+0xfa"),
    ("ffffb806`39767060", "fffff807`09f39da5", "nt!KiInterruptDispatchNoLockNoEtw+0x37"),
    ("ffffb806`397671f0", "fffff807`09f39c46", "nt!KiInitiateGenericCallDpc+0xb5"),
    ("ffffb806`39767570", "fffff807`0a0370a4", "nt!PspSystemThreadStartup+0x57"),
    ("ffffb806`397675c0", "00000000`00000000", "nt!KiStartSystemThread+0x34"),
]


def test_isr_stack_is_its_own_segment():
    r = analyze(StackInput(frames=frames(ISR)))
    assert [(g.kind, g.first_frame, g.last_frame) for g in r.segments] == [
        ("isr", 0, 3), ("thread", 4, 7)]
    assert r.frames[3].size_unknown_reason == UnknownReason.OTHER_STACK
    assert r.frames[4].size == 0x190
    assert r.frames[7].size_unknown_reason == UnknownReason.BASE_UNKNOWN
    assert r.used_is_lower_bound and r.used == 0x190 + 0x380 + 0x50


# fixtures/002_dokany944_stacktext_doublefault_x64.txt (STACK_OVERFLOW: Stack Limit only)
DOKANY = [
    ("fffff803`7a483d08", "fffff803`769d5929", "nt!KeBugCheckEx"),
    ("fffff803`7a483d10", "fffff803`769d0783", "nt!KiBugCheckDispatch+0x69"),
    ("fffff803`7a483e50", "fffff803`768620e3", "nt!KiDoubleFaultAbort+0x2c3"),
    ("ffff8402`8b909fc0", "fffff803`76861fa9", "nt!RtlpHpVsChunkSplit+0x43"),
]


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


# The corpus has no DPC-stack or expanded-stack switch: these two are built in the shape such
# stacks have (the DPC stack below the thread stack's range, KxRetireDpcList / KiDpcInterrupt at
# the seam; a KeExpandKernelStackAndCallout callout on a fresh segment).
DPC_SWITCH = [
    ("fffff807`0cb2f9e8", "fffff807`09e2e6ac", "mydrv!DpcRoutine+0x40"),
    ("fffff807`0cb2fa20", "fffff807`09e2d8b6", "nt!KiExecuteAllDpcs+0x2e8"),
    ("fffff807`0cb2fb80", "fffff807`09e7f265", "nt!KiRetireDpcList+0x1a7"),
    ("fffff807`0cb2fde0", "fffff807`09e1f0a0", "nt!KxRetireDpcList+0x5"),
    ("ffffb806`39767060", "fffff807`09f39da5", "nt!KiDispatchInterruptContinue"),
    ("ffffb806`39767090", "fffff807`09f39c46", "nt!KiDpcInterrupt+0x2e0"),
    ("ffffb806`39767230", "fffff807`09efee2f", "mydrv!SpinWait+0x20"),
    ("ffffb806`39767280", "00000000`00000000", "nt!KiStartSystemThread+0x34"),
]
EXPANDED = [
    ("ffffb806`3a01f800", "fffff807`09e2e6ac", "mydrv!DeepCallout+0x1e0"),
    ("ffffb806`3a01fd00", "fffff807`09e2d8b6", "nt!KySwitchKernelStackCallout+0x2e"),
    ("ffffb806`39767060", "fffff807`09e7f265", "nt!KiSwitchKernelStackAndCallout+0x5f"),
    ("ffffb806`397671f0", "fffff807`09e1f0a0", "nt!KeExpandKernelStackAndCalloutInternal+0x8c"),
    ("ffffb806`39767240", "fffff807`09f39c46", "mydrv!Dispatch+0x30"),
    ("ffffb806`39767280", "00000000`00000000", "nt!KiStartSystemThread+0x34"),
]


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
