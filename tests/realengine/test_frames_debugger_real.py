"""`!py -m stackext.frames irp` on the real engine: the in-debugger path (the image read from the
dump through pykd's loadBytes, names from the engine's `x irp!*`) under the Windows Python, as
`python -m stackext.frames irp --dump DUMP --symbols PATH` (run_frames.py records every pykd
call), compared with `stackext frames irp.exe` on the same file here.

`irp_full` is programs/irp.c dumped with MiniDumpWithFullMemory (the image is in the dump);
`irp` is its stacks-only dump, where dbgeng serves the module from irp.exe on the image path
except the pages the loader wrote (the IAT page of .rdata, which also holds the unwind data,
.data, .tls): there the tool must say what it could not read, not guess.
"""

import io
import json
import os

import pytest

pytestmark = pytest.mark.realengine
pytest.importorskip("pefile")
pytest.importorskip("capstone")

from stackext import frames  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OWN = ["main", "read_report", "call_driver", "walk_stack", "log_request", "wait_for_dump",
       "dispatch_read", "dispatch_write", "dispatch_invalid", "complete_request",
       "format_struct", "dumper_thread"]


@pytest.fixture(scope="module")
def run(realengine, tmp_path_factory):
    realengine.install_stackext()
    out = tmp_path_factory.mktemp("frames")
    cache = {}

    def get(dump, *extra):
        key = (dump,) + extra
        if key not in cache:
            path = str(out / ("%s_%d.json" % (dump, len(cache))))
            args = ["irp", "--dump", realengine.winpath(realengine.dump_path(dump)),
                    "--symbols", realengine.winpath(realengine.pdb_dir()),
                    "--format", "json"] + list(extra)
            cp = realengine.run_script(os.path.join(HERE, "run_frames.py"),
                                       [realengine.winpath(path), "--"] + args, timeout=600)
            assert os.path.exists(path), cp.stderr[-2000:]
            with open(path, encoding="utf-8") as f:
                cache[key] = json.load(f)
        return cache[key]

    return get


@pytest.fixture(scope="module")
def from_file(realengine):
    out, err = io.StringIO(), io.StringIO()
    exe = os.path.join(realengine.pdb_dir(), "irp.exe")
    assert frames.main([exe, "--format", "json"], out, err) == 0, err.getvalue()
    return json.loads(out.getvalue())


def test_loaded_irp_has_the_files_frames_in_few_reads(run, from_file):
    rec = run("irp_full")
    assert rec["rc"] == 0, rec["stdout"]
    doc = json.loads(rec["stdout"])
    assert doc["names_from"] == "engine" and doc["warnings"] == []
    mem = {f["rva"]: f for f in doc["functions"]}
    ref = from_file["functions"]
    assert len(ref) >= 130
    # every function the file analysis finds, with the same frame, pushes and allocation
    for f in ref:
        got = mem[f["rva"]]
        assert (got["frame"], got["pushes"], got["alloc"], got["leaf"]) == \
            (f["frame"], f["pushes"], f["alloc"], f["leaf"]), f["name"]
    # the program's own functions have the same names and callees (the engine prints mingw's
    # CRT names with one underscore less: `_main` for the PDB's `__main`)
    named = {f["name"]: f for f in doc["functions"]}
    for f in ref:
        if f["name"] in OWN:
            assert [c.lstrip("_") for c in named[f["name"]]["calls"]] == \
                [c.lstrip("_") for c in f["calls"]], f["name"]
    assert doc["functions"][0]["name"] == "log_request" and doc["functions"][0]["frame"] == 2112
    # more functions: the import thunks (jmp [__imp_X]) the engine names are leaves
    extra = [f for r, f in mem.items() if r not in {x["rva"] for x in ref}]
    assert extra and all(f["leaf"] and f["frame"] == 8 for f in extra)
    assert [(p["root"], p["bytes"], [c.lstrip("_") for c in p["chain"]]) for p in doc["paths"]] \
        == [(p["root"], p["bytes"], [c.lstrip("_") for c in p["chain"]])
            for p in from_file["paths"]]
    # round trips: the headers, then one read per non-discardable section; one `x`
    reads = [c for c in rec["calls"] if c[0] == "loadBytes"]
    assert len(reads) == 7
    commands = [c[1][0] for c in rec["calls"] if c[0] == "dbgCommand"]
    assert commands[-1] == "x irp!*" and len(commands) == 3   # .reload, .exepath+ (--dump)


def test_with_the_pdb_it_is_the_files_report(run, from_file, realengine):
    pdb = realengine.winpath(os.path.join(realengine.pdb_dir(), "irp.pdb"))
    rec = run("irp_full", "--pdb", pdb)
    doc = json.loads(rec["stdout"])
    assert rec["rc"] == 0 and doc["names_from"] == "pdb"
    assert doc["functions"] == from_file["functions"] and doc["paths"] == from_file["paths"]


def test_a_stacks_only_dump_says_what_it_could_not_read(run):
    rec = run("irp")
    doc = json.loads(rec["stdout"])
    text = " ".join(doc["warnings"])
    assert rec["rc"] == 0
    assert "page(s) of .rdata are not in the target" in text
    assert "pefile decoded 0 of the 99 .pdata entries" in text   # the unwind data is on it
    assert not any(f["frame"] > 8 for f in doc["functions"])      # no frame is made up
