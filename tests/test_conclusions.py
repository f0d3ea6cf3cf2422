"""Conclusions a careful reader cannot prove wrong: verdict_proven, the bytes the SPs prove where
frames are missing, and a used that is unknown rather than 0. On real logs from fixtures/."""

from __future__ import annotations

import io
import json
from pathlib import Path

from stackext.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _stacks(path) -> list:
    out = io.StringIO()
    assert main(["usage", "--format", "json", str(path)], out=out) == 0
    return json.loads(out.getvalue())["stacks"]


def test_overflow_on_the_threads_own_bounds_is_proven():
    s = _stacks(FIXTURES / "005_ql2300_0x7f8_thread_base_limit_x64.txt")[0]
    assert s["overflow"] and s["verdict_proven"] and s["not_proven"] == []
    assert s["verdict_id"] == "overflow" and s["below_limit"] == 240


def test_no_overflow_on_a_default_budget_is_not_proven_and_says_why():
    # K7Sentry kb (x86): no !thread, an unwind warning between frames 00 and 01
    s = _stacks(FIXTURES / "022_k7sentry_kb_x86_kernel.txt")[0]
    assert not s["overflow"] and not s["verdict_proven"]
    assert s["not_proven"] == ["default-budget", "no-bounds", "frames-missing"]
    assert s["verdict"] == ("no overflow seen (not proven: default budget, no StackBase/"
                            "StackLimit, frames missing)")
    # ChildEBPs a72abc04 (frame 07) - a72ab9d4 (frame 00): what the frame pointers prove
    assert s["used"] == 0xA72ABC04 - 0xA72AB9D4 == 560 and s["used_is_lower_bound"]
    # K7Sentry+0x78b6 at a72aba14 after the warning: 0x40 bytes nobody is named for
    assert s["unattributed"] == 0xA72ABA14 - 0xA72AB9D4 == 64
    assert s["frames"][1]["gap_bytes"] == 64 and s["frames"][1]["size"] is None


def test_one_frame_on_the_thread_stack_is_used_unknown_not_zero():
    # dokany #944: STACK_TEXT with STACK_OVERFLOW's limit, one frame below it
    s = _stacks(FIXTURES / "002_dokany944_stacktext_doublefault_x64.txt")[0]
    assert s["used"] is None and s["remaining"] == -64
    assert s["overflow"] and s["verdict_proven"]  # the SP is below the limit !analyze printed


def test_frames_elided_from_a_kernel_k_still_count_their_bytes(tmp_path):
    """The rows of fixture 005 with frames 05-0f left out by a '...' line and no !thread: the
    SPs on either side prove the bytes between them were used."""
    lines = (FIXTURES / "005_ql2300_0x7f8_thread_base_limit_x64.txt").read_text().splitlines()
    rows = [x for x in lines if " : " in x and x[:1] in "0123456789abcdef" and "`" not in x]
    thread_rows = rows[3:]  # after KeBugCheckEx, KiBugCheckDispatch, KiDoubleFaultAbort
    kept = thread_rows[:2] + ["..."] + thread_rows[13:]
    log = tmp_path / "elided.txt"
    log.write_text("0: kd> k\nChild-SP RetAddr : Args to Child : Call Site\n"
                   + "\n".join(kept) + "\n")
    s = _stacks(log)[0]
    sps = [int(r.split()[0], 16) for r in kept if r != "..."]
    assert s["used"] == max(sps) - min(sps) and s["used_is_lower_bound"]
    # the second kept row's SP up to the first row after the '...'
    assert s["unattributed"] == sps[2] - sps[1]
    assert s["frames"][1]["size_unknown_reason"] == "frames-missing"
    assert not s["verdict_proven"] and "frames-missing" in s["not_proven"]
    assert s["remaining"] == 0x6000 - s["used"] and s["remaining_is_upper_bound"]


