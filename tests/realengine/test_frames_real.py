"""`stackext frames` against the real engine: the static frame of every function on the stack
of a dump equals what Microsoft's dbgeng `knf` measured for it, except dynamic (alloca) frames,
which are flagged and smaller than the real ones.

The dumps are of programs/irp.c (-O2: a dispatch table, tail calls, a recursion, the 2 KB struct
copy) and programs/chkstk.c (-O2: an 8 KB `___chkstk_ms` frame, an alloca frame), built with
their PDBs by setup.sh. stackext frames runs here (Linux) on the .exe + .pdb; the engine's knf
comes from knf_dump.py under the Windows Python. Rows are matched by address: the return address
of row i-1 is inside the function of row i, whose frame is the Memory cell of row i+1.
"""

import bisect
import io
import json
import os
import sys

import pytest

pytestmark = pytest.mark.realengine
pytest.importorskip("pefile")
pytest.importorskip("capstone")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from knfrows import knf_rows  # noqa: E402

from stackext import frames  # noqa: E402

IMAGE_BASE = 0x140000000  # lld's default for an x64 .exe (checked against the rows below)
IRP_CALLS = {"indirect": {"call_driver": ["dispatch_read", "dispatch_write", "dispatch_invalid"]},
             "recursion": {"walk_stack": 4}, "external": {"*": 0}}


def stackext_frames(exe, *extra):
    out, err = io.StringIO(), io.StringIO()
    assert frames.main([exe, "--format", "json"] + list(extra), out, err) == 0, err.getvalue()
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def lane(realengine):
    cache = {}

    def get(name):
        if name not in cache:
            cp = realengine.run_script(os.path.join(HERE, "knf_dump.py"),
                                       [realengine.winpath(realengine.dump_path(name)),
                                        realengine.winpath(realengine.pdb_dir())])
            line = [x for x in cp.stdout.splitlines() if x.startswith("{")]
            assert line, cp.stderr[-2000:]
            exe = os.path.join(realengine.pdb_dir(), name + ".exe")
            cache[name] = (knf_rows(json.loads(line[-1])["knf"]), stackext_frames(exe), exe)
        return cache[name]

    return get


def pairs(name, rows, doc):
    """(function doc, knf frame) for every row of the program's own module."""
    fns = sorted(doc["functions"], key=lambda f: int(f["rva"], 16))
    starts = [int(f["rva"], 16) for f in fns]
    out = []
    for i in range(1, len(rows) - 1):
        if not rows[i]["site"].startswith(name + "!") or rows[i + 1]["mem"] is None:
            continue
        rva = int(rows[i - 1]["ret"].replace("`", ""), 16) - IMAGE_BASE
        out.append((fns[bisect.bisect_right(starts, rva) - 1], rows[i + 1]["mem"]))
    return out


@pytest.mark.parametrize("name", ["irp", "chkstk"])
def test_every_static_frame_equals_the_engines_knf(lane, name):
    rows, doc, _ = lane(name)
    checked = pairs(name, rows, doc)
    assert len(checked) >= (9 if name == "irp" else 5)
    for f, knf in checked:
        if f["dynamic"]:
            assert f["frame"] < knf, f["name"]    # alloca: the real frame is bigger
        else:
            assert f["frame"] == knf, (f["name"], f["frame"], knf)
    # the engine names the row the way the PDB does (mingw's static CRT functions aside)
    named = [f["name"] for f, _ in checked]
    if name == "irp":
        assert named[:6] == ["log_request"] + ["walk_stack"] * 4 + ["call_driver"]
    else:
        assert named[:2] == ["with_alloca", "big_frame"]


def test_chkstk_frame_is_static_and_alloca_is_flagged(lane):
    rows, doc, _ = lane("chkstk")
    f = {x["name"]: x for x in doc["functions"]}
    big, dyn = f["big_frame"], f["with_alloca"]
    assert doc["functions"][0]["name"] == "big_frame" and big["frame"] > 8192
    assert not big["dynamic"] and "chkstk+0x" in " ".join(big["calls"])  # ___chkstk_ms
    assert dyn["dynamic"] and dyn["dynamic_from"] == "pdb"
    knf = dict((x["name"], k) for x, k in pairs("chkstk", rows, doc))
    # beyond the fixed frame: g_size = 600 bytes of alloca rounded to 16 (`sub rsp, rax`),
    # then the 32-byte home area clang reserves below it around each call (`sub rsp, 0x20`)
    assert knf["with_alloca"] - dyn["frame"] == 608 + 32
    p = stackext_frames(doc["binary"], "--root", "main")["paths"]
    main = next(x for x in p if x["root"] == "main")
    assert main["chain"][:3] == ["main", "big_frame", "with_alloca"]
    assert "dynamic_frame" in main["reasons"] and main["dynamic"] == ["with_alloca"]


def test_irp_heaviest_is_the_copy_and_the_deepest_path_goes_through_it(lane, tmp_path):
    rows, doc, exe = lane("irp")
    assert doc["functions"][0]["name"] == "log_request"
    plain = next(x for x in stackext_frames(exe, "--root", "main")["paths"]
                 if x["root"] == "main")
    assert not plain["complete"] and plain["unknown_calls"] >= 1
    assert "indirect_call" in plain["reasons"]        # the dispatch table
    calls = tmp_path / "calls.json"
    calls.write_text(json.dumps(IRP_CALLS))
    d = stackext_frames(exe, "--root", "main", "--calls", str(calls))
    main = next(x for x in d["paths"] if x["root"] == "main")
    assert main["chain"] == ["main", "read_report", "call_driver", "walk_stack", "log_request",
                             "wait_for_dump"]
    assert main["recursion"] == ["walk_stack"]
    # the engine's stack from main down to log_request, frame by frame ...
    real = sum(k for f, k in pairs("irp", rows, doc)
               if f["name"] in ("main", "read_report", "call_driver", "walk_stack",
                                "log_request"))
    # ... plus wait_for_dump, which the -O2 build leaves by a tail jump into kernelbase (not on
    # the real stack; the static path keeps its frame: an upper bound)
    wait = next(f["frame"] for f in d["functions"] if f["name"] == "wait_for_dump")
    assert main["bytes"] == real + wait
    assert main["unknown_calls"] == 2  # main's two calls through mingw's __imp_ pointers


def test_gate_fails_the_build_on_the_copy(lane):
    _, _, exe = lane("irp")
    out, err = io.StringIO(), io.StringIO()
    assert frames.main([exe, "--max-frame", "2K"], out, err) == 1
    assert "log_request is 2112 bytes" in err.getvalue()
