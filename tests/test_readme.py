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


# -- Windows: the quick start as written for PowerShell 5.1 and cmd, and pykd as an extra ---------

def _windows_block(lang):
    (block,) = re.findall(r"```" + lang + r"\n(.*?)```", README, re.S)
    return [line for line in block.strip().splitlines() if line.strip()]


def _check_windows_commands(lines):
    text = "\n".join(lines)
    assert lines[0].startswith("py -3 -m venv .venv"), lines[0]  # `python3` is often missing
    assert "python3" not in text and ".venv/bin" not in text
    assert "'" not in text  # cmd keeps single quotes; PowerShell would not need them either
    assert '".[test]"' in text  # the extra, in double quotes
    assert "\\Scripts\\pip install" in text
    assert "stackext usage fixtures\\005_ql2300_0x7f8_thread_base_limit_x64.txt" in text
    assert "-m pytest" in text


def test_powershell_quick_start_runs_in_windows_powershell_5():
    lines = _windows_block("powershell")
    assert not any("&&" in line or "||" in line for line in lines)  # no pipeline chains in 5.1
    _check_windows_commands(lines)


def test_cmd_quick_start_quotes_the_extra_for_cmd():
    lines = _windows_block("bat")
    _check_windows_commands(lines)
    assert not any("$?" in line or line.startswith("if (") for line in lines)  # no PowerShell


def _pyproject():
    try:
        import tomllib
    except ImportError:  # Python < 3.11: the test extra installs tomli
        import tomli as tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_pykd_is_an_extra_never_a_core_dependency():
    project = _pyproject()
    assert not [d for d in project["dependencies"] if d.lower().startswith("pykd")]
    (pykd,) = project["optional-dependencies"]["pykd"]
    assert pykd.startswith("pykd") and "sys_platform == 'win32'" in pykd
    assert 'pip install "stackext[pykd]"' in README
