"""`stackext frames`: frames from x64 unwind data, PDB names, call paths and the CI gate.

Real inputs: Microsoft's public amdppm.pdb (names checked against what the real dbgeng printed
for the same module, in ../shared/kernel-dumps/), fixtures/binaries/minidrv.sys + .pdb (built
by fixtures/binaries/build.sh with the lane's clang + lld), and UNWIND_INFO bytes written from
the PE spec and decoded by pefile.
"""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

pefile = pytest.importorskip("pefile")
pytest.importorskip("capstone")

from stackext import frames  # noqa: E402
from stackext.binary import callsfile, pdb, unwind  # noqa: E402
from stackext.binary.model import Function  # noqa: E402
from stackext.binary.paths import Graph  # noqa: E402
from stackext.cli import main as cli_main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KDUMPS = ROOT.parent / "shared" / "kernel-dumps"
AMDPPM_PDB = KDUMPS / "symbols" / "amdppm.pdb"
ENGINE_TEXT = KDUMPS / "engine_x64_with_amdppm_pdb.txt"
DRV = ROOT / "fixtures" / "binaries" / "minidrv.sys"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    rc = frames.main([str(a) for a in argv], out, err)
    return rc, out.getvalue(), err.getvalue()


def doc(*argv):
    rc, out, err = run(DRV, "--format", "json", *argv)
    assert rc == 0, err
    return json.loads(out)


# --------------------------------------------------------------------- PDB reader, real PDB
def engine_symbols():
    """(rva, name) of every amdppm function the real engine named (with amdppm.pdb loaded) in
    its knf: the next row's RetAddr is inside the function on this row, at the row's +offset."""
    text = ENGINE_TEXT.read_text()
    # "fffff804`8b580000 fffff804`8b5bb000   amdppm   M (pdb symbols)   z:\...\amdppm.pdb"
    m = re.search(r"^([0-9a-f]{8})`([0-9a-f]{8}) [0-9a-f`]+\s+amdppm\s", text, re.M)
    base = int(m.group(1) + m.group(2), 16)
    # "01        30 ffff8504`29892150 fffff804`8b583234 amdppm!WriteGenAddrEx+0x6b"
    rows = re.findall(r"^[0-9a-f]{2}\s+[0-9a-f]*\s+[0-9a-f]{8}`[0-9a-f]{8} "
                      r"([0-9a-f]{8}`[0-9a-f]{8}) (\S+)$", text, re.M)
    out = set()
    for (ret, _), (_, site) in zip(rows, rows[1:]):
        s = re.match(r"amdppm!(\w+)\+0x([0-9a-f]+)$", site)
        ip = int(ret.replace("`", ""), 16) - base
        if s and 0 <= ip < 0x100000:
            out.add((ip - int(s.group(2), 16), s.group(1)))
    return out


@pytest.mark.skipif(not AMDPPM_PDB.exists(), reason="../shared/kernel-dumps/symbols/amdppm.pdb "
                    "is not on this machine (CI has it)")
def test_public_pdb_names_match_what_the_engine_printed():
    syms = pdb.read_pdb(str(AMDPPM_PDB))
    # the GUID/age the symbol server path holds: amdppm.pdb/1C19FDDB27BB3399D9B45973EFEAFCF31/
    assert (syms.guid.replace("-", ""), syms.age) == ("1C19FDDB27BB3399D9B45973EFEAFCF3", 1)
    assert not any(p.has_alloca for p in syms.procs.values())
    assert len(syms.publics) > 400  # Microsoft's public PDB: publics only, no procedures
    expected = engine_symbols()
    assert len(expected) >= 5  # WriteGenAddrEx, InitAcpiCpc, ProcLibDeviceStart, ...
    for rva, name in expected:
        assert syms.name(rva) == name, hex(rva)


def test_not_a_pdb_is_one_line(tmp_path):
    bad = tmp_path / "x.pdb"
    bad.write_bytes(b"MZ" + b"\0" * 100)
    with pytest.raises(Exception) as e:
        pdb.read_pdb(str(bad))
    assert "not a PDB" in str(e.value) and str(bad) in str(e.value)


# ------------------------------------------------------------ UNWIND_INFO from the PE spec
def unwind_bytes(codes, flags=0, prolog=0, frame_reg=0, frame_off=0):
    """UNWIND_INFO: version 1 | flags<<3, SizeOfProlog, CountOfCodes, FrameRegister|Offset<<4,
    then the UNWIND_CODE slots (u8 offset, u4 op, u4 info, or u16 operands), padded to even."""
    slots = []
    for c in codes:
        slots += c
    count = len(slots)
    if count % 2:
        slots.append(0)
    raw = bytes([1 | flags << 3, prolog, count, frame_reg | frame_off << 4])
    for s in slots:
        raw += struct.pack("<H", s) if isinstance(s, int) else bytes([s[0], s[1] | s[2] << 4])
    return raw + b"\0" * 8