def test_an_unreadable_row_is_a_hole_not_bytes_of_its_neighbour(tmp_path):
    """Fixture 024's STACK_TEXT with Ntfs!NtfsAddIndexEntry's row cut after its RetAddr (as a
    web copy loses it): Ntfs!AddToIndex must not be charged the lost frame's bytes."""
    lines = (FIXTURES / "024_insightengineering_ntfs_stacktext_full_x64.txt").read_text()
    cut = []
    for line in lines.splitlines():
        if "Ntfs!NtfsAddIndexEntry+0x165" in line:
            line = line.split("     :")[0]  # "ffffed0e`e77dd720 fffff802`084b2ca3"
        cut.append(line)
    log = tmp_path / "cut.txt"
    log.write_text("\n".join(cut) + "\n")
    s = _stacks(log)[0]
    add = next(f for f in s["frames"] if f["call_site"] == "Ntfs!AddToIndex+0x25e")
    assert add["size"] is None and add["size_unknown_reason"] == "frames-missing"
    assert not add["heavy"]
    # Ntfs!AddToIndex at ...dd660 up to Ntfs!NtfsAddDosOnlyName at ...dd990: proven used
    assert add["gap_bytes"] == 0xFFFFED0EE77DD990 - 0xFFFFED0EE77DD660
    assert any("could not read this line" in w for w in s["warnings"])


def test_usage_and_threads_agree_on_waiting_threads():
    """Both use StackBase - KernelStack (!thread's Current) for a thread that is not running."""
    for name in ("116_prenotes_process_ioctlapp_3threads_base_limit_x64.txt",
                 "101_jellykuo_session_space_thread_base_limit_x64.txt"):
        out = io.StringIO()
        assert main(["threads", "--format", "json", str(FIXTURES / name)], out=out) == 0
        threads = {t["thread"]: t for t in json.loads(out.getvalue())["threads"]}
        for s in _stacks(FIXTURES / name):
            t = threads[s["thread"]]
            assert s["used"] == t["used"], (name, s["thread"], t["used_from"])


def test_nearest_export_names_are_not_one_recursive_function():
    """Fixture 005: rosempio has no PDB; WinDbg names its code by the nearest export
    (rosempio!DsmWriteEvent+0x3c4f4, +0x3e3f3, ...). Not '22x rosempio!DsmWriteEvent'."""
    s = _stacks(FIXTURES / "005_ql2300_0x7f8_thread_base_limit_x64.txt")[0]
    ros = [f for f in s["frames"] if f["module"] == "rosempio"]
    assert len(ros) == 22 and {f["symbol_quality"] for f in ros} == {"export"}
    assert {f["symbol_quality"] for f in s["frames"] if f["module"] == "storport"} == {"pdb"}
    assert {f["symbol_quality"] for f in s["frames"] if f["module"] == "ql2300"} == {"none"}
    names = {x["function"]: x["count"] for x in s["functions"]}
    assert "rosempio!DsmWriteEvent" not in names
    assert names["rosempio!DsmWriteEvent+0x220a8"] == 3  # the same call site three times


def test_export_symbols_line_marks_the_module(tmp_path):
    """WinDbg's '*** ERROR: Symbol file could not be found.  Defaulted to export symbols for
    X - ' makes every name in X a nearest export, even with a small displacement."""
    text = (FIXTURES / "022_k7sentry_kb_x86_kernel.txt").read_text()
    text = text.replace("0: kd> kb\n", "0: kd> kb\n*** ERROR: Symbol file could not be found.  "
                        "Defaulted to export symbols for ntkrpamp.exe - \n")
    log = tmp_path / "export.txt"
    log.write_text(text.replace("nt!", "ntkrpamp!"))
    s = _stacks(log)[0]
    assert {f["symbol_quality"] for f in s["frames"] if f["module"] == "ntkrpamp"} == {"export"}


def test_every_stack_it_ran_on_is_accounted():
    """Fixture 113: a DPC on the idle thread: the DPC stack's own bytes and drivers."""
    s = _stacks(FIXTURES / "113_jellykuo_dpc_on_idle_kiexecutealldpcs_x64.txt")[0]
    for seg in s["segments"]:
        assert "used" in seg and "heaviest_drivers" in seg
        if seg["index"] == s["thread_segment"]:
            assert seg["used"] == s["used"] and seg["budget"] == s["budget"]
        elif seg["low"] and seg["high"]:
            assert seg["used"] == int(seg["high"], 16) - int(seg["low"], 16)


