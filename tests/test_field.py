"""Real WinDbg text found in the field (fixtures/field/, each file's source on its first line):
shapes the other fixtures do not have, each read the way the text itself proves right."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from stackext.cli import main

FIELD = Path(__file__).resolve().parent.parent / "fixtures" / "field"


def run(name, *options):
    out, err = io.StringIO(), io.StringIO()
    code = main(["usage", str(FIELD / name)] + list(options), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def stacks(name, *options):
    code, out, err = run(name, "--format", "json", *options)
    assert code == 0, err
    return json.loads(out)["stacks"]


def refusal(name):
    """The one-line error a log that holds no readable stack gets (exit 2, nothing on stdout)."""
    code, out, err = run(name)
    assert code == 2 and out == ""
    return err.strip()


def row(stack, call_site):
    return next(f for f in stack["frames"] if f["call_site"] == call_site)


def test_numbered_rows_cut_out_with_blank_lines_stay_one_stack_with_the_bytes_between():
    # ~*kvn of thread ~1 with rows 04-06, 08-13 and 1a-1b cut out, a blank line at each cut: one
    # stack from 020eefac to 020effec, not four; the cut rows' bytes count as used and go to no
    # single frame
    s = stacks("wow64_kvn_rows_cut_by_blank_lines_cs_owner_x86_user.txt")
    assert len(s) == 3
    cut = s[1]
    assert cut["source"].endswith(":27") and cut["thread"] is not None
    assert [f["index"] for f in cut["frames"]] == \
        [0, 1, 2, 3, 7, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1c, 0x1d, 0x1e]
    assert cut["used"] == 0x020effec - 0x020eefac == 4160 and cut["used_is_lower_bound"]
    missing = [(f["index"], f["size_unknown_reason"], f["gap_bytes"]) for f in cut["frames"]
               if f["size_unknown_reason"] == "frames-missing"]
    assert missing == [(7, "frames-missing", 0x020ef3b4 - 0x020ef048),
                       (0x14, "frames-missing", 0x020ef9d8 - 0x020ef3b4),
                       (0x1c, "frames-missing", 0x020eff94 - 0x020efcd8)]


def test_a_blank_line_inside_a_listing_of_adjacent_rows_is_rows_cut_out_not_one_big_frame():
    # !cs -o's owner stack (tab-indented ChildEBP rows): nine rows one to a line, a blank line,
    # then shell32!SHGetFolderPathW 0x6d0 above the last: the rows between were cut out
    owner = stacks("wow64_kvn_rows_cut_by_blank_lines_cs_owner_x86_user.txt")[2]
    f = row(owner, "shell32!SHGetFolderPathW+0x114")
    assert f["size"] is None and f["size_unknown_reason"] == "frames-missing"
    assert f["gap_bytes"] == 0x02a3fbc0 - 0x02a3f4f0 == 1744 and not f["heavy"]


def test_a_wow64_guests_ntdll_renamed_by_its_base_is_windows_not_a_third_party_driver():
    s = stacks("wow64_kvn_rows_cut_by_blank_lines_cs_owner_x86_user.txt")
    renamed = [f for x in s for f in x["frames"] if f["module"] == "ntdll_77980000"]
    assert len(renamed) == 14 and not any(f["driver"] for f in renamed)
    assert all(x["heaviest_drivers"] == [] for x in s)
    code, out, _ = run("wow64_kvn_rows_cut_by_blank_lines_cs_owner_x86_user.txt")
    assert "third-party" not in out.split("\n\n")[0]


def test_windows_own_tunnel_driver_is_not_third_party():
    # tunnel.sys is Windows' Teredo/ISATAP miniport (\SystemRoot\System32\drivers\tunnel.sys)
    s = stacks("mex_t_tunnel_dpc_stack_x64.txt")
    tunnel = [f for f in s[0]["frames"] if f["module"] == "tunnel"]
    assert [f["index"] for f in tunnel] == [3, 4, 5] and not any(f["driver"] for f in tunnel)
    assert s[0]["heaviest_drivers"] == []


def test_kv_source_lines_printed_under_their_rows_are_the_rows_sources_not_warnings():
    # kv prints "[file @ line]" on a line of its own; the blog's copy keeps a <span> inside one
    s = stacks("wow64_host_kv_8digit_child_sp_caloni.txt")
    main_ = row(s[1], "CrashOnServer!main+0x2e")
    assert (main_["source_file"], main_["source_line"]) == (
        "c:\\users\\wanderley.caloni\\documents\\projetos\\caloni\\posts\\crashonserver"
        "\\crashonserver.cpp", 13)
    crt = row(s[1], "CrashOnServer!__tmainCRTStartup+0x1bf")
    assert (crt["source_file"], crt["source_line"]) == (
        "f:\\dd\\vctools\\crt_bld\\self_x86\\crt\\src\\crtexe.c", 555)
    assert not any("could not read" in w for x in s for w in x["warnings"])


@pytest.mark.parametrize("name", ["wow64_host_kv_8digit_child_sp_caloni.txt",
                                  "pg_notes_disassembly_after_complete_stack_x64.txt"])
def test_text_after_a_stack_that_returned_to_0_is_no_warning_and_strict_accepts_it(name):
    # after a row whose RetAddr is 0 (the walk reached the thread's start) come disassembly
    # ("fffff805`5407c00a 393b cmp dword ptr [rbx],edi"), a prompt, prose: none is a frame
    code, out, err = run(name, "--strict")
    assert code == 0 and "warning" not in err and "error" not in err
    assert "could not read" not in out and "cut short" not in out


def test_the_pg_notes_first_stack_ends_at_its_return_to_0():
    s = stacks("pg_notes_disassembly_after_complete_stack_x64.txt")
    first = s[0]
    assert first["frames"][-1]["call_site"] == "nt!KiIdleLoop+0x5a" and first["warnings"] == []
    # used from the first SP to KiIdleLoop's (its own frame's size is not shown: at least)
    assert first["used"] == 0xffff880363a29c60 - 0xffff880363a27d58 == 7944
    assert first["used_is_lower_bound"] and first["frames"][-1]["size"] is None


def test_an_arm64_dump_banner_makes_the_rows_arm64_not_x64():
    # "Free ARM 64-bit (AArch64)", "22621.1.arm64fre": ARM64's rows look like x64's
    s = stacks("arm64_banner_kernel_k_exception_dispatch.txt")
    assert [x["arch"] for x in s] == ["arm64"]
    code, out, _ = run("arm64_banner_kernel_k_exception_dispatch.txt")
    assert "24 KB kernel stack for arm64" in out and "x64 threads 28 KB" not in out


def test_windbgs_symbol_warning_printed_onto_a_row_is_not_part_of_its_call_site():
    # "...AllocLocal_DivideByZero()+0xbc*** WARNING: Unable to verify checksum for C:\...exe"
    s = stacks("arm32_k_8digit_child_sp_coreclr27184_c00000fd.txt")
    frames = [f for x in s for f in x["frames"] if "AllocLocal_DivideByZero" in f["call_site"]]
    assert [f["call_site"] for f in frames] == [
        "GitHub_21061_StackOverflowInFuncletProlog!GitHub_21061._00159000."
        "AllocLocal_DivideByZero()+0xbc"]
    assert frames[0]["offset"] == 0xbc


def test_a_crash_on_the_dpc_stack_is_in_the_headline_and_its_1_kb_frames_are_heavy():
    # a 0x109 raised in a DPC: frames 00-0f on the DPC stack (7,960 B), the thread's own stack
    # below it used 768 B; the headline said only the 768
    code, out, _ = run("pg_notes_disassembly_after_complete_stack_x64.txt")
    line = next(x for x in out.splitlines() if x.startswith("  ") and x.endswith(
        "frames 00-0f run on the DPC stack: 7,960 B used there, heaviest third-party frame "
        "win10Rs5PatchGuard!DetourKiDispatchException+0x110 (112 B)"))
    assert ":78: no overflow seen: at least 768 of 24,576 bytes used (3%)" in line
    dpc = stacks("pg_notes_disassembly_after_complete_stack_x64.txt")[2]
    assert dpc["segments"][0]["kind"] == "dpc" and dpc["segments"][0]["used"] == 7960
    heavy = [(f["call_site"], f["size"]) for f in dpc["frames"] if f["heavy"]]
    assert heavy == [("nt!KeBugCheck2+0x957", 0x720), ("nt!RtlDispatchException+0x430", 0x750),
                     ("nt!KiDispatchException+0x144", 0x6b0)]
    assert dpc["heaviest"][0] == 0x11  # the ranking stays on the thread's stack (budget's)


def test_a_notes_comments_after_the_offset_are_not_part_of_the_call_site():
    # ";pg..." (a debugger script's comment) and a note in Chinese after the offset
    s = stacks("pg_notes_disassembly_after_complete_stack_x64.txt")
    sites = [f["call_site"] for x in s for f in x["frames"]
             if f["function"] in ("IopTimerDispatch", "KiSwInterruptDispatch")]
    assert sites == ["nt!IopTimerDispatch+0x1cf72a", "nt!KiSwInterruptDispatch+0xfa9"]


def test_an_authors_bracketed_note_in_another_language_is_not_part_of_the_call_site():
    # "nt!KiDispatchException+0x150     [异常分发]": a note, not a "[file @ line]" source tail
    s = stacks("x86_null_childebp_softdbg_book_kn.txt")
    sites = [f["call_site"] for x in s for f in x["frames"] if f["function"] in (
        "KiDispatchException", "NtWaitForDebugEvent", "DbgkpPostFakeThreadMessages")]
    assert sites == ["nt!KiDispatchException+0x150", "nt!NtWaitForDebugEvent+0x1b8",
                     "nt!DbgkpPostFakeThreadMessages+0x155"]
    assert all(f["source_file"] is None for x in s for f in x["frames"])


def test_a_kc_listing_without_stack_pointers_is_refused_in_one_line_at_its_header():
    assert refusal("kc_call_sites_only_nvlddmkm_x64.txt").endswith(
        "kc_call_sites_only_nvlddmkm_x64.txt:4: this stack has no Child-SP column (x64 kb of "
        "recent WinDbg and kc print none): run kf, kn or kv, which print Child-SP")


@pytest.mark.parametrize("name, line", [
    ("verifier40_forced_pending_trace_return_addresses_only_x86.txt", 10),  # !verifier 40's log
    ("x86_user_stacktext_return_addresses_only_cut.txt", 14)])  # a STACK_TEXT of that shape
def test_rows_of_return_addresses_without_stack_pointers_are_refused_saying_so(name, line):
    assert refusal(name).endswith(
        "%s:%d: these rows show return addresses and functions but no stack pointers (a logged "
        "trace, such as !verifier's): no frame size can be known from them" % (name, line))


@pytest.mark.parametrize("name, line", [
    ("x86_user_kcL_call_sites_no_sp_https_delay.txt", 5),  # kcL: "00 ntdll!ZwWait..."
    ("x86_stacks_0_no_sp_msdocs_ja.txt", 11),  # !stacks: "b0.0000a8  82723b70  Blocked  ..."
    ("x64_dx_stack_frames_no_sp_msdocs_ja.txt", 7),  # dx: "[0x0]            : nt!Rtlp..."
    ("x64_stacktext_sp_retaddr_columns_eaten_openzfs384.txt", 12)])  # ": args : nt!KeBug..."
def test_lines_that_name_functions_without_stack_pointers_are_refused_saying_so(name, line):
    assert refusal(name).endswith(
        "%s:%d: these lines name functions but show no stack pointers (kc, !stacks, dx's "
        "Stack.Frames, a list of call sites): no frame size can be known; run kf, kn or kv, "
        "which print Child-SP" % (name, line))


def test_the_mex_trapframe_marker_is_not_part_of_the_call_site():
    # !mex.t prints "nt!KiPageFault+0x469 --> Trapframe"
    s = stacks("mex_t_tunnel_dpc_stack_x64.txt")
    f = row(s[0], "nt!KiPageFault+0x469")
    assert (f["module"], f["function"], f["offset"]) == ("nt", "KiPageFault", 0x469)


def test_close_under_a_default_budget_says_at_most_so_many_bytes_left():
    # DeviceLock's recursion: the thread's SPs prove 18,864 B used, the budget is the 24 KB
    # default (no bounds in the text): what is left is an upper bound
    code, out, _ = run("devicelock_recursion_two_expansions_kn_x64.txt")
    assert out.startswith("CLOSE to the limit: at most 5,712 bytes left, at least 18,864 of "
                          "24,576 bytes used (77%)")
    (s,) = stacks("devicelock_recursion_two_expansions_kn_x64.txt")
    assert s["remaining"] == 24576 - 18864 and s["remaining_is_upper_bound"]


def test_no_module_line_when_no_module_owns_a_byte_on_the_budgets_stack():
    # the 0x139/4 crash ran on the exception stack: the thread segment holds one frame of no
    # known size (the copy ends there); "by module: nt 0 B in 1 frame" said nothing
    code, out, _ = run("sklib10_0x139_incorrect_stack_exception_stack_truncated_x64.txt")
    assert "by module:" not in out and "0 B in 1 frame" not in out


def test_a_triage_dump_whose_walk_ends_at_the_switch_back_is_not_at_the_threads_start():
    # a 0xD1 on an expanded stack in a triage minidump: the walk ends at
    # nt!KiSwitchKernelStackContinue with RetAddr 0 - the dump kept the switched-to stack only
    name = "triage_netio_26100_d1_ends_at_kiswitchkernelstackcontinue_x64.txt"
    (s,) = stacks(name)
    last = s["frames"][-1]
    assert last["call_site"] == "nt!KiSwitchKernelStackContinue" and last["ret"] == "0x0"
    assert last["size_unknown_reason"] == "base-unknown" and s["start_area"] is None
    code, out, _ = run(name, "--wide")
    assert re.search(r"\n0a .*nt!KiSwitchKernelStackContinue +\? stack continues\n", out)
    assert "start area" not in out


def test_a_backtick_tripled_inside_an_address_reads_as_one():
    # "00 00000031`78643e48 00007fff```9b3419ce ntdll!ZwWaitForSingleObject+0x14" (as posted):
    # the row was dropped, used 160 instead of 168
    (s,) = stacks("runtime56733_k_tripled_backtick_x64_user.txt")
    first = s["frames"][0]
    assert (first["index"], first["sp"], first["ret"], first["size"]) == (
        0, "0x3178643e48", "0x7fff9b3419ce", 8)
    assert s["used"] == 168 and s["warnings"] == []


def test_the_html_pages_headline_of_an_unjudged_stack_is_its_verdict_not_no_budget():
    # 0x139/4 on the exception stack: a budget is known (the 24 KB default), used is not; the
    # page said "NO BUDGET: invalid stack pointer ..."
    from stackext.render import html_text

    (s,) = stacks("sklib10_0x139_incorrect_stack_exception_stack_truncated_x64.txt")
    assert s["verdict_id"] == "invalid-stack-pointer" and s["budget"] == 24576
    assert html_text.headline(s) == s["verdict"]
    assert html_text.headline(s).startswith("invalid stack pointer: the kernel found")
    (b,) = stacks("runtime56733_k_tripled_backtick_x64_user.txt")  # a user stack, no budget
    assert html_text.headline(b).startswith("NO BUDGET")


def test_a_stack_whose_rows_run_together_on_one_line_is_refused_saying_so():
    # a PDF page's text layer: "... 0: kd> k L=0012f968 ... ChildEBP RetAddr 0012f930 00469a16
    # processA!LPtoDP+0x19 0012f968 0046915d processA!GetColumnWidth+0x45 ..." on one line
    assert refusal("anthology_x86_k_rows_on_one_line_pdf_text.txt").endswith(
        "anthology_x86_k_rows_on_one_line_pdf_text.txt:2: the rows of this stack run together "
        "on one line (a PDF's or a web page's text): put each row on a line of its own")


def test_rows_run_together_under_their_label_are_no_one_frame(tmp_path):
    # Windows Internals' 0x8E STACK_TEXT as an online copy flattened it: all rows in the
    # paragraph (refused). With a line break after "STACK_TEXT:" the rows had been ONE frame whose
    # call site held the eleven others ("nt!KeBugCheckEx+0x1e 9444fadc 82843dd6 ...")
    name = "x86_windows_internals_stacktext_rows_in_one_paragraph.txt"
    assert refusal(name).endswith(":2: the rows of this stack run together on one line (a PDF's "
                                  "or a web page's text): put each row on a line of its own")
    log = tmp_path / "label.txt"
    log.write_text((FIELD / name).read_text().replace("STACK_TEXT: ", "STACK_TEXT:\n", 1))
    out, err = io.StringIO(), io.StringIO()
    assert main(["usage", str(log)], out=out, err=err) == 2
    assert err.getvalue().endswith("label.txt:3: the rows of this stack run together on one "
                                   "line (a PDF's or a web page's text): put each row on a line "
                                   "of its own\n")


def test_a_default_budget_under_win32k_frames_says_a_gui_thread_has_the_large_stack():
    # ms09-065's 0x50 in win32k!bComputeIDs: a GUI thread; 12 KB is x86's default for a plain one
    (s,) = stacks("x86_trap_metasploit_ms09065_win32k.txt")
    assert s["budget"] == 12288 and s["budget_origin"] == "default"
    assert s["budget_note"] == (
        "12 KB kernel stack for x86 (bounds not known; win32k on the stack: a GUI thread runs on "
        "the large kernel stack, up to 60 KB, which this default does not show)")
    (plain,) = stacks("lost_kdmapper137_0x1e_unmapped_code_stacktext_x64.txt")
    assert "win32k" not in plain["budget_note"]


def test_each_crash_of_a_two_crash_log_keeps_its_own_bugcheck():
    # a 0xD6 STACK_TEXT cut with "[...]", prose, then a 0x8E's !analyze: the first stack ran on
    # to the second crash's name line, which gave it 0x8e with no arguments
    s = stacks("j00ru_win32k_x86_two_crashes_quoted_cut.txt")
    assert [(x["bugcheck"]["code"], x["bugcheck"]["args"]) for x in s] == [
        ("0xd6", ["0xfe3ff008", "0x0", "0x943587f1", "0x0"]),
        ("0x8e", ["0xc0000005", "0x9461564b", "0x9d0539a0", "0x0"])]


def test_a_crash_on_the_exception_stack_is_in_the_headline_too():
    code, out, _ = run("sklib10_0x139_incorrect_stack_exception_stack_truncated_x64.txt")
    assert out.splitlines()[0].endswith(
        " - frames 00-07 run on the exception stack: 3,528 B used there, heaviest "
        "nt!KiDispatchException+0x186 (1,728 B)")
    (s,) = stacks("sklib10_0x139_incorrect_stack_exception_stack_truncated_x64.txt")
    # its 1 KB frames are HEAVY as on a DPC stack
    assert [(f["call_site"], f["size"]) for f in s["frames"] if f["heavy"]] == [
        ("nt!KiDispatchException+0x186", 1728)]


def test_an_x86_stack_walked_from_the_trap_context_sizes_frame_00_from_its_esp():
    # 0x1000008E's STACK_TEXT starts at the faulting frame; the .trap registers printed with it
    # ("eip=90543bd0 esp=af7bf8b8 ebp=af7bf8d0", TRAP_FRAME af7bf844 + 0x74 = af7bf8b8) have
    # frame 00's ChildEBP: frame 00 owns af7bf8d0 - af7bf8b8
    (s,) = stacks("zonealarm_vsdatant_x86_0x1000008e_trap_context.txt")
    f = s["frames"][0]
    assert (f["call_site"], f["size"], f["driver"]) == ("vsdatant+0x1cbd0", 0x18, True)
    assert 0xaf7bf844 + 0x74 == 0xaf7bf8b8
    assert s["used"] == 820 + 0x18 == 844  # from frame 00's ESP, not its ChildEBP


def test_kistartsystemthreads_bounds_hold_past_where_the_walk_lost_track():
    # a 0xA whose walk loses track in the middle; the listing still ends at KiStartSystemThread
    # with StackBase/StackLimit ffffdb80`9cf9f000 / ffffdb80`9cf98000 as its first arguments
    (s,) = stacks("bsod_guide_0xa_netwtw12_walk_lost_start_thread_bounds_x64.txt")
    assert (s["stack_base"], s["stack_limit"], s["budget"], s["budget_origin"]) == (
        "0xffffdb809cf9f000", "0xffffdb809cf98000", 0x7000, "log")
    assert s["lost_track"] is not None and not s["verdict_proven"]
    assert s["remaining"] == 15832 and s["used"] == 0x7000 - 15832
    # x64 unwind data is the image's (.pdata), not the PDB's: the advice names both
    assert s["lost_track"]["cause"] == "no-unwind-data" and s["lost_track"]["module"] == "Netwtw12"
    _, table, _ = run("bsod_guide_0xa_netwtw12_walk_lost_start_thread_bounds_x64.txt")
    assert "give it the image (`.exepath+`" in table and "PDB (`.sympath+`)" in table
    assert "`.reload /f Netwtw12`" in table


def test_prose_after_a_listing_cut_with_an_elision_ends_it_without_warnings_per_line():
    # "[...]", "--- cut ---", then the advisory's prose and C: not lines of the stack
    s = stacks("j00ru_win32k_x86_two_crashes_quoted_cut.txt")
    assert [len(x["warnings"]) for x in s] == [2, 2]
    assert s[0]["warnings"] == [
        "%s:39: the log leaves out frames after the last one shown"
        % str(FIELD / "j00ru_win32k_x86_two_crashes_quoted_cut.txt"),
        "this stack is cut short: frames beyond the last one shown are not in the log"]


def test_kpn_parameter_lines_belong_to_their_row_and_the_call_site_reads_as_k_prints_it():
    # kPn prints each frame's parameters one to a line after its row ("...StartBinding(" ...
    # "void ** ppvObj = 0x0150f2fc)+0x169"): they close the row (offset 0x169), are no lines
    # that could not be read, and the call site is k's "urlmon!CUrlMon::StartBinding+0x169"
    code, out, err = run("ms08067_kpn_parameters_on_lines_x86_user.txt")
    assert code == 0 and "could not read" not in out + err
    s, = stacks("ms08067_kpn_parameters_on_lines_x86_user.txt")
    assert s["warnings"] == []
    assert [(f["index"], f["call_site"], f["offset"]) for f in s["frames"]] == [
        (0, "ntdll!KiFastSystemCallRet", 0), (1, "ntdll!ZwWaitForMultipleObjects+0xc", 0xc),
        (8, "urlmon!CUrlMon::StartBinding+0x169", 0x169),
        (9, "urlmon!CUrlMon::BindToStorage+0x49", 0x49),
        (0xa, "urlmon!CBaseBSCB::KickOffDownload+0x193", 0x193),
        (0xb, "urlmon!CFileDownload::KickOffDownload+0x2d", 0x2d),
        (0xc, "urlmon!URLDownloadToFileW+0x51", 0x51),
        (0xd, "urlmon!URLDownloadToFileA+0x109", 0x109)]
    assert row(s, "urlmon!CUrlMon::StartBinding+0x169")["function"] == "CUrlMon::StartBinding"
    # ChildEBP differences, as on any x86 listing: 0150f31c - 0150f2d8, 0150f480 - 0150f348
    assert row(s, "urlmon!CBaseBSCB::KickOffDownload+0x193")["size"] == 0x44
    assert row(s, "urlmon!URLDownloadToFileA+0x109")["size"] == 0x138
    # urlmon ships with Windows: not a third-party frame to fix
    assert not any(f["driver"] for f in s["frames"]) and s["heaviest_drivers"] == []


def test_a_kpn_row_whose_parameter_lines_are_cut_off_keeps_its_call_site(tmp_path):
    # the same log cut inside frame 0d's parameter list: the row is still read (no offset:
    # none was printed), the next row after a non-parameter line is still a row
    lines = (FIELD / "ms08067_kpn_parameters_on_lines_x86_user.txt").read_text().splitlines()
    cut = tmp_path / "cut.txt"
    cut.write_text("\n".join(lines[:-3]) + "\n")
    s, = json.loads(main_json(cut))["stacks"]
    last = s["frames"][-1]
    assert (last["index"], last["call_site"], last["function"], last["offset"]) == \
        (0xd, "urlmon!URLDownloadToFileA", "URLDownloadToFileA", 0)
    assert last["size"] == 0x0150f480 - 0x0150f348


def test_kp_parameters_on_the_row_are_left_out_of_the_call_site():
    # ~*kpn: "JavaScriptCore!JSC::JSActivation::getOwnPropertySlot(class JSC::JSCell * cell =
    # 0x07a7ff98, ...) [c:\...\jsactivation.cpp @ 146]": the headline names the function, not
    # its arguments' values; the source is still read
    path = FIELD.parent / "exceptions" / "webkit_analyze_c00000fd_tilde_kpn_x86_user.txt"
    out, err = io.StringIO(), io.StringIO()
    assert main(["usage", str(path)], out=out, err=err) == 0
    assert out.getvalue().splitlines()[0] == (
        "OVERFLOW: at least 1,788 bytes used - heaviest third-party frame "
        "JavaScriptCore!JSC::JSActivation::getOwnPropertySlot (844 B)")
    s = json.loads(main_json(path))["stacks"][0]
    f = s["frames"][0xe]
    assert (f["call_site"], f["function"], f["size"], f["source_line"]) == (
        "JavaScriptCore!JSC::JSActivation::getOwnPropertySlot",
        "JSC::JSActivation::getOwnPropertySlot", 0x34c, 146)
    assert f["source_file"].endswith("jsactivation.cpp")
    # MSVCR100 is Microsoft's C runtime: its frames are not the user's to fix
    assert [x["driver"] for x in s["frames"][:5]] == [False] * 5


def main_json(path):
    out, err = io.StringIO(), io.StringIO()
    assert main(["usage", "--format", "json", str(path)], out=out, err=err) == 0, err.getvalue()
    return out.getvalue()


def test_debugger_chatter_inside_a_listing_and_prose_after_it_are_no_unreadable_lines():
    # kvL with SYMSRV / "*** WARNING" / DBGHELP lines and the PDB path DBGHELP names on a line of
    # its own between two rows: none is a row, none is a gap (InvokeConstructorHelper owns
    # 0869d950 - 0869d610 across them); the blog's prose after a blank line ends the listing;
    # ~.'s Start:/Priority: lines are no stack's
    code, out, err = run("clr_deadlock_tilde_dot_start_priority_kvl_symsrv_x64_user.txt",
                         "--strict")
    assert code == 0 and "warning" not in out + err
    first, second = stacks("clr_deadlock_tilde_dot_start_priority_kvl_symsrv_x64_user.txt")
    assert first["source"].endswith(":13") and second["source"].endswith(":65")
    assert len(first["frames"]) == 20 and first["warnings"] == []
    helper = row(first, "mscorwks!InvokeConstructorHelper+0x36b")
    assert (helper["size"], helper["size_unknown_reason"]) == (0x0869d950 - 0x0869d610, None)
    assert first["used"] == 0x0869dd90 - 0x0869c3e8 and first["used_is_lower_bound"]
    # the .NET runtime is Microsoft's, not the app's code to fix
    assert not any(f["driver"] for s in (first, second) for f in s["frames"])


def test_uniqstack_thread_lines_are_no_rows_and_an_elision_after_the_thread_start_cuts_nothing():
    # !uniqstack prints "Start: ..." and "Priority: 0  Priority class: 32" under each thread's
    # Id line: not lines of its stack. The author's "..." after thread 3's last row (which
    # returns to 0: BaseThreadStart) leaves out threads 4-1429, not frames of thread 3.
    code, out, err = run("uniqstack_start_priority_elided_x86_user.txt", "--strict")
    assert code == 0 and "warning" not in out + err
    s = stacks("uniqstack_start_priority_elided_x86_user.txt")
    assert [(x["thread_number"], x["thread"]) for x in s] == [
        (0, "0x30c"), (1, "0x4d8"), (2, "0x580"), (3, "0xadc"), (1430, "0x143c")]
    assert [x["used"] for x in s] == [0x0012fff0 - 0x0012f9f8, 0x00cf000c - 0x00cefec0,
                                      0x010effec - 0x010efe24, 0x0150ffec - 0x0150fd20,
                                      0x6665ffec - 0x6665f0dc]
    assert all(x["warnings"] == [] and x["used_is_lower_bound"] for x in s)
    # the rows cut out by "..." are unknown bytes, not a frame's size
    assert [(f["size"], f["size_unknown_reason"], f["gap_bytes"]) for f in s[3]["frames"]] == [
        (None, "no-current-sp", None), (None, "frames-missing", 0x0150ffec - 0x0150fd20)]


def test_a_thread_block_that_printed_no_stack_is_said_not_dropped():
    # the notes' `!thread ffff8a86824d8080` has Stack Init/Current and Base/Limit, then call
    # sites without stack pointers: no stack to analyse, said once on stderr (not an error),
    # with the command that shows its saved stack pointer; the five stacks are as before
    code, out, err = run("pg_notes_disassembly_after_complete_stack_x64.txt")
    assert code == 0 and out.startswith("5 stacks:")
    assert err == ("stackext: note: %s:114: 1 thread printed no stack to analyse (the first: "
                   "thread ffff8a86`824d8080, no rows with stack pointers); `stackext threads` "
                   "shows each one's saved stack pointer against its bounds\n"
                   % (FIELD / "pg_notes_disassembly_after_complete_stack_x64.txt"))
    assert len(stacks("pg_notes_disassembly_after_complete_stack_x64.txt")) == 5


def test_a_user_mode_k_walks_the_thread_its_prompt_names():
    # "0:049> kvL" prints thread ~49's stack (the prompt's process:thread); `~.` had shown
    # ". 49  Id: 20ec.28a4", and `~` listed "51  Id: 20ec.26a4" before "0:051> kL"
    first, second = stacks("clr_deadlock_tilde_dot_start_priority_kvl_symsrv_x64_user.txt")
    assert (first["thread_number"], first["thread"]) == (49, "0x28a4")
    assert (second["thread_number"], second["thread"]) == (51, "0x26a4")
    # "0:066> kPn99": thread ~66, whose id the log never printed
    s, = stacks("ms08067_kpn_parameters_on_lines_x86_user.txt")
    assert (s["thread_number"], s["thread"]) == (66, None)
    code, out, err = run("ms08067_kpn_parameters_on_lines_x86_user.txt")
    assert "x86 user thread ~66, " in out


@pytest.mark.parametrize("prompt, thread", [
    ("0:049> kvL", 49), ("0:000:x86> kb", 0), ("0:049> ~51s;kb", 51), ("0:049> ~51 kb", 51),
    ("0:001> ~2kn", 2), ("0:000> ~*kb", None), ("0:000> ~~[0x18fc]s;kb", None),
    ("0:000> !analyze -v", None), ("0:000> .ecxr;kb", 0), ("1: kd> kb", None)])
def test_the_thread_a_k_at_a_prompt_walks(prompt, thread):
    from stackext.sources.windbg.lines import parse_prompt
    assert parse_prompt(prompt).thread == thread


def test_a_cycle_is_sized_only_when_its_rounds_agree_and_never_counted_across_an_elision():
    # IDA's kpffff: three ida64!user2str frames (nearest-export names, no PDB) own 0x40, 0x2e0
    # and 0x80 (kf's Memory on the rows after them: 40, 2e0, 80): no one size per call; a
    # 2-call cycle after the "..." that hides frames 16-1629 repeats at least 18 times
    s, = stacks("ida_dwarf64_stackoverflow_kpffff_memory_elided_x64_user.txt")
    sizes = {f["index"]: f["size"] for f in s["frames"]}
    assert [sizes[0x165e], sizes[0x165f], sizes[0x1660]] == [0x40, 0x2e0, 0x80]
    by_first = {c["first_frame"]: c for c in s["cycles"]}
    assert (by_first[0x165e]["repeats"], by_first[0x165e]["bytes_per_round"]) == (3, None)
    pair = by_first[0x162a]
    assert (pair["repeats"], pair["repeats_at_least"], pair["last_frame"]) == (18, True, 0x164d)
    assert not any(c["first_frame"] < 0x162a <= c["last_frame"] for c in s["cycles"])
    code, out, err = run("ida_dwarf64_stackoverflow_kpffff_memory_elided_x64_user.txt")
    assert "calls itself 3x at ? B per call" in out and "736" not in out
    assert "a 2-call cycle repeats at least 18x" in out.splitlines()[0]


def test_kds_fatal_system_error_banner_gives_the_bugcheck_and_its_arguments():
    # "*** Fatal System Error: 0x00000139" and, on the next line, its four arguments: the kp
    # after it is that crash's stack (the !analyze -v naming it comes after the stack)
    s, = stacks("cve2021_31166_http_0x139_fatal_banner_kp_x64.txt")
    assert s["bugcheck"] == {"code": "0x139", "args": [
        "0x3", "0xfffff90ea867ee40", "0xfffff90ea867ed98", "0x0"]}


def test_a_module_list_without_its_lm_header_is_no_stack():
    # "The most recently unloaded DLLs are" then "00007ff9`6d7c0000 00007ff9`6d80a000
    # FabrikamContextMenu.dll": start and end addresses, not Child-SP and RetAddr; the k before
    # it has RetAddr and Call Site only (no size can come from it: refused there)
    code, out, err = run("oldnewthing_unloaded_dll_list_without_header_x64_user.txt", "--format",
                         "json")
    assert code == 0
    # the k listings ("RetAddr  Call Site", no Child-SP) are said, once, not dropped unsaid
    assert err == ("stackext: note: %s:16: a listing not read: this stack has no Child-SP "
                   "column (x64 kb of recent WinDbg and kc print none): run kf, kn or kv, which "
                   "print Child-SP\n" % (FIELD / "oldnewthing_unloaded_dll_list_without_header"
                                          "_x64_user.txt"))
    s = json.loads(out)["stacks"]
    sites = [f["call_site"] for x in s for f in x["frames"]]
    assert not any(site.lower().endswith(".dll") for site in sites)
    assert max(f["size"] or 0 for x in s for f in x["frames"]) < 0x1000


def test_an_ebp_chain_that_runs_off_into_code_is_no_frame_of_gigabytes():
    # the Qt stack's last row "77c56894 00000000 ... ntdll!TppPoolpReferenceGlobalPool+0x74"
    # (under WinDbg's "Following frames may be wrong"): its ChildEBP lies 0x75958a40 above the
    # row before it (022fde54), in ntdll's code range: no stack; used is what the rows before
    # prove, 022fde54 - esp 022fdae8 = 0x36c (was "1,972,735,404 bytes", the frame HEAVY)
    name = "fastapp_x86_user_garbage_last_childebp_three_dumps.txt"
    s = stacks(name)
    qt = next(x for x in s if x["source"].endswith(":137"))
    assert qt["used"] == 0x022fde54 - 0x022fdae8 == 876 and qt["used_is_lower_bound"]
    last = qt["frames"][-1]
    assert (last["call_site"], last["size"], last["heavy"]) == (
        "ntdll!TppPoolpReferenceGlobalPool+0x74", None, False)
    garbage = qt["segments"][-1]
    assert garbage["kind"] == "unknown" and "1881 MB above the frame before it" in garbage["note"]
    assert qt["thread_segment"] == 0
    # one k at "0:000>" printed the first stack; the other dumps' stacks are no thread's
    assert [(x["source"].rsplit(":", 1)[1], x["thread_number"]) for x in s] == [
        ("9", 0), ("60", None), ("93", None), ("137", None)]


def test_markdown_and_html_copies_read_as_the_windbg_text_they_hold():
    # the same 0x3B post three ways: markdown ("ntdll\_779f0000!TppWorkerThread+0x209",
    # "SYSTEM\_SERVICE\_EXCEPTION (3b)") and HTML ("MiniCtrl+0x264ec</p>", "kd&gt;")
    mex = stacks("appi77_mex_t_markdown_escaped_underscore_wow64_x64.txt")
    wow = next(x for x in mex if x["source"].endswith(":13"))
    assert row(wow, "ntdll_779f0000!TppWorkerThread+0x209")["driver"] is False
    md, = stacks("appi77_markdown_escaped_analyze_0x3b_x64.txt")
    page, = stacks("appi77_html_br_p_tags_analyze_0x3b_x64.txt")
    for s in (md, page):
        assert s["bugcheck"]["code"] == "0x3b"
        assert not any("<" in f["call_site"] or "\\" in f["call_site"] for f in s["frames"])
        mini = [f for f in s["frames"] if f["module"] == "MiniCtrl"]
        assert mini and all(f["driver"] for f in mini)
    assert [f["size"] for f in md["frames"]] == [f["size"] for f in page["frames"]]
    assert row(page, "MiniCtrl+0x579f0")["size"] == 0x520


def test_a_driver_frame_that_returns_to_0_is_where_the_walk_lost_the_stack_not_its_start():
    # a 0x7F/8's kF ends at "OpenZFS!printBuffer+0x58" with RetAddr 0 (the maintainer: "we
    # presumably lost the stack"): a kernel thread starts in nt's start routines, so the stack
    # continues past it; its size is unknown, not a 0-byte "start area"
    name = "openzfs249_0x7f8_kf_driver_frame_retaddr_zero_x64.txt"
    s, = stacks(name)
    last = s["frames"][-1]
    assert (last["call_site"], last["size"], last["size_unknown_reason"]) == (
        "OpenZFS!printBuffer+0x58", None, "base-unknown")
    assert [f["size"] for f in s["frames"][:2]] == [0x2c0, 0x90]  # kF's Memory: 2c0, 90
    code, out, err = run(name)
    assert "? stack continues" in out and "start area" not in out
    assert "OpenZFS ? B in 1 frame (driver)" in out


def test_a_walk_lost_after_a_module_with_symbols_does_not_ask_for_its_symbols():
    # frame 00 is "nt!DbgBreakPointWithStatus [d:\rs2\minkernel\ntos\rtl\amd64\debugstb.asm @
    # 130]": nt's private PDB is loaded, so ".reload /f nt" is no advice for the IP
    # fffff801`b56d24aa (in no module) after it
    name = "msdocs_thread_running_frames_off_thread_stack_nt_private_symbols_x64.txt"
    s, = [x for x in stacks(name) if x["lost_track"] is not None]
    text = s["lost_track"]["text"]
    assert "nt's symbols are loaded" in text and ".reload" not in text
    assert s["lost_track"]["call_site"] == "0xfffff801`b56d24aa"
    assert s["verdict_id"] == "no-thread-stack"


def test_mex_t_header_names_the_thread_its_process_and_state():
    # "System (ffffd80bf5902080) ffffd80c204a6040 (E|K|W|R|V) 4.2fc ... Running on processor 0":
    # mex's !t header is !thread's first lines (thread, process and state had been lost, and
    # --thread could not find the thread)
    s = stacks("mex_t_tunnel_dpc_stack_x64.txt")
    assert [(x["thread"], x["process"], x["image"], x["state"]) for x in s] == [
        ("0xffffd80c204a6040", "0xffffd80bf5902080", "System", "RUNNING"),
        ("0xffffd80c0a3d9040", "0xffffd80c0a8f2080", "svchost.exe", "READY")]
    out, err = io.StringIO(), io.StringIO()
    assert main(["usage", "--thread", "ffffd80c0a3d9040", "--format", "json",
                 str(FIELD / "mex_t_tunnel_dpc_stack_x64.txt")], out=out, err=err) == 0
    (only,) = json.loads(out.getvalue())["stacks"]
    assert only["source"].endswith(":73") and only["used"] == 1680


def test_windows_setup_inf_parser_spinf_is_not_third_party():
    # a Qubes issue's Win7 x64 kv from NtCreateFile down to SPINF!SpInfLoadInfFile (System32's
    # INF parser, Microsoft's): its 3,232-byte frame had been the "heaviest driver" frame
    (s,) = stacks("x64_win7_kv_kernel_to_user_spinf_cut.txt")
    spinf = [f for f in s["frames"] if f["module"] == "SPINF"]
    assert [f["size"] for f in spinf] == [656, 3232, None]
    assert not any(f["driver"] for f in s["frames"]) and s["heaviest_drivers"] == []
    assert s["segments"][1]["heaviest_drivers"] == []


def test_a_frame_in_no_module_sized_by_the_unwinders_leaf_guess_is_estimated():
    # a HEVD write-up's x64 breakpoint `k` into user mode: frame 09 `0x00007ffb`09722766` has no
    # module, so no unwind data: dbgeng took it for a leaf and put the next Child-SP at its own
    # + 8. The 8 stays (kf prints it too) but is marked estimated; ntdll's stub (08), with
    # unwind data, is a real 8-byte leaf
    s = stacks("x64_hevd_doublefetch_bp_k_into_user_no_module_leaf_guess.txt")[0]
    f = {x["index"]: x for x in s["frames"]}
    assert (f[9]["call_site"], f[9]["size"], f[9]["estimated"]) == \
        ("0x00007ffb`09722766", 0xFBDFFC98 - 0xFBDFFC90, True)
    assert (f[8]["module"], f[8]["size"], f[8]["estimated"]) == ("ntdll", 8, False)
    assert not any(x["estimated"] for x in s["frames"] if x["index"] != 9)
    code, out, _ = run("x64_hevd_doublefetch_bp_k_into_user_no_module_leaf_guess.txt")
    assert re.search(r"^09 +8 .*0x00007ffb`09722766 +estimated$", out, re.M)


def test_wow64s_ntdll32_is_windows_own():
    # a Chromium bug's WOW64 kb (an older WinDbg names the 32-bit ntdll "ntdll32"): its
    # exception-dispatch frames had been called third-party
    s = stacks("x86_wow64_kb_ntdll32_crbug117588.txt")[0]
    assert any(f["module"] == "ntdll32" for f in s["frames"])
    assert not any(f["driver"] for f in s["frames"] if f["module"] == "ntdll32")


@pytest.mark.parametrize("prefix", ["2026-09-06T23:34:42.1358649Z ", "[2024-01-02 10:11:12] ",
                                    "00:00.028: ", "stdout>"])
def test_a_ci_logs_prefix_on_every_line_is_not_the_debuggers(prefix, tmp_path):
    # a GitHub Actions triage step's cdb output (fixtures/field), then the same with what a CI
    # raw log or a harness puts before every line: it had been "no call stack found"
    name = "x64_gha_ctest_triage_cdb_k_checksum_warning.txt"
    plain = stacks(name)
    log = tmp_path / name
    log.write_text("".join(prefix + line for line in
                           (FIELD / name).read_text(encoding="utf-8").splitlines(True)),
                   encoding="utf-8")
    code, out, err = run_path(log, "--format", "json")
    assert code == 0, err
    got = json.loads(out)["stacks"]
    assert len(got) == len(plain) >= 1
    for a, b in zip(got, plain):
        assert a["frames"] == b["frames"]  # (the same lines: the same line numbers)
        assert (a["used"], a["verdict"]) == (b["used"], b["verdict"])


def run_path(path, *options):
    out, err = io.StringIO(), io.StringIO()
    code = main(["usage", str(path)] + list(options), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_a_user_stacks_budget_applies_where_the_thread_runs_not_past_a_backward_step():
    # FuzzManager's cdb report (x86 SpiderMonkey): after "Frame IP not in any known module" the
    # walk steps back from 0034f440 to 0034f3a0 (an EBP chain that broke after JIT code): a user
    # "stack" of two rows. The budget had applied to it -- "used unknown", and with --budget 400
    # "no overflow seen" -- while the frames where the thread runs prove 0x4e4 bytes
    name = "x86_fuzzmanager_cdb_stacktext_backwards_ebp_after_jit.txt"
    s = stacks(name, "--budget", "400")[0]
    assert [(g["kind"], g["first_frame"], g["last_frame"]) for g in s["segments"]] == [
        ("user", 0, 10), ("user", 11, 12)]
    assert s["thread_segment"] == 0 and s["used"] == 0x34F440 - 0x34EF5C == 1252
    assert s["verdict_id"] == "overflow" and not s["verdict_proven"]


def test_a_child_sp_of_zero_is_no_stack_pointer(tmp_path):
    # fixture 013's x64 kn/kf with every backtick turned into a blank, as some PDF and HTML text
    # layers give it: "00 00000000 0012f0e0 00000000 77732ef5 ntdll!LdrpDoDebuggerBreak+0x30"
    # reads as an 8-digit listing whose Child-SP is 00000000 on every row. Its frames had been
    # 0 bytes each; no thread runs on a stack at address 0
    src = Path(__file__).resolve().parent.parent / "fixtures" / \
        "013_ldrpdodebuggerbreak_kn_kf_x64_user.txt"
    log = tmp_path / "blanks.txt"
    log.write_text(src.read_text().replace("`", " "))
    code, out, err = run_path(log, "--format", "json")
    assert code == 0, err
    got = json.loads(out)["stacks"]
    assert len(got) == 2 and all(s["verdict_id"] == "no-stack-pointers" for s in got)
    assert all(f["size"] is None and f["size_unknown_reason"] == "no-sp"
               for s in got for f in s["frames"])


def test_running_ti_processor_lines_are_no_rows():
    # a debugger MCP's test fixture: `!running -ti` on 4 processors, each processor's line
    # ("  2    ffffaa80eff6d180  ffffda0274ec60c0 ( 8)  ...  ffffda0271844280  ......") then its
    # k. The lines had been rows: 3 one-frame phantom stacks, and processor 2's number glued
    # its line onto processor 1's stack as frame 02 (a "stack switch" that took the budget)
    got = stacks("x64_running_ti_four_processors_k_each.txt")
    assert len(got) == 4
    assert not any(f["sp"] in ("0xfffff80526ad6180", "0xffffaa80efed1180", "0xffffaa80eff6d180")
                   for s in got for f in s["frames"])  # no Prcb address is a Child-SP
    one = got[1]
    assert [f["call_site"] for f in one["frames"]] == [
        "nt!PpmIdleGuestExecute+0x15", "nt!PpmIdleExecuteTransition+0x36f7f4"]
    assert one["used"] == 0xF7A4F9A0 - 0xF7A4F960 and one["used_is_lower_bound"]


def test_rows_run_together_with_plain_16_digit_addresses_are_a_hole():
    # an OSR forum post: four storport/hal rows of 16 plain hex digits (no backtick) run together
    # on one line. They had been one frame of 0x240 (hal's bytes under storport's name); the
    # line is unreadable, and the SPs on either side prove its 0x250 bytes
    s = stacks("x64_osr_storport_rows_run_together_16hex.txt")[0]
    f = {x["index"]: x for x in s["frames"]}
    assert (f[6]["size"], f[6]["gap_bytes"]) == (None, 0x06D1AC90 - 0x06D1AA40)
    assert f[7]["call_site"] == "storport!RaidpAdapterRedirectDpcRoutine+0x4e"
    assert not any("hal!" in x["call_site"] for x in s["frames"])
    assert any("could not read this line" in w for w in s["warnings"])


def test_an_authors_cut_line_between_rows_is_frames_left_out_not_one_frame():
    # "...cut..." between CTypeInfo2::Invoke (0013a74c) and CNewMoniker::BindToObject
    # (0013ae9c): the 0x750 bytes hold frames the author removed, not one comsvcs frame
    first, second = stacks("x86_user_k50_author_cut_elisions_chinese_comments.txt")
    f = row(first, "comsvcs!CNewMoniker::BindToObject+0x14f")
    assert f["size"] is None and f["size_unknown_reason"] == "frames-missing"
    assert f["gap_bytes"] == 0x13ae9c - 0x13a74c  # 1,872
    assert row(second, "comsvcs!CNewMoniker::BindToObject+0x14f")["size"] is None
    assert not any(f["driver"] for f in first["frames"] if f["module"] in ("wshom", "comsvcs"))


def test_a_kd_prompt_behind_a_glued_user_prompt_is_a_kernel_session():
    # "0:000>2: kd> k" (a translated docs page): the rows are the kd session's kernel stack
    (s,) = stacks("x64_kd_k_behind_doubled_prompt_zhcn_docs.txt")
    assert s["kernel"] is True and s["budget"] == 0x6000 and s["verdict_id"] == "ok"
    assert s["used"] == 0xffffd000224b5060 - 0xffffd000224b4c88  # 984, at least
    assert [f["size"] for f in s["frames"]][:2] == [8, 0x3d0]


@pytest.mark.parametrize("name, said", [
    # a mail wrapped each x64 kb row after its second argument: the second halves
    # ("00000000`00000000 00000000`00000000 : nt!KiIpiProcessRequests+0x193") are no rows
    ("x64_kb_no_child_sp_mail_wrapped_xen_devel.txt",
     "x64_kb_no_child_sp_mail_wrapped_xen_devel.txt:17: this stack has no Child-SP column"),
    # NT 3.51's "Callee-SP Return-RA : Call Site": whose SP a row shows is not WinDbg's
    ("nt351_callee_sp_return_ra_kb_q154854.txt", "no call stack found")])
def test_sp_ret_colon_call_site_rows_are_read_only_under_the_threads_header(name, said):
    assert said in refusal(name)


def test_thread_rows_with_a_call_site_after_one_colon_are_read_as_rows():
    # "Child-SP RetAddr : Call Site" (no Args to Child) under a THREAD line that kept only the
    # thread's address: the stack of that thread, not `.thread`'s implicit one printed before
    (s,) = stacks("x64_thread_rdi_colon_call_site_rows_no_args_vanguard_blog.txt")
    assert s["thread"] == "0xffffc2895a49f040"
    assert [f["call_site"] for f in s["frames"]][:2] == ["nt!KiSwapContext+0x76",
                                                         "nt!KiDispatchInterrupt+0x152"]
    assert [f["size"] for f in s["frames"]][:3] == [0x140, 0x30, 0x190]


def test_a_listing_with_line_numbers_reads_as_without_them_and_equals_kfs_memory():
    # a slide's kf with the editor's line numbers 1-22: "16  00  fffff886`4ca070e0 ..."
    (s,) = stacks("x64_kf_memory_line_numbered_blackhat_slide.txt")
    assert [f["index"] for f in s["frames"]] == list(range(7))
    assert [f["memory"] for f in s["frames"]] == [None, 0x70, 0x40, 0x240, 0x1a0, 0x40, 0x50]
    # x64 kf prints a frame's Memory on its caller's row
    assert [f["size"] for f in s["frames"]][:6] == [x["memory"] for x in s["frames"][1:]]
    assert s["used"] == 0xfffff8864ca07600 - 0xfffff8864ca070e0 and s["warnings"] == []


def test_line_numbers_before_a_stack_text_are_no_frame_numbers(tmp_path):
    # fixture 024's STACK_TEXT (the fast reader's rows) numbered as a code viewer copies it
    src = FIELD.parent / "024_insightengineering_ntfs_stacktext_full_x64.txt"
    lines = [x for x in src.read_text(encoding="utf-8").splitlines() if not x.startswith("# ")]
    (tmp_path / "n.txt").write_text("".join("%d  %s\n" % (i + 40, x)
                                            for i, x in enumerate(lines)), encoding="utf-8")
    plain = json.loads(run_path(src, "--format", "json")[1])["stacks"]
    numbered = json.loads(run_path(tmp_path / "n.txt", "--format", "json")[1])["stacks"]
    assert len(plain[0]["frames"]) == 36
    assert [[f["size"] for f in x["frames"]] for x in numbered] == \
        [[f["size"] for f in x["frames"]] for x in plain]
    assert [x["used"] for x in numbered] == [x["used"] for x in plain]
    assert [f["index"] for f in numbered[0]["frames"]] == list(range(36))


def test_analyzes_next_field_glued_onto_the_last_row_is_not_part_of_its_call_site():
    # a blog lost the line breaks: "... : nt!KiStartSystemThread+0x16STACK_COMMAND: .bugcheck ;
    # kbFOLLOWUP_IP:"; the row is KiStartSystemThread's, its arguments the thread's bounds
    first, second = stacks("x64_0x116_flattened_analyze_field_glued_to_last_row.txt")
    assert first["frames"][-1]["call_site"] == "nt!KiStartSystemThread+0x16"
    assert (first["stack_base"], first["budget"]) == ("0xfffff88012c77000", 0x6000)
    assert first["used"] == 0xfffff88012c77000 - 0xfffff88012c76078  # 3,976, proven
    assert first["verdict_id"] == "ok" and first["verdict_proven"] is True
    assert second["used"] == 0xfffff88006fab000 - 0xfffff88006fa9ee8  # 4,376


def test_one_slot_of_a_stack_dumped_is_no_stack():
    # "0:000> dqs @rsp L1" (a look at the return address a breakpoint will watch): one slot,
    # nothing to measure; the four k listings of the post stay
    code, _, err = run("x64_user_debugger_lies_gs_corruption_ttd_dqs_rsp_l1.txt", "--strict")
    s = stacks("x64_user_debugger_lies_gs_corruption_ttd_dqs_rsp_l1.txt")
    assert [x["source"].rsplit(":", 1)[1] for x in s] == ["6", "17", "31", "76"]
    assert code == 0, err


def test_the_frame_row_a_step_prints_is_no_stack():
    # TTD's "p": "could step in/over inline function frames ...", then one .frame-style row and
    # the next instruction -- no stack listing in the page
    assert refusal("x64_user_msdocs_ttd_p_step_inline_frame_row.txt").endswith(
        "no call stack found (expected WinDbg k/kn/kv/kf/!thread/!analyze -v output)")


def test_kxmcheckabort_runs_on_the_machine_check_stack_under_its_entry():
    # 0x124: KxMcheckAbort (ffffa400`63a80d20) is called by KiMcheckAbort (...e60) on the same
    # machine-check stack; the switch is after KiMcheckAbort, to the interrupted user code
    mce, _ = stacks("x64_0x124_machine_check_stack_kxmcheckabort_then_0x10_nvme.txt")
    assert row(mce, "nt!KxMcheckAbort+0x7e")["size"] == 0x140
    seg = mce["segments"][0]
    assert (seg["kind"], seg["last_frame"], seg["used"]) == ("ist", 0x0c, 0x558)  # 1,368


@pytest.mark.parametrize("bounds", ["Base ffffe3813e7a9000 Limit ffffe3813e7b0000",
                                    "Base 0000000000000000 Limit 0000000000000000"])
def test_bounds_whose_base_is_not_above_the_limit_give_no_budget(tmp_path, bounds):
    # fixture 106's !thread with its Base/Limit swapped or zeroed (a corrupt thread record): no
    # negative budget, no "overflow", no "no frame on the thread's stack"; the default, said so
    text = (FIELD.parent / "106_jellykuo_acpstress_expworker_thread_base_limit_x64.txt").read_text(
        encoding="utf-8").replace("Base ffffe3813e7b0000 Limit ffffe3813e7a9000", bounds)
    (tmp_path / "b.txt").write_text(text, encoding="utf-8")
    (s,) = json.loads(run_path(tmp_path / "b.txt", "--format", "json")[1])["stacks"]
    assert (s["budget"], s["budget_origin"], s["verdict_id"]) == (0x6000, "default", "ok")
    assert s["stack_base"] is None and s["used_is_lower_bound"] is True
    assert any("is not above its StackLimit" in w for w in s["warnings"])

