"""The README stays true: its pasted report is what stackext prints today, and its quick-start
commands are the ones CI runs."""

from __future__ import annotations

import io
import re
from pathlib import Path

from stackext.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks():
    return re.findall(r"```[a-z]*\n(.*?)```", README, re.S)


def test_quick_start_commands_are_what_ci_runs():
    blocks = _blocks()
    run_cmd, test_cmd = blocks[0].strip(), blocks[1].strip()
    assert "stackext usage fixtures/005_ql2300_0x7f8_thread_base_limit_x64.txt" in run_cmd
    assert (ROOT / "fixtures" / "005_ql2300_0x7f8_thread_base_limit_x64.txt").exists()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_cmd in ci and run_cmd in ci


def test_pasted_report_matches_the_real_output(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)  # not a terminal: 80 columns
    pasted = next(b for b in _blocks() if b.startswith("OVERFLOW by 240 bytes"))
    out = io.StringIO()
    import os

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert main(["usage", "fixtures/005_ql2300_0x7f8_thread_base_limit_x64.txt"],
                     out=out) == 0
    finally:
        os.chdir(cwd)
    real = out.getvalue().splitlines()
    for line in pasted.splitlines():
        if line.strip() == "...":
            continue
        assert line in real, line
