"""Issue 9 point 4 on the real engine (pykd 0.3.4.15 + dbgeng under Wine) and a real x64 kernel
dump: triage_x64.dmp (bugcheck 0x1000007E, amdppm faulting, see shared/kernel-dumps/SOURCE.md).

stackext analyses the faulting context the bugcheck carries (Arg4, `.cxr`), as !analyze does,
puts the debugger's context back, and stops where the unwinder lost track (Wdf01000 without
symbols): the amdppm frames have the sizes of the reference walk (rizin's, with every symbol).
"""

import json
import os
import re
import sys

import pytest

pytestmark = pytest.mark.realengine

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DUMPS = os.path.join(os.path.dirname(ROOT), "shared", "kernel-dumps")
DUMP = os.path.join(DUMPS, "triage_x64.dmp")
sys.path.insert(0, HERE)

# | 12 | 0xfffff8048b5a83f6 | 0xffff850429892210 | 0x60 | amdppm.ProcLibDeviceStart+2182 |
REF_ROW = re.compile(r"^\| (\d+) \| (0x[0-9a-f]+) \| (0x[0-9a-f]+) \| *(0x[0-9a-f]+)? *\| (.*?) \|$")


def reference():
    """rizin's full walk: [(ip, sp, memory, symbol)] by row."""
    with open(os.path.join(DUMPS, "reference_full_walk_from_rizin.md"), encoding="utf-8") as f:
        rows = [REF_ROW.match(line.strip()) for line in f]
    return [(int(m.group(2), 16), int(m.group(3), 16),
             int(m.group(4), 16) if m.group(4) else None, m.group(5)) for m in rows if m]


@pytest.fixture(scope="module")
def triage(realengine, tmp_path_factory):
    if not os.path.exists(DUMP):
        pytest.skip("no %s (shared/kernel-dumps/SOURCE.md says how to get it)" % DUMP)
    realengine.install_stackext()
    out = str(tmp_path_factory.mktemp("kernel") / "triage.json")
    args = ["--dump", realengine.winpath(DUMP), "--symbols",
            realengine.winpath(os.path.join(DUMPS, "symbols")), "--format", "json"]
    cp = realengine.run_script(os.path.join(HERE, "run_stackext.py"),
                               [realengine.winpath(out), "--"] + args, timeout=600)
    assert os.path.exists(out), cp.stderr[-2000:]
    with open(out, encoding="utf-8") as f:
        doc = json.load(f)
    assert doc["rc"] == 0, doc["stdout"]
    doc["report"] = json.loads(doc["stdout"])["stacks"][0]
    return doc


def test_the_faulting_context_is_analysed_with_the_reference_sizes(triage):
    r = triage["report"]
    frames = r["frames"]
    ref = reference()
    first = next(i for i, row in enumerate(ref) if row[0] == int(frames[0]["ip"], 16))
    assert ref[first][3] == "amdppm.WriteIoMemRawEx+112"  # the CONTEXT's rip, not KeBugCheckEx
    named = [f for f in frames if f["size"] is not None]
    assert len(named) == 6
    for i, f in enumerate(named):
        ip, sp, _, _ = ref[first + i]
        assert (int(f["ip"], 16), int(f["sp"], 16)) == (ip, sp), i
        # a frame owns Child-SP(caller) - Child-SP(own): the caller row's Memory
        assert f["size"] == ref[first + i + 1][2], (i, f["call_site"])
    sizes = {f["call_site"].split("+")[0]: f["size"] for f in named}
    assert sizes["amdppm!InitAcpiCpc"] == 0x60 and sizes["amdppm!ProcLibDeviceStart"] == 0x130
    assert any("`.cxr ffff8504`29891720`" in w for w in r["warnings"])


def test_the_walk_stops_where_the_unwinder_lost_track(triage):
    r = triage["report"]
    last = r["frames"][-1]
    assert last["call_site"] == "Wdf01000+0x7c027" and last["size"] is None
    assert last["size_unknown_reason"] == "walk-lost"
    lost = r["lost_track"]
    assert lost["module"] == "Wdf01000" and lost["frame"] == len(r["frames"])
    assert lost["call_site"] == "0xffffc08be52e7e28" and lost["dropped"] == 4
    assert "`.reload /f Wdf01000`" in lost["text"]
    assert not any(f["module"] is None for f in r["frames"])
    assert r["verdict_proven"] is False and "walk-lost" in r["not_proven"]


def test_the_debugger_context_is_put_back(triage):
    # after stackext: the engine's own knf is the bugcheck context's (KeBugCheckEx, nt+0x3f5a80)
    assert triage["knf"].splitlines()[1].split()[-1] == "nt+0x3f5a80"
    assert "last set context" not in triage["knf"]
    for case in triage["restore"]:
        assert case["before"] == case["after"], case["setup"]


def _run(realengine, symbols):
    """`python -m stackext.usage --dump triage_x64.dmp --symbols FOLDER --format json`."""
    cp = realengine.run_windows_python(
        ["-m", "stackext.usage", "--dump", realengine.winpath(DUMP), "--symbols",
         realengine.winpath(symbols), "--format", "json"], timeout=600)
    assert cp.returncode == 0, (cp.stdout + cp.stderr)[-2000:]
    return json.loads(cp.stdout)["stacks"][0]


def test_modules_without_symbols_are_named_once(triage, realengine, tmp_path):
    # with amdppm's PDB: Wdf01000 (its frame is module+offset) is named, amdppm is not
    (w,) = [w for w in triage["report"]["warnings"] if w.startswith("no symbols for ") and " on this stack" in w]
    assert "Wdf01000" in w and "amdppm" not in w.split(" on this stack")[0]
    # an empty symbol folder: the 0x7E context walks one frame, amdppm+0x334c, and says why
    empty = tmp_path / "empty"
    empty.mkdir()
    r = _run(realengine, str(empty))
    assert [f["call_site"] for f in r["frames"]] == ["amdppm+0x334c"]
    (w,) = [w for w in r["warnings"] if w.startswith("no symbols for ") and " on this stack" in w]
    assert w.startswith("no symbols for amdppm on this stack") and "`.reload /f amdppm`" in w
    assert not any("--symbols folder" in x for x in r["warnings"])


def test_a_symbols_folder_that_does_not_exist_is_a_warning(triage, realengine, tmp_path):
    missing = str(tmp_path / "no-such-folder")
    r = _run(realengine, missing)
    assert any(w.startswith("--symbols folder ") and w.endswith(
        "does not exist: no symbols load from it") and "no-such-folder" in w
        for w in r["warnings"])
