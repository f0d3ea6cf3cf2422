"""Why a frame is big: locals from `dv /V /t`, layout from `.fnent`, on the real engine's text
(tests/realengine/recorded/, dbgeng via pykd under Wine on our seed-story dump)."""

from __future__ import annotations

import json
from pathlib import Path

from stackext.analyze import analyze
from stackext.anatomy import parse_dv, parse_fnent, type_size
from stackext.cli import main
from stackext.model import Local
from stackext.sources import windbg
from stackext.words import describe

ROOT = Path(__file__).resolve().parent.parent
REC = ROOT / "tests" / "realengine" / "recorded"


def body(name: str) -> str:
    return "\n".join(line for line in (REC / name).read_text().splitlines()
                     if not line.startswith("# "))


def test_type_sizes_from_dv_text():
    assert type_size("char [64]") == 64 and type_size("char [4000]") == 4000
    assert type_size("struct MYSTRUCT *") == 8 and type_size("int *", ptr_size=4) == 4
    assert type_size("unsigned short [3][4]") == 24
    assert type_size("struct MYSTRUCT") is None
    assert type_size("struct MYSTRUCT", sizeof=lambda t: 2060) == 2060


def test_dv_locals_of_the_seed_frame_name_the_2k_struct_copy():
    locs = parse_dv(body("seed_dv.txt"))
    assert [x.name for x in locs] == ["copy", "line", "s"]
    copy = locs[0]
    # dv prints no struct size: bounded by the next local above it (s at rsp+0x880)
    assert copy.type == "struct MYSTRUCT" and copy.offset == "rsp+0x70"
    assert copy.size == 0x880 - 0x70 and copy.size_estimated
    assert locs[1] == Local(name="line", type="char [64]", size=64, offset="rsp+0x30",
                            address=0x11f2c0)


def test_huge_string_values_do_not_matter():
    locs = parse_dv(body("recurse_dv.txt"))
    assert locs[0].name == "buf" and locs[0].size == 4000


def test_fnent_layout_of_real_unwind_info():
    seed = parse_fnent(body("seed_fnent.txt"), 0x890)
    assert seed.fixed == 0x888 and seed.pushes == 0 and not seed.frame_pointer
    assert seed.static == 0x890 and seed.dynamic == 0
    inline = parse_fnent(body("inline_fnent.txt"), 0x230)
    assert inline.fixed == 0x220 and inline.push_count == 1
    assert inline.dynamic == 0  # knf: 230 on main's row
    small = parse_fnent(body("recurse_shallow_fnent.txt"))
    assert small.fixed == 4 * 8 + 8 and small.dynamic is None
    assert parse_fnent("no unwind info here") is None


def _seed_log(tmp_path):
    log = tmp_path / "seed_session.log"
    log.write_text("0:000> knf\n" + body("seed_knf.txt") + "\n"
                   "0:000> .frame /c 4; dv /V /t\n" + body("seed_dv.txt") + "\n"
                   "0:000> .fnent 00000001`40001582\n" + body("seed_fnent.txt") + "\n"
                   "0:000> q\n")
    return log


def test_log_reader_attaches_dv_and_fnent_to_the_frame_they_explain(tmp_path):
    stacks = list(windbg.read_file(str(_seed_log(tmp_path))))
    assert len(stacks) == 1
    notes = stacks[0].frame_notes
    assert set(notes) == {4} and "MYSTRUCT copy" in notes[4]["dv"]
    assert "UWOP_ALLOC_LARGE" in notes[4]["fnent"]
    r = analyze(stacks[0])
    f = r.frame(4)
    assert f.call_site == "seed!MyStruct_toDebugStr+0x72" and f.size == 0x890
    assert f.locals[0].name == "copy" and f.layout.fixed == 0x888
    assert f.layout.dynamic == 0 and f.layout.is_dynamic is False
    text = describe(f)
    assert text.startswith("2,192 bytes = 2,184 fixed (largest local `copy`, `struct MYSTRUCT`")
    assert text.endswith("+ return address")


def test_report_and_json_show_locals_and_layout(tmp_path):
    import io

    log = str(_seed_log(tmp_path))
    out = io.StringIO()
    assert main(["usage", log], out=out) == 0
    assert "2,192 bytes = 2,184 fixed (largest local `copy`" in out.getvalue()
    out = io.StringIO()
    assert main(["usage", "--format", "json", log], out=out) == 0
    f = json.loads(out.getvalue())["stacks"][0]["frames"][4]
    assert f["locals"][0]["name"] == "copy" and f["locals"][0]["size"] == 0x810
    assert f["layout"]["fixed"] == 0x888 and f["layout"]["dynamic"] == 0


def test_dynamic_frame_is_flagged():
    from stackext.anatomy import annotate
    from stackext.model import Frame

    f = Frame(index=3, sp=0x1000, ret=0, call_site="app!uses_alloca+0x30", size=0x11000)
    annotate(f, None, body("inline_fnent.txt"))
    assert f.layout.dynamic == 0x11000 - 0x230 and f.layout.is_dynamic
    assert "dynamic (_alloca or a frame pointer)" in describe(f)


def test_dv_spellings_of_64_bit_integers_have_their_size():
    # dv /V /t prints the same type as `unsigned int64`, `unsigned __int64` and `uint64`
    rows = ("00000000`0011f2c0 @rsp+0x0030       unsigned int64 a = 0x1\n"
            "00000000`0011f2c8 @rsp+0x0038       unsigned __int64 b = 0x2\n"
            "00000000`0011f2d0 @rsp+0x0040       uint64 c = 0x3\n")
    locs = parse_dv(rows)
    assert [(x.name, x.size, x.size_estimated) for x in locs] == [
        ("a", 8, False), ("b", 8, False), ("c", 8, False)]


def test_exception_dispatcher_bytes_are_the_pushed_context_not_alloca():
    from stackext.anatomy import annotate
    from stackext.model import Frame

    f = Frame(index=2, sp=0x1000, ret=0, call_site="ntdll!KiUserExceptionDispatcher+0x2e",
              module="ntdll", function="KiUserExceptionDispatcher", offset=0x2e, size=0x11000)
    annotate(f, None, body("inline_fnent.txt"))
    text = describe(f)
    assert "the CONTEXT and EXCEPTION_RECORD the kernel pushed" in text and "_alloca" not in text
