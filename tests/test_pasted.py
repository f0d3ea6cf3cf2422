"""WinDbg text as people paste it: each fixture in fixtures/pasted/ is a corpus file in a pasted
shape (its `# note:` says how it was made), and must read exactly as the original does -- or real
text pasted as found (its `# source:`), read as the bare text would be or refused in one line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stackext import report_json as RJ
from stackext.analyze import analyze
from stackext.cli import main
from stackext.errors import StackextError
from stackext.sources.windbg import EmbeddedJson, read_file
from stackext.sources.windbg.lines import utf16_without_bom
from stackext.sources.windbg.pasted import LONG_LINE, mex_row, table_row

ROOT = Path(__file__).resolve().parent.parent
FIX, PASTED = ROOT / "fixtures", ROOT / "fixtures" / "pasted"


def stacks(path):
    return [s for s in read_file(str(path)) if not isinstance(s, EmbeddedJson)]


def frames(stack):
    return [(f.index, f.sp, f.ret, f.call_site, f.module, f.function, f.offset, f.inline,
             f.source_file, f.source_line, f.memory, f.args) for f in stack.frames]


def run(argv):
    import io

    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_github_issue_body_escaped_backticks_read_as_the_original():
    (pasted,) = stacks(PASTED / "106_escaped_backticks_github_issue_x64.txt")
    (orig,) = stacks(FIX / "106_jellykuo_acpstress_expworker_thread_base_limit_x64.txt")
    assert frames(pasted) == frames(orig) and len(pasted.frames) == 14
    assert pasted.thread == 0xffff948ffa478040
    assert (pasted.stack_base, pasted.stack_limit) == (0xffffe3813e7b0000, 0xffffe3813e7a9000)
    r = analyze(pasted)
    assert r.used == 4896 and r.budget == 0x7000
    assert [f.size for f in r.frames][:4] == [320, 96, 192, 160]


def test_markdown_table_of_kf_with_html_cells_reads_rows_and_memory():
    (pasted,) = stacks(PASTED / "013_kf_markdown_table_html_cells_x64_user.txt")
    orig = stacks(FIX / "013_ldrpdodebuggerbreak_kn_kf_x64_user.txt")[1]  # the kf listing
    assert frames(pasted) == frames(orig)
    assert [f.memory for f in pasted.frames] == [None, 0x40, 0x4f0, 0x70]
    assert pasted.frames[2].call_site == "ntdll! ?? ::FNODOBFM::`string'+0x29220"
    assert [f.size for f in analyze(pasted).frames] == [0x40, 0x4f0, 0x70, None]


def test_table_row_cells():
    assert table_row("|---|---:|:--|") == ""
    assert table_row("| 140 | <sub>fffff880021748b0</sub> | `nt!KiTrap0E+0xcc` |") == \
        "140  fffff880021748b0  nt!KiTrap0E+0xcc"


def test_mex_t_source_column_becomes_the_source_not_the_function():
    (pasted,) = stacks(PASTED / "020_mex_t_source_column_x64.txt")
    (orig,) = stacks(FIX / "020_jellykuo_0x9f_k_inline_x64.txt")
    assert frames(pasted) == frames(orig) and len(pasted.frames) == 8
    f3, f4 = pasted.frames[3], pasted.frames[4]
    assert (f3.function, f3.source_file, f3.source_line) == (
        "KiProcessExpiredTimerList", "minkernel\\ntos\\ke\\dpcsup.c", 4109)  # one space before
    assert f4.inline and f4.function == "KiExpireTimerTable" and f4.source_line == 4417
    assert [f.size for f in analyze(pasted).frames] == [8, 224, 48, 304, 0, 304, 656, None]
    code, out, _ = run(["usage", str(PASTED / "020_mex_t_source_column_x64.txt")])
    assert code == 0 and max(len(line) for line in out.splitlines()) < 150
    assert "dpcsup.c" not in out


def test_mex_row_info_cell_and_comment_are_left_out():
    # the shape of mex's "Info" column and of an author's comment after a row
    assert mex_row("2 0000000002eae010 0000000076c63b40 ntdll!RtlEnterCriticalSection+0xd1"
                   "       Critical Section: kernel32!PredefinedHandleTableCriticalSection") == \
        "2 0000000002eae010 0000000076c63b40 ntdll!RtlEnterCriticalSection+0xd1"
    assert mex_row("0:000> k") is None


def test_utf16_without_bom_reads_as_the_original():
    raw = (PASTED / "009_utf16le_no_bom_x86_user.txt").read_bytes()
    assert raw[:2] not in (b"\xff\xfe", b"\xfe\xff") and utf16_without_bom(raw[:64]) == "utf-16-le"
    pasted = stacks(PASTED / "009_utf16le_no_bom_x86_user.txt")
    orig = stacks(FIX / "009_windowdemo_tilde_kb_childebp_x86_user.txt")
    assert [frames(s) for s in pasted] == [frames(s) for s in orig]
    assert [len(s.frames) for s in pasted] == [21, 5, 5, 5]
    big_endian = "0: kd> k\n".encode("utf-16-be")
    assert utf16_without_bom(big_endian) == "utf-16-be"
    assert utf16_without_bom("0: kd> k\n".encode("utf-8")) == "utf-8"


TILDE = PASTED / "009_tilde_knf_thread_ids_x86_user.txt"


def test_tilde_knf_thread_ids_name_the_threads():
    result = stacks(TILDE)
    assert [s.thread for s in result] == [0x3218, 0x53dc, 0x2484, 0x1754]
    assert [len(s.frames) for s in result] == [21, 5, 5, 5]
    assert [f.memory for f in result[1].frames] == [None, 0x1bc, 0x10, 0x5c, 0x10]
    code, out, err = run(["usage", "--format", "json", "--thread", "53dc", str(TILDE)])
    assert code == 0, err
    (s,) = json.loads(out)["stacks"]
    assert s["thread"] == "0x53dc" and len(s["frames"]) == 5
    code, out, err = run(["threads", "--format", "csv", str(TILDE)])
    assert code == 0, err
    assert "3218" in out and "1754" in out


def test_tilde_kb_of_the_corpus_now_names_its_threads_too():
    result = stacks(FIX / "009_windowdemo_tilde_kb_childebp_x86_user.txt")
    assert [s.thread for s in result] == [0x3218, 0x53dc, 0x2484, 0x1754]


# "   1  Id: 4884.53dc Suspend: 1 Teb: 01172000 Unfrozen": (number, thread id), from the file
_HEADER = re.compile(r"^\s*(\d+)\s+Id: [0-9a-f]+\.([0-9a-f]+) ", re.M)


@pytest.mark.parametrize("path", [TILDE, FIX / "009_windowdemo_tilde_kb_childebp_x86_user.txt"])
def test_thread_number_picks_the_same_stack_as_its_id(path, capsys):
    headers = _HEADER.findall(path.read_text(encoding="utf-8"))
    assert [int(n) for n, _ in headers] == [0, 1, 2, 3]
    assert [s.thread_number for s in stacks(path)] == [0, 1, 2, 3]
    code, out, err = run(["usage", "--format", "json", "--thread", "~1", str(path)])
    assert code == 0, err
    (s,) = json.loads(out)["stacks"]
    assert s["thread_number"] == 1 and s["thread"] == "0x" + headers[1][1]
    by_id = run(["usage", "--format", "json", "--thread", headers[1][1], str(path)])
    assert by_id == (0, out, "")
    # the second thread's stack (the first waits in NtWaitForSingleObject)
    assert len(s["frames"]) == 5
    assert s["frames"][0]["call_site"] == "ntdll!NtWaitForWorkViaWorkerFactory+0xc"
    code, text, _ = run(["usage", "--thread", "~1", str(path)])
    assert code == 0 and "x86 user thread ~1 id 53dc, %s:" % path in text.splitlines()[1]
    assert [r.thread_number for r in RJ.load(out)] == [1]  # the JSON reads back
    code, _, err = run(["usage", "--thread", "~4", str(path)])
    assert code == 2 and err.strip().endswith("no stack of thread ~4 in the input")
    code, _, _ = run(["usage", "--thread", "~x", str(path)])
    assert code == 2 and "not a thread number: '~x'" in capsys.readouterr().err


def _long_line_log(path):
    """One 95 MB line of the addresses of fixture 005, as a broken paste or tool writes it."""
    text = (FIX / "005_ql2300_0x7f8_thread_base_limit_x64.txt").read_text(encoding="utf-8")
    import re

    words = " ".join(re.findall(r"\b[0-9a-f]{8}`?[0-9a-f]{8}\b", text)) + " "
    size = 95_000_000
    with open(path, "w", encoding="ascii") as f:
        for _ in range(size // len(words)):
            f.write(words)
        f.write("\n")


def test_a_95_mb_line_of_addresses_is_one_clear_error_in_bounded_memory(tmp_path):
    path = tmp_path / "one_line.txt"
    _long_line_log(path)
    assert path.stat().st_size > 90_000_000
    with pytest.raises(StackextError) as e:
        stacks(path)
    assert e.value.where == "%s:1" % path
    assert "more than 65,536 characters" in e.value.message and LONG_LINE == 65536
    # tracemalloc, not ru_maxrss: a child's maxrss starts from its forking parent's (pytest's)
    code = ("import sys, tracemalloc\n"
            "from stackext.sources.windbg import read_file\n"
            "tracemalloc.start()\n"
            "try:\n    list(read_file(sys.argv[1]))\n"
            "except Exception as e:\n    print(type(e).__name__)\n"
            "print(tracemalloc.get_traced_memory()[1] // 1024)\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                          cwd=str(ROOT), timeout=120)
    name, peak_kb = done.stdout.split()
    assert name == "StackextError" and int(peak_kb) < 16_000, done.stdout  # the line is 95 MB


def test_a_long_line_inside_a_stack_is_a_warning_never_a_frame(tmp_path):
    lines = (FIX / "020_jellykuo_0x9f_k_inline_x64.txt").read_text(encoding="utf-8").splitlines()
    at = lines.index(next(line for line in lines if line.startswith("03 ")))  # 0-based
    lines.insert(at, "ffffcd04`6bb4f0a0 " * 5000)
    path = tmp_path / "020_with_long_line.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (s,) = stacks(path)
    (orig,) = stacks(FIX / "020_jellykuo_0x9f_k_inline_x64.txt")
    assert [f.call_site for f in s.frames] == [f.call_site for f in orig.frames]
    assert any(":%d: could not read" % (at + 1) in w and "90000 characters" in w
               for w in s.warnings), s.warnings


COMMENTED = PASTED / "124_code_comment_thread_0x101_x64.txt"


def test_a_stack_quoted_in_a_code_comment_reads_as_without_the_marks(tmp_path):
    """A real !thread kept in a WinDbg script behind "// ": every number as the bare text gives
    it (the interrupt stack, then the idle thread's own, judged against its Base/Limit)."""
    text = COMMENTED.read_text(encoding="utf-8")
    bare = tmp_path / "bare.txt"
    bare.write_text(re.sub(r"(?m)^// ?", "", text), encoding="utf-8")
    (commented,), (plain,) = stacks(COMMENTED), stacks(bare)
    assert frames(commented) == frames(plain) and len(commented.frames) == 18
    r = analyze(commented)
    assert (r.budget, r.used, r.remaining) == (0x7000, 0xBB0, 0x7000 - 0xBB0)  # 0x458000-0x457450
    isr, thread = r.segments
    assert (isr.kind.value, isr.first_frame, isr.last_frame, isr.used) == ("isr", 0, 7, 936)
    assert (thread.kind.value, thread.first_frame, thread.last_frame) == ("thread", 8, 17)
    assert not r.heaviest_drivers  # dxgmms2 and nt are Windows' own


def test_rows_without_child_sp_say_so_at_their_line():
    """Recent WinDbg's x64 kb prints RetAddr but no Child-SP; pasted without its header, such a
    stack is named as that, at its first row, never "no call stack found"."""
    path = PASTED / "125_kb_no_child_sp_github_issue_x64.txt"
    first = 1 + next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines())
                     if line.startswith("00 "))
    code, _, err = run(["usage", str(path)])
    assert code == 2 and "%s:%d: this stack has no Child-SP column" % (path, first) in err
    assert "no call stack found" not in err and len(err.splitlines()) == 1


