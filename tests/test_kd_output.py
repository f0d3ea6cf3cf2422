"""What a kd session and its log get, on the fake pykd (the real engine: tests/realengine/test_kd.py):
the report in pieces under the engine's 16,383-character cut, the dump named in the report's
source, the log reader's JSON block with the engine's chatter inside it, and the launcher's
STACKEXT_ARGS (pykd.pyd's `!py` garbles arguments under Wine)."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest
from fakes import pykd as fakepykd
from fakes.pykd import OUTPUT_LIMIT, output_text

from stackext import usage
from stackext.cli import main as cli_main
from stackext.debugger import OUTPUT_CHUNK, chunks
from stackext.report_json import MARKER_BEGIN, MARKER_END

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "scripts" / "stackext.usage"


@pytest.mark.parametrize("text", ["", "a", "a\n\nb\n", ("y" * 300 + "\n") * 100, "x" * 20000])
@pytest.mark.parametrize("limit", [5, 301, OUTPUT_CHUNK])
def test_chunks_are_whole_lines_under_the_limit(text, limit):
    pieces = chunks(text, limit)
    assert all(len(p) <= limit for p in pieces)
    if max(len(line) for line in text.split("\n")) <= limit:
        assert "\n".join(pieces) == text
    else:  # only a line longer than the limit is split
        assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    assert OUTPUT_CHUNK < OUTPUT_LIMIT


@pytest.mark.parametrize("args", [[], ["--no-dml"], ["--format", "json"]])
def test_a_1024_frame_report_is_not_cut(args):
    """The fake cuts one dprintln at 16,383 characters as the engine does; the report still
    arrives whole: every row, and the sections after the table."""
    engine = fakepykd.fake(fakepykd.synthetic_session(1024))
    assert usage.main(args, debugger=engine.dbg) == 0
    assert all(len(text) < OUTPUT_LIMIT for text, _ in engine.output)
    text = output_text(engine)
    assert len(text) > 3 * OUTPUT_LIMIT  # several pieces under the cut
    if args:
        assert engine.output[-1][0].rstrip("\n").endswith(
            MARKER_END if "json" in args else text.rstrip("\n").splitlines()[-1])
    if "json" in args:
        doc = json.loads(text[text.index("{"):text.index(MARKER_END)])
        assert len(doc["stacks"][0]["frames"]) == 1024
    else:
        assert "verdict" in text and "drv3" in text.rsplit("module", 1)[1]
        rows = [ln for ln in text.splitlines() if ln[:3].rstrip() in
                {"%02x" % i for i in range(1024)} or ln.startswith('<link cmd=".frame')]
        assert len(rows) >= 1024


def test_before_chunking_the_fake_cut_the_report_as_the_engine_did(monkeypatch):
    """The same run with the whole report in one call loses its end (guards the fake's cut)."""
    monkeypatch.setattr("stackext.debugger.OUTPUT_CHUNK", 10 ** 9)
    engine = fakepykd.fake(fakepykd.synthetic_session(1024))
    assert usage.main(["--no-dml"], debugger=engine.dbg) == 0
    assert len(engine.output[0][0]) == OUTPUT_LIMIT and "module" not in engine.output[0][0]


def test_the_report_names_the_dump_the_debugger_has_open():
    engine = fakepykd.fake("real_seed_user_x64")
    assert usage.main(["--format", "json"], debugger=engine.dbg) == 0
    text = output_text(engine)
    source = json.loads(text[text.index("{"):text.index(MARKER_END)])["stacks"][0]["source"]
    assert source == "Z:\\dumps\\real_seed_user_x64.dmp, thread ~0 (Id 20.24)"


def test_kernel_dump_source_is_the_dump_and_a_live_target_stays_debugger():
    s = fakepykd.load_session("102_vidschworker_x64")
    s["dump_file"] = "C:\\dumps\\MEMORY.DMP"
    engine = fakepykd.fake(s)
    assert usage.main(["--format", "json"], debugger=engine.dbg) == 0
    assert '"source": "C:\\\\dumps\\\\MEMORY.DMP"' in output_text(engine)
    s["dump"] = False
    engine = fakepykd.fake(s)
    assert usage.main(["--format", "json"], debugger=engine.dbg) == 0
    assert '"source": "debugger"' in output_text(engine)


def _report_json(source):
    """A real in-debugger JSON document (fake seed session), its source set to `source`."""
    engine = fakepykd.fake("real_seed_user_x64")
    assert usage.main(["--format", "json", "--no-locals"], debugger=engine.dbg) == 0
    text = output_text(engine)
    doc = json.loads(text[text.index("{"):text.index(MARKER_END)])
    doc["stacks"][0]["source"] = source
    return json.dumps(doc, indent=1).splitlines()


def test_log_reader_skips_engine_chatter_inside_the_block_and_names_old_blocks(tmp_path):
    """A kd -logo log also records what stackext's own engine commands printed (pykd's
    dbgCommand output is logged): the begin marker goes out first, the chatter is inside the
    block. A block whose run failed (no end marker) is dropped when the next one begins. A
    block that names no dump (live target, older stackext) is named by its log line."""
    chatter = [".frame 4; dv /V /t", "04 00000000`015a4dd0 00000001`40001aa4 recurse!f+0x69",
               "00000000`015a5db0 @rsp+0x0fe0       int depth = 0n252"]
    lines = (["0:000> .load pykd; !py stackext.usage", MARKER_BEGIN, "stackext: no target",
              "0:000> !py stackext.usage", MARKER_BEGIN] + chatter
             + _report_json("Z:\\d\\a.dmp, thread ~0 (Id 20.24)") + [MARKER_END, MARKER_BEGIN]
             + _report_json("debugger") + [MARKER_END])
    log = tmp_path / "a.txt"
    log.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.json"
    with out.open("w") as f:
        saved, sys.stdout = sys.stdout, f
        try:
            assert cli_main(["usage", "--format", "json", str(log)]) == 0
        finally:
            sys.stdout = saved
    stacks = json.loads(out.read_text())["stacks"]
    second = lines.index(MARKER_BEGIN, lines.index(MARKER_END)) + 1
    assert [s["source"] for s in stacks] == ["Z:\\d\\a.dmp, thread ~0 (Id 20.24)",
                                             "%s:%d" % (log, second)]
    assert [len(s["frames"]) for s in stacks] == [20, 20]
    assert [s["frames"][4]["size"] for s in stacks] == [0x890, 0x890]


def test_launcher_takes_its_options_from_stackext_args(monkeypatch):
    """pykd.pyd's `!py` under Wine turns `--format json` into ['?I', '']: STACKEXT_ARGS wins."""
    engine = fakepykd.fake("real_seed_user_x64")
    monkeypatch.setitem(sys.modules, "pykd", engine.pykd)  # the launcher's import of pykd
    monkeypatch.setenv("STACKEXT_ARGS", '--format json --driver "seed"')
    monkeypatch.setattr(sys, "argv", [str(LAUNCHER), "\u1df0I", ""])
    runpy.run_path(str(LAUNCHER), run_name="__main__")
    text = output_text(engine)
    assert text.startswith(MARKER_BEGIN) and text.rstrip().endswith(MARKER_END)
    monkeypatch.setenv("STACKEXT_ARGS", "  ")  # blank: the command line counts
    engine = fakepykd.fake("real_seed_user_x64")
    monkeypatch.setitem(sys.modules, "pykd", engine.pykd)
    monkeypatch.setattr(sys, "argv", [str(LAUNCHER), "--no-dml"])
    runpy.run_path(str(LAUNCHER), run_name="__main__")
    assert "seed!MyStruct_toDebugStr+0x72" in output_text(engine)
    assert MARKER_BEGIN not in output_text(engine)
