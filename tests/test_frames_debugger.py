"""`!py -m stackext.frames MODULE` on the fake pykd: fixtures/binaries/minidrv.sys loaded (relocated
by pefile to a kernel address) and served the way dbgeng serves a minidump's module from its
image file (the headers and each section's raw data, the rest a MemoryException), its names from
`x minidrv!*`. The report must equal `stackext frames minidrv.sys --pdb minidrv.pdb`, in a few
reads, with nothing written and the debugger's state as it was.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fakes import pykd as fakepykd

pefile = pytest.importorskip("pefile")
pytest.importorskip("capstone")

from stackext import frames, frames_debugger  # noqa: E402
from stackext.binary import mapped, pdb  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DRV = ROOT / "fixtures" / "binaries" / "minidrv.sys"
PDB = ROOT / "fixtures" / "binaries" / "minidrv.pdb"
BASE = 0xFFFFF8041D2A0000


def listing(base):
    """What `x minidrv!*` prints: a data row, then a row per procedure the PDB holds."""
    def addr(a):
        return "%08x`%08x" % (a >> 32, a & 0xFFFFFFFF)
    rows = ["%s minidrv!g_table = <no type information>" % addr(base + 0x4000)]
    rows += ["%s minidrv!%s (struct IRP *)" % (addr(base + p.rva), p.name)
             for p in pdb.read_pdb(str(PDB)).procs.values()]
    return "\n".join(rows) + "\n"


def loaded(session="102_vidschworker_x64"):
    engine = fakepykd.fake(session)
    pe = pefile.PE(str(DRV))
    pe.relocate_image(BASE)
    size = pe.OPTIONAL_HEADER.SizeOfImage
    image = pe.get_memory_mapped_image()[:size].ljust(size, b"\0")
    ranges = [(0, pe.OPTIONAL_HEADER.SizeOfHeaders)] + [
        (s.VirtualAddress, s.VirtualAddress + s.SizeOfRawData) for s in pe.sections]
    engine.map_image("minidrv", BASE, image, ranges, listing(BASE))
    return engine, pe


def in_debugger(engine, *argv):
    rc = frames_debugger.main(["minidrv", "--format", "json"] + list(argv), debugger=engine.dbg)
    text = "".join(t for t, _ in engine.output)
    return rc, text


def from_file(*argv):
    out, err = io.StringIO(), io.StringIO()
    assert frames.main([str(DRV), "--pdb", str(PDB), "--format", "json"] + list(argv),
                       out, err) == 0, err.getvalue()
    return json.loads(out.getvalue())


def test_loaded_module_equals_the_file_with_its_pdb():
    engine, pe = loaded()
    before = engine.snapshot()
    rc, text = in_debugger(engine)
    assert rc == 0, text
    doc, ref = json.loads(text), from_file()
    assert doc["names_from"] == "engine" and doc["binary"] == "minidrv"
    keys = ("name", "rva", "frame", "pushes", "alloc", "calls", "leaf", "address_taken")
    got = [{k: f[k] for k in keys} for f in doc["functions"]]
    assert got == [{k: f[k] for k in keys} for f in ref["functions"]]
    assert len(got) == 10 and got[0]["name"] == "dispatch_control" and got[0]["frame"] == 8240
    assert [(p["root"], p["bytes"], p["chain"]) for p in doc["paths"]] == \
        [(p["root"], p["bytes"], p["chain"]) for p in ref["paths"]]
    assert doc["warnings"] == []
    # round trips: 1 page of headers (refused: the file backs 0x400), 0x200 of them, all of
    # them, then one read per section the analysis reads (.reloc is discardable: skipped);
    # the names: one `x`
    sections = [s for s in pe.sections if not s.Characteristics & mapped.DISCARDABLE]
    assert engine.count("loadBytes") == 3 + len(sections) == 8
    assert engine.count("dbgCommand") == 1 and engine.count("findSymbol") == 0
    assert engine.cost("state") == 0 and engine.snapshot() == before


def test_with_its_pdb_the_report_is_the_files_report():
    engine, _ = loaded()
    rc, text = in_debugger(engine, "--pdb", str(PDB))
    doc, ref = json.loads(text), from_file()
    assert rc == 0 and doc["functions"] == ref["functions"] and doc["paths"] == ref["paths"]
    assert doc["names_from"] == "pdb" and engine.count("dbgCommand") == 0


def test_a_page_the_target_lacks_is_zeros_and_said():
    engine, pe = loaded()
    text_rva = pe.sections[0].VirtualAddress
    engine.images = [(a, d) for a, d in engine.images if a != BASE + text_rva]
    rc, text = in_debugger(engine)
    doc = json.loads(text)
    assert rc == 0 and "1 page(s) of .text are not in the target" in " ".join(doc["warnings"])
    # the frames still come from the unwind data; the calls (code) are gone
    assert {f["name"]: f["frame"] for f in doc["functions"]}["dispatch_control"] == 8240
    assert all(f["calls"] == [] for f in doc["functions"])


def test_gate_and_text_go_through_the_debugger():
    engine, _ = loaded()
    rc = frames_debugger.main(["minidrv", "--max-frame", "2K", "--top", "3"],
                              debugger=engine.dbg)
    text = "".join(t for t, _ in engine.output)
    assert rc == 1 and "binary minidrv (names from engine" in text
    assert "stackext: frame over --max-frame 2048: dispatch_control is 8240 bytes" in text


@pytest.mark.parametrize("argv, message", [
    (["nosuch"], "stackext: no loaded module nosuch (lm lists them): "),
    (["minidrv", "--dump", "x.dmp"], "stackext: --dump works only outside a debugger"),
    (["minidrv", "--pdb", "missing.pdb"], "stackext: missing.pdb: cannot read PDB"),
    (["minidrv", "--top"], "error: argument --top: expected one argument"),
])
def test_errors_are_one_line(argv, message):
    engine, _ = loaded()
    rc = frames_debugger.main(argv, debugger=engine.dbg)
    lines = "".join(t for t, _ in engine.output).strip().splitlines()
    assert rc == 2 and message in lines[-1] and "Traceback" not in "".join(lines)


def test_outside_a_debugger_without_dump_says_how():
    engine = fakepykd.fake("real_seed_user_x64", windbg_ext=False)
    rc = frames_debugger.main(["irp"], debugger=engine.dbg)
    out = "".join(t for t, _ in engine.output)
    assert rc == 2 and out.startswith("stackext: not inside a debugger")


def test_a_file_in_the_debugger_is_the_file_report():
    engine, _ = loaded()
    rc = frames_debugger.main([str(DRV), "--pdb", str(PDB), "--format", "json"],
                              debugger=engine.dbg)
    doc = json.loads("".join(t for t, _ in engine.output))
    assert rc == 0 and doc == from_file() and engine.count("loadBytes") == 0


def test_module_entry_without_a_debugger_is_the_console_command(capsys):
    # no pykd here: `python -m stackext.frames FILE` stays the file command (exit status)
    assert frames_debugger.module_main([str(DRV), "--pdb", str(PDB), "--top", "1"]) == 0
    assert "dispatch_control" in capsys.readouterr().out
    assert frames_debugger.module_main(["nosuch.sys"]) == 2
    assert "stackext: nosuch.sys: no such file" in capsys.readouterr().err
