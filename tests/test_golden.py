"""Golden output: the report of a real log, byte for byte. A change of wording or layout shows
here first; regenerate on purpose with `python -m stackext usage --format FMT FILE > tests/golden/...`
(run from the repository's top folder)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from stackext.cli import main

ROOT = Path(__file__).resolve().parent.parent
CASES = [("table", "101_jellykuo_session_space_thread_base_limit_x64.txt", "101.txt"),
         ("markdown", "101_jellykuo_session_space_thread_base_limit_x64.txt", "101.md"),
         ("csv", "101_jellykuo_session_space_thread_base_limit_x64.txt", "101.csv"),
         ("table", "022_k7sentry_kb_x86_kernel.txt", "022.txt")]


@pytest.mark.parametrize("fmt,fixture,golden", CASES)
def test_golden(fmt, fixture, golden, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("COLUMNS", raising=False)  # not a terminal: the table fits 80 columns
    out = io.StringIO()
    assert main(["usage", "--format", fmt, os.path.join("fixtures", fixture)], out=out) == 0
    assert out.getvalue() == (ROOT / "tests" / "golden" / golden).read_text(encoding="utf-8")
