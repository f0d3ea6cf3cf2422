"""x86 WinDbg text from the field (fixtures/field/): a trap taken in kernel mode, split between
the trap handler's row and the faulting frame by the trap frame the log gives; Child-SP listings
with 8-digit values read by the Child-SP rule; a null ChildEBP at the end of an EBP chain."""

from __future__ import annotations

import json
from pathlib import Path

from stackext import report_json as RJ
from stackext import words
from stackext.analyze import analyze
from stackext.model import SizeNote, UnknownReason
from stackext.render import render
from stackext.sources.windbg import EmbeddedJson, read_file, read_stacks

ROOT = Path(__file__).resolve().parent.parent
FIELD = ROOT / "fixtures" / "field"


def reports(name):
    return [analyze(s) for s in read_file(str(FIELD / name)) if not isinstance(s, EmbeddedJson)]


def sizes(r, *indexes):
    return [r.frame(i).size for i in indexes]


def test_trap_frame_line_splits_kitrap0e_from_the_faulting_win32k_frame():
    # TRAP_FRAME: b22192e8, .trap esp=b221935c ebp=b2219374: bComputeIDs owns EBP - ESP = 0x18
    # (its prologue: sub esp,10h; push ebx; push edi), KiTrap0E the 0x8c below the fault ESP
    (r,) = reports("x86_trap_metasploit_ms09065_win32k.txt")[:1]
    assert r.arch == "x86" and r.kernel
    assert r.frame(5).call_site == "nt!KiTrap0E+0xcc"
    assert sizes(r, 4, 5, 6, 7) == [0x60, 0x8c, 0x18, 0x34]
    assert r.frame(5).trap_frame == 0xb22192e8
    assert r.used == 3876 and r.frame(r.heaviest[0]).call_site == "win32k!bLoadTTF+0x7c"
    assert 6 not in r.heaviest  # was "top 4" with 0xa4


def test_trap_frame_of_a_win8_dispatch_splits_at_the_registers():
    r = reports("x86_trap_j00ru_ntaccesscheck_0x1e.txt")[0]
    assert r.frame(0x0a).call_site == "nt!KiTrap0E+0x1a7"
    # 86bf9a14 + 0x74 = 86bf9a88 = .trap's esp; SeAccessCheckByType 86bf9bbc - 86bf9a88
    assert sizes(r, 0x09, 0x0a, 0x0b) == [0x6c, 0x100, 0x134]
    assert r.frame(0x0a).trap_frame == 0x86bf9a14
    assert r.used == 3208 and r.heaviest[:3] == [0x08, 0x02, 0x0b]


def test_registers_alone_split_the_trap_when_eip_and_ebp_match_the_rows():
    # no TRAP_FRAME line survives in this copy: .trap's eip=92f051ea (KiTrap0E's RetAddr)
    # esp=95ee05d4 ebp=95ee0600 (vSrcCopyS1D32's ChildEBP) give the fault ESP
    r = reports("x86_trap_ddctf_win32k_0x50_registers_only.txt")[0]
    assert sizes(r, 3, 4, 5) == [0x88, 0x8c, 0x2c]
    assert r.frame(4).trap_frame == 0x95ee05d4 - 0x74
    assert r.used == 2900 and r.heaviest[:2] == [2, 6]


def test_kv_trapframe_tail_splits_across_the_unwind_warning():
    # fixture 201: (FPO: [0,0] TrapFrame @ b200be40); b200be40 + 0x74 = b200beb4 = .trap's esp
    (s,) = [s for s in read_file(str(ROOT / "fixtures" /
                                     "201_crbug51070_atmfd_kv_fpo_trapframe_x86_kernel.txt"))]
    r = analyze(s)
    assert sizes(r, 5, 6) == [0x8c, 0x28]
    assert r.unattributed == 0 and r.used == 5064


