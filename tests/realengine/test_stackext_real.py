"""stackext under the real pykd 0.3.4.15 + Microsoft dbgeng (Wine), on dumps of our test programs.

Each dump is analysed once (run_stackext.py under the Windows Python: `python -m stackext.usage
--dump ... --format json` with every pykd call recorded, then `knf 1000`/`kv 1000` from the same
engine and three state-restore checks). The tests then hold stackext's numbers against the
engine's own knf, the log reader, the TEB, the program's own log, and the fake pykd.
"""

import json
import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.realengine

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import callrec  # noqa: E402

# dump -> extra stackext arguments (recurse: the deep thread is ~2, the engine selects ~0)
RUNS = {"seed": [], "inline": [], "seed_mini": [], "recurse": ["--thread", "~2"],
        "deep": ["--thread", "~2"]}
WINDOWS = ("ntdll", "kernelbase", "kernel32")
from knfrows import check_sizes, knf_rows  # noqa: E402


def norm_site(site):
    """findSymbol prints a negative displacement as -102 where knf prints +0xffffffff`fffffefe."""
    m = re.match(r"^(.*)\+0xffffffff`([0-9a-f]{8})$", site)
    if m:
        return "%s-0x%x" % (m.group(1), (1 << 32) - int(m.group(2), 16))
    return site


@pytest.fixture(scope="module")
def runs(realengine, tmp_path_factory):
    realengine.install_stackext()
    out = tmp_path_factory.mktemp("real")
    cache = {}

    def get(name):
        if name not in cache:
            path = str(out / (name + ".json"))
            args = ["--dump", realengine.winpath(realengine.dump_path(name)), "--symbols",
                    realengine.winpath(realengine.pdb_dir()), "--format", "json"] + RUNS[name]
            cp = realengine.run_script(os.path.join(HERE, "run_stackext.py"),
                                       [realengine.winpath(path), "--"] + args)
            assert os.path.exists(path), cp.stderr[-2000:]
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
            assert doc["rc"] == 0, doc["stdout"]
            doc["report"] = json.loads(doc["stdout"])["stacks"][0]
            doc["args"] = args
            cache[name] = doc
        return cache[name]

    return get


@pytest.mark.parametrize("name", ["seed", "inline", "recurse", "deep"])
def test_sizes_equal_the_engines_own_knf(runs, name):
    doc = runs(name)
    frames, rows = doc["report"]["frames"], knf_rows(doc["knf"])
    for i, (f, row) in enumerate(zip(frames, rows)):
        assert norm_site(row["site"]) == f["call_site"], i
    check_sizes(frames, rows)


def test_seed_big_frame_is_the_heaviest_and_the_driver_frame_to_fix(runs):
    r = runs("seed")["report"]
    big = next(f for f in r["frames"] if f["function"] == "MyStruct_toDebugStr")
    assert big["size"] == 0x890 and big["heavy"] and big["driver"]
    assert r["heaviest"][0] == big["index"] and r["heaviest_drivers"][0] == big["index"]
    for f in r["frames"]:
        assert f["driver"] == (f["module"] == "seed"), f["call_site"]
        assert f["heavy"] == (f is big)
    assert [m["module"] for m in r["modules"] if m["driver"]] == ["seed"]


def test_inline_frames_are_size_zero_and_named(runs):
    r = runs("inline")["report"]
    inline = [f for f in r["frames"] if f["inline"]]
    assert [f["call_site"] for f in inline] == ["inline!inner_helper+0x1a",
                                                "inline!middle_helper+0x20"]
    assert all(f["size"] == 0 and f["sp"] is None for f in inline)


