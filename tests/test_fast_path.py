"""The fast paths against the full path, byte for byte: every log in fixtures/ and in the shared
corpus, in every text format, with stackext.fastpath on and off; plus rows made to sit just
outside what the fast row takes (they must fall back and read as before)."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

from stackext import fastpath
from stackext.cli import main
from stackext.report_json import MARKER_BEGIN, MARKER_END
from stackext.sources.windbg import fastrow

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import bench_parse  # noqa: E402  (builds the big log the speed figures are measured on)

CORPUS = ROOT.parent / "shared" / "corpus"
LOGS = sorted(p for d in (ROOT / "fixtures", CORPUS) if d.is_dir()
              for p in d.rglob("*") if p.suffix in (".txt", ".log") and "binaries" not in p.parts)
FORMATS = ("json", "csv", "table", "markdown", "jsonl")


def _run(path, fmt, fast, monkeypatch):
    monkeypatch.setattr(fastpath, "ENABLED", fast)
    out, err = io.StringIO(), io.StringIO()
    status = main(["usage", "--format", fmt, str(path)], out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def _fast_rows(monkeypatch):
    """The lines the fast row path took: a set of (line number, line) -- each line its loop
    read, but those it left to the reader."""
    taken = set()
    real = fastrow.left

    def counting(reader, paste, dps, notes, lines):
        read = []

        def tap():
            for n, raw in enumerate(lines, 1):
                read.append((n, raw))
                yield raw

        left = set()
        for n, raw, done in real(reader, paste, dps, notes, tap()):
            if done is None:
                left.add((n, raw))
            yield n, raw, done
        taken.update(x for x in read if x not in left)

    monkeypatch.setattr(fastrow, "left", counting)
    return taken


def test_the_logs_are_there():
    assert len([p for p in LOGS if "fixtures" in p.parts]) >= 30


@pytest.mark.parametrize("fmt", FORMATS)
def test_fast_and_full_path_agree_on_every_log(fmt, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "120")
    taken = _fast_rows(monkeypatch)
    for path in LOGS:
        fast = _run(path, fmt, True, monkeypatch)
        full = _run(path, fmt, False, monkeypatch)
        assert fast == full, path
    assert len(taken) >= 300  # the fast path read real rows of these logs, not none


def test_fast_and_full_path_agree_on_the_bench_log(tmp_path, monkeypatch):
    log = tmp_path / "big.log"
    bench_parse.build(log, 40)
    taken = _fast_rows(monkeypatch)
    for fmt in ("json", "csv"):
        taken.clear()
        fast = _run(log, fmt, True, monkeypatch)
        assert len(taken) == 40 * 36  # every row of the 40 stacks
        assert fast == _run(log, fmt, False, monkeypatch)
        assert fast[0] == 0 and fast[1].count("KiStartSystemThread") >= 40


ROW = ("ffffed0e`e77dd390 fffff802`084660ee     : ffffb507`72616018 ffffc708`6dff6800 "
       "ffffed0e`e77dd880 ffffc708`6dff6800 : Ntfs!GetIndexBuffer+0x6f")
# Rows just outside the fast row (each must fall back) and just inside it.
VARIANTS = [
    ROW,
    ROW.replace("0x6f", "0x6f [C:\\src\\ntfs\\index.c @ 210]"),
    ROW.replace("0x6f", "0x6f [C:\\src\\ntfs\\index.c @ 210"),  # cut: fallback
    ROW.replace("0x6f", "0x6f (TrapFrame @ ffffed0e`e77dd020)"),
    ROW.replace("0x6f", "0x6f    <- the culprit"),
    ROW.replace("0x6f", "0x6f // here"),
    ROW.replace("+0x6f", ""),
    ROW.replace("Ntfs!GetIndexBuffer", "Ntfs!Foo::Bar"),
    ROW.replace("Ntfs!GetIndexBuffer", "Ntfs!foo(int a = 0n1)"),
    ROW.replace("Ntfs!GetIndexBuffer+0x6f", "Ntfs+0x6f"),
    ROW.replace("Ntfs!GetIndexBuffer+0x6f", "0xfffff802`084660ee"),
    ROW.replace("ffffb507`72616018", "--------`--------"),
    ROW.upper().replace("NTFS!GETINDEXBUFFER+0X6F", "Ntfs!GetIndexBuffer+0x6f"),
    "\t" + ROW,
    "> " + ROW,
    ROW + "\xa0",
    "05 " + ROW,
    "0005 " + ROW,
    "00000005 " + ROW,
    "05 40 " + ROW,
    ROW.replace("     :", "\t:"),
    ROW.replace("ffffed0e`e77dd390", "ffffed0ee77dd390"),
    ROW.replace("GetIndexBuffer", "Foo<int,char>::Bar"),  # a comma: csv quotes the cell
    ROW.replace("GetIndexBuffer", 'Get"Index'),
]


@pytest.mark.parametrize("header", ["STACK_TEXT:  ", " # Child-SP          RetAddr               "
                                    ": Args to Child                                          "
                                    "            : Call Site", "kd> kv"])
@pytest.mark.parametrize("variant", range(len(VARIANTS)))
def test_rows_at_the_fast_paths_edge_read_as_before(header, variant, tmp_path, monkeypatch):
    first = "ffffed0e`e77dd210 fffff802`08467ce3     : ffffb507`72616018 ffffc708`6dff6a40 " \
            "ffffed0e`e77ddb39 fffff802`08475301 : Ntfs!NtfsAllocateRecord+0x42c"
    last = "ffffed0e`e77dd460 fffff802`084cc842     : 00000000`00000000 fffff802`08472973 " \
           "ffffc708`6dff6800 ffffed0e`e77dd840 : Ntfs!PushIndexRoot+0x2ee"
    log = tmp_path / "edge.log"
    log.write_text("\n".join([header, first, VARIANTS[variant], last, ""]), encoding="utf-8")
    for fmt in ("json", "csv"):
        assert _run(log, fmt, True, monkeypatch) == _run(log, fmt, False, monkeypatch)


# Hand edits of a stackext document, each alone: a float where an int goes, an int where a bool
# goes (in a frame and in a module), a bool where an int goes.
EDITS = [(r'"line": (\d+)}', r'"line": \1.5}'), (r'"driver": true, "heavy"', r'"driver": 1, "heavy"'),
         (r'"driver": true}', r'"driver": 1}'), (r'"index": 2, "sp"', r'"index": true, "sp"')]


def edited_log(tmp_path: Path, monkeypatch, pattern: str, repl: str) -> Path:
    """A kd log with fixture 024's JSON report in it, hand-edited once (pattern -> repl)."""
    monkeypatch.chdir(ROOT)
    fixture = "fixtures/024_insightengineering_ntfs_stacktext_full_x64.txt"
    status, doc, _ = _run(fixture, "json", True, monkeypatch)
    edited, count = re.subn(pattern, repl, doc, count=1)
    assert status == 0 and count == 1
    log = tmp_path / "kd.log"
    log.write_text("0: kd> !py stackext.usage --format json\n%s\n%s%s\n" % (
        MARKER_BEGIN, edited, MARKER_END), encoding="utf-8")
    return log