def test_trap_without_its_trap_frame_keeps_the_total_and_says_so():
    # fixture 021 prints no TRAP_FRAME and no registers: memcpy keeps KiTrap0E..memcpy's 0x94,
    # marked, unranked; KiTrap0E's own size is unknown
    (s,) = list(read_file(str(ROOT / "fixtures" / "021_avgidsdriverx_stacktext_x86_kernel.txt")))
    r = analyze(s)
    trap, faulted = r.frame(1), r.frame(2)
    assert trap.size is None and trap.size_unknown_reason is UnknownReason.TRAP_FRAME
    assert faulted.size == 0x94 and faulted.size_note is SizeNote.INCLUDES_TRAP_FRAME
    assert 2 not in r.heaviest and r.used == 908
    doc = json.loads(render([r], "json"))
    (f2,) = [f for f in doc["stacks"][0]["frames"] if f["index"] == 2]
    assert f2["size"] == 0x94 and f2["size_note"] == "includes-trap-frame"
    back = RJ.load_stack(doc["stacks"][0]).frame(2)
    assert back.size_note is SizeNote.INCLUDES_TRAP_FRAME
    assert "incl. trap frame" in render([r], "table")


def test_8_digit_child_sp_with_64_bit_args_is_the_x64_rule():
    # an older WinDbg's x64 view of a WoW64 thread: "Child-SP RetAddr : Args to Child" header,
    # 8-digit SPs, 64-bit arguments. size(i) = sp(i+1) - sp(i), as the 16-digit listing of the
    # same path in realtext 05 gives (03 wow64!Wow64LdrpInitialize 0x550, frame 00 8 bytes)
    r = reports("wow64_host_kv_8digit_child_sp_caloni.txt")[0]
    assert r.arch == "x64" and r.frame(0).call_site == "wow64cpu!CpupSyscallStub+0x9"
    assert sizes(r, 0, 1, 2, 3, 4, 5) == [8, 0xc0, 0x50, 0x550, 0x500, 0x70]
    assert r.frame(6).size is None  # the outermost, base unknown (was 0x70 on the x86 rule)
    assert r.used == 3032 and r.heaviest[:2] == [3, 4]
    assert r.frame(r.heaviest[0]).call_site == "wow64!Wow64LdrpInitialize+0x429"
    # the ChildEBP listing after .effmach x86 in the same file stays x86
    assert reports("wow64_host_kv_8digit_child_sp_caloni.txt")[1].arch == "x86"


def test_8_digit_child_sp_without_64_bit_args_is_32_bit_arm():
    # Windows on ARM (32-bit) `k`: " # Child-SP RetAddr Call Site", no arguments
    (r,) = [r for r in reports("arm32_k_8digit_child_sp_coreclr27184_c00000fd.txt")
            if len(r.frames) > 1]
    assert r.arch == "arm" and not r.kernel
    # frame 00 owns 00a13f68 - 00a03004 (the x86 rule gave it to frame 01)
    assert sizes(r, 0, 1, 2, 3, 4) == [0x10f64, 0x18, 0x28, 0x50, 0x58]
    assert r.frame(5).size is None and r.used == 69708 and r.heaviest[0] == 0
    assert "00a03004" in render([r], "table") and "00000000`00a03004" not in render([r], "table")


def test_null_childebp_ends_the_ebp_chain_not_a_stack_switch():
    # "0d 00000000 00000000 ntdll!KiUserApcDispatcher+0x7": was "? stack switch" and a third
    # segment "#2 user 0d-0d"
    r = reports("x86_null_childebp_softdbg_book_kn.txt")[0]
    last = r.frame(0x0d)
    assert last.call_site.startswith("ntdll!KiUserApcDispatcher+0x7")
    assert last.size is None and last.size_unknown_reason is UnknownReason.NULL_FRAME_POINTER
    assert [s.kind.value for s in r.segments] == ["thread", "user"]
    assert r.segments[1].last_frame == 0x0d and sizes(r, 0x0b, 0x0c) == [0x320, 0x84]
    assert r.used == 632


