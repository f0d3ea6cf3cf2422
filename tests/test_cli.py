"""The `stackext` command as a user runs it: main([...]) and a real subprocess."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from stackext import __version__
from stackext.cli import main
from stackext.options import parse_address, parse_size

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures"
DF = str(FIX / "005_ql2300_0x7f8_thread_base_limit_x64.txt")


def run(argv, stdin=None):
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        code = main(argv, out=out, err=err)
    finally:
        sys.stdin = old
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("text,value", [("12K", 12288), ("24KB", 24576), ("0x6000", 24576),
                                        ("6000", 0x6000), ("0n24576", 24576),
                                        ("24576", 0x24576), ("28 KiB", 28672), ("1M", 1 << 20),
                                        ("1f40", 0x1F40), ("0`6000", 0x6000)])
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "12Q", "-5", "0", "0x", "0n", "0n12ab", "1fK"])
def test_parse_size_rejects(text):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        parse_size(text)


def test_parse_address_windbg_forms():
    assert parse_address("fffffab0`f950db50") == parse_address("0xfffffab0f950db50") == \
        parse_address("fffffab0f950db50") == 0xFFFFFAB0F950DB50


def test_usage_on_the_bundled_double_fault_prints_the_verdict_and_driver_frames():
    code, out, err = run(["usage", DF])
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == ("OVERFLOW by 240 bytes - heaviest third-party frame "
                        "rosempio!DsmWriteEvent+0x3c4f4 (640 B); an 11-call cycle repeats 2x "
                        "at 1,232 B per round")
    assert "verdict  kernel stack overflow (double fault 0x7F/8): the innermost thread-stack " \
        "frame is 240 bytes below StackLimit" in lines
    row = next(x for x in lines if x.startswith("0b "))
    assert row.split()[:4] == ["0b", "280", "fffff880`0b9c13f0", "5c10"]
    assert row.endswith("driver, top 1")


def test_json_format_is_the_contract():
    code, out, _ = run(["usage", "--format", "json", DF])
    doc = json.loads(out)
    s = doc["stacks"][0]
    assert doc["tool"] == "stackext" and doc["version"] == __version__
    assert s["thread"] == "0xfffffab0f950db50" and s["budget"] == 24576
    assert s["used"] == 24816 and s["overflow"] is True and s["budget_origin"] == "thread"
    assert s["source"].endswith("005_ql2300_0x7f8_thread_base_limit_x64.txt:6")
    assert [g["kind"] for g in s["segments"]] == ["ist", "thread"]


def test_every_fixture_gives_a_report_in_every_format():
    for path in sorted(FIX.glob("*.txt")):
        for fmt in ("table", "json", "csv", "markdown"):
            code, out, err = run(["usage", "--format", fmt, str(path)])
            assert code == 0 and out and not err, (path.name, fmt, err)


def test_options_budget_top_driver_thread():
    code, out, _ = run(["usage", "--format", "json", "--budget", "0x7000", "--top", "2",
                        "--driver", "CLASSPNP", DF])
    s = json.loads(out)["stacks"][0]
    assert s["budget"] == 0x7000 and s["budget_origin"] == "option"
    assert len(s["heaviest"]) == 2
    assert any(m["module"] == "CLASSPNP" and m["driver"] for m in s["modules"])
    three = str(FIX / "116_prenotes_process_ioctlapp_3threads_base_limit_x64.txt")
    code, out, _ = run(["usage", "--format", "json", "--thread", "ffff8a07`1d5a3040", three])
    stacks = json.loads(out)["stacks"]
    assert [s["thread"] for s in stacks] == ["0xffff8a071d5a3040"]
    code, _, err = run(["usage", "--thread", "0x1234", three])
    assert code == 2 and "no stack of thread 0x1234" in err


def test_stdin_and_dash(tmp_path):
    text = (FIX / "012_x64deepdive_knf_memory_x64_user.txt").read_text()
    code, out, _ = run(["usage", "--format", "csv", "-"], stdin=text)
    assert code == 0 and "KERNELBASE!CreateFileW+0x2cd" in out and ",352," in out


def test_json_in_a_kd_log_is_read_back_without_analysis(tmp_path):
    code, doc, _ = run(["usage", "--format", "json", DF])
    log = tmp_path / "kd.log"
    log.write_text("Microsoft (R) Windows Debugger\n0: kd> !py -m stackext.usage --format json\n"
                   "----- stackext json begin -----\n" + doc + "----- stackext json end -----\n"
                   "0: kd> q\n")
    code, table, err = run(["usage", str(log)])
    code2, direct, _ = run(["usage", DF])
    assert code == 0 and table == direct


@pytest.mark.parametrize("content,needle", [
    ("", "no call stack found"),
    ("Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: x\n",
     "no call stack found"),
    ("#0  0x00007f in main () at x.c:5\n#1  0x0000 in __libc_start_main ()\n",
     "no call stack found"),
])
def test_bad_input_is_one_line_with_file_and_exit_2(tmp_path, content, needle):
    p = tmp_path / "bad.txt"
    p.write_text(content)
    code, out, err = run(["usage", str(p)])
    assert code == 2 and needle in err and str(p) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_binary_input(tmp_path):
    p = tmp_path / "crash.dmp"
    p.write_bytes(b"PAGEDU64" + bytes(range(256)) * 64)
    code, _, err = run(["usage", str(p)])
    assert code == 2 and "binary" in err and "crash.dmp" in err


@pytest.mark.parametrize("at, binary", [(8000, True), (9000, False)])
def test_binary_probe_reads_the_first_8192_characters(at, binary, tmp_path):
    """A NUL within the log's first 8192 characters makes it a binary file, rows or not; one
    further on is a line of a text log (the rows before it are read at full speed)."""
    rows = (ROOT / "fixtures" / "024_insightengineering_ntfs_stacktext_full_x64.txt").read_text(
        encoding="utf-8")
    text = (rows * (1 + at // len(rows)))[:at] + "\n\x00junk\n" + rows
    p = tmp_path / "lab.log"
    p.write_text(text, encoding="utf-8")
    code, out, err = run(["usage", "--format", "csv", str(p)])
    assert ("binary file" in err) == binary
    assert code == (2 if binary else 0) and (out.count("KiStartSystemThread") >= 2) != binary


def test_missing_file_and_bad_option():
    code, _, err = run(["usage", "/nonexistent/x.txt"])
    assert code == 2 and "/nonexistent/x.txt" in err and len(err.splitlines()) == 1
    assert run(["usage", "--budget", "lots", DF])[0] == 2
    assert run(["usage", "--arch", "mips", DF])[0] == 2


def test_truncated_log_warns_and_strict_fails():
    p = str(FIX / "002_dokany944_stacktext_doublefault_x64.txt")
    code, out, err = run(["usage", "--format", "json", p])
    s = json.loads(out)["stacks"][0]
    assert code == 0 and s["warnings"] and s["overflow"] is True
    code, _, err = run(["usage", "--strict", p])
    assert code == 2 and "--strict" in err and "002_dokany944" in err


def test_fail_on_overflow_exit_status():
    assert run(["usage", "--fail-on-overflow", DF])[0] == 1
    assert run(["usage", "--fail-on-overflow",
                str(FIX / "101_jellykuo_session_space_thread_base_limit_x64.txt")])[0] == 0


def test_absurd_numbers_do_not_crash(tmp_path):
    p = tmp_path / "absurd.txt"
    p.write_text(" # Child-SP          RetAddr           Call Site\n"
                 "00 ffffffff`ffffffff 00000000`00000000 nt!A\n"
                 "01 00000000`00000000 ffffffff`ffffffff nt!B+0xffffffffffffffffffffffff\n"
                 "02 123456789abcdef0123456789abcdef0 00000000`00000000 nt!C\n")
    code, out, err = run(["usage", "--format", "json", str(p)])
    assert code in (0, 2) and "Traceback" not in err
    if code == 0:
        for s in json.loads(out)["stacks"]:
            assert all(f["size"] is None or f["size"] >= 0 for f in s["frames"])


def test_memory_stays_flat_on_a_large_log(tmp_path):
    body = (FIX / "102_jellykuo_0x19c_vidschiworker_thread_base_limit_x64.txt").read_text()
    p = tmp_path / "big.log"
    with p.open("w") as f:
        for _ in range(600):
            f.write(body + "\n\n")
    size = p.stat().st_size
    tracemalloc.start()
    out = io.StringIO()

    class Sink(io.StringIO):
        def write(self, s):
            return len(s)

    code = main(["usage", "--format", "json", str(p)], out=Sink(), err=out)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert code == 0
    assert peak < size / 4, (peak, size)  # streaming: far less than the file


def test_version_and_help_as_a_subprocess():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    v = subprocess.run([sys.executable, "-m", "stackext", "--version"], capture_output=True,
                       text=True, env=env)
    assert v.returncode == 0 and v.stdout.strip() == "stackext " + __version__
    h = subprocess.run([sys.executable, "-m", "stackext", "usage", "-h"], capture_output=True,
                       text=True, env=env)
    assert h.returncode == 0 and "examples:" in h.stdout and "--budget" in h.stdout
    r = subprocess.run([sys.executable, "-m", "stackext", "usage", DF], capture_output=True,
                       text=True, env=env)
    assert r.returncode == 0 and "OVERFLOW" in r.stdout


def test_wildcards_are_expanded_for_shells_that_do_not(tmp_path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text((FIX / "012_x64deepdive_knf_memory_x64_user.txt").read_text())
    code, out, _ = run(["usage", "--format", "json", str(tmp_path / "*.txt")])
    assert code == 0 and len(json.loads(out)["stacks"]) == 2
    code, _, err = run(["usage", str(tmp_path / "*.log")])
    assert code == 2 and "*.log" in err


def test_no_file_and_a_terminal_on_stdin_is_not_a_hang(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Tty(""))
    out, err = io.StringIO(), io.StringIO()
    assert main(["usage"], out=out, err=err) == 2
    assert "no input" in err.getvalue()