def decode(raw):
    ui = pefile.UnwindInfo()
    assert ui.unpack_in_stages(raw) is None and ui.unpack_in_stages(raw) is None
    return unwind.of_unwind_info(ui)


PUSH = unwind.UWOP_PUSH_NONVOL


def test_unwind_codes_push_alloc_large_setfp_save():
    # push rbp; push rsi; push rdi; sub rsp,0x2010 (ALLOC_LARGE, info 0: size/8 in a u16);
    # lea rbp,[rsp+0x20] (SET_FPREG); mov [rsp+..],rbx (SAVE_NONVOL: no rsp change)
    codes = [[(20, unwind.UWOP_SAVE_NONVOL, 3), 0x404], [(16, unwind.UWOP_SET_FPREG, 0)],
             [(11, unwind.UWOP_ALLOC_LARGE, 0), 0x2010 // 8],
             [(4, PUSH, 7)], [(3, PUSH, 6)], [(1, PUSH, 5)]]
    p = decode(unwind_bytes(codes, prolog=24, frame_reg=5, frame_off=2))
    assert (p.pushes, p.alloc, p.saves, p.frame_register, p.prolog_size) == (3, 0x2010, 1, 5, 24)
    assert p.frame == 8 + 3 * 8 + 0x2010


def test_unwind_alloc_large_32bit_small_xmm_and_machframe():
    big = [[(9, unwind.UWOP_ALLOC_LARGE, 1), 0x0000, 0x0002]]  # 0x20000, in two u16 slots
    assert decode(unwind_bytes(big)).alloc == 0x20000
    small = [[(6, unwind.UWOP_SAVE_XMM128, 6), 2], [(4, unwind.UWOP_ALLOC_SMALL, 5)]]
    p = decode(unwind_bytes(small))
    assert (p.alloc, p.saves, p.frame) == (5 * 8 + 8, 1, 8 + 48)
    # an interrupt entry: the processor's machine frame with an error code, then pushes
    trap = [[(2, PUSH, 0)], [(1, unwind.UWOP_PUSH_MACHFRAME, 1)]]
    t = decode(unwind_bytes(trap))
    assert (t.ret, t.machframe, t.frame) == (0, 48, 48 + 8)


def test_chained_entry_adds_to_the_entry_it_continues():
    primary = decode(unwind_bytes([[(4, unwind.UWOP_ALLOC_SMALL, 3)], [(1, PUSH, 5)]]))
    chained = decode(unwind_bytes([[(2, PUSH, 6)]]))
    assert chained.plus(primary).frame == 8 + 2 * 8 + 32


# --------------------------------------------------------------------- the fixture driver
def test_minidrv_frames_from_unwind_data_and_names_from_its_pdb():
    d = doc()
    f = {x["name"]: x for x in d["functions"]}
    assert d["tool"] == "stackext" and d["pdb"].endswith("minidrv.pdb")
    assert d["functions"][0]["name"] == "dispatch_control"          # the 8 KB frame
    assert f["dispatch_control"]["frame"] == 8 + 8 * f["dispatch_control"]["pushes"] + \
        f["dispatch_control"]["alloc"] > 8192
    heaviest_copy = f["log_request"]
    assert 2 * 1024 < heaviest_copy["frame"] < 4096              # the 2 KB struct copy
    assert f["dispatch_write"]["dynamic"] and f["dispatch_write"]["dynamic_from"] == "pdb"
    assert f["complete_request"]["leaf"] and f["complete_request"]["frame"] == 8
    assert f["complete_request"]["calls"] == ["walk_stack"]          # a tail jump
    assert f["walk_stack"]["calls"] == ["log_request", "walk_stack"]  # recursion
    assert f["call_driver"]["indirect_calls"] == 1
    for x in d["functions"]:
        assert set(x) >= {"name", "rva", "frame", "dynamic", "pushes", "alloc", "calls"}


def test_minidrv_paths_say_what_they_cannot_know():
    p = {x["root"]: x for x in doc("--all-roots")["paths"]}
    entry = p["DriverEntry"]
    assert entry["chain"] == ["DriverEntry", "call_driver"] and not entry["complete"]
    assert entry["unknown_calls"] == 1 and entry["reasons"] == ["indirect_call"]
    read = p["dispatch_read"]      # tail calls: dispatch_read and complete_request leave
    assert read["chain"] == ["walk_stack", "log_request", "memcpy"]
    assert read["recursion"] == ["walk_stack"] and read["reasons"] == ["recursion"]
    assert p["dispatch_write"]["reasons"] == ["dynamic_frame"]
    assert p["dispatch_control"]["complete"]
    for x in p.values():
        assert set(x) >= {"root", "bytes", "chain", "complete", "unknown_calls", "recursion"}


def test_calls_file_completes_the_path_through_the_dispatch_table(tmp_path):
    calls = tmp_path / "calls.json"
    calls.write_text(json.dumps({
        "indirect": {"call_driver": ["dispatch_read", "dispatch_write", "dispatch_control"]},
        "recursion": {"walk_stack": 4}, "dynamic": {"dispatch_write": 64}}))
    d = doc("--calls", calls)
    f = {x["name"]: x["frame"] for x in d["functions"]}
    entry = next(x for x in d["paths"] if x["root"] == "DriverEntry")
    assert entry["complete"] and entry["unknown_calls"] == 0
    # 8 KB handler beats 4 x walk_stack + the copy: the path goes through dispatch_control
    assert entry["chain"] == ["DriverEntry", "call_driver", "dispatch_control", "format_struct"]
    assert entry["bytes"] == sum(f[n] for n in entry["chain"])
    assert "call_driver" in [x["name"] for x in d["functions"]
                             if "dispatch_read" in x["calls"]]


def test_gate_exits_1_naming_the_function_and_the_path():
    rc, out, err = run(DRV, "--max-frame", "2K", "--max-path", "4K", "--all-roots")
    assert rc == 1 and "Heaviest frames" in out
    assert "frame over --max-frame 2048: dispatch_control is 8240 bytes" in err
    assert re.search(r"path over --max-path 4096: \d+ bytes from dispatch_control", err)
    assert run(DRV, "--max-frame", "9K", "--max-path")[0] == 0  # alone: 24K


@pytest.mark.parametrize("fmt,needle", [("table", "Deepest paths"), ("markdown", "|"),
                                        ("csv", "kind,name,rva")])
def test_formats(fmt, needle):
    rc, out, _ = run(DRV, "--format", fmt, "--top", "3")
    assert rc == 0 and needle in out and "dispatch_control" in out


def test_console_dispatches_frames():
    out, err = io.StringIO(), io.StringIO()
    assert cli_main(["frames", str(DRV), "--top", "1"], out, err) == 0
    assert "dispatch_control" in out.getvalue()


# ------------------------------------------------------------------- bad input: exit 2
def test_bad_inputs_are_one_line(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    for argv, needle in [([tmp_path / "nope.sys"], "no such file"),
                         ([text], "not a PE image"),
                         ([DRV, "--root", "NoSuch"], "--root NoSuch: no function"),
                         ([DRV, "--pdb", text], "not a PDB")]:
        rc, out, err = run(*argv)
        assert rc == 2 and needle in err and err.count("\n") == 1, (argv, err)
    bad = tmp_path / "calls.json"
    bad.write_text('{"recursion": {"walk_stack": 4},\n "external": {"x": -1}}')
    rc, _, err = run(DRV, "--calls", bad)
    assert rc == 2 and "non-negative" in err
    bad.write_text('{"recursion": \n oops}')
    rc, _, err = run(DRV, "--calls", bad)
    assert rc == 2 and "calls.json:2: not JSON" in err


def test_x86_image_is_refused(tmp_path):
    raw = bytearray(DRV.read_bytes())
    pe_at = struct.unpack_from("<I", raw, 0x3C)[0]
    struct.pack_into("<H", raw, pe_at + 4, 0x14C)
    x86 = tmp_path / "x86.sys"
    x86.write_bytes(bytes(raw))
    rc, _, err = run(x86)
    assert rc == 2 and "machine 0x14c" in err


def test_without_the_libraries_one_line_says_how():
    code = ("import sys; sys.modules['pefile'] = None; from stackext.cli import main; "
            "sys.exit(main(['frames', %r]))" % str(DRV))
    cp = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, universal_newlines=True, cwd=str(ROOT))
    assert cp.returncode == 2 and cp.stderr == "stackext: %s\n" % frames.INSTALL_HINT


# ------------------------------------------------------------------- the graph, by hand
def fn(name, rva, frame, **kw):
    return Function(name=name, rva=rva, frame=frame, **kw)


def test_tail_jump_replaces_the_frame_and_bounds_multiply_recursion():
    fns = {1: fn("a", 1, 100, calls=[2]), 2: fn("b", 2, 40, tails=[3]),
           3: fn("c", 3, 64, calls=[3, 4]), 4: fn("d", 4, 8, imports=["nt!IoCallDriver"])}
    g = Graph(fns)
    p = g.path(1)
    assert (p.bytes, p.chain) == (100 + 64 + 8, ["a", "c", "d"])
    assert p.reasons == ["recursion", "external_call"] and p.external == ["nt!IoCallDriver"]
    g = Graph(fns, callsfile.Calls(recursion={"c": 5}, external={"IoCallDriver": 4096}))
    p = g.path(1)
    assert p.complete and p.bytes == 100 + 5 * 64 + 8 + 4096
    assert p.chain == ["a", "c", "d", "nt!IoCallDriver"]
