"""Real text from the field (fixtures/field/): what a frame in no loaded module means depends on
what the text around it shows, and a 0x139 with Arg1 4 is the kernel's own finding of a bad
stack pointer. Each test would fail with the report stackext gave before: `.reload /f nt` for a
fully symbolized nt, HEVD symbols asked for a 0x41414141`41414141 return address, "the walk
lost track after frame 00" where the author cut 34 frames, "no overflow seen" for 0x139/4 and
an `unknown` exception stack."""

from __future__ import annotations

import io
import json
from pathlib import Path

from stackext import words
from stackext.analyze import analyze
from stackext.cli import main
from stackext.report_json import load_stack, stack_dict
from stackext.sources.windbg import read_stacks

FIELD = Path(__file__).resolve().parent.parent / "fixtures" / "field"
KDMAPPER = FIELD / "lost_kdmapper137_0x1e_unmapped_code_stacktext_x64.txt"
HEVD = FIELD / "lost_hevd_race_overwritten_and_elided_k_x64.txt"
SKLIB = FIELD / "sklib10_0x139_incorrect_stack_exception_stack_truncated_x64.txt"


def _run(path, fmt="json") -> str:
    out = io.StringIO()
    assert main(["usage", "--format", fmt, str(path)], out=out) == 0
    return out.getvalue()


def _stacks(path) -> list:
    return json.loads(_run(path))["stacks"]


def test_code_outside_any_module_reached_through_a_trap_frame():
    """kdmapper #137: a 0x1E whose Arg2 (the exception address) is frame 04's IP, code in
    manually mapped pool memory. Frame 04's Child-SP comes from KiPageFault's trap frame, so
    KiPageFault's size is known; the frames after 04 are the unwinder's guesses."""
    (s,) = _stacks(KDMAPPER)
    assert s["bugcheck"]["code"] == "0x1e" and s["bugcheck"]["args"][1] == "0xffffa90f80fe0772"
    lt = s["lost_track"]
    assert lt["cause"] == "code-outside-modules" and lt["fault_arg"] == 2
    assert lt["frame"] == 4 and lt["after"] == 4 and lt["ip"] == "0xffffa90f80fe0772"
    assert lt["trap_site"] == "nt!KiPageFault+0x43d" and lt["dropped"] == 3
    assert lt["module"] is None  # nt is not to blame
    text = lt["text"]
    assert "code outside any loaded module" in text and "Arg2: the faulting instruction" in text
    assert "from nt!KiPageFault+0x43d's trap frame" in text
    assert "the 3 frames after it are the unwinder's guesses" in text
    assert ".reload" not in text and "no symbols" not in text
    sizes = {f["index"]: f["size"] for f in s["frames"]}
    # ffffa201`45115ad0 (frame 04, from the trap frame) - ffffa201`45115940 (KiPageFault)
    assert sizes == {0: 8, 1: 0x6C0, 2: 0x1E0, 3: 0x190, 4: None}
    assert s["frames"][4]["size_unknown_reason"] == "walk-lost"
    assert s["used"] == 0x45115AD0 - 0x45115098 == 2616 and s["used_is_lower_bound"]
    assert s["not_proven"] == ["default-budget", "no-bounds", "walk-lost"]
    table = _run(KDMAPPER, "table")
    assert ".reload /f nt" not in table and "03   190" in table


def test_a_non_canonical_return_address_is_an_overwritten_stack():
    """HEVD race post, first paste: the access violation at HEVD+0x86952's `ret` with
    0x41414141`41414141 above it (the overrun the post is about): not a symbol problem."""
    s = _stacks(HEVD)[0]
    lt = s["lost_track"]
    assert lt["cause"] == "not-canonical" and lt["frame"] == 1 and lt["after"] == 0
    assert lt["ip"] == "0x4141414141414141" and lt["dropped"] == 4 and lt["module"] is None
    assert "frame 01's instruction pointer 0x41414141`41414141 is not a valid (canonical) " \
        "address: the stack contents were overwritten" in lt["text"]
    assert "HEVD" not in lt["text"].split("(HEVD+0x86952)")[1] and ".reload" not in lt["text"]
    assert s["frames"][0]["size"] is None
    assert s["frames"][0]["size_unknown_reason"] == "stack-overwritten"
    assert "? stack overwritten" in _run(HEVD, "table")