@pytest.mark.parametrize("edit", range(len(EDITS)))
def test_an_embedded_document_with_odd_values_reads_as_before(edit, tmp_path, monkeypatch):
    """stackext's own JSON read back from a kd log, hand-edited: the fast writer leaves such a
    stack to the dict path, which writes the odd value as it was read."""
    pattern, repl = EDITS[edit]
    log = edited_log(tmp_path, monkeypatch, pattern, repl)
    fast = _run(log, "json", True, monkeypatch)
    assert fast == _run(log, "json", False, monkeypatch)
    assert fast[0] == 0 and re.search(repl.replace("\\1", r"\d+"), fast[1])


def test_a_log_whose_name_has_a_comma_and_a_quote(tmp_path, monkeypatch):
    """Every CSV row names its source: quoted there, so the hand-joined rows give way."""
    log = tmp_path / 'lab "7", run 2.log'
    bench_parse.build(log, 3)
    fast = _run(log, "csv", True, monkeypatch)
    assert fast == _run(log, "csv", False, monkeypatch)
    assert fast[1].count('"') == 6 * 3 * 36  # two quotes doubled, two around, every row


def test_csv_leaves_out_totals_and_cycles_and_prints_the_same(monkeypatch):
    """CSV prints frames only, so its analysis skips the module/function totals and the cycle
    search (AnalysisOptions.totals): its text equals the CSV of the full analysis on every log,
    and the totals it skipped are really skipped (a format that needs them gets them)."""
    from stackext.analyze import AnalysisOptions, analyze
    from stackext.errors import StackextError
    from stackext.render import FRAMES_ONLY, render
    from stackext.sources import windbg

    assert FRAMES_ONLY == {"csv"}
    skipped = 0
    for path in LOGS:
        try:
            stacks = [s for s in windbg.read_file(str(path))
                      if not isinstance(s, windbg.EmbeddedJson)]
        except StackextError:  # a log stackext refuses (fixtures/pasted/125): nothing to print
            continue
        full = [analyze(s, AnalysisOptions()) for s in stacks]
        lean = [analyze(s, AnalysisOptions(totals=False)) for s in stacks]
        assert render(lean, "csv") == render(full, "csv"), path
        assert all(not r.modules and not r.functions and not r.cycles for r in lean)
        skipped += sum(bool(r.functions or r.cycles) for r in full)
    assert skipped > 50  # the logs do have totals and cycles to skip


def test_a_fast_rows_argument_words_are_read_when_first_asked_and_equal_the_full_paths(
        monkeypatch):
    """The fast path keeps a row's four argument words as text (parsing them was a quarter of
    reading a row) and Frame.args reads them on first use: the same ints as the full path, so
    KiStartSystemThread's words still give the thread's bounds and KeBugCheckEx's the bug
    check's arguments."""
    from stackext.analyze import analyze
    from stackext.sources import windbg
    log = ROOT / "fixtures" / "024_insightengineering_ntfs_stacktext_full_x64.txt"
    got = {}
    for fast in (True, False):
        monkeypatch.setattr(fastpath, "ENABLED", fast)
        (stack,) = windbg.read_file(str(log))
        held = [f._args for f in stack.frames]  # before anything reads Frame.args
        got[fast] = (held, [f.args for f in stack.frames], analyze(stack))
    (held, args, report), (full_held, full_args, full_report) = got[True], got[False]
    # every row but KeBugCheckEx's (the reader reads its words for the bug check) is text
    assert [i for i, h in enumerate(held) if not isinstance(h, str)] == [0]
    assert not any(isinstance(h, str) for h in full_held)
    assert args == full_args and len(args) == 36
    assert args[-1] == [0xFFFFED0EE77E0000, 0xFFFFED0EE77D9000, 0, 0]  # KiStartSystemThread
    assert report.stack_base == full_report.stack_base == 0xFFFFED0EE77E0000
    assert report.stack_limit == 0xFFFFED0EE77D9000 and report.budget == 0x7000
    assert report.bugcheck.code == 0xA and report.bugcheck.args[:3] == [
        0xFFFF80091002AC08, 2, 1]  # from KeBugCheckEx's row (the STACK_TEXT has no BUGCHECK_P)
