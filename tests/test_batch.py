"""A lab batch never loses a result: every good stack is reported, each bad file is one line on
stderr and an entry of the JSON document's `errors`, the output stays valid, exit 2 at the end."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from stackext.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
A = str(FIXTURES / "022_k7sentry_kb_x86_kernel.txt")
B = str(FIXTURES / "002_dokany944_stacktext_doublefault_x64.txt")


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    return main(argv, out=out, err=err), out.getvalue(), err.getvalue()


def test_json_keeps_every_good_stack_and_lists_the_bad_file(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    rc, out, err = _run(["usage", "--format", "json", A, str(empty), B])
    assert rc == 2
    doc = json.loads(out)  # valid whatever happened
    assert [s["source"].split(":")[0] for s in doc["stacks"]] == [A, B]
    assert doc["errors"] == [{"file": str(empty), "line": None, "message":
                              "no call stack found (expected WinDbg k/kn/kv/kf/!thread/"
                              "!analyze -v output)"}]
    assert err.count("\n") == 1 and str(empty) in err


def test_csv_reads_the_files_after_a_bad_one(tmp_path):
    bad = tmp_path / "binary.txt"
    bad.write_bytes(b"\x00\x01\x02" * 100)
    rc, out, err = _run(["usage", "--format", "csv", str(bad), A])
    assert rc == 2 and "binary file" in err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["source"].split(":")[0] for r in rows} == {A} and len(rows) == 9


def test_json_without_errors_has_no_errors_key():
    rc, out, _ = _run(["usage", "--format", "json", A])
    assert rc == 0 and "errors" not in json.loads(out)


def test_usage_errors_are_one_line():
    for argv in (["usage", "--top", "-1", A], ["usage", "--bogus", A], ["usage", "--arch", "x99"]):
        cp = subprocess.run([sys.executable, "-m", "stackext"] + argv, capture_output=True,
                            text=True)
        assert cp.returncode == 2 and cp.stdout == ""
        assert cp.stderr.count("\n") == 1 and "--help" in cp.stderr, cp.stderr


def test_arch_x86_on_an_x64_log_says_so():
    rc, _, err = _run(["usage", "--arch", "x86", B])
    assert rc == 2 and "--arch x86, but this stack has 64-bit addresses" in err


def test_the_table_summary_does_not_hold_the_stacks(tmp_path, monkeypatch):
    """The table opens with a line per stack: the blocks are spooled (to a file past the
    in-memory size) while only the lines are kept, and come out whole after the summary."""
    from stackext import render

    monkeypatch.setattr(render, "SPOOL_IN_MEMORY", 1024)  # force the temporary file
    rc, out, _ = _run(["usage", A, B])
    assert rc == 0
    head, _, rest = out.partition("\n\n")
    assert head.splitlines()[0] == "2 stacks:" and len(head.splitlines()) == 3
    assert head.splitlines()[1].startswith("  %s:" % A)
    assert rest.count("\n#   Size") == 2  # both stacks' tables follow