def test_export_symbols_lines_as_windbg_prints_them():
    from stackext.sources.windbg.lines import export_module

    assert export_module("*** ERROR: Symbol file could not be found.  Defaulted to export "
                         "symbols for XYSoapClient.dll - ") == "xysoapclient"
    assert export_module("*** ERROR: Symbol file could not be found.  Defaulted to export "
                         "symbols for C:\\WINDOWS\\System32\\KERNEL32.DLL -") == "kernel32"
    assert export_module("*** WARNING: Unable to verify checksum for WindowDemo.exe") is None


def test_microsoft_modules_are_not_yours_to_fix():
    from stackext.inbox import is_driver_module

    for name in ("lsm", "winsrvext", "csrsrv", "CimFS", "WindowsTrustedRT", "clipsp", "Wof"):
        assert not is_driver_module(name), name
    # Windows' (and Windows Server's) storage, filter and cluster drivers a hunt of real
    # verifier and filter stacks found flagged third-party
    for name in ("mpio", "msdsm", "msiscsi", "Dedup", "DfsrRo", "svhdxflt", "WimFsf",
                 "FsDepends", "AppvVfs", "CSVFS", "CsvFlt", "ClusDisk", "nfsrdr", "vmstorfl",
                 "EhStorTcgDrv", "wbemcore", "SPINF", "ntdll32", "xtajit"):
        assert not is_driver_module(name), name
    # ...and network, display and script ones hunts of real network, graphics and exploit
    # write-up stacks found flagged
    for name in ("pktmon", "AgileVpn", "asyncmac", "MsLbfoProvider", "netft", "ipnat",
                 "rndismp6", "usb8023", "WiFiCx", "wtd", "smbdirect", "wnv", "tssecsrv",
                 "IndirectKmd", "wshom", "comsvcs", "ipnathlp", "hnetcfg", "dnsrslvr"):
        assert not is_driver_module(name), name
    # the user-mode driver hosts and Windows' print, audio, shell, sign-in and directory
    # modules hunts of real user-mode stacks found flagged
    for name in ("WUDFx02000", "WUDFPlatform", "WUDFHost", "localspl", "SPOOLSS", "PrintConfig",
                 "PrintIsolationHost", "AudioKSE", "avrt", "explorerframe", "UIAutomationCore",
                 "credprovs", "wiaservc", "IddCx", "WLDAP32", "adsldpc", "NTDSATQ", "SOS"):
        assert not is_driver_module(name), name
    # third-party drivers in the same real `lm` list stay drivers
    for name in ("VBoxDrv", "nvlddmkm", "npcap", "rt640x64", "AsIO2", "MyUmdf2Driver"):
        assert is_driver_module(name), name


def test_lmv_company_name_decides_whose_module_it_is(tmp_path):
    """lmv's CompanyName in the same log wins over the name table: a module named like an inbox
    driver but from another company is a driver; a Microsoft one is not."""
    text = (FIXTURES / "022_k7sentry_kb_x86_kernel.txt").read_text()
    lmv = ("0: kd> lmv m K7Sentry\n"
           "start    end        module name\n"
           "88c84000 88c95000   K7Sentry   (no symbols)\n"
           "    Image path: \\SystemRoot\\system32\\DRIVERS\\K7Sentry.sys\n"
           "    CompanyName:      Microsoft Corporation\n")
    log = tmp_path / "lmv.txt"
    log.write_text(lmv + text)
    s = _stacks(log)[0]
    k7 = next(f for f in s["frames"] if f["module"] == "K7Sentry")
    assert not k7["driver"]
    log.write_text(lmv.replace("Microsoft Corporation", "K7 Computing Pvt Ltd") + text)
    k7 = next(f for f in _stacks(log)[0]["frames"] if f["module"] == "K7Sentry")
    assert k7["driver"]


def test_the_report_names_the_drivers_on_another_stack():
    """Fixture 111: a clock interrupt on the ISR stack. With the ISR's module named as yours,
    the stacks line shows that stack's bytes and its heaviest frame: the heaviest list of the
    budgeted stack is not the only place drivers are named."""
    out = io.StringIO()
    path = str(FIXTURES / "111_jellykuo_0x133_clock_isr_stack_to_thread_x64.txt")
    assert main(["usage", "--driver", "nt", path], out=out) == 0
    line = next(x for x in out.getvalue().splitlines() if x.startswith("stacks"))
    assert line.startswith("stacks   #0 isr 00-0b, 1,416 B, heaviest driver #05 "
                           "nt!KiUpdateTime+0x613 (672 B); #1 thread 0c-15")
    s = _stacks(FIXTURES / "111_jellykuo_0x133_clock_isr_stack_to_thread_x64.txt")[0]
    isr = s["segments"][0]
    assert isr["kind"] == "isr" and isr["used"] == 1416 and isr["budget"] is None


