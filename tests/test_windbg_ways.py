"""Inside the debugger as a WinDbg user expects it (issue 11), on the fake: links that move the
scope only and land on their row, no symbol loads of our making, .prefer_dml, the engine's own
evaluator for @$thread, WinDbg's colours, launcher names; and the report's layout (issue 10.4)."""

from __future__ import annotations

import io
import re
import sys
import types
from pathlib import Path

from fakes import pykd as fakepykd
from fakes.pykd import output_text

from stackext import launch
from stackext import usage as debugger
from stackext.cli import main
from stackext.sources.pykd import scrape

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures"
DF = str(FIX / "005_ql2300_0x7f8_thread_base_limit_x64.txt")
LINK = re.compile(r'<link cmd="([^"]*)">([^<]*)</link>')


def _dml(session: str, *args: str):
    engine = fakepykd.fake(session)
    engine.session["prefer_dml"] = True
    assert debugger.main(list(args), debugger=engine.dbg) == 0
    return engine, output_text(engine)


def test_every_frame_link_lands_on_its_row_and_keeps_the_register_context():
    engine, text = _dml("real_inline_user_x64")
    links = [(cmd, label) for cmd, label in LINK.findall(text) if cmd.startswith(".frame")]
    plain = re.sub(r"<[^>]+>", "", text).replace("&gt;", ">").replace("&lt;", "<")
    rows = {x.split()[0]: x for x in plain.splitlines() if re.match(r"^[0-9a-f]{2} ", x)}
    assert len(links) >= len(rows) == 12  # inline rows 04/05 too: `.frame` counts them
    regs = engine.registers()
    for cmd, label in links:
        label = label.lstrip("#")  # `#06` in the list under the table
        assert cmd == ".frame 0x%x;dv /t /v" % int(label, 16)
        landed = engine.pykd.dbgCommand(cmd).splitlines()[0]
        assert landed.split()[0] == label  # `.frame N` shows row N ...
        # ... with the same function (kf spells a negative displacement +0xffffffff`fffffefe)
        assert re.split(r"[+-]0x", landed.split()[-1])[0] in rows[label]
        assert engine.registers() == regs and engine.context_frame == 0


def test_no_frame_links_in_a_frame_c_context():
    engine = fakepykd.fake("real_inline_user_x64")
    engine.session["prefer_dml"] = True
    engine.pykd.dbgCommand(".frame /c 3")  # the user's own context: the engine renumbers
    debugger.main([], debugger=engine.dbg)
    assert ".frame 0x" not in output_text(engine)


def test_modules_are_not_asked_for_their_symbol_file():
    engine, _ = _dml("102_vidschworker_x64")
    assert engine.count("module.symfile") == 0  # it loads symbols: 7 lines of noise each
    lm = [c for c in engine.calls if c == ("dbgCommand", ("lm",))]
    assert len(lm) <= 1


def test_export_only_modules_come_from_lm():
    engine = fakepykd.fake("real_seed_user_x64")
    starts = scrape.export_only_starts(engine.dbg.lm_text())
    exports = {m["begin"] for m in engine.modules if m.get("symfile") == "export symbols"}
    assert starts == exports and exports


def test_prefer_dml_off_gives_plain_text_and_on_gives_dml():
    engine = fakepykd.fake("005_doublefault_x64")
    assert scrape.prefer_dml(engine.dbg.command_or_empty(".prefer_dml")) is False
    engine.pykd.dbgCommand(".prefer_dml 1")
    assert scrape.prefer_dml(engine.dbg.command_or_empty(".prefer_dml")) is True


def test_overflow_is_errfg_and_heavy_is_not_changed():
    _, text = _dml("005_doublefault_x64")
    first = text.splitlines()[0]
    assert first.startswith('<col fg="errfg">OVERFLOW by ')
    assert 'fg="changed"' not in text and "lmvm" not in text and "lmDvm" in text


def test_thread_pseudo_register_through_the_engine_and_hex_budget():
    engine = fakepykd.fake("005_doublefault_x64")
    assert debugger.main(["--thread", "@$thread", "--budget", "6000", "--format", "json",
                          "--no-locals"], debugger=engine.dbg) == 0
    assert ("expr", ("@$thread",)) in engine.calls
    assert '"budget": 24576' in output_text(engine)
    engine = fakepykd.fake("005_doublefault_x64")
    debugger.main(["--thread", "@$nosuch"], debugger=engine.dbg)
    assert output_text(engine).startswith("stackext: cannot evaluate --thread @$nosuch: ")


def test_help_with_a_question_mark():
    engine = fakepykd.fake("005_doublefault_x64")
    assert debugger.main(["-?"], debugger=engine.dbg) == 0
    assert "0n24576" in output_text(engine)


def test_launcher_name_unless_run_with_m(monkeypatch):
    assert launch.command("usage") == "!py stackext.usage"  # pytest's __main__
    fake_main = types.ModuleType("__main__")
    fake_main.__spec__ = types.SimpleNamespace(name="stackext.usage")
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    assert launch.command("usage") == "!py -m stackext.usage"


def _run(argv, env_columns=None, monkeypatch=None):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_report_fits_80_columns_and_wide_keeps_every_name(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    _, out, _ = _run(["usage", DF])
    table = out.split("\n\n")[1].splitlines()
    assert max(len(line) for line in table if not line.endswith("stack continues")) == 80
    assert len(out.splitlines()) == 65  # 99 before; kf is 41 (the repeats list is by call site)
    _, wide, _ = _run(["usage", "--wide", DF])
    assert "storport!RaidpAdapterContinueScatterGather+0xc3" in wide
    assert wide.splitlines()[8].split()[:3] == ["#", "Size", "bytes"]
    monkeypatch.setenv("COLUMNS", "200")
    assert "storport!RaidpAdapterContinueScatterGather+0xc3" in _run(["usage", DF])[1]


def test_many_stacks_start_with_one_line_each():
    _, out, _ = _run(["usage", str(FIX / "116_prenotes_process_ioctlapp_3threads_base_limit_x64.txt")])
    lines = out.splitlines()
    assert re.match(r"^\d+ stacks:$", lines[0])
    n = int(lines[0].split()[0])
    assert n > 1 and all(x.startswith("  ") and ".txt:" in x for x in lines[1:n + 1])


def test_no_doubled_prefix_and_threads_nothing_matched(monkeypatch):
    code, _, err = _run(["threads", "--driver", "nosuch",
                         str(FIX / "116_prenotes_process_ioctlapp_3threads_base_limit_x64.txt")])
    assert code == 0 and err.startswith("stackext: no thread has nosuch on its stack")


def test_unknown_sizes_say_stack_continues_and_system_call(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    _, out, _ = _run(["usage", str(FIX / "123_msdocs_wdtf_kn_syscall_to_user_x64.txt")])
    assert "? thread start" not in out and "? base unknown" not in out
    last = next(x for x in out.splitlines() if "RtlUserThreadStart" in x)
    assert last.split()[-5:] == ["ntdll!RtlUserThreadStart+0x1d", "?", "start", "area,", "base",
                                 "unknown"][-5:]
    _, out, _ = _run(["usage", DF])
    assert out.splitlines()[-1].strip().endswith("left") and "a round of 1 calls" not in out
