"""The WinDbg text-log reader on the real logs in fixtures/ and on damaged or foreign input."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from stackext.errors import StackextError
from stackext.model import GapKind
from stackext.report_json import MARKER_BEGIN, MARKER_END
from stackext.sources.windbg import EmbeddedJson, read_file, read_stacks

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def stacks_of(name):
    return [s for s in read_file(str(FIXTURES / name)) if not isinstance(s, EmbeddedJson)]


def fixture(prefix):
    (path,) = FIXTURES.glob(prefix + "_*.txt")
    return path.name


def one(prefix):
    result = stacks_of(fixture(prefix))
    assert len(result) == 1
    return result[0]


def text(lines, name="t.log"):
    return list(read_stacks(io.StringIO(lines).readlines(), name))


# -- every fixture --------------------------------------------------------------------------------

ALL = sorted(p.name for p in FIXTURES.glob("[0-9]*.txt"))
COUNTS = {
    "002": [4], "004": [75], "005": [40], "009": [21, 5, 5, 5], "010": [7], "012": [5],
    "013": [4, 4], "015": [1], "019": [11], "020": [8], "021": [14], "022": [9], "024": [36],
    "101": [20], "102": [35], "104": [35], "106": [14], "107": [17], "111": [22], "113": [17],
    "116": [18, 9, 12], "117": [1], "119": [16], "122": [19], "123": [18], "201": [20],
    "202": [12],
}


def test_every_fixture_is_covered():
    assert sorted(n[:3] for n in ALL) == sorted(COUNTS)


@pytest.mark.parametrize("name", ALL)
def test_fixture_frame_counts_and_sources(name):
    result = stacks_of(name)
    assert [len(s.frames) for s in result] == COUNTS[name[:3]]
    for s in result:
        assert s.source.startswith(str(FIXTURES / name) + ":")
        assert s.arch in ("x86", "x64")
        lines = [f.line for f in s.frames]
        assert lines == sorted(lines) and all(n > 4 for n in lines)  # past the # header lines
        for f in s.frames:
            assert f.inline == (f.sp is None) == (f.ret is None)
            assert "`" not in (f.function or "") or "string'" in f.function


# -- x64 STACK_TEXT / !analyze -------------------------------------------------------------------

def test_002_truncated_stack_text_with_limit_hint_and_bugcheck_from_keBugCheckEx_row():
    s = one("002")
    assert s.arch == "x64" and s.kernel is True
    assert s.limit_hint == 0xFFFF84028B90A000
    assert s.complete is False
    assert any("cut off" in w for w in s.warnings)
    # no bugcheck header in this log: the code and Arg1..Arg3 come from KeBugCheckEx's row
    assert s.bugcheck.code == 0x7F
    assert s.bugcheck.args == [0x8, 0xFFFFF8037A483E50, 0xFFFF84028B909FC0, None]
    f0, f3 = s.frames[0], s.frames[3]
    assert (f0.sp, f0.ret, f0.module, f0.function, f0.offset) == (
        0xFFFFF8037A483D08, 0xFFFFF803769D5929, "nt", "KeBugCheckEx", 0)
    assert f0.args == [0x7F, 0x8, 0xFFFFF8037A483E50, 0xFFFF84028B909FC0]
    assert (f3.sp, f3.function, f3.offset, f3.line) == (
        0xFFFF84028B909FC0, "RtlpHpVsChunkSplit", 0x43, 11)


def test_004_markdown_damaged_addresses_and_comment():
    s = one("004")
    assert s.source.endswith(":14")
    assert s.bugcheck.code == 0x7F  # from "BUGCHECK_STR: 0x7f_8"
    assert s.bugcheck.args == [0x8, 0x80050033, 0x406F8, 0xFFFFF88001482416]  # __Arg1:...__
    f = s.frames[3]
    assert (f.sp, f.ret) == (0xFFFFF8800B9C0F10, 0xFFFFF88001486C7A)  # backticks lost
    assert (f.call_site, f.module, f.function, f.offset) == ("ql2300+0x69416", "ql2300", None, None)
    assert s.frames[25].call_site == "CLASSPNP! ?? ::FNODOBFM::string'+0x4bb3"
    assert (s.frames[25].module, s.frames[25].function, s.frames[25].offset) == (
        "CLASSPNP", "?? ::FNODOBFM::string'", 0x4BB3)
    last = s.frames[-1]
    assert last.args[3] == 0xFFFFF88001486C7A  # one arg kept its backtick
    assert last.sp == 0xFFFFF8800B9C3190 and s.warnings == []


def test_024_full_stack_text_with_source_lines():
    s = one("024")
    assert s.bugcheck.code == 0xA
    assert s.bugcheck.args == [0xFFFF80091002AC08, 2, 1, None]
    start = s.frames[-1]
    assert (start.function, start.ret, start.args[:2]) == (
        "KiStartSystemThread", 0, [0xFFFFED0EE77E0000, 0xFFFFED0EE77D9000])
    f = s.frames[32]
    assert (f.module, f.function, f.offset, f.source_line) == (
        "TestDriver", "LogCurrentIrql", 0x92, 21)
    assert f.source_file == r"C:\Users\User\source\repos\TestDriver\TestDriver\Driver.c"
    assert f.call_site == "TestDriver!LogCurrentIrql+0x92"


# -- !thread / !process ---------------------------------------------------------------------------

def test_005_thread_bounds_trap_frame_and_row_bugcheck():
    s = one("005")
    assert s.thread == 0xFFFFFAB0F950DB50 and s.process == 0xFFFFFAB0205A5B00
    assert (s.image, s.state, s.kernel) == ("System", "RUNNING", True)
    assert (s.initial_stack, s.kernel_stack) == (0xFFFFF8800B9C6C70, 0xFFFFF8800B9C1A50)
    assert (s.stack_base, s.stack_limit, s.bounds_origin) == (
        0xFFFFF8800B9C7000, 0xFFFFF8800B9C1000, "thread")
    assert s.frames[2].trap_frame == 0xFFFFF880021748B0
    assert s.frames[2].call_site == "nt!KiDoubleFaultAbort+0x28b"
    assert s.bugcheck.code == 0x7F and s.bugcheck.args == [8, 0x80050033, 0x406F8, None]
    assert s.source.endswith(":6")  # the THREAD line


def test_101_bold_symbol_and_inline_rows_with_arg_dashes():
    s = one("101")
    assert s.state == "WAIT:WrUserRequest" and s.image == "System"
    assert (s.stack_base - s.stack_limit) == 0x7000
    f = s.frames[4]
    assert f.call_site == "win32kbase!QueuePowerRequest+0x187"
    assert (f.module, f.function, f.offset, f.sp) == (
        "win32kbase", "QueuePowerRequest", 0x187, 0xFFFFA68116596DA0)
    inl = s.frames[11]
    assert inl.inline and inl.sp is None and inl.ret is None
    assert inl.args == [None, None, None, None]
    assert inl.call_site == "nt!PerfIsGroupOnInGroupMask+0x25"
    assert (inl.source_file, inl.source_line) == (r"onecore\internal\sdk\inc\minwin\ntwmi.h", 4097)
    assert [f.index for f in s.frames] == list(range(20))


def test_102_104_106_107_thread_blocks():
    s = one("102")
    # the corpus note says 7 inline rows; the file holds 6 (frames 05, 0e, 0f, 15, 1d, 1e)
    inline = [f.index for f in s.frames if f.inline]
    assert s.state == "RUNNING" and inline == [5, 14, 15, 21, 29, 30]
    assert s.frames[14].source_line == 370
    s = one("104")
    assert s.state == "WAIT:Executive" and sum(f.inline for f in s.frames) == 1
    big = s.frames[17]  # 0x4e0 bytes between its Child-SP and the next one
    assert (big.sp, s.frames[18].sp) == (0xFFFFA58B1E5066B0, 0xFFFFA58B1E506B90)
    assert big.function == "Dispatch_BuildPagingBuffer" and big.source_line == 1478
    s = one("106")
    assert s.state == "WAIT:DelayExecution" and s.frames[5].inline
    assert s.frames[5].function == "AcpStartDma"
    s = one("107")
    assert s.thread == 0xFFFF800F9BFC6100 and sum(f.inline for f in s.frames) == 4


def test_116_process_with_three_threads():
    s1, s2, s3 = stacks_of(fixture("116"))
    assert [s.thread for s in (s1, s2, s3)] == [
        0xFFFF8A072084B080, 0xFFFF8A071D5A3040, 0xFFFF8A071FF3A080]
    assert [s.state for s in (s1, s2, s3)] == ["RUNNING", "WAIT:WrQueue", "WAIT:WrQueue"]
    assert [(s.stack_base, s.stack_limit) for s in (s1, s2, s3)] == [
        (0xFFFF808DDFFE0000, 0xFFFF808DDFFD9000),
        (0xFFFF808DE0A90000, 0xFFFF808DE0A89000),
        (0xFFFF808DE09D8000, 0xFFFF808DE09D1000)]
    assert all(s.image == "ioctlapp.exe" and s.process == 0xFFFF8A07222E60C0 for s in (s1, s2, s3))
    assert s1.frames[0].source_line == 310 and s1.frames[0].function == "SioctlDeviceControl"
    assert s1.frames[5].trap_frame == 0xFFFF808DDFFDF4C0
    garbage = s1.frames[6]  # a user "frame" without symbols
    assert (garbage.call_site, garbage.module, garbage.function, garbage.ip) == (
        "0x00007ff9`7909c1b4", None, None, 0x7FF97909C1B4)
    assert s2.frames[-1].ret == 0 and s3.frames[-1].sp == 0x6D28BFF938


def test_117_terminated_single_frame():
    s = one("117")
    assert s.state == "TERMINATED" and s.image == "ioctlapp.exe"
    assert s.frames[0].sp == 0xFFFF808DE123F620 and s.frames[0].ret == 0
    assert s.frames[0].args == [0xFFFF808DE1240000, 0xFFFF808DE1239000, 0, 0]
    assert s.initial_stack == 0xFFFF808DE123F650


def test_122_not_resident_inline_suffix_and_user_frames():
    s = one("122")
    assert s.image == "TE.exe" and s.state == "WAIT:UserRequest"
    assert s.stack_base - s.stack_limit == 0x6000
    assert any("Kernel stack not resident" in w for w in s.warnings)
    inl = s.frames[1]
    assert inl.inline and inl.call_site == "nt!KiSwapThread+0xf4"
    assert s.frames[7].trap_frame == 0xFFFFF8800EB5EC40
    assert s.frames[8].sp == 0x837CDEF148 and s.frames[8].module == "ntdll"


def test_015_fragment_gets_bounds_from_the_earlier_thread_tail():
    s = one("015")
    f = s.frames[0]
    assert (f.index, f.memory, f.sp, f.function, f.offset) == (
        2, 0x40, 0xFFFFDC0E9EE66850, "VidSchiMarkDeviceAsError", 0x4D)
    # "..." before the first row, which is frame 02: the elision is the gap the log states
    assert f.gap_before.kind is GapKind.ELIDED and f.gap_before.text == "..."
    assert f.gap_before.where.endswith(":15")
    assert (s.stack_base, s.stack_limit, s.bounds_origin) == (
        0xFFFFDC0E9EE68000, 0xFFFFDC0E9EE61000, "thread")
    assert (s.initial_stack, s.kernel_stack) == (0xFFFFDC0E9EE675B0, 0xFFFFDC0E9EE66610)
    assert "!thread output at" in s.bounds_note
    assert s.complete is False  # "..." after the only frame


# -- k / kn / kf / knf ----------------------------------------------------------------------------

def test_013_kn_and_kf_give_the_same_sps():
    kn, kf = stacks_of(fixture("013"))
    assert [f.sp for f in kn.frames] == [f.sp for f in kf.frames] == [
        0x15EED0, 0x15EF10, 0x15F400, 0x15F470]
    assert [f.memory for f in kn.frames] == [None] * 4
    assert [f.memory for f in kf.frames] == [None, 0x40, 0x4F0, 0x70]
    assert kf.frames[2].function == "?? ::FNODOBFM::`string'"
    assert kn.kernel is False and kn.source.endswith(":6") and kf.source.endswith(":13")


def test_010_knf_elision_sets_gap_and_keeps_frame_numbers():
    s = one("010")
    assert [f.index for f in s.frames] == [0, 8, 9, 10, 11, 12, 13]
    assert s.frames[0].memory is None and s.frames[1].memory == 0x40
    assert s.frames[3].memory == 0x3E0 and s.frames[4].memory == 0x680
    gap = s.frames[1].gap_before  # "[…]" between frames 00 and 08
    assert (gap.kind, gap.text) == (GapKind.ELIDED, "[…]") and gap.where.endswith(":8")
    assert all(f.gap_before is None for f in s.frames[2:])


def test_012_knf_memory():
    s = one("012")
    assert [f.memory for f in s.frames] == [None, 8, 0x160, 0x60, 0xA0]
    assert s.frames[2].sp == 0x29BD60 and s.frames[0].offset == 0


def test_019_k_with_source_tails():
    s = one("019")
    f = s.frames[8]
    assert (f.call_site, f.source_line) == ("winfsp_x64!FspPropagateTopFlags+0x6d", 332)
    assert f.source_file == r"C:\Users\billziss\Projects\winfsp\src\sys\callbacks.c"
    assert s.frames[10].sp == 0xFFFFBA01779B7000 and s.complete is None


def test_020_dotbugcheck_and_inline_row():
    s = one("020")
    assert s.bugcheck.code == 0x9F
    assert s.bugcheck.args == [3, 0xFFFFCF0704D3CAF0, 0xFFFFCD046BB4F010, 0xFFFFCF070DEC88A0]
    f = s.frames[4]
    assert f.inline and f.index == 4 and f.function == "KiExpireTimerTable" and f.offset == 0x9D
    assert s.frames[7].ret == 0 and s.kernel is True


def test_111_113_119_123_k_listings():
    s = one("111")
    assert [f.index for f in s.frames if f.inline] == [1, 2, 7, 8, 0x11]
    assert s.frames[0xC].sp == 0xFFFFB80639767060
    s = one("113")
    assert [f.index for f in s.frames if f.inline] == [1, 3, 4, 6, 9, 12]  # note says 7; file has 6
    assert s.frames[6].function == "FxObject::operator new"
    s = one("119")
    f = s.frames[7]
    assert f.call_site == "nt!KiDivideErrorFault+0x30a" and f.offset == 0x30A  # "<= ..." gone
    s = one("123")
    assert s.thread == 0xFFFFFA8009DA7B00  # ".thread" then "kn"
    assert s.frames[4].function == "?? ::NNGAKEGL::`string'" and s.frames[4].offset == 0x1CAAF
    assert s.frames[0xB].sp == 0x38D21BB480


def test_202_kf_memory_on_inline_row_and_cut_last_row():
    s = one("202")
    assert [f.memory for f in s.frames] == [
        None, 8, 0x140, None, 0xD0, 0x70, 0x140, 0x50, 0, 0x30, 0x30, 0xA0]
    assert s.frames[7].inline and s.frames[7].memory == 0x50
    assert s.complete is False
    assert s.warnings == [
        "%s:19: could not read this line inside a stack: 0c        30 ffff8402`8b90a3c0 ff"
        % str(FIXTURES / fixture("202"))]


# -- x86 -------------------------------------------------------------------------------------------

def test_009_tilde_kb_four_x86_stacks_with_inline_row():
    result = stacks_of(fixture("009"))
    assert [s.arch for s in result] == ["x86"] * 4
    assert [s.source.rsplit(":", 1)[1] for s in result] == ["7", "32", "40", "48"]
    assert all(s.kernel is False for s in result)
    s = result[0]
    inl = s.frames[0x10]
    assert inl.inline and inl.args == [None, None, None]
    assert (inl.function, inl.offset, inl.source_line) == ("invoke_main", 0x1A, 118)
    f = s.frames[8]
    assert (f.sp, f.ret, f.args) == (0x135F860, 0x961481, [0x6979AAEE, 0xD0, 0x1E98])
    assert f.function == "std::thread::join" and f.source_line == 130
    assert s.warnings == []  # "*** WARNING: Unable to verify checksum" is chatter
    assert result[1].frames[0].sp == 0x08D9F944


def test_021_unwind_warning_is_a_gap_and_raw_call_site():
    s = one("021")
    assert s.arch == "x86" and s.kernel is True
    gap = s.frames[3].gap_before
    assert gap.kind is GapKind.UNWIND_WARNING and gap.where.endswith(":11")
    assert gap.text.startswith("WARNING: Stack unwind information not available")
    assert [f.gap_before is None for f in s.frames].count(False) == 1
    assert s.frames[0].sp == s.frames[1].sp == 0xA6C4A878
    last = s.frames[-1]
    assert (last.sp, last.ret, last.module, last.function, last.ip) == (
        0x2DD968, 0, None, None, 0x77A670D4)
    assert s.bugcheck is None


def test_022_kb_x86():
    s = one("022")
    assert s.frames[1].gap_before and s.frames[1].call_site == "K7Sentry+0x78b6"
    assert s.frames[0].args == [0xFFFF0000, 0x312, 1]


def test_201_kv_fpo_trapframe_and_dotbugcheck():
    s = one("201")
    assert s.bugcheck.code == 0x50 and s.bugcheck.args == [0xF000FF8B, 0, 0xBFFD08A7, 2]
    f = s.frames[5]
    assert (f.call_site, f.trap_frame) == ("nt!KiTrap0E+0xcc", 0xB200BE40)
    assert s.frames[0].call_site == "nt!RtlpBreakWithStatusInstruction"
    assert s.frames[19].trap_frame == 0xB200CD64
    assert s.frames[6].gap_before is not None and s.warnings == []


# -- formats the corpus lacks, as inline text -------------------------------------------------

ROWS_002 = (
    "fffff803`7a483d08 fffff803`769d5929     : 00000000`0000007f 00000000`00000008 "
    "fffff803`7a483e50 ffff8402`8b909fc0 : nt!KeBugCheckEx\n"
    "ffff8402`8b909fc0 00000000`00000000     : 00000000`00000000 00000000`00000000 "
    "00000000`00000000 00000000`00000000 : nt!RtlpHpVsChunkSplit+0x43\n\n"
    "SYMBOL_NAME:  nt!RtlpHpVsChunkSplit+43\n"
)
ANALYZE_FIELDS = (
    "BUGCHECK_CODE:  7f\nBUGCHECK_P1: 8\nBUGCHECK_P2: fffff8037a483e50\n"
    "BUGCHECK_P3: ffff84028b909fc0\nBUGCHECK_P4: 0\nSTACK_TEXT:\n" + ROWS_002
)


def test_bugcheck_code_and_p_fields():
    (s,) = text(ANALYZE_FIELDS)
    assert s.bugcheck.code == 0x7F
    assert s.bugcheck.args == [8, 0xFFFFF8037A483E50, 0xFFFF84028B909FC0, 0]
    assert s.complete is None and len(s.frames) == 2


def test_bugcheck_name_header_and_dump_banner():
    (s,) = text("DRIVER_POWER_STATE_FAILURE (9f)\nArguments:\nArg1: 0000000000000003, x\n"
                "Arg2: ffffcf0704d3caf0\n\nSTACK_TEXT:\n" + ROWS_002)
    assert s.bugcheck.code == 0x9F and s.bugcheck.args == [3, 0xFFFFCF0704D3CAF0, None, None]
    (s,) = text("BugCheck 9F, {3, ffffcf0704d3caf0, ffffcd046bb4f010, ffffcf070dec88a0}\n\n"
                "0: kd> k\n # Child-SP          RetAddr               Call Site\n"
                "00 ffffcd04`6bb4efb8 fffff807`9098f10d     nt!KeBugCheckEx\n")
    assert s.bugcheck.code == 0x9F and s.bugcheck.args[3] == 0xFFFFCF070DEC88A0


def test_kf_without_frame_numbers_reads_memory():
    (s,) = text("0:000> kf\n  Memory  Child-SP          RetAddr           Call Site\n"
                "           00000000`0029bbf8 000007fe`fdd24d76 ntdll!NtCreateFile\n"
                "         8 00000000`0029bc00 00000000`77ac2aad KERNELBASE!CreateFileW+0x2cd\n"
                "       160 00000000`0029bd60 000007fe`fe5b9ebd kernel32!CreateFileWImpl+0x7d\n")
    assert [(f.index, f.memory) for f in s.frames] == [(0, None), (1, 8), (2, 0x160)]


def test_x86_knf_and_kp_parameters():
    (s,) = text(" #   Memory  ChildEBP RetAddr\n"
                "00           0135f730 7b177df0 ntdll!NtWaitForSingleObject+0xc\n"
                "01        14 0135f744 759bf369 app!Run(int count = 0n3, char * name = 0x0)+0x20 "
                "[c:\\src\\app.cpp @ 12]\n"
                "02        74 0135f7b8 7b177c23 app!Functor::operator()+0x9\n")
    assert s.arch == "x86" and [f.memory for f in s.frames] == [None, 0x14, 0x74]
    assert s.frames[1].function == "Run" and s.frames[1].source_line == 12
    assert s.frames[2].function == "Functor::operator()"
    assert s.frames[1].args == []


def test_templates_and_spaces_in_symbols():
    (s,) = text("00 00000000`0015eed0 00000000`77732ef5 "
                "foo!std::vector<int,std::allocator<int> >::push_back+0x1a\n")
    f = s.frames[0]
    assert (f.module, f.function, f.offset) == (
        "foo", "std::vector<int,std::allocator<int> >::push_back", 0x1A)


def test_embedded_json_is_returned_verbatim():
    log = "0: kd> !py stackext --json\n%s  \r\n{\"a\": [1,\n 2]}\n%s\n" % (MARKER_BEGIN, MARKER_END)
    (j,) = text(log)
    assert isinstance(j, EmbeddedJson) and j.text == '{"a": [1,\n 2]}' and j.source == "t.log:2"
    with pytest.raises(StackextError) as e:
        text("%s\n{}\n" % MARKER_BEGIN)
    assert e.value.where == "t.log:1"


def test_numbering_restart_starts_a_new_stack_and_blank_lines_inside_a_copy():
    rows = ("00 ffffcd04`6bb4efb8 fffff807`9098f10d nt!KeBugCheckEx\n\n"
            "01 ffffcd04`6bb4efc0 fffff807`9098ef0c nt!PopIrpWatchdogBugcheck+0x1f5\n")
    a, b = text(rows + rows)
    assert [len(a.frames), len(b.frames)] == [2, 2] and b.source == "t.log:4"
    # frame 00 alone again, as !for_each_frame prints it at its end: no stack of its own
    (a,) = text(rows + rows.split("\n")[0] + "\n")
    assert len(a.frames) == 2


def test_gaps_are_typed_and_warnings_name_the_line():
    # fixture 013's kn with frame 02 cut out and "..." after the last row, in a file whose name
    # holds "at " (the old reader split its own message there)
    kn = (FIXTURES / fixture("013")).read_text().splitlines(True)[4:10]
    (s,) = list(read_stacks(kn[:4] + kn[5:] + ["...\n"], "notes at home.log"))
    assert [f.index for f in s.frames] == [0, 1, 3]
    jump = s.frames[2].gap_before
    assert (jump.kind, jump.where, jump.text) == (GapKind.NUMBER_JUMP, "notes at home.log:5", "03")
    assert [f.gap_before is None for f in s.frames] == [True, True, False]
    # frame 03 (LdrInitializeThunk) returns to 0: the walk is whole, the "..." cuts no frame
    assert s.complete is not False and s.warnings == []
    (cut,) = list(read_stacks(kn[:4] + ["...\n"], "notes at home.log"))
    assert [f.index for f in cut.frames] == [0, 1] and cut.complete is False
    assert cut.warnings == [
        "notes at home.log:5: the log leaves out frames after the last one shown"]


def test_dump_commands_are_not_stacks():
    log = ("0: kd> dps ffffd28f`6bfd3ff0 L2\n"
           "ffffd28f`6bfd3ff0  fffff803`76861fa9 nt!RtlpHpVsChunkSplit+0x43\n"
           "0: kd> k\n # Child-SP          RetAddr               Call Site\n"
           "00 ffffcd04`6bb4efb8 fffff807`9098f10d     nt!KeBugCheckEx\n")
    # a dump of one heap address is no stack (a dump of a stack is: tests/test_dps.py)
    (s,) = text(log)
    assert s.frames[0].function == "KeBugCheckEx" and s.source == "t.log:4"
    assert len(s.frames) == 1 and s.frames_from == "stack-walk"


# -- bad input -------------------------------------------------------------------------------

def test_empty_file(tmp_path):
    p = tmp_path / "empty.log"
    p.write_text("")
    with pytest.raises(StackextError) as e:
        list(read_file(str(p)))
    assert e.value.where == str(p) and "no call stack found" in str(e.value)


def test_binary_file(tmp_path):
    p = tmp_path / "crash.dmp"
    p.write_bytes(b"PAGEDU64" + b"\x00" * 100 + b"\x07" * 50)
    with pytest.raises(StackextError) as e:
        list(read_file(str(p)))
    assert e.value.where == str(p) + ":1" and "binary" in e.value.message


def test_missing_file(tmp_path):
    with pytest.raises(StackextError) as e:
        list(read_file(str(tmp_path / "nope.log")))
    assert e.value.where.endswith("nope.log")


@pytest.mark.parametrize("log", [
    'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\n'
    "    main()\nValueError: boom\n",
    "#0  0x00007ffff7a42428 in __GI_raise (sig=sig@entry=6) at ../raise.c:54\n"
    "#1  0x00007ffff7a4402a in __GI_abort () at abort.c:89\n",
    "kd> lm\nstart             end                 module name\n"
    "fffff803`76800000 fffff803`772b5000   nt         (pdb symbols)\n",
])
def test_other_tools_output_has_no_stack(log):
    with pytest.raises(StackextError) as e:
        text(log)
    assert e.value.where == "t.log"


def test_truncated_log_mid_row():
    (s,) = text(" # Child-SP          RetAddr               Call Site\n"
                "00 ffffba01`779b5c88 fffff802`1bc11aa9     nt!KeBugCheckEx\n"
                "01 ffffba01`779b5c90 fffff802")
    assert len(s.frames) == 1 and s.complete is False
    assert s.warnings[0].startswith("t.log:3: could not read this line inside a stack: 01 ffff")


def test_absurd_numbers_are_unreadable_rows_not_crashes():
    (s,) = text("STACK_TEXT:\n"
                "fffff803`7a483d08 fffff803`769d5929     : 1 2 3 4 : nt!KeBugCheckEx\n"
                "ffffffffffffffffffffffffffffffffffffffff fffff803`769d0783 nt!Ki+0x69\n"
                "fffff803`7a483e50 fffff803`768620e3 nt!KiDoubleFaultAbort+0x2c3\n\n")
    assert len(s.frames) == 1 and len(s.warnings) == 2  # args "1 2 3 4" are not WinDbg cells
    assert s.warnings[1].startswith("t.log:3: could not read")


def test_crlf_quoting_trailing_spaces_and_nbsp():
    raw = ("> 0: kd> k  \r\n>  # Child-SP          RetAddr               Call Site  \r\n"
           "> 00 ffffcd04`6bb4efb8 fffff807`9098f10d\u00a0    nt!KeBugCheckEx  \r\n"
           "> 01 ffffcd04`6bb4efc0 fffff807`9098ef0c     **nt!PopIrpWatchdog**+0xc  \r\n")
    (s,) = list(read_stacks(raw.splitlines(True), "q.log"))
    assert [f.call_site for f in s.frames] == ["nt!KeBugCheckEx", "nt!PopIrpWatchdog+0xc"]
    assert s.kernel is True and s.warnings == []


def test_one_megabyte_line(tmp_path):
    p = tmp_path / "long.log"
    body = (" # Child-SP          RetAddr               Call Site\n"
            "00 ffffcd04`6bb4efb8 fffff807`9098f10d     nt!KeBugCheckEx\n"
            + "A" * (1 << 20) + "\n"
            "01 ffffcd04`6bb4efc0 fffff807`9098ef0c     nt!PopIrpWatchdog+0xc\n"
            + "x" * (3 << 20))  # and a 3 MB tail without a newline
    p.write_text(body)
    (s,) = list(read_file(str(p)))
    assert len(s.frames) == 2
    assert any("characters long" in w for w in s.warnings)
    assert all(len(w) < 200 for w in s.warnings)


def test_utf16_log_and_stdin(tmp_path, monkeypatch):
    log = " # Child-SP          RetAddr           Call Site\n00 00000000`0015eed0 " \
          "00000000`77732ef5 ntdll!LdrpDoDebuggerBreak+0x30\n"
    p = tmp_path / "u.log"
    p.write_bytes(log.encode("utf-16"))  # .logopen /u
    (s,) = list(read_file(str(p)))
    assert s.frames[0].sp == 0x15EED0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(log.encode("utf-8"))))
    (s,) = list(read_file("-"))
    assert s.source == "<stdin>:1"


# -- streaming -------------------------------------------------------------------------------------

def test_streams_thousands_of_stacks_lazily():
    consumed = []

    def lines():
        for i in range(2000):
            for line in ("0: kd> k\n", " # Child-SP          RetAddr               Call Site\n",
                         "00 ffffcd04`6bb4e%03x fffff807`9098f10d     nt!KeBugCheckEx\n" % i,
                         "01 ffffcd04`6bb4f000 00000000`00000000     nt!KiIdleLoop+0x9e\n"):
                consumed.append(1)
                yield line

    it = read_stacks(lines(), "big.log")
    first = next(it)
    assert first.frames[0].sp == 0xFFFFCD046BB4E000
    assert len(consumed) < 20  # the first stack came out long before the input ran out
    rest = list(it)
    assert len(rest) == 1999 and rest[-1].frames[0].sp == 0xFFFFCD046BB4E000 + 1999


def _by_readline(stream, chunk):
    """What bounded_lines gave when it called readline(READ_CHUNK) once per line."""
    dropping = False
    while True:
        line = stream.readline(chunk)
        if not line:
            return
        if not dropping:
            yield line
        dropping = not line.endswith("\n")


# READ_BLOCK <= READ_CHUNK (a line inside a block is never too long)
@pytest.mark.parametrize("block,chunk", [(4, 8), (8, 8), (1, 3), (3, 5), (7, 64), (16, 16)])
def test_bounded_lines_reads_blocks_as_readline_read_lines(monkeypatch, block, chunk):
    # every line length around the block and chunk sizes, at every offset against the blocks,
    # with \r\n and \r newlines (translated by the text layer) and no newline at the end
    import io
    import random

    from stackext.sources.windbg import lines as L
    monkeypatch.setattr(L, "READ_BLOCK", block)
    monkeypatch.setattr(L, "READ_CHUNK", chunk)
    rng = random.Random(block * 1000 + chunk)
    for trial in range(300):
        parts = []
        for _ in range(rng.randrange(0, 12)):
            n = rng.choice([0, 1, chunk - 2, chunk - 1, chunk, chunk + 1, 2 * chunk + 3,
                            block - 1, block, block + 1, rng.randrange(0, 3 * chunk)])
            parts.append("".join(rng.choice("ab`0\x0c") for _ in range(max(n, 0))))
            parts.append(rng.choice(["\n", "\r\n", "\r"]))
        if parts and trial % 2:
            parts.pop()  # no newline at the end
        data = "".join(parts).encode("utf-8")

        ours, theirs = (io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=None)
                        for _ in range(2))
        assert list(L.bounded_lines(ours)) == list(_by_readline(theirs, chunk)), repr(data)