def test_csv_says_which_sizes_include_a_trap_frame():
    # fixture 021: no trap frame placed in the log, so memcpy's 0x94 includes KiTrap0E's trap
    # frame: a lab summing CSV sizes must be able to tell
    import csv
    import io as _io

    from stackext.cli import main as _main
    out = _io.StringIO()
    assert _main(["usage", str(ROOT / "fixtures" / "021_avgidsdriverx_stacktext_x86_kernel.txt"),
                  "--format", "csv"], out=out, err=_io.StringIO()) == 0
    rows = list(csv.DictReader(_io.StringIO(out.getvalue())))
    notes = [(r["call_site"], r["size"], r["size_unknown_reason"], r["size_note"]) for r in rows
             if r["size_note"] or r["size_unknown_reason"] == "trap-frame-unknown"]
    assert notes == [("nt!KiTrap0E+0xdc", "", "trap-frame-unknown", ""),
                     ("nt!memcpy+0x33", "148", "", "includes-trap-frame")]


def test_the_html_page_marks_a_size_that_includes_a_trap_frame():
    from stackext.render import html_text

    path = str(ROOT / "fixtures" / "021_avgidsdriverx_stacktext_x86_kernel.txt")
    (r,) = [analyze(s) for s in read_file(path) if not isinstance(s, EmbeddedJson)]
    d = json.loads(render([r], "json"))["stacks"][0]
    f = next(x for x in d["frames"] if x["call_site"] == "nt!memcpy+0x33")
    assert "incl. trap frame" in html_text.marks(f)
    assert "includes the trap frame" in html_text.frame_title(d, f, [])


def test_decorated_x86_names_are_the_routines_they_name():
    # Windows 10 16299 x86 public symbols print "nt!_KiTrap0E+0xec": the trap handler all the
    # same. TRAP_FRAME 8ba0efa8 + 0x74 = the fault's ESP 8ba0f01c (.trap: esp=8ba0f01c
    # ebp=8ba0f024): memcpy owns 8ba0f024 - 8ba0f01c = 8, the handler and its KTRAP_FRAME
    # 8ba0f01c - 8ba0ef08 = 0x114 (memcpy had been given 0x11c, ranked "top 4")
    (r,) = reports("x86_underscore_kitrap0e_wwanusbmp_0x50_stacktext.txt")
    assert r.frame(3).call_site == "nt!_KiTrap0E+0xec" and r.frame(4).call_site == "nt!memcpy+0x33"
    assert sizes(r, 3, 4) == [0x114, 0x8]
    assert all(r.frame(i).call_site != "nt!memcpy+0x33" for i in r.heaviest)
    # BUGCHECK_P1: ffffffff8ba10000 is !analyze's sign extension of the 32-bit Arg1 8ba10000
    assert (r.bugcheck.code, r.bugcheck.args) == (0x50, [0x8ba10000, 0, 0x82154573, 0])


def test_undecorated_names():
    from stackext.knowledge import fn_key
    assert [fn_key(x) for x in ("_KiTrap0E", "@KiSwapContext@4", "__RtlUserThreadStart",
                                "KiTrap0E", "_except_handler4", None)] == [
        "kitrap0e", "kiswapcontext", "rtluserthreadstart", "kitrap0e", "except_handler4", ""]


def test_a_waiting_x86_threads_current_sizes_frame_00_and_the_cut_is_said():
    # !thread of a waiting thread: "Current 8dd9f5a8" is the ESP KiSwapContext saved, so frame
    # 00 (ChildEBP 8dd9f5c0) owns 0x18; the author cut the listing with "....": the frames stop
    # 8dda0000 - 8dd9f7a0 = 0x860 below StackBase, which was in `used` (0xa58) and nowhere else
    r = [x for x in reports("x86_thread_usbhub_0x9f_wait_elided.txt") if x.thread is not None]
    (t,) = r
    assert t.state.startswith("WAIT") and t.used == 0x8dda0000 - 0x8dd9f5a8 == 0xa58
    assert t.frame(0).call_site == "nt!KiSwapContext+0x26" and sizes(t, 0) == [0x18]
    assert t.not_shown == 0x8dda0000 - 0x8dd9f7a0 == 2144
    assert sum(f.size for f in t.frames) + t.not_shown == t.used