def test_book_apostrophe_for_backtick_reads_as_the_debugger_printed_it(tmp_path):
    # source: fixtures/pasted/127 (a book's typesetting: fffff800'00b9cc88 for fffff800`00b9cc88)
    idle, dpc, thread = stacks(PASTED / "127_book_apostrophe_ticks_three_dpc_kn_x64.txt")
    assert [f.sp for f in idle.frames] == [0xfffff80000b9cc88, 0xfffff80000b9cc90,
                                           0xfffff80000b9cd40]
    assert [f.size for f in analyze(idle).frames] == [8, 0xb0, None]
    r = analyze(dpc)
    assert len(r.frames) == 17 and r.frames[3].call_site == "nt!KiDispatchInterruptContinue"
    assert [s.kind.value for s in r.segments] == ["dpc", "thread"]
    assert r.used == 0xfffff88004ac7420 - 0xfffff88004ac67a0  # 3,200: the thread's own stack
    assert [f.size for f in analyze(thread).frames] == [8, 0xc0, 0x50, 0x40, None]
    # a word processor's right single quote (U+2019) in its place reads the same
    text = (PASTED / "127_book_apostrophe_ticks_three_dpc_kn_x64.txt").read_text(encoding="utf-8")
    (tmp_path / "smart.txt").write_text(text.replace("'", "\u2019"), encoding="utf-8")
    assert [frames(x) for x in stacks(tmp_path / "smart.txt")] == \
        [frames(x) for x in (idle, dpc, thread)]