def test_a_double_fault_whose_frames_run_kernel_code_on_user_space_sps():
    """A real double fault (a project that runs code in ring 0 on a user stack): the frames after
    KiDoubleFaultAbort run nt's code on SPs in user space, so the walk did not stop on the
    double-fault stack and no thread stack is shown running out; the verdict says what the SPs
    prove instead."""
    s = _stacks(FIXTURES / "pasted" / "126_double_fault_user_rsp_readme_x64.txt")[0]
    assert s["double_fault"] and not s["overflow"] and s["thread_segment"] is None
    assert s["verdict_id"] == "double-fault-off-stack"
    assert "user-space stack pointers (from 0x1c178380cd0)" in s["verdict"]
    assert "corrupted or switched to user memory" in s["verdict"]
    out = io.StringIO()  # (this project switched to a user stack on purpose: not "corrupted RSP")
    assert main(["usage", str(FIXTURES / "pasted" / "126_double_fault_user_rsp_readme_x64.txt")],
                out=out) == 0
    assert out.getvalue().startswith("DOUBLE FAULT: after it, kernel code runs on a user-space "
                                     "stack pointer, not on a kernel stack - heaviest frame ")
    assert [(g["kind"], g["first_frame"], g["last_frame"]) for g in s["segments"]] == [
        ("ist", 4, 5), ("user", 6, 11)]
    # the sizes stay the SPs' differences: 0x...0d10 - 0x...0cd0, ..., 0x...1000 - 0x...0ff8
    assert [f["size"] for f in s["frames"][2:6]] == [0x40, 0x140, 0x10, 0x198]


def test_a_double_fault_with_no_frame_after_the_double_fault_stack(tmp_path):
    """The same text cut after KiDoubleFaultAbort: the walk stops on the double-fault stack."""
    lines = (FIXTURES / "pasted" / "126_double_fault_user_rsp_readme_x64.txt").read_text(
        encoding="utf-8").splitlines()
    cut = tmp_path / "cut.txt"
    cut.write_text("\n".join(x for x in lines if not x.startswith(("06 ", "07 ", "08 ", "09 ",
                                                                   "0a ", "0b "))) + "\n",
                   encoding="utf-8")
    s = _stacks(cut)[0]
    assert s["double_fault"] and s["verdict_id"] == "double-fault-on-ist"
    assert "the walk stops on the double-fault stack" in s["verdict"]


def test_what_is_left_is_at_most_when_the_innermost_frames_are_not_shown(tmp_path):
    # fixture 005's !thread with its first six rows (the double-fault stack's three and the
    # thread's innermost three) cut by a "...": the thread ran 240 bytes past StackLimit, so the
    # 0x5ec0 bytes its rows prove leave at most 320 bytes, never "320 bytes left"
    lines = (FIXTURES / "005_ql2300_0x7f8_thread_base_limit_x64.txt").read_text().splitlines()
    head = lines.index(next(x for x in lines if x.startswith("Child-SP RetAddr")))
    cut = lines[:head + 1] + ["..."] + lines[head + 7:]
    log = tmp_path / "cut.txt"
    log.write_text("\n".join(cut) + "\n")
    s = _stacks(log)[0]
    assert s["used"] == 0xfffff8800b9c7000 - 0xfffff8800b9c1140 and s["used_is_lower_bound"]
    assert s["remaining"] == 0x0b9c1140 - 0x0b9c1000 == 320 and s["remaining_is_upper_bound"]
    assert s["verdict_id"] == "close" and not s["verdict_proven"]
    # Microsoft's dxgmms2 page: Base/Limit, then a kf whose rows before 02 are elided
    s = _stacks(FIXTURES / "015_msdocs_dxgmms2_thread_base_limit_kf_fragment_x64.txt")[0]
    assert s["remaining"] == 0x9ee66850 - 0x9ee61000 == 22608 and s["remaining_is_upper_bound"]