def test_a_double_fault_whose_esp_lies_above_frame_00s_ebp_is_a_corrupted_esp():
    # Microsoft's single-bit ESP example: the TSS context (.tss 28) has esp=f5da9948
    # ebp=f5d2997c, and f5d2997c is frame 00's ChildEBP; an ESP 0x7ffcc above its frame's EBP is
    # no stack running out (was "probably a stack overflow"); the same thread's !thread, whose
    # frame 00 is nt!_KiTrap08 with a null EBP, runs on the thread stack, not near its limit
    first, second = reports("msdocs_x86_0x7f8_single_bit_esp_tss_thread.txt")
    assert first.verdict.value == "double-fault-corrupt-sp" and not first.overflow
    assert first.fault_sp == 0xf5da9948 and first.frames[0].sp == 0xf5d2997c
    assert "lies 0x7ffcc above frame 00's EBP 0xf5d2997c" in words.verdict(first)
    assert second.verdict.value == "double-fault-not-near-limit"
    assert [s.kind.value for s in second.segments][:1] == ["thread"]
    # its innermost EBP on the thread stack is frame 01's (00's is null): KiUnlockDispatcher-
    # Database's locals lie below it, so f5d2a000 - f5d2997c = 0x684 is at least what was used
    assert second.used == 0xF5D2A000 - 0xF5D2997C and second.used_is_lower_bound
    assert "inner-esp-unknown" in [n.value for n in second.not_proven]
    # JSON keeps it (a kd log's document read back)
    (back,) = RJ.load(render([first], "json"))
    assert back.fault_sp == 0xf5da9948 and words.verdict(back) == words.verdict(first)


def test_x86_tables_name_the_sp_column_childebp_as_k_does():
    # x86 k prints "ChildEBP RetAddr": the column is the frame pointer, not a Child-SP
    (r,) = reports("x86_trap_metasploit_ms09065_win32k.txt")[:1]
    for fmt in ("table", "markdown", "dml"):
        text = render([r], fmt)
        head = next(x for x in text.splitlines() if "Call Site" in x)
        assert "ChildEBP" in head and "Child-SP" not in head, (fmt, head)
    x64 = [analyze(s) for s in read_file(str(ROOT / "fixtures" /
                                         "024_insightengineering_ntfs_stacktext_full_x64.txt"))]
    head = next(x for x in render(x64, "table").splitlines() if "Call Site" in x)
    assert head.split()[:4] == ["#", "Size", "Child-SP", "Depth"]


def test_rows_outward_of_kithreadstartup_are_no_frames_of_the_thread():
    # KiThreadStartup+0x15 at 8ba0fc88 is where the system thread's stack begins; WinDbg's EBP
    # chain ran on into KiProcessDeferredReadyList (8ba0fc94) and KeSetPriorityThread (8ba0fcd8):
    # stale frame pointers, whose 0xc + 0x44 had been counted in "used at least 0xef4"
    (r,) = reports("x86_underscore_kitrap0e_wwanusbmp_0x50_stacktext.txt")
    assert r.frame(0x1c).call_site == "nt!KiThreadStartup+0x15" and r.frame(0x1c).size == 0x18
    for i in (0x1d, 0x1e):
        assert r.frame(i).size is None
        assert r.frame(i).size_unknown_reason == UnknownReason.PAST_START
    assert r.used == 0xef4 - 0x50 and r.used_is_lower_bound
    assert r.thread_segment == 0 and r.segments[1].kind.value == "unknown"
    assert r.segments[1].used is None and r.segments[1].first_frame == 0x1d
    assert not any(m.module == "nt" and m.frames == 19 for m in r.modules)  # 17 frames of nt
    text = render([r], "table")
    assert "#1 unknown 1d-1e (past the thread's start: stale frame pointers)" in text


