"""The in-debugger command: `usage.main(argv, debugger=...)` with the fake passed in; and, for the
start-up path only (Debugger.load() importing pykd), exactly as `!py` runs it: runpy with
sys.argv set and the fake module as `pykd`; the `!py stackext.usage` launcher the same way."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import pykd as fakepykd
from fakes.pykd import output_text

from stackext import usage as debugger

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "scripts" / "stackext.usage"


def run_usage(engine, *args):
    return debugger.main(list(args), debugger=engine.dbg)


def bang_py(monkeypatch, engine, *args):
    """`!py -m stackext.usage ARGS`: the bootstrapper's runpy call, with `import pykd` (the one
    in Debugger.load) answered by the fake: the start-up path, which no parameter can reach."""
    monkeypatch.setitem(sys.modules, "pykd", engine.pykd)
    monkeypatch.setattr(sys, "argv", ["stackext.usage"] + list(args))
    monkeypatch.delitem(sys.modules, "stackext.usage", raising=False)
    runpy.run_module("stackext.usage", run_name="__main__", alter_sys=True)


def two_thread_session():
    s = fakepykd.load_session("005_doublefault_x64")
    other = fakepykd.load_session("102_vidschworker_x64")
    s["threads"].append(dict(other["threads"][0], process=other["implicit_process"]))
    s["types"]["nt!_KTHREAD"].update(other["types"]["nt!_KTHREAD"])
    s["modules"] += other["modules"]
    return s


def test_module_entry_prints_the_report(monkeypatch):
    engine = fakepykd.fake("102_vidschworker_x64")
    bang_py(monkeypatch, engine, "--no-dml")
    text = output_text(engine)
    assert "dxgmms2!VidSchiResetEngine+0x303" in text and "verdict" in text
    assert all(dml is False for _, dml in engine.output)


def test_launcher_runs_the_same_code(monkeypatch):
    engine = fakepykd.fake("102_vidschworker_x64")
    monkeypatch.setitem(sys.modules, "pykd", engine.pykd)  # the launcher's import of pykd
    monkeypatch.setattr(sys, "argv", [str(LAUNCHER), "--no-dml"])
    runpy.run_path(str(LAUNCHER), run_name="__main__")
    assert "dxgmms2!VidSchiResetEngine+0x303" in output_text(engine)
    assert LAUNCHER.read_text().startswith("#! python3")


def test_launcher_without_stackext_says_how_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "stackext", None)  # import fails as if not installed
    monkeypatch.setattr(sys, "argv", [str(LAUNCHER)])
    runpy.run_path(str(LAUNCHER), run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "!pip install stackext" in out


def test_entries_import_without_pykd():
    """A fresh interpreter where `import pykd` fails: importing both entries (and through them
    every stackext module they use, the adapter included) must not import pykd; only
    Debugger.load() does, and the entry then says so in one line."""
    code = ("import sys; sys.modules['pykd'] = None\n"
            "import stackext.usage, stackext.threads\n"
            "assert 'stackext.sources.pykd.adapter' in sys.modules\n"
            "print(stackext.usage.main(['--no-dml']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=str(ROOT), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-2:] == [
        "stackext: pykd is not available: run this inside WinDbg after `.load pykd` "
        "(pip install \"stackext[pykd]\": Windows, Python 3.8 or 3.9)", "2"]


def test_dml_follows_prefer_dml_and_links_frames_as_km_does(monkeypatch):
    engine = fakepykd.fake("102_vidschworker_x64")
    engine.session["prefer_dml"] = True  # `.prefer_dml 1`
    run_usage(engine)
    text, dml = engine.output[0]
    assert dml is True and ("dbgCommand", (".prefer_dml",)) in engine.calls
    # one link per frame: the scope only (never .frame /c, which switches the context)
    assert '<link cmd=".frame 0x10;dv /t /v">10</link>' in text and ".frame /c" not in text
    assert '<link cmd="lmDvm dxgmms2">dxgmms2</link>' in text and "!thread" in text
    assert "locals" not in text.splitlines()[text.splitlines().index("") + 1]


def test_plain_kd_without_prefer_dml_gets_clean_text(monkeypatch):
    engine = fakepykd.fake("102_vidschworker_x64")  # .prefer_dml 0, as dbgeng starts
    run_usage(engine)
    text, dml = engine.output[0]
    assert dml is False and "<link" not in text and "<col" not in text
    header = next(x for x in text.splitlines() if x.startswith("#"))
    assert header.split() == ["#", "Size", "Child-SP", "Depth", "Call", "Site", "Notes"]
    assert " dv" not in text


def test_crafted_symbol_cannot_inject_dml(monkeypatch):
    s = fakepykd.load_session("102_vidschworker_x64")
    evil = 'x"><link cmd=".shell calc">'
    s["threads"][0]["frames"][3]["symbol"] = ["evil", evil, "0x10"]
    engine = fakepykd.fake(s)
    run_usage(engine, "--dml")
    text = output_text(engine)
    assert ".shell" in text and '<link cmd=".shell' not in text
    assert "!x&quot;&gt;&lt;link cmd=&quot;.shell calc&quot;&gt;+0x10" in text


def test_double_fault_hint_is_a_dml_link(monkeypatch):
    # an engine where `.trap` fails: the walk stays on the IST stack and the hint is a link
    session = fakepykd.load_session("005_doublefault_ist_only_x64")
    session.pop("contexts")
    engine = fakepykd.fake(session)
    run_usage(engine, "--dml")
    text = output_text(engine)
    assert '<link cmd=".trap 0xfffff880021748b0">.trap fffff880`021748b0</link>' in text
    # `.thread` would put back the IST context: only .trap helps; the launcher name works
    # under both !py's (this run did not come through `-m`)
    hint = next(x for x in text.splitlines() if x.startswith("to reach the overflowed"))
    assert ".thread" not in hint
    assert hint.endswith('then <link cmd="!py stackext.usage">!py stackext.usage</link>')


def test_json_inside_the_debugger_is_between_markers(monkeypatch):
    from stackext import report_json as RJ

    engine = fakepykd.fake("005_doublefault_x64")
    run_usage(engine, "--format", "json")
    lines = output_text(engine).splitlines()
    assert lines[0] == RJ.MARKER_BEGIN and lines[-1] == RJ.MARKER_END
    doc = json.loads("\n".join(lines[1:-1]))
    assert doc["stacks"][0]["frames"][3]["call_site"] == "ql2300+0x69416"


@pytest.mark.parametrize("argv", [["-h"], ["--bogus"], ["--top", "many"], ["--thread", "zz"]])
def test_help_and_usage_errors_do_not_raise(monkeypatch, argv):
    engine = fakepykd.fake("102_vidschworker_x64")
    rc = debugger.main(argv, debugger=engine.dbg)
    text = output_text(engine)
    assert rc == (0 if argv == ["-h"] else 2)
    assert "usage: !py -m stackext.usage" in text
    assert engine.count("getStack") == 0


def test_help_through_runpy_does_not_raise_system_exit(monkeypatch):
    engine = fakepykd.fake("102_vidschworker_x64")
    bang_py(monkeypatch, engine, "-h")
    assert "--thread ADDR" in output_text(engine)


def test_dump_option_refused_inside_the_debugger(monkeypatch):
    engine = fakepykd.fake("102_vidschworker_x64")
    assert debugger.main(["--dump", "x.dmp"], debugger=engine.dbg) == 2
    text = output_text(engine)
    assert text.count("\n") == 1 and "--dump works only outside a debugger" in text


def test_dump_option_outside_the_debugger_loads_it(monkeypatch, tmp_path):
    dump = tmp_path / "MEMORY.DMP"
    dump.write_bytes(b"PAGEDU64" + bytes(0x2000))
    engine = fakepykd.fake("102_vidschworker_x64", windbg_ext=False)
    assert debugger.main(["--dump", str(dump)], debugger=engine.dbg) == 0
    assert ("loadDump", (str(dump),)) in engine.calls
    assert ("dbgCommand", (".reload",)) in engine.calls
    assert engine.calls[engine.calls.index(("loadDump", (str(dump),))) + 1][0] == "setSymbolPath"
    assert "verdict" in output_text(engine)


def test_outside_the_debugger_without_dump_is_one_line(monkeypatch):
    engine = fakepykd.fake("102_vidschworker_x64", windbg_ext=False)
    assert debugger.main([], debugger=engine.dbg) == 2
    assert output_text(engine).count("\n") == 1


def test_errors_are_one_line_without_traceback(monkeypatch):
    engine = fakepykd.fake("102_vidschworker_x64")
    engine.fail["getStack"] = fakepykd.DbgException(
        "Call IDebugControl4::GetStackTrace failed\nHRESULT 0x80004005")
    run_usage(engine)
    text = output_text(engine)
    assert text.count("\n") == 1 and text.startswith("stackext: cannot walk the stack")
    assert "Traceback" not in text and "HRESULT" not in text


def test_internal_errors_are_one_line_too(monkeypatch):
    engine = fakepykd.fake("102_vidschworker_x64")
    engine.fail["getStack"] = ZeroDivisionError("boom\nsecond line")
    monkeypatch.delenv("STACKEXT_DEBUG", raising=False)
    assert debugger.main([], debugger=engine.dbg) == 2
    text = output_text(engine)
    assert text == "stackext: internal error, please report it: ZeroDivisionError: boom\n"


def test_no_pykd_at_all_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pykd", None)  # `import pykd` fails: Debugger.load()
    assert debugger.main([]) == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "pykd is not available" in out


# -- debugger state ---------------------------------------------------------------------------

def test_state_untouched_without_thread_option(monkeypatch):
    engine = fakepykd.fake("005_doublefault_x64")
    before = engine.snapshot()
    run_usage(engine)
    assert engine.snapshot() == before
    assert engine.cost("state") == 0 and engine.cost("write") == 0


def test_state_restored_after_success(monkeypatch):
    engine = fakepykd.fake(two_thread_session())
    engine.frame = 3
    before = engine.snapshot()
    run_usage(engine, "--thread", "ffff800b`a6b11500", "--no-dml")
    assert "dxgmms2!VidSchiWorkerThread+0xca" in output_text(engine)
    assert engine.snapshot() == before
    assert engine.cost("write") == 0


def test_state_restored_after_error(monkeypatch):
    engine = fakepykd.fake(two_thread_session())
    engine.frame = 2
    before = engine.snapshot()
    run_usage(engine, "--thread", "0xdeadbeef")  # no such thread: the walk fails
    text = output_text(engine)
    assert text.count("\n") == 1 and text.startswith("stackext: ")
    assert engine.snapshot() == before


@pytest.mark.parametrize("api, nth", [("typedVar", 1), ("getStack", 1), ("typedVar.field", 3),
                                      ("findSymbol", 7)])
def test_state_restored_after_ctrl_break(monkeypatch, api, nth):
    engine = fakepykd.fake(two_thread_session())
    engine.frame = 1
    before = engine.snapshot()
    engine.interrupt = (api, nth)
    run_usage(engine, "--thread", "ffff800ba6b11500")
    assert engine.snapshot() == before
    assert "interrupted (CTRL+BREAK)" in output_text(engine)


def test_ctrl_break_while_restoring_still_restores_the_rest(monkeypatch):
    engine = fakepykd.fake(two_thread_session())
    engine.frame = 4
    engine.interrupt = ("setImplicitThread", 2)  # the restoring call itself is interrupted
    debugger.main(["--thread", "ffff800ba6b11500"], debugger=engine.dbg)
    assert engine.frame == 4 and engine.process == 0xFFFFFAB0205A5B00


def test_writes_are_caught_by_the_fake(monkeypatch):
    engine = fakepykd.fake("005_doublefault_x64")
    pykd = engine.pykd
    with pytest.raises(AssertionError):
        pykd.setReg("rsp", 0)
    with pytest.raises(AssertionError):
        pykd.writeBytes(0x1000, [0])
    assert engine.cost("write") == 2


def test_no_frame_number_attribute_on_fake_frames(monkeypatch):
    engine = fakepykd.fake("005_doublefault_x64")
    frame = engine.pykd.getStack(True)[0]
    assert not hasattr(frame, "frameNumber")
    pykd = engine.pykd
    # Real engine: a command that prints nothing gives None; an unknown one raises.
    assert pykd.dbgCommand("r $t0 = 1") is None and pykd.dbgCommand("!teb") is None
    with pytest.raises(fakepykd.DbgException, match="ExecuteWide failed"):
        pykd.dbgCommand("nothing here")