def test_frames_left_out_with_dots_are_not_a_walk_lost_after_frame_00():
    """The same post's second paste: `k` of the 0x7F with frames 01-22 cut by a `...` line,
    frame 23 a bare kernel address and frames 24-26 the exploit's pattern (0x37714336`71433571).
    The text does not show where the walk lost track; it shows 34 frames missing."""
    s = _stacks(HEVD)[1]
    lt = s["lost_track"]
    assert lt["cause"] == "frames-missing" and lt["gap"] == "elided"
    assert lt["frame"] == 0x23 and lt["after"] == 0 and lt["module"] is None
    assert lt["invalid_from"] == 0x24 and lt["invalid_site"] == "0x37714336`71433571"
    text = lt["text"]
    assert text.startswith("frames 01-22 are not in the text (a `...` line), so where the walk "
                           "lost track is not shown; frame 23's instruction pointer "
                           "0xfffff800`15fb6952 lies in no loaded module")
    assert "frame 24's instruction pointer 0x37714336`71433571 is not a valid (canonical)" in text
    assert "lost track after frame 00" not in text and ".reload" not in text
    assert s["not_proven"] == ["default-budget", "no-bounds", "frames-missing", "walk-lost"]
    assert s["frames"][0]["size_unknown_reason"] == "frames-missing"


def test_0x139_arg1_4_is_an_invalid_stack_pointer_not_no_overflow_seen():
    """SKLib #10: KERNEL_SECURITY_CHECK_FAILURE with Arg1 4 (FAST_FAIL_INCORRECT_STACK), raised
    from RtlpGetStackLimitsEx under RtlDispatchException on the exception stack."""
    (s,) = _stacks(SKLIB)
    assert s["bugcheck"]["code"] == "0x139" and s["bugcheck"]["args"][0] == "0x4"
    assert s["verdict_id"] == "invalid-stack-pointer" and not s["overflow"]
    assert s["verdict"].startswith("invalid stack pointer: the kernel found the stack pointer "
                                   "outside the thread's stack limits (bug check 0x139, Arg1 4")
    assert "not shown to be an overflow" in s["verdict"] and "no overflow" not in s["verdict"]
    # the stack's use is judged on a default budget with no bounds: not proven
    assert not s["verdict_proven"] and s["not_proven"] == ["default-budget", "no-bounds"]
    table = _run(SKLIB, "table")
    assert table.startswith("INVALID STACK POINTER (0x139/4)")
    assert "no overflow seen" not in table


def test_the_exception_stack_is_labelled():
    """Frames 00-07 run on the exception stack: KxExceptionDispatchOnExceptionStack+0x12 at
    ffffe480`92d92fb0, then KiExceptionDispatchOnExceptionStackContinue at ffffe480`92d51008."""
    (s,) = _stacks(SKLIB)
    assert [(g["kind"], g["first_frame"], g["last_frame"], g["used"]) for g in s["segments"]] == [
        ("exception", 0, 7, 0x92D92FB0 - 0x92D921E8), ("thread", 8, 8, None)]
    assert 0x92D92FB0 - 0x92D921E8 == 3528
    assert "#0 exception 00-07, 3,528 B" in _run(SKLIB, "table")
    rows = _run(SKLIB, "csv").splitlines()
    column = rows[0].split(",").index("segment_kind")
    kinds = [row.split(",")[column] for row in rows[1:]]
    assert kinds == ["exception"] * 8 + ["thread"]


def test_the_json_reads_back_with_the_new_ids():
    for path in (KDMAPPER, HEVD, SKLIB):
        for d in _stacks(path):
            again = stack_dict(load_stack(d))
            assert again["lost_track"] == d["lost_track"]
            assert again["verdict_id"] == d["verdict_id"] and again["verdict"] == d["verdict"]
            assert [f["size_unknown_reason"] for f in again["frames"]] == \
                [f["size_unknown_reason"] for f in d["frames"]]
            assert [g["kind"] for g in again["segments"]] == [g["kind"] for g in d["segments"]]


def test_a_warning_just_before_the_frame_in_no_module_names_no_missing_frame():
    """The second paste with its `...` line as the unwind warning WinDbg prints there and the
    next row numbered 01: no frame number is left out, so none is said to be missing (the text
    had said "frame 01 is not in the text" of the frame it then named)."""
    lines = HEVD.read_text().splitlines(True)
    k = lines.index("...\n")
    cut = lines[34:k] + ["WARNING: Frame IP not in any known module. Following frames may be "
                         "wrong.\n"] + ["%02x%s" % (int(x[:2], 16) - 0x22, x[2:])
                                        for x in lines[k + 1:k + 5]]
    (s,) = read_stacks(cut, "warned.log")
    r = analyze(s)
    lt = r.lost_track
    assert (lt.cause.value, lt.gap.value, lt.frame, lt.after) == ("frames-missing",
                                                                  "unwind-warning", 1, 0)
    text = words.lost_track(r)
    assert text.startswith("the text has an unwind warning just before frame 01, so where the "
                           "walk lost track is not shown; frame 01's instruction pointer "
                           "0xfffff800`15fb6952 lies in no loaded module")
    assert "is not in the text" not in text


