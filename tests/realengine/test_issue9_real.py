"""Issue 9 on the real engine: a recursion past pykd's 1,024-frame cap (deep.c) and a full-memory
dump cut short (the lane's seed.dmp, truncated inside its memory)."""

import json
import os
import struct
import sys

import pytest

pytestmark = pytest.mark.realengine

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
from stackext.errors import StackextError  # noqa: E402
from stackext.sources.pykd import dump as pykd_dump  # noqa: E402


def run(realengine, tmp_path, name, *extra):
    realengine.install_stackext()
    out = str(tmp_path / (name + ".json"))
    args = ["--dump", realengine.winpath(realengine.dump_path(name)), "--symbols",
            realengine.winpath(realengine.pdb_dir()), "--format", "json"] + list(extra)
    cp = realengine.run_script(os.path.join(HERE, "run_stackext.py"),
                               [realengine.winpath(out), "--"] + args, timeout=900)
    assert os.path.exists(out), cp.stderr[-2000:]
    with open(out, encoding="utf-8") as f:
        doc = json.load(f)
    return doc


def test_a_walk_past_1024_frames_is_the_engines_own(realengine, tmp_path):
    doc = run(realengine, tmp_path, "deep", "--thread", "~2")
    assert doc["rc"] == 0, doc["stdout"]
    r = json.loads(doc["stdout"])["stacks"][0]
    frames = r["frames"]
    assert len(frames) > 2100 and r["frames_from"] == "stack-walk"
    assert [f["index"] for f in frames] == list(range(len(frames)))
    assert any("the engine's own walk (knf 0x2000)" in w for w in r["warnings"])
    names = {f["call_site"].split("+")[0] for f in frames[1000:2000]}
    assert names == {"deep!deep_a", "deep!deep_b"}  # nothing invented from stale slots
    sizes = {f["call_site"].split("+")[0]: f["size"] for f in frames[1000:2000]}
    assert sizes["deep!deep_a"] != sizes["deep!deep_b"]


def _truncated(src, dst):
    """The first 60% of a full-memory minidump: header, directory and streams whole, the
    Memory64 data cut."""
    with open(src, "rb") as f:
        data = f.read()
    keep = int(len(data) * 0.6)
    with open(dst, "wb") as f:
        f.write(data[:keep])
    count, rva = struct.unpack_from("<II", data, 8)
    kinds = [struct.unpack_from("<III", data, rva + 12 * i) for i in range(count)]
    return keep, [k for k in kinds if k[0] == 9]


def test_a_truncated_full_memory_dump_is_refused(realengine, tmp_path):
    dst = str(tmp_path / "cut.dmp")
    keep, mem64 = _truncated(realengine.dump_path("seed"), dst)
    assert mem64 and mem64[0][2] + mem64[0][1] <= keep  # every stream fits: only memory is cut
    with pytest.raises(StackextError) as e:
        pykd_dump.check_dump_file(dst)
    assert "truncated (its memory ranges need" in str(e.value) and "cut.dmp" in str(e.value)
    pykd_dump.check_dump_file(realengine.dump_path("seed"))  # the whole dump passes


def test_a_thread_parked_on_a_hand_made_stack_is_not_the_budgeted_stack(realengine, tmp_path):
    doc = run(realengine, tmp_path, "handmade", "--thread", "~2")
    assert doc["rc"] == 0, doc["stdout"]
    r = json.loads(doc["stdout"])["stacks"][0]
    base, limit = int(r["stack_base"], 16), int(r["stack_limit"], 16)
    parked = [f for f in r["frames"] if f["call_site"].startswith("handmade!parked_")]
    assert parked and all(not limit <= int(f["sp"], 16) < base for f in parked)
    seg = r["segments"][parked[0]["segment"]]
    assert seg["kind"] == "unknown" and r["thread_segment"] != seg["index"]
    assert r["verdict_id"] == "no-thread-stack" and not r["overflow"]
    assert r["used"] is None and r["below_limit"] is None


def _overflow_log(realengine):
    """What overflow.exe printed when it wrote the dump: "overflow: tid=244 depth=1856
    sp=0x13a1fe0 code=0xc00000fd ok=1" (the exception context's rsp, the recursion depth)."""
    with open(os.path.join(os.path.dirname(realengine.dump_path("overflow")), "overflow.log"),
              encoding="utf-8") as f:
        text = f.read()
    return {k: int(v, 0) for k, v in
            (kv.split("=") for kv in text.split(":", 1)[1].split() if "=" in kv)}


def test_a_real_stack_overflow_is_a_proven_overflow_of_the_exception_context(realengine,
                                                                              tmp_path):
    facts = _overflow_log(realengine)
    assert facts["code"] == 0xC00000FD and facts["ok"] == 1
    doc = run(realengine, tmp_path, "overflow")
    assert doc["rc"] == 0, doc["stdout"]
    r = json.loads(doc["stdout"])["stacks"][0]
    frames = r["frames"]
    # the stack of `.ecxr` (as !analyze shows it), not the vectored handler's wait
    assert int(frames[0]["sp"], 16) == facts["sp"]
    assert frames[0]["call_site"] == "overflow!grow+0x22"
    grows = [f for f in frames if f["call_site"].startswith("overflow!grow+")]
    # every recursion level, past pykd's 1,024 frames; the innermost grow faulted in its memset,
    # before it stored its depth
    assert len(grows) == facts["depth"] + 1
    assert r["exception_code"] == "0xc00000fd"
    assert r["overflow"] and r["verdict_id"] == "overflow" and r["verdict_proven"]
    base, limit = int(r["stack_base"], 16), int(r["stack_limit"], 16)
    assert r["used"] == base - facts["sp"] and r["remaining"] == 0
    assert r["guard_left"] == facts["sp"] - limit and 0 < r["guard_left"] <= 3 * 4096
    assert r["cycles"] and all(c["rounds_left"] == 0 for c in r["cycles"])
    assert "STATUS_STACK_OVERFLOW" in r["verdict"] and "not proven" not in r["verdict"]
    assert any("`.ecxr`" in w and "put back" in w for w in r["warnings"])
    # the debugger's state after stackext is as it was, in each of the user's contexts
    for case in doc["restore"]:
        assert case["before"] == case["after"], case["setup"]
    # the locals are read while `.ecxr` is in place: the heaviest grow frame's largest local is
    # overflow.c's `volatile char pad[512]`, 0x20 above the frame's Child-SP
    big = frames[r["heaviest"][0]]
    assert big["call_site"].startswith("overflow!grow+")
    assert big["locals"][0]["name"] == "pad" and big["locals"][0]["size"] == 512
    assert int(big["locals"][0]["address"], 16) == int(big["sp"], 16) + 0x20
    assert not any("locals" in w or ".frame /c" in w for w in r["warnings"]), r["warnings"]
    default = doc["restore"][0]  # no context set by the user: stackext's `.ecxr`, put back
    assert default["largest_local"]["name"] == "pad" and default["largest_local"]["size"] == 512
    assert not any("locals" in w for w in default["warnings"]), default["warnings"]