@pytest.mark.parametrize("name", ["seed", "inline", "recurse"])
@pytest.mark.parametrize("listing", ["knf", "kv"])
def test_log_reader_on_the_engines_text_agrees_with_the_pykd_path(runs, name, listing, tmp_path):
    doc = runs(name)
    path = tmp_path / ("%s_%s.txt" % (name, listing))
    path.write_text(doc[listing], encoding="utf-8")
    cp = subprocess.run([sys.executable, "-m", "stackext", "usage", "--format", "json",
                         str(path)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True, check=False)
    assert cp.returncode == 0, cp.stderr
    log = json.loads(cp.stdout)["stacks"][0]["frames"]
    live = doc["report"]["frames"]
    assert len(log) == len(live)
    compared = 0
    for a, b in zip(live, log):
        assert norm_site(b["call_site"]) == a["call_site"]
        assert (b["module"], b["driver"], b["inline"]) == (a["module"], a["driver"], a["inline"])
        if b["size"] is not None:
            assert b["size"] == a["size"], a["call_site"]
            compared += 1
    # only the outermost frame differs: the log has no StackBase to size it against
    assert compared >= len(live) - 1


def _program_log(name):
    engine = sys.modules["stackext_realengine_engine"]
    with open(engine.dump_path(name)[:-4] + ".log", encoding="utf-8") as f:
        text = f.read()
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", text)}


def test_user_budget_is_the_teb_reserve(runs):
    r = runs("recurse")["report"]
    prog = _program_log("recurse")  # GetCurrentThreadStackLimits() in the worker thread
    low, high = int(prog["low"], 16), int(prog["high"], 16)
    assert (int(r["stack_base"], 16), int(r["stack_limit"], 16)) == (high, low)
    assert r["budget"] == high - low == 1024 * 1024  # Wine gives the 256 KB request 1 MB
    assert r["budget_origin"] == "thread" and "DeallocationStack" in r["bounds_note"]
    assert "StackLimit (committed bottom) 00000000`015a2000" in r["bounds_note"]
    sp0 = int(r["frames"][0]["sp"], 16)
    assert r["used"] == high - sp0 and r["remaining"] == sp0 - low
    assert 0 < r["remaining"] < 20 * 1024  # the program stopped with < 20 KB left
    assert r["verdict"] == "close to the limit" and not r["overflow"]
    assert "thread ~2" in r["source"]


def test_minidump_without_teb_says_bounds_unknown(runs):
    r = runs("seed_mini")["report"]
    assert r["budget"] is None and any("cannot read the thread's TEB: the dump lacks it" in w
                                       and ".symfix" not in w for w in r["warnings"])


def test_largest_local_of_the_big_frame_is_the_struct_copy(runs):
    r = runs("seed")["report"]
    big = r["frames"][r["heaviest"][0]]
    top = big["locals"][0]
    assert (top["name"], top["type"], top["size"], top["offset"]) == (
        "copy", "struct MYSTRUCT", 2064, "rsp+0x70")  # exact: pykd.typeInfo("seed!MYSTRUCT")
    assert "size_estimated" not in top
    lay = big["layout"]
    assert lay["fixed"] == 0x888 and lay["pushes"] == 0 and lay["return_address"] == 8
    assert lay["dynamic"] == 0 and lay["static"] == big["size"]


def test_locals_are_read_for_at_most_top_frames(runs):
    doc = runs("recurse")  # 252 heavy 4 KB frames: still 5 frames read
    dv = [c for c in doc["calls"] if c[0] == "dbgCommand" and c[1][0].endswith("dv /V /t")]
    assert len(dv) == 5
    annotated = [f for f in doc["report"]["frames"] if f.get("layout")]
    assert len(annotated) == 5 and all(f["layout"]["dynamic"] == 0 for f in annotated)


@pytest.mark.parametrize("name", ["seed", "inline"])
def test_debugger_state_is_exactly_as_found(runs, name):
    """getStack(), reg(rsp/rip), getSP() and `.frame` after collect + locals: as before, with the
    user at frame 0, at `.frame 3`, and in a `.frame /c 5` context (where nothing is moved)."""
    cases = {c["setup"]: c for c in runs(name)["restore"]}
    for setup, case in cases.items():
        assert case["after"] == case["before"], setup
    assert cases[None]["annotated"] and cases[".frame 3"]["annotated"]
    assert cases[".frame /c 5"]["annotated"] == []
    assert any(".frame /c context" in w for w in cases[".frame /c 5"]["warnings"])
    if name == "seed":
        assert cases[".frame 3"]["largest_local"]["name"] == "copy"


# -- every pykd call stackext makes: the fake answers as the real engine ------------------------

def _fake_calls(name, args, dump_linux_path, monkeypatch):
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from fakes import pykd as fakepykd

    from stackext import usage as debugger
    from stackext.sources.pykd.adapter import Debugger

    engine = fakepykd.fake("real_%s_user_x64" % name, windbg_ext=False)
    log = []
    recorded = Debugger(callrec.wrap(engine.pykd, log))  # the recorder passed in, as the fake is
    args = list(args)
    args[args.index("--dump") + 1] = dump_linux_path
    assert debugger.main(args, debugger=recorded) == 0, fakepykd.output_text(engine)
    return log


# Values a program computes at run time differ from one build of the dumps to the next (a heap
# pointer in `dv` output: "char ** argv = 0x00000000`00b81480"): compare the shape, not them.
_DV_VALUE = re.compile(r"(@r[bs]p[+-]0x[0-9a-f]+\s+[^=\n]*\*[^=\n]* = )0x[0-9a-f`]+")


# `.lastevent`'s second line is the debugger's clock: "  debugger time: Wed Dec  2 16:50:25.777 2026"
_DEBUGGER_TIME = re.compile(r"(debugger time: ).*")


def _normalized(calls):
    out = []
    for name, args, result in calls:
        if name in ("loadDump", "setSymbolPath", "dprintln", "dprint"):
            args = ["<path or text>"]
        if isinstance(result, str):
            result = _DV_VALUE.sub(r"\1<pointer>", result)
            result = _DEBUGGER_TIME.sub(r"\1<time>", result)
        if name == "loadBytes" and isinstance(result, list):
            # stack bytes above the high-water mark hold run-time values (return addresses are
            # stable, saved pointers are not): keep what the scan reads, where writing begins
            nonzero = [i for i, b in enumerate(result) if b not in (0, "0x0")]
            result = ["%d bytes" % len(result), "first written at +0x%x" % nonzero[0]
                      if nonzero else "all zero"]
        out.append([name, args, result])
    return out


@pytest.mark.parametrize("name", ["seed", "inline", "seed_mini"])
def test_every_pykd_call_answers_as_the_fake_says(runs, name, monkeypatch):
    doc = runs(name)
    engine = sys.modules["stackext_realengine_engine"]
    real = _normalized(doc["calls"])
    fake = _normalized(_fake_calls(name, doc["args"], engine.dump_path(name), monkeypatch))
    # the real engine prints through pykd.dprintln only inside WinDbg; outside it is stdout
    real = [c for c in real if c[0] not in ("dprintln", "dprint")]
    fake = [c for c in fake if c[0] not in ("dprintln", "dprint")]
    diffs = ["call %d:\n real %r\n fake %r" % (i, a, b)
             for i, (a, b) in enumerate(zip(real, fake)) if a != b]
    assert not diffs, "%d calls differ:\n%s" % (len(diffs), "\n".join(diffs[:20]))
    assert len(real) == len(fake), (real[len(fake):][:5], fake[len(real):][:5])
    assert len(real) > 50


# -- opening dumps: thread selection and one-line errors ----------------------------------------

def _usage(realengine, *args):
    return realengine.run_windows_python(["-m", "stackext.usage"] + list(args), timeout=300)


def test_thread_by_id_and_default_thread(runs, realengine):
    dump = realengine.winpath(realengine.dump_path("recurse"))
    # thread ids change with every build of the dumps: learn the recursing thread's id from ~2
    cp = _usage(realengine, "--dump", dump, "--thread", "~2", "--format", "json", "--no-locals")
    by_index = json.loads(cp.stdout)["stacks"][0]
    tid = re.search(r"thread ~2 \(Id [0-9a-f]+\.([0-9a-f]+)\)", by_index["source"]).group(1)
    cp = _usage(realengine, "--dump", dump, "--thread", tid, "--format", "json", "--no-locals")
    by_id = json.loads(cp.stdout)["stacks"][0]
    assert [f["call_site"] for f in by_id["frames"]] == \
        [f["call_site"] for f in by_index["frames"]] == \
        [f["call_site"] for f in runs("recurse")["report"]["frames"]]
    assert "layout" not in json.dumps(by_id)  # --no-locals
    cp = _usage(realengine, "--dump", dump, "--format", "json", "--no-locals")
    default = json.loads(cp.stdout)["stacks"][0]
    # the engine's current thread: main
    assert re.search(r"thread ~0 \(Id [0-9a-f]+\.[0-9a-f]+\)", default["source"])
    assert any(f["function"] == "main" for f in default["frames"])


@pytest.mark.parametrize("case", ["missing", "truncated", "not_a_dump", "no_such_thread"])
def test_bad_dumps_and_threads_are_one_line_errors(realengine, tmp_path, case):
    seed = realengine.dump_path("seed_mini")
    if case == "missing":
        path = str(tmp_path / "nope.dmp")
    else:
        path = str(tmp_path / "bad.dmp")
        with open(seed, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[:5000] if case == "truncated" else
                    b"hello, not a dump" if case == "not_a_dump" else data)
    extra = ["--thread", "~7"] if case == "no_such_thread" else []
    cp = _usage(realengine, "--dump", realengine.winpath(path), *extra)
    lines = cp.stdout.strip().splitlines()
    assert cp.returncode == 2 and len(lines) == 1, cp.stdout + cp.stderr
    want = {"missing": "no such file", "truncated": "truncated", "not_a_dump": "not a Windows dump",
            "no_such_thread": "no thread ~7 in this dump"}[case]
    assert lines[0].startswith("stackext: ") and want in lines[0], lines[0]


def test_user_high_water_after_deep_recursion_returned(realengine):
    """recurse.exe shallow: the worker recursed to within ~20 KB of its 1 MB stack, returned,
    and waits at a shallow point. The walk sees a few hundred bytes; the zero scan of the stack
    pages finds how deep it once went."""
    dump = realengine.winpath(realengine.dump_path("recurse_shallow"))
    cp = _usage(realengine, "--dump", dump, "--thread", "~2", "--symbols",
                realengine.winpath(realengine.pdb_dir()), "--format", "json", "--no-locals")
    s = json.loads(cp.stdout)["stacks"][0]
    hw = s["high_water"]
    assert s["budget"] == 1 << 20 and s["used"] < 4096
    assert hw["used"] > 1000000 and 0 < hw["remaining"] < 32 * 1024
    assert hw["used"] + hw["remaining"] == s["budget"]
    assert int(hw["address"], 16) >= int(s["committed_limit"], 16)
    cp = _usage(realengine, "--dump", dump, "--thread", "~2", "--format", "json", "--no-locals",
                "--no-high-water")
    assert json.loads(cp.stdout)["stacks"][0]["high_water"]["page_granular"]  # TEB StackLimit


def test_user_high_water_scan_reads_a_1mb_reserve_in_few_round_trips(realengine):
    dump = realengine.winpath(realengine.dump_path("seed"))
    cp = _usage(realengine, "--dump", dump, "--format", "json", "--no-locals")
    hw = json.loads(cp.stdout)["stacks"][0]["high_water"]
    # 253 pages between the committed bottom and the first write, read 1, 2, 4, ... at a time
    assert hw["pages_read"] > 200 and hw["used"] < 8192


def test_lab_page_over_the_real_engines_documents(runs, tmp_path):
    """`stackext report` over what stackext printed under the real engine (JSON documents with
    largest locals and layouts) and the engine's own knf/kv text, in one page."""
    import io

    from stackext import lab
    from stackext.render import html_text

    for name in RUNS:
        (tmp_path / (name + ".json")).write_text(runs(name)["stdout"], encoding="utf-8")
    for listing in ("seed_knf.txt", "seed_kv.txt"):
        src = os.path.join(ROOT, "fixtures", "realengine", listing)
        with open(src, encoding="utf-8") as f:
            (tmp_path / listing).write_text(f.read(), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert lab.main([str(tmp_path)], out, err) == 0, err.getvalue()
    page = out.getvalue()
    assert "%d stacks from %d files" % (len(RUNS) + 2, len(RUNS) + 2) in page
    seed = lab.LabStats()
    for d in lab.stack_dicts(str(tmp_path / "seed.json"), lab.AnalysisOptions()):
        seed.add(d, html_text.kind_of(d), 0)
    assert seed.modules["seed"].largest == 0x890