def test_an_x86_frame_in_no_module_keeps_the_ebp_chain_after_it():
    # 360's Hookport stub in pool (0x81515799) between NtDeviceIoControlFile and KiFastCallEntry:
    # x86 k follows saved EBPs, so the rows after it are frames, not the x64 unwinder's guesses
    # from stack slots (the walk had been "lost" there: 7 frames dropped, NtDeviceIoControlFile's
    # 0x34 blanked, used 0x498)
    r = reports("x86_360_hook_in_pool_fs_filter_stacks_xp.txt")[1]
    assert r.lost_track is None and len(r.frames) == 0x13
    assert sizes(r, 0xb, 0xc, 0xd) == [0xb1de4c6c - 0xb1de4c38, 0xb1de4d34 - 0xb1de4c6c, 0]
    assert r.frame(0xc).call_site == "0x81515799"
    assert r.used == 0xb1de4d34 - 0xb1de47d4  # 0x560, down to KiFastCallEntry's ChildEBP
    assert [s.kind.value for s in r.segments] == ["thread", "user"]


def test_an_authors_arrow_at_a_row_is_read_and_a_row_that_cannot_be_read_is_a_hole():
    # "=> f88daeb4 bae829f2 ... NDIS!ndisMLoopbackPacketX+0x150" in a driver's C comment: the row
    # was dropped and its 0x28 bytes charged to ndisMSendX (0x3c)
    (r,) = reports("x86_c_comment_verifier_deadlock_dpc_ndis_arrow_row.txt")
    assert len(r.frames) == 19 and not r.warnings
    assert r.frame(10).call_site == "NDIS!ndisMLoopbackPacketX+0x150"
    assert sizes(r, 10, 11) == [0xf88daeb4 - 0xf88dae8c, 0xf88daec8 - 0xf88daeb4]
    # a mark the reader does not know before the same row: not read, and not charged either
    text = (FIELD / "x86_c_comment_verifier_deadlock_dpc_ndis_arrow_row.txt").read_text()
    marked = text.replace("//\t=> f88daeb4", "//\t?? f88daeb4")
    (s,) = read_stacks(marked.splitlines(True), "marked.log")
    r = analyze(s)
    assert len(r.frames) == 18 and r.frame(10).call_site == "NDIS!ndisMSendX+0xd2"
    assert r.frame(10).size is None and r.frame(10).size_unknown_reason.value == "frames-missing"
    assert r.frame(10).gap_bytes == 0xf88daec8 - 0xf88dae8c  # what the SPs still prove


def test_windows_own_hals_and_older_drivers_are_not_third_party():
    # an all-Microsoft SMB stack (srv.sys, Server 2003) and Microsoft's interrupt-storm example
    # (halacpi, VIDEOPRT): the headline had named srv!... and halacpi!... the heaviest
    # third-party frame; ATI's atimpab stays the one driver
    (r,) = reports("x86_srv_smb_nat_all_microsoft_k.txt")
    assert not any(f.driver for f in r.frames) and r.heaviest_drivers == []
    assert any(f.module == "srv" for f in r.frames)
    a, b = reports("x86_msdocs_interrupt_storm_halacpi_videoprt_atimpab.txt")
    assert a.heaviest_drivers == [] and {f.module for f in a.frames} == {"ntoskrnl", "halacpi"}
    assert [f.module for f in b.frames if f.driver] == ["atimpab"]


