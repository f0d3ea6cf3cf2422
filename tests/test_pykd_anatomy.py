"""Largest locals of the heaviest frames, read live (`.frame N; dv /V /t`, `.fnent`), and opening
dumps outside a debugger (sources.pykd.dump): against the fake pykd over real-engine recordings."""

from __future__ import annotations

import json

import pytest
from fakes import pykd as fakepykd

from stackext import usage as debugger
from stackext.errors import StackextError
from stackext.sources.pykd import dump as pykd_dump


def run_json(monkeypatch, session, *args, engine_setup=None):
    engine = fakepykd.fake(session)
    if engine_setup:
        engine_setup(engine)
    before = engine.snapshot()
    assert debugger.main(["--format", "json"] + list(args), debugger=engine.dbg) == 0
    lines = fakepykd.output_text(engine).splitlines()
    return engine, before, json.loads("\n".join(lines[1:-1]))["stacks"][0]


def test_seed_big_frame_gets_its_struct_copy_and_layout(monkeypatch):
    engine, before, st = run_json(monkeypatch, "real_seed_user_x64")
    big = st["frames"][st["heaviest"][0]]
    assert big["call_site"] == "seed!MyStruct_toDebugStr+0x72"
    assert big["locals"][0] == {"name": "copy", "type": "struct MYSTRUCT", "size": 2064,
                                "offset": "rsp+0x70", "address": "0x11f300"}
    assert big["layout"]["fixed"] == 0x888 and big["layout"]["dynamic"] == 0
    assert engine.snapshot() == before and engine.cost("state") == 0
    dv = [c for c in engine.calls if c[0] == "dbgCommand" and "dv" in c[1][0]]
    assert 0 < len(dv) <= 5


def test_no_locals_option_reads_nothing(monkeypatch):
    engine, _, st = run_json(monkeypatch, "real_seed_user_x64", "--no-locals")
    assert not any("locals" in f for f in st["frames"])
    # the only commands: `||` and `~.`, which name the dump and thread in the report's source,
    # and `.lastevent` + `~.`: was the dump's exception this thread's?
    assert [c[1][0] for c in engine.calls if c[0] == "dbgCommand"] == [
        "||", "~.", ".lastevent", "~."]


def test_scope_frame_of_the_user_is_put_back(monkeypatch):
    engine, before, st = run_json(monkeypatch, "real_inline_user_x64",
                                  engine_setup=lambda e: e.pykd.dbgCommand(".frame 5"))
    assert engine.frame == 5 and engine.snapshot() == before
    assert any(f.get("layout") for f in st["frames"])


def test_in_a_frame_c_context_nothing_moves(monkeypatch):
    engine, before, st = run_json(monkeypatch, "real_seed_user_x64",
                                  engine_setup=lambda e: e.pykd.dbgCommand(
                                      ".frame /c 5"))
    assert engine.snapshot() == before
    assert any(".frame /c context" in w for w in st["warnings"])
    assert not [c for c in engine.calls if c[0] == "dbgCommand" and "dv" in c[1][0]]


def test_natvis_noise_before_the_frame_row_is_skipped(monkeypatch):
    _, _, st = run_json(monkeypatch, "real_seed_user_x64",
                        engine_setup=lambda e: setattr(e, "natvis_noise", True))
    assert st["frames"][4]["locals"][0]["name"] == "copy"


def test_ctrl_break_while_reading_locals_restores_the_frame(monkeypatch):
    engine = fakepykd.fake("real_seed_user_x64")
    engine.pykd.dbgCommand(".frame 3")
    before = engine.snapshot()
    engine.interrupt = ("dbgCommand", 3)  # .frame, .frame 4; dv, then this one
    debugger.main([], debugger=engine.dbg)
    assert engine.snapshot() == before
    assert "interrupted" in fakepykd.output_text(engine)


@pytest.mark.parametrize("data, want", [
    (None, "no such file"), (b"hello", "not a Windows dump"),
    (b"MDMP" + bytes(28), "truncated or corrupt"), (b"PAGEDU64" + bytes(100), "truncated"),
])
def test_bad_dump_files_are_one_line_errors(tmp_path, data, want):
    path = tmp_path / "x.dmp"
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(StackextError, match=want):
        pykd_dump.check_dump_file(str(path))


def test_symbol_path_adds_the_dumps_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("_NT_SYMBOL_PATH", r"srv*C:\sym")
    dump = str(tmp_path / "a.dmp")
    assert pykd_dump.symbol_path(dump) == r"srv*C:\sym;" + str(tmp_path)
    assert pykd_dump.symbol_path(dump, "C:\\pdbs") == "C:\\pdbs;" + str(tmp_path)


@pytest.mark.parametrize("spec, command", [("~0", "~0s"), ("24", "~~[24]s"), ("0x24", "~~[24]s")])
def test_user_thread_selection(monkeypatch, spec, command):
    engine = fakepykd.fake("real_seed_user_x64", windbg_ext=False)
    pykd_dump.select_user_thread(engine.dbg, spec)
    assert ("dbgCommand", (command,)) in engine.calls
    assert pykd_dump.current_thread(engine.dbg) == "~0 (Id 20.24)"


def test_no_such_user_thread_is_one_line(monkeypatch):
    dbg = fakepykd.fake("real_seed_user_x64", windbg_ext=False).dbg
    with pytest.raises(StackextError, match="no thread ~7 in this dump"):
        pykd_dump.select_user_thread(dbg, "~7")
    with pytest.raises(StackextError, match="no thread id 999"):
        pykd_dump.select_user_thread(dbg, "999")


def test_thread_index_inside_the_debugger_is_refused(monkeypatch):
    engine = fakepykd.fake("real_seed_user_x64")
    assert debugger.main(["--thread", "~1"], debugger=engine.dbg) == 2
    assert "switch threads with ~Ns first" in fakepykd.output_text(engine)
