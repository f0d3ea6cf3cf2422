"""Lines of other tables inside real logs (fixtures/field/), and what authors write around rows:
a processor list or a waiter list laid out like x86 rows is no stack; an author's arrow note of
any length is no part of a call site; a Jekyll page's Liquid tags end a listing as a fence does;
Windows' own programs are not third-party."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from stackext.cli import main
from stackext.errors import StackextError
from stackext.sources.windbg import read_stacks

FIELD = Path(__file__).resolve().parent.parent / "fixtures" / "field"


def run(name, *options):
    out, err = io.StringIO(), io.StringIO()
    code = main(["usage", str(FIELD / name)] + list(options), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def stacks(name):
    code, out, err = run(name, "--format", "json", "--strict")
    assert code == 0, err
    return json.loads(out)["stacks"]


def test_running_it_processor_lines_are_no_stacks():
    # "  0  ffdff120  805495a0            ................": processor, Prcb, Current and the
    # spin-lock map; only the four ChildEBP listings are stacks (there were 8: one per Prcb line,
    # the budget on the Prcb's "frame")
    s = stacks("msdocs_running_it_x86_processor_lines.txt")
    assert [x["source"].rsplit(":", 1)[1] for x in s] == ["12", "19", "24", "29"]
    assert [x["frames"][-1]["call_site"] for x in s] == ["nt!KiIdleLoop+0x14"] * 4
    assert all(f["sp"] != "0xffdff120" for x in s for f in x["frames"])


def test_a_waiter_list_with_an_authors_mark_is_no_stack_and_liquid_tags_end_a_listing():
    # !locks' "850bbd78 89b2b3f0 89754030 84753d78  <<<" was a one-frame stack with a warning on
    # each following line ({% endhighlight %} among them): --strict failed. One stack is there:
    # thread 88b9fcb0's, Base 8b488000, frame 00's Current 8b4870e0 (0xf20 used)
    (s,) = stacks("jekyll_locks_waiters_thread_x86.txt")
    assert s["thread"] == "0x88b9fcb0" and s["used"] == 0xf20 and len(s["frames"]) == 36
    assert s["warnings"] == []


def test_arrow_notes_of_any_length_leave_the_call_site_and_system32_programs_are_windows():
    # "net!call_net1+0x163  <-------- creates a net1 process ...", "...+0x1f1 <----this prompts":
    # the call sites are WinDbg's; net.exe and net1.exe are C:\Windows\System32's own
    s = stacks("jekyll_net_exe_net1_arrow_notes_x64_user.txt")
    assert len(s) == 3 and all(x["warnings"] == [] for x in s)
    f = s[0]["frames"][2]
    assert f["call_site"] == "net!call_net1+0x163" and f["size"] == 0x10fa50 - 0x10f960
    g = s[1]["frames"][2]
    assert g["call_site"] == "kernel32!ReadConsoleInternal+0x1f1" and g["size"] == 0x150
    assert not any(f["driver"] for x in s for f in x["frames"])
    assert [m["module"] for m in s[1]["modules"] if m["module"].startswith("net")] == ["net1"]
    code, out, _ = run("jekyll_net_exe_net1_arrow_notes_x64_user.txt")
    assert code == 0 and "third-party" not in out and "<--" not in out


def test_a_kd_session_stopped_in_user_mode_walks_a_user_stack():
    # "0: kd> k" at a breakpoint in winlogon: every Child-SP and RetAddr a user address (r: cs=0033,
    # rsp = frame 00's Child-SP). It was "x64 kernel ... NO FRAME ON THE THREAD'S STACK" on a
    # 24 KB kernel budget; the 0x50's STACK_TEXT later in the log stays a kernel stack
    first, second = stacks("kd_user_break_winlogon_then_0x50_stacktext_x64.txt")
    assert first["kernel"] is False and first["verdict_id"] == "budget-unknown"
    assert first["used"] == 0x3d78a7fe70 - 0x3d78a7f5b8 == 2232 and first["used_is_lower_bound"]
    assert second["kernel"] is True and second["bugcheck"]["code"] == "0x50"
    assert [s["kind"] for s in second["segments"]] == ["thread", "user"]
    # Windows on ARM64: a DebugBreak in a user-mode driver hits kd ("3: kd> kv")
    (s,) = stacks("kd_user_break_arm64_umd_kv.txt")
    assert s["arch"] == "arm64" and s["kernel"] is False and s["verdict_id"] == "budget-unknown"
    assert s["frames"][0]["size"] == 0  # both rows at 0000000e`ed07df40


def test_a_budgeted_stack_of_one_stack_pointer_says_used_is_unknown():
    # !running -it: processor 0's stack shows one stack pointer (8053e3f0 twice): no span, no
    # StackBase. Each idle processor's is KiIdleLoop's one row "f87e0980 f87e0980": its
    # "ChildEBP" equals its RetAddr (the PRCB's address in EBP), no frame pointer at all
    code, out, _ = run("msdocs_running_it_x86_processor_lines.txt")
    assert code == 0
    assert out.count("used     unknown: the budgeted stack's frames show one stack pointer, "
                     "and StackBase is not known") == 1
    assert out.count("verdict  no stack pointers on the thread's stack") == 3
    assert len(re.findall(r"nt!KiIdleLoop\+0x14 +\? EBP = RetAddr", out)) == 4


def test_the_budget_line_says_where_the_bounds_came_from_once():
    # Microsoft's dxgmms2 page: the note on the budget and on Base/Limit is the same one
    out = io.StringIO()
    path = FIELD.parent / "015_msdocs_dxgmms2_thread_base_limit_kf_fragment_x64.txt"
    assert main(["usage", str(path)], out=out) == 0
    line = next(x for x in out.getvalue().splitlines() if x.startswith("budget"))
    assert line.count("Base/Limit from the !thread output at") == 1
    assert line.endswith("Base ffffdc0e`9ee68000 Limit ffffdc0e`9ee61000")


def test_a_stacktext_of_call_sites_only_is_said_not_dropped(tmp_path):
    # a course's 0x193: its first STACK_TEXT is whole; the next two were copied with the call
    # sites only. The whole one is analysed, the others get one note (exit status unchanged)
    name = "pl_course_0x193_stacktext_call_sites_only_x64.txt"
    code, out, err = run(name, "--format", "json")
    assert code == 0 and len(json.loads(out)["stacks"]) == 1
    assert err == ("stackext: note: %s:20: a listing not read: this STACK_TEXT shows call sites "
                   "only (copied without its Child-SP and RetAddr columns): copy !analyze -v's "
                   "rows whole\n" % (FIELD / name))
    # alone, such a STACK_TEXT is refused in one line at its first row
    lines = (FIELD / name).read_text(encoding="utf-8").splitlines()
    assert lines[18].startswith("STACK_TEXT:") and lines[19].startswith("watchdog!")
    alone = tmp_path / "alone.txt"
    alone.write_text("\n".join(lines[18:28]) + "\n")
    out, err = io.StringIO(), io.StringIO()
    code = main(["usage", str(alone)], out=out, err=err)
    assert code == 2 and out.getvalue() == ""
    assert err.getvalue() == ("stackext: %s:2: this STACK_TEXT shows call sites only (copied "
                              "without its Child-SP and RetAddr columns): copy !analyze -v's rows "
                              "whole\n" % alone)


def test_a_dump_of_a_pointer_table_is_no_stack_but_a_dump_of_a_stack_is():
    # after the 0xce's STACK_TEXT the author dumps the hook's import slot: `dqs ffff9d01`69ff0f78`
    # (4 words pointing into <Unloaded_HookProcessOpen.sys>) was a second stack whose 8-byte
    # "frames" made the heaviest third-party frame
    (s,) = stacks("kr_blog_0xce_unloaded_driver_then_dqs_table_x64.txt")
    assert s["source"].endswith(":45") and s["frames_from"] == "stack-walk"
    assert [f["size"] for f in s["frames"][:4]] == [8, 0x100, 0x1a0, 0x198]
    # the same rows after `dqs @rsp` or `dqs Limit Base` are a stack dump (raw scan)
    rows = ("ffff9d01`69ff0f78  fffff804`8d141910 <Unloaded_HookProcessOpen.sys>+0x1910\n"
            "ffff9d01`69ff0f80  fffff804`8d141280 <Unloaded_HookProcessOpen.sys>+0x1280\n")
    for command, found in (("dqs ffff9d01`69ff0f78", 0), ("dqs ffff9d01`69ff0f78 L4", 0),
                           ("dps nt!KiServiceTable L2", 0), ("dqs @rsp", 1), ("dqs rsp L100", 1),
                           ("dps @$csp", 1), ("dds esp", 1),
                           ("dqs ffff9d01`69ff0000 ffff9d01`69ff1000", 1)):
        text = "6: kd> %s\n%s6: kd> q\n" % (command, rows)
        try:
            got = list(read_stacks(text.splitlines(True), "t.log"))
        except StackextError as e:  # the log holds no stack
            assert "no call stack found" in str(e)
            got = []
        assert len(got) == found, command
        assert all(x.frames_from == "raw-scan" for x in got)


def test_sos_dumpstack_is_a_slot_scan_refused_in_one_line():
    # "Child-SP RetAddr Caller, Callee": every slot holding a return address, stale ones too (rows
    # eea0 and eec0 lie inside WaitForSingleObjectEx's 0xa0-byte frame, ee90..ef30): it had been
    # read as a walk, a stale row the heaviest frame (112 B)
    code, out, err = run("sos_dumpstack_caller_callee_slot_scan_x64_user.txt")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "slot_scan_x64_user.txt:4: this is SOS !dumpstack:" in err
    assert "no frame sizes: run k" in err


def test_mex_irs_rows_are_stack_slots_not_frames():
    # !mex.irs prints "| slot | value | symbol | unicode | ansi |" per stack slot: a row whose
    # ansi cell was empty had become a second stack (two such rows a 240-byte "frame")
    (s,) = stacks("mex_t_then_mex_irs_raw_stack_table_x64_user.txt")
    assert s["source"].endswith(":55") and len(s["frames"]) == 15 and s["used"] == 5328
    assert s["warnings"] == []


def test_for_each_frame_reprinting_frame_00_is_no_second_stack():
    # !for_each_frame prints frame 00 again when it puts the context back: that row had become
    # a second stack of one frame
    code, out, err = run("for_each_frame_dv_frame00_reprinted_x64_user.txt", "--format", "json")
    (s,) = json.loads(out)["stacks"]
    assert s["source"].endswith(":6") and s["used"] == 0x1c0
    assert [f["size"] for f in s["frames"]] == [0x70, 0x40, 0x40, 0x60, 0, 0x40, 0x30, None]
    # its dv output and "_ _ _" separators between the rows are no unreadable rows
    assert s["warnings"] == [] and code == 0
    assert run("for_each_frame_dv_frame00_reprinted_x64_user.txt", "--strict")[0] == 0


def test_an_unloaded_modules_frame_is_the_drivers_own():
    # "<Unloaded_HookProcessOpen.sys>+0x1910": the module is HookProcessOpen (!analyze's
    # IMAGE_NAME HookProcessOpen.sys), so `--driver HookProcessOpen` finds the thread and the
    # inbox table can apply (it had been the whole bracket, "no thread has HookProcessOpen")
    (s,) = stacks("kr_blog_0xce_unloaded_driver_then_dqs_table_x64.txt")
    assert s["frames"][4]["module"] == "HookProcessOpen" and s["frames"][4]["driver"]
    assert s["frames"][4]["call_site"] == "<Unloaded_HookProcessOpen.sys>+0x1910"
    out, err = io.StringIO(), io.StringIO()
    code = main(["threads", "--driver", "HookProcessOpen",
                 str(FIELD / "kr_blog_0xce_unloaded_driver_then_dqs_table_x64.txt")],
                out=out, err=err)
    assert code == 0 and "<Unloaded_HookProcessOpen.sys>+0x1910" in out.getvalue()


def test_dot_lines_between_rows_are_an_authors_elision():
    # x64deepdive's kn with "." lines for frames left out (GitHub-escaped backticks): they had
    # been unreadable rows; they are frames left out, said once
    code, out, err = run("x64_markdown_escaped_knf_dot_elisions.txt", "--format", "json")
    s = json.loads(out)["stacks"][1]
    assert [f["size"] for f in s["frames"][:4]] == [8, 0x160, 0x60, 0xa0]
    assert not any("could not read" in w for w in s["warnings"])
    assert any("leaves out frames after the last one shown" in w for w in s["warnings"])


def test_an_elision_with_words_is_frames_left_out():
    # "... removed 6k lines duplicated" in a .NET stack overflow's !clrstack: the 1,542,480 bytes
    # across it had been one frame's (HEAVY, the headline's heaviest frame)
    s = stacks("clrstack_sov_worded_elision_x64_user.txt")[0]
    f = s["frames"][4]
    assert f["size"] is None and f["size_unknown_reason"] == "frames-missing"
    assert f["gap_bytes"] == 0xfadfd3d080 - 0xfadfbc4730
    assert not any(x["size"] and x["size"] > 0x10000 for x in s["frames"])


def test_clrstack_rows_around_an_explicit_runtime_frame_are_frames_missing():
    # the same !clrstack: "[HelperMethodFrame_PROTECTOBJ: 000000fadfd3dc28] System.Runtime...":
    # the SP is the Frame object's, and the runtime's native frames (not printed) lie on each
    # side: it had been HEAVY (0xb48) and the headline's heaviest frame
    s = stacks("clrstack_sov_worded_elision_x64_user.txt")[0]
    helper = [f for f in s["frames"] if f["call_site"].startswith("[HelperMethodFrame")]
    assert [f["index"] for f in helper] == [0, 0xc]
    for f in helper:  # the Frame's own row and the managed frame inward of it
        assert f["size"] is None and f["size_unknown_reason"] == "frames-missing"
    assert s["frames"][0xb]["size"] is None and s["frames"][0xd]["size"] is None
    assert s["frames"][0xc]["gap_bytes"] == 0xfadfd3e770 - 0xfadfd3dc28 == 2888
    assert not any(f["heavy"] for f in s["frames"])
    assert s["frames"][s["heaviest"][0]]["size"] == 0x1f0  # a managed frame's own, 496 B
    assert s["unattributed"] == 1542480 + 312 + 512 + 920 + 2888 + 1280


def test_sos_dumpstack_ee_is_refused_as_a_slot_scan_at_its_prompt():
    # x86 `!dumpstack -ee` rows have no header: "0faaf1cc 080bfa96 (MethodDesc ...)" (4 bytes
    # apart: no x86 frame is smaller than 8); they had been read as a 14x recursion of 4 B
    code, out, err = run("sos_dumpstack_ee_c00000fd_x86_user.txt")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "_x86_user.txt:48: this is SOS !dumpstack:" in err


def test_a_user_walk_ending_in_a_kernel_half_retaddr_stays_a_user_stack():
    # go_bootstrap's ~*k: thread 4's walk ends in RetAddr ffffffff`ffffffff (garbage) with every
    # Child-SP at 00000000`28e5...: it had been an x64 *kernel* stack on a 24 KB budget with
    # "NO FRAME ON THE THREAD'S STACK"; the SPs say where a stack is
    s = stacks("golang_tilde_k_retaddr_ffffffff_x64_user.txt")
    assert [(x["thread_number"], x["kernel"], x["budget"]) for x in s] == [
        (4, False, None), (7, False, None), (8, False, None)]
    # its frame 10's "instruction pointer" 0xffffffff`ffffffff is above user space: the walk is
    # lost there (the 8 bytes from 0f's SP to 10's, 3160 with them, are no frame's)
    assert s[0]["verdict_id"] == "budget-unknown" and s[0]["used"] == 0x28E5F7B0 - 0x28E5EB68
    assert (s[0]["lost_track"]["cause"], s[0]["lost_track"]["frame"]) == ("not-user-code", 0x10)


def test_a_dot_thread_holds_on_its_processor_and_irp_lines_are_no_stacks():
    # `9: kd> .thread ffffcf06df697040` then k, later `5: kd> k` (processor 5's own thread,
    # amdkmdag's): that stack had been labelled thread df697040; and !irp's stack-location
    # lines ("0  0 00000000 00000000 00000000-00000000") had been 4 phantom x86 stacks
    code, out, err = run("kd_thread_then_other_processor_k_irp_lines_x64.txt", "--format",
                         "json")
    s = json.loads(out)["stacks"]
    assert [x["source"].rsplit(":", 1)[1] for x in s] == ["18", "135", "230"]
    assert [x["thread"] for x in s] == [None, "0xffffcf06df697040", None]
    assert s[2]["frames"][0]["call_site"] == "nt!HalpTscQueryCounterOrdered+0x8"
    assert all(x["arch"] == "x64" for x in s)


def test_x64_locks_waiter_lists_are_no_stacks():
    # a triage script's comment: 0x101's ISR-stack k, two threads' k, then mex !locks whose
    # "Threads Waiting On Exclusive Access:" rows (16-digit thread addresses, four a line) had
    # been a fourth stack of two "frames"
    s = stacks("js_triage_isr_stack_dpc_mex_locks_x64.txt")
    assert [x["source"].rsplit(":", 1)[1] for x in s] == ["6", "76", "106"]
    assert [g["kind"] for g in s[0]["segments"]] == ["isr", "thread"]


def test_an_authors_middle_dot_highlights_leave_the_call_site():
    # a blog's cdb of a 0xEF with "·csrss!main+0x3d4·" highlighted: the row had been third-party
    # (module "·csrss") and the heaviest driver frame
    (s,) = stacks("cdb_0xef_csrss_middot_highlights_x64.txt")
    f = s["frames"][7]
    assert (f["call_site"], f["module"], f["driver"]) == ("csrss!main+0x3d4", "csrss", False)
    assert s["heaviest_drivers"] == [] and s["bugcheck"]["code"] == "0xef"


def test_a_k_with_an_arch_column_is_read():
    # a .NET runtime issue's `0:000:ARM64EC> k` (" #   Arch   Child-SP ...", rows "00  ARM64EC
    # 000000e6`289ecbc0 ..."): it had been "no call stack found" (dropped beside other stacks)
    (s,) = stacks("arm64ec_k_arch_column_user.txt")
    assert [f["size"] for f in s["frames"]] == [0x10, 0x3b0, 0x30, 0x30, 0xb0, 0x40, 0x60, None]
    assert s["used"] == 0x570 and s["frames"][0]["call_site"] == "ntdll!ZwWaitLowEventPair+0x1595b4"