def test_wmis_own_modules_are_not_third_party():
    # a Win7 x86 kd breakpoint in nt!ObpIncrementHandleCountEx called from WMI's provider host:
    # "heaviest driver #16 wbemcore!DllGetClassObject+0x4bd4 (324 B)" had named Windows' own
    # wbemcore (System32\wbem) as the code to fix
    (r,) = reports("x86_win7_kd_bp_wmiprvsd_wbemcore_k.txt")
    assert {"wmiprvsd", "wbemcore"} <= {f.module for f in r.frames}
    assert not any(f.driver for f in r.frames) and r.heaviest_drivers == []
    assert r.frame(0x16).size == 0x02a3fcf4 - 0x02a3fbb0  # 324 B, as before: sizes unchanged


def test_newer_x86_k_trap_marker_and_skipped_intermediate_frames():
    # Win7 x86 under a newer WinDbg: "06 b0a37be4 76f92740 (T) nt!KiSystemServicePostCall" (the
    # marker had been glued into the call site: no module, no function) and "<Intermediate
    # frames may have been skipped due to lack of complete unwind>" (a warning per line, --strict
    # failed): a hole before the next row, as an unwind WARNING is
    (r,) = reports("x86_new_format_t_marker_intermediate_frames_hevd.txt")
    assert (r.frame(6).module, r.frame(6).function) == ("nt", "KiSystemServicePostCall")
    assert (r.frame(7).module, r.frame(7).function) == ("ntdll", "KiFastSystemCallRet")
    assert [r.frame(i).size_unknown_reason for i in (6, 7)] == [UnknownReason.FRAMES_MISSING] * 2
    assert r.used == 0xb0a37be4 - 0xb0a37a6c and not r.warnings
    assert sizes(r, 1, 2, 3, 4, 5) == [0x1c, 0x1c, 0x4c, 0xc8, 0x2c]


def test_a_kernel_stack_entered_by_a_trap_from_user_mode_begins_at_the_trap_handler():
    # XP x86 !thread of a debuggee stopped at its int 3: KiTrap03 (TrapFrame @ a8eb8d64) then the
    # user frame msgbox+0x1001. The 676 bytes above KiTrap03's ChildEBP are its trap frame and
    # the NPX area (Init a8eb9000 - 0x210 - 0x8c = a8eb8d64), not a part of the log left out
    (r,) = reports("x86_lkd_thread_kitrap03_from_user_int3.txt")
    assert r.frame(8).call_site == "nt!KiTrap03+0xad" and r.stack_base == 0xa8eb9000
    assert r.start_area == 0xa8eb9000 - 0xa8eb8d5c == 676 and r.not_shown is None
    assert r.used == 2216 and r.verdict_proven


def test_a_running_x86_threads_used_is_a_lower_bound_without_frame_00s_esp(tmp_path):
    # XP, a breakpoint in nt!KeUpdateRunTime from the clock interrupt: !thread RUNNING, Base
    # f4dc1000 Limit f4dbe000, frame 00's ChildEBP f4dc0d54. Frame 00's locals lie below its EBP
    # and its ESP is not in the text: f4dc1000 - f4dc0d54 = 0x2ac is at least what is used (it
    # had been given as exact and the verdict proven)
    name = "x86_xp_running_thread_clock_interrupt_fpo_kv.txt"
    (r,) = reports(name)
    assert r.state == "RUNNING" and r.frame(0).size is None
    assert r.used == 0xF4DC1000 - 0xF4DC0D54 and r.used_is_lower_bound
    assert r.remaining == 0xF4DC0D54 - 0xF4DBE000 and r.remaining_is_upper_bound
    assert [n.value for n in r.not_proven] == ["inner-esp-unknown"] and not r.verdict_proven
    # waiting, the same thread's saved ESP (!thread's Current f4dc0d34) is frame 00's: exact
    text = (FIELD / name).read_text().replace("RUNNING on processor 0",
                                               "WAIT: (Executive) KernelMode Non-Alertable")
    (tmp_path / name).write_text(text)
    (w,) = [analyze(s) for s in read_file(str(tmp_path / name))]
    assert w.used == 0xF4DC1000 - 0xF4DC0D34 and not w.used_is_lower_bound and w.verdict_proven