def test_a_user_walk_through_an_ip_that_is_no_address_is_lost_there(tmp_path):
    # user mode runs JIT code outside modules, so a bare-address frame is kept; an IP that is not
    # canonical is no code at all: CodeMachine's knf with frame 03's return (its RetAddr and
    # frame 04's call site) overwritten by a pattern, as an exploit's buffer leaves it
    text = (FIXTURES / "012_x64deepdive_knf_memory_x64_user.txt").read_text()
    text = text.replace("00000000`0029bdc0 000007fe`fe55dc08 usp10!UniStorInit+0xdd",
                        "00000000`0029bdc0 41414141`41414141 usp10!UniStorInit+0xdd")
    text = text.replace("000007fe`fe5534af usp10!InitUnistor+0x1d8",
                        "000007fe`fe5534af 0x41414141`41414141")
    log = tmp_path / "overwritten.txt"
    log.write_text(text)
    s = _stacks(log)[0]
    assert s["lost_track"]["cause"] == "not-canonical" and s["lost_track"]["frame"] == 4
    assert [f["call_site"] for f in s["frames"]][-1] == "usp10!UniStorInit+0xdd"
    assert s["frames"][-1]["size_unknown_reason"] == "stack-overwritten"
    assert s["used"] == 0x29bdc0 - 0x29bbf8 and not s["verdict_proven"]
    # untouched, the same listing keeps all five frames
    assert _stacks(FIXTURES / "012_x64deepdive_knf_memory_x64_user.txt")[0]["lost_track"] is None


def test_every_byte_of_a_waiting_threads_used_is_in_a_row_or_a_line():
    # !thread of a waiting thread: used runs from its saved SP (Current ffffa68116596680), 0x40
    # below frame 00's Child-SP (ffffa681165966c0): the rows, the start area and those 64 bytes
    path = FIXTURES / "101_jellykuo_session_space_thread_base_limit_x64.txt"
    s = _stacks(path)[0]
    rows = sum(f["size"] or 0 for f in s["frames"] if f["segment"] == s["thread_segment"])
    assert s["used"] == 0xffffa68116598000 - 0xffffa68116596680 == 6528
    assert s["used"] == rows + s["start_area"] + (0xffffa681165966c0 - 0xffffa68116596680)
    out = io.StringIO()
    assert main(["usage", str(path)], out=out) == 0
    assert "saved    64 bytes from the thread's saved SP (Current) up to frame 00's Child-SP" \
        in out.getvalue()


def test_a_bugchecks_double_fault_or_invalid_sp_is_not_every_waiting_threads(tmp_path):
    # a lab's `!analyze -v; !process 0 7`: fixture 004's 0x7F/8 STACK_TEXT, then fixture 116's
    # !process of three threads (two waiting, each within its own Base/Limit): every one of them
    # had been headlined "DOUBLE FAULT ... look for another cause" (and, after SKLib's 0x139/4,
    # "INVALID STACK POINTER"); the crash's own stack keeps its verdict
    crash = (FIXTURES / "004_ql2300_0x7f8_stacktext_doublefault_x64.txt").read_text()
    threads = (FIXTURES / "116_prenotes_process_ioctlapp_3threads_base_limit_x64.txt").read_text()
    log = tmp_path / "lab.log"
    log.write_text(crash + "\n" + threads)
    s = _stacks(log)
    assert len(s) == 4 and s[0]["verdict_id"] == "double-fault-unproven" and s[0]["double_fault"]
    # (the running thread may be the one that crashed: the text does not rule it out)
    assert [x["state"].split(":")[0] for x in s[1:]] == ["RUNNING", "WAIT", "WAIT"]
    assert [(x["double_fault"], x["verdict_id"]) for x in s[2:]] == [(False, "ok")] * 2
    assert s[1]["double_fault"]
    crash = (FIXTURES / "field" / "sklib10_0x139_incorrect_stack_exception_stack_truncated_x64.txt").read_text()
    log.write_text(crash + "\n" + threads)
    s = _stacks(log)
    assert s[0]["bugcheck"]["code"] == "0x139" and s[0]["verdict_id"] == "invalid-stack-pointer"
    assert [x["verdict_id"] for x in s[2:]] == ["ok"] * 2
