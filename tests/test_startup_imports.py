"""What an in-debugger run imports, read from a fresh interpreter (every `!py` is one): the
start-up that `bench/bench_startup.py` times, pinned without timing. A table run over the fake
pykd (10 frames) imports the table's renderer and nothing of the log reader, the JSON document,
another format, tabulate or tempfile; its `--help` not even the table's renderer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import sys
sys.path[:0] = [{root!r}, {tests!r}]
from fakes import pykd as fakepykd
engine = fakepykd.fake(fakepykd.synthetic_session(10, 4))
from stackext import usage
rc = usage.main({argv!r}, debugger=engine.dbg)
assert rc == 0, fakepykd.output_text(engine)
sys.stderr.write("\\n".join(sorted(sys.modules)))
"""
# not on the in-debugger path of a table run: what each costs a fresh interpreter
NOT_IMPORTED = (
    "stackext.sources.windbg",  # the log reader
    "stackext.report_json",  # the JSON document (a JSON run imports it with its renderer)
    "stackext.cli",  # the console
    "tabulate",  # ~26 ms with importlib.metadata
    "tempfile",  # with random and shutil: only a stream of many stacks spools
)


def _modules(argv):
    code = CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"), argv=argv)
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 0, proc.stderr[-800:]
    return proc.stderr.split("\n")


def _matching(modules, prefixes):
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


@pytest.mark.parametrize("argv", [["--no-dml"], ["--dml"]], ids=["table", "dml"])
def test_an_in_debugger_run_imports_only_what_it_uses(argv):
    modules = _modules(argv)
    assert "stackext.analyze" in modules  # the run did run
    assert _matching(modules, NOT_IMPORTED) == []
    renderers = [m for m in modules if m.startswith("stackext.render.")]
    table = ["stackext.render.base", "stackext.render.common", "stackext.render.headline",
             "stackext.render.table", "stackext.render.text"]
    dml = ["stackext.render.dml", "stackext.render.markup"] if argv == ["--dml"] else []
    assert sorted(renderers) == sorted(table + dml)


def test_an_in_debugger_json_run_imports_the_json_document_with_its_renderer():
    modules = _modules(["--format", "json"])
    assert "stackext.report_json" in modules
    assert [m for m in modules if m.startswith("stackext.render.")] == [
        "stackext.render.base", "stackext.render.json_", "stackext.render.json_fast"]
    assert _matching(modules, ("stackext.sources.windbg", "tabulate", "tempfile")) == []


def test_in_debugger_help_imports_no_renderer_and_nothing_a_run_does_not_need():
    modules = _modules(["--help"])
    assert [m for m in modules if m.startswith("stackext.render.")] == ["stackext.render.base"]
    assert _matching(modules, NOT_IMPORTED) == []


@pytest.mark.parametrize("fmt", ["table", "markdown", "dml", "json"])
def test_render_without_a_spool_writes_what_the_spooled_stream_writes(fmt, monkeypatch):
    """render() (the debugger's one report, all in memory) skips the stream's spool: the same
    text, byte for byte, as the stream spooled to a temporary file."""
    from stackext import render as R
    from stackext.analyze import analyze
    from stackext.sources import windbg

    names = ("116_prenotes_process_ioctlapp_3threads_base_limit_x64.txt",
             "005_ql2300_0x7f8_thread_base_limit_x64.txt",
             "021_avgidsdriverx_stacktext_x86_kernel.txt")
    reports = [analyze(s) for n in names for s in windbg.read_file(str(ROOT / "fixtures" / n))]
    assert len(reports) >= 5
    monkeypatch.setattr(R, "SPOOL_IN_MEMORY", 1024)  # the stream's blocks go to a file
    for some in (reports, reports[:1]):
        parts = []
        assert R.stream(iter(some), fmt, None, parts.append) == len(some)
        assert R.render(some, fmt) == "".join(parts)