def test_one_stack_slot_is_said_in_the_singular():
    # a HEVD write-up's breakpoint `k` whose frame 01 is 0x42424242`42424242: one row dropped
    # ("the 1 frame from 01 on are stack slots" had been printed)
    out = io.StringIO()
    assert main(["usage", str(FIELD / "x64_hevd_rs1_bp_k_ret_42424242_one_slot.txt")], out=out,
                err=io.StringIO()) == 0
    assert "the frame from 01 on is a stack slot, not listed, and nothing is judged on it" \
        in out.getvalue()


def test_a_0x50s_arg3_is_not_taken_from_kebugcheckexs_row():
    # an OpenZFS issue's 0x50 (TRAP_FRAME: ffffaf8aaa026610, then a cut STACK_TEXT without the
    # Arg lines): KeBugCheckEx's row shows 00000000`00000050 ffffc081`fc612000 0 ffffaf8a`aa026610
    # -- its Arg3 there is the trap frame's address; the bug check reports the faulting
    # instruction (KeBugCheck2 replaces it), which the row does not show
    (s,) = [x for x in read_stacks(
        (FIELD / "x64_0x50_openzfs_trap_frame_then_stacktext_cut.txt").read_text().splitlines(True),
        "log.txt") if hasattr(x, "frames")]
    assert s.frames[0].args[3] == 0xFFFFAF8AAA026610  # what the row shows, kept on the frame
    assert s.bugcheck.code == 0x50 and s.bugcheck.args == [0xFFFFC081FC612000, 0, None, None]


def test_a_user_walk_into_addresses_above_user_space_is_lost_there():
    # FuzzManager's x64 cdb report: after the JIT frames the kn runs on in 8-byte steps through
    # stack slots; frame 2e's "instruction pointer" is 0xfff90000`00000000, canonical yet above
    # any user address (2^56 and up): 22 rows of slots had been frames ("3x 24 B" recursions of
    # data values among them)
    out = io.StringIO()
    assert main(["usage", "--format", "json",
                 str(FIELD / "x64_fuzzmanager_cdb_kn_slots_kernel_half_ips.txt")],
                out=out, err=io.StringIO()) == 0
    s = json.loads(out.getvalue())["stacks"][0]
    lt = s["lost_track"]
    assert (lt["cause"], lt["frame"], lt["after"], lt["dropped"]) == ("not-user-code", 0x2E,
                                                                      0x2D, 22)
    assert max(f["index"] for f in s["frames"]) == 0x2D and "walk-lost" in s["not_proven"]
    assert "lies above user space, where no user-mode code runs" in lt["text"]


def test_a_frame_an_nmi_interrupted_keeps_its_ip_and_sp_from_the_machine_frame():
    # a blog's NMI on a secure-kernel call (HLAT): KiNmiInterrupt's machine frame gives frame
    # 05 (0xfffff802`352b001c, code in no loaded module) its RIP and RSP, on the thread's stack
    # -- as a page fault's does. It had been dropped with the 10 frames after it, and the
    # verdict "NO FRAME ON THE THREAD'S STACK"
    out = io.StringIO()
    assert main(["usage", "--format", "json",
                 str(FIELD / "x64_nmi_stack_to_secure_kernel_ip_outside_modules_k.txt")],
                out=out, err=io.StringIO()) == 0
    (s,) = json.loads(out.getvalue())["stacks"]
    lt = s["lost_track"]
    assert (lt["cause"], lt["frame"], lt["trap_site"], lt["dropped"]) == (
        "code-outside-modules", 5, "nt!KiNmiInterrupt+0x26e", 10)
    assert [(g["kind"], g["first_frame"], g["last_frame"]) for g in s["segments"]] == [
        ("ist", 0, 4), ("thread", 5, 5)]
    assert s["frames"][5]["sp"] == "0xfffff9896f8af108" and s["verdict_id"] != "no-thread-stack"
