"""`!py -m stackext.threads` on the kernel-shaped fake: the thread lists of a system made of the
real !process/!thread logs (116: three ioctlapp.exe threads; 101/102/104/106/107/117/122: one
each), and synthetic systems of 1,000 threads for counting round trips."""

from __future__ import annotations

import io
import json
import runpy
import sys

import pytest
from fakes import pykd_kernel as K

from stackext import cli
from stackext import threads as debugger_threads
from stackext.sources.pykd import threads as PT

T116_RUN, T116_WAIT = 0xFFFF8A072084B080, 0xFFFF8A071D5A3040
T102_RUN = 0xFFFF800BA6B11500
IOCTLAPP = 0xFFFF8A07222E60C0


def run(monkeypatch, argv, system=None, **engine_kw):
    engine = (system or K.fixture_system()).engine()
    for k, v in engine_kw.items():
        setattr(engine, k, v)
    before = engine.snapshot()
    code = debugger_threads.main(argv, debugger=engine.dbg)
    return code, engine, before, "".join(t for t, _ in engine.output)


def doc_of(out: str) -> dict:
    begin, end = "----- stackext json begin -----", "----- stackext json end -----"
    return json.loads(out.split(begin, 1)[1].split(end, 1)[0])


def test_every_thread_from_the_lists_with_one_read_per_thread(monkeypatch):
    engine = K.fixture_system().engine()
    stacks = list(PT.read_threads(engine.dbg))
    assert len(stacks) == 10 and not any(s.frames for s in stacks)
    t = {s.thread: s for s in stacks}[T116_WAIT]
    assert (t.process, t.image, t.state) == (IOCTLAPP, "ioctlapp.exe", "WAIT:WrQueue")
    assert (t.stack_base, t.stack_limit) == (0xFFFF808DE0A90000, 0xFFFF808DE0A89000)
    assert (t.initial_stack, t.kernel_stack) == (0xFFFF808DE0A8F650, 0xFFFF808DE0A8EE20)
    states = {s.thread: s.state for s in stacks}
    assert states[T116_RUN] == "RUNNING" and states[0xFFFF8A0721BD4080] == "TERMINATED"
    assert states[0xFFFF948FFA478040] == "WAIT:DelayExecution"
    # 8 processes: one typedVarList + one image read each; 10 threads: one read each
    assert engine.count("typedVarList") == 1 + 8 and engine.count("loadBytes") == 8 + 10
    assert engine.count("getStack") == 0 and engine.count("setImplicitThread") == 0


def test_ranked_by_headroom_used_is_base_minus_kernelstack(monkeypatch):
    code, engine, before, out = run(monkeypatch, ["--format", "json"])
    assert code == 0
    doc = doc_of(out)
    assert doc["tool"] == "stackext" and doc["version"] and len(doc["threads"]) == 10
    rows = {r["thread"]: r for r in doc["threads"]}
    w = rows["0xffff8a071d5a3040"]  # Base ffff808de0a90000, Current ffff808de0a8ee20
    assert w["used"] == 0x11E0 and w["used_from"] == "KernelStack"
    assert w["budget"] == 0x7000 and w["remaining"] == 0x7000 - 0x11E0
    for key in ("thread", "process", "image", "state", "stack_base", "stack_limit", "budget",
                "used", "remaining", "heaviest_driver_frame"):
        assert key in w
    left = [r["remaining"] for r in doc["threads"] if r["remaining"] is not None]
    assert left == sorted(left)
    # fixture 104: Current ffffa58b1e505a70 is 0x2590 below Base: closest to the edge
    assert doc["threads"][0]["thread"] == "0xffff808e2779a500"
    assert doc["threads"][0]["used"] == 0x2590
    # the current thread runs: its live frames give its SP (ffff808d`dffdf0e0)
    r = rows["0xffff8a072084b080"]
    assert r["used"] == 0xFFFF808DDFFE0000 - 0xFFFF808DDFFDF0E0 and r["used_from"] == "stack"
    assert r["heaviest_driver_frame"]["call_site"] == "SIoctl!SioctlDeviceControl+0x109"
    # another processor's running thread: not walked, said so, sorted last
    other = rows["0x%x" % T102_RUN]
    assert other["used"] is None and other["used_from"] == "running, SP not known"
    assert doc["threads"][-1] is not None and doc["threads"][-1]["thread"] == "0x%x" % T102_RUN
    assert engine.snapshot() == before


def test_same_numbers_as_the_log_reader_on_the_same_logs(monkeypatch):
    logs = [str(next(K.FIXTURES.glob(p + "_*.txt"))) for p in K.LOGS]
    out = io.StringIO()
    assert cli.main(["threads", "--format", "json"] + logs, out=out) == 0
    from_logs = {r["thread"]: r for r in json.loads(out.getvalue())["threads"]}
    _, _, _, text = run(monkeypatch, ["--format", "json"])
    live = {r["thread"]: r for r in doc_of(text)["threads"]}
    assert set(live) == set(from_logs)
    for thread, r in live.items():
        if r["used_from"] != "KernelStack":
            continue
        for key in ("process", "image", "state", "stack_base", "stack_limit", "budget", "used",
                    "remaining"):
            assert r[key] == from_logs[thread][key], (thread, key)


def test_driver_keeps_only_threads_with_that_driver_and_builds_its_view(monkeypatch):
    code, engine, before, out = run(monkeypatch, ["--driver", "SIoctl", "--format", "json"])
    doc = doc_of(out)
    assert [r["thread"] for r in doc["threads"]] == ["0x%x" % T116_RUN]
    fn = doc["driver_functions"][0]
    assert fn["function"] == "SIoctl!SioctlDeviceControl" and fn["bytes"] == 0x100
    assert fn["max_depth"] == 0xFFFF808DDFFE0000 - 0xFFFF808DDFFDF0E0
    assert engine.count("getStack") == 10  # --driver needs every stack
    assert engine.snapshot() == before


def test_top_walks_the_closest_and_the_running_threads_and_restores_state(monkeypatch):
    code, engine, before, out = run(monkeypatch, ["--top", "2", "--no-dml"])
    assert code == 0
    assert engine.count("getStack") == 4  # current + 2 closest + the other running one
    assert "heaviest driver frames" in out and "amdkmdag!Dispatch_BuildPagingBuffer" in out
    assert "running, SP not known" not in out
    assert engine.snapshot() == before


def test_dml_links_and_escaping(monkeypatch):
    system = K.fixture_system()
    system.processes[IOCTLAPP].image = 'io<ct>l&"app'
    code, engine, _, out = run(monkeypatch, ["--dml"], system)
    dml = "".join(t for t, d in engine.output if d)
    assert '<link cmd=".thread /p /r ffff8a07`1d5a3040">ffff8a07`1d5a3040</link>' in dml
    assert '<link cmd="!py stackext.usage --thread ffff8a07`1d5a3040">usage</link>' in dml
    assert "io&lt;ct&gt;l&amp;&quot;app" in dml and "io<ct>" not in dml
    code, engine, _, out = run(monkeypatch, ["--no-dml"])
    assert "<link" not in out and not any(d for _, d in engine.output)


def test_csv_and_budget_override(monkeypatch):
    _, _, _, out = run(monkeypatch, ["--format", "csv", "--budget", "12K"])
    lines = [x for x in out.splitlines() if not x.startswith("stackext: ")]
    assert lines[0].startswith("thread,process,image,state,stack_base")
    row = next(x for x in lines if x.startswith("0xffff8a071d5a3040"))
    assert row.split(",")[6:9] == [str(12 * 1024), str(0x11E0), str(12 * 1024 - 0x11E0)]


def round_trips(monkeypatch, n_threads, frames, argv=("--format", "json")):
    code, engine, before, _ = run(monkeypatch, list(argv),
                                  K.synthetic_system(n_threads, frames_per_thread=frames))
    assert code == 0 and engine.snapshot() == before
    return engine


def test_round_trips_grow_with_threads_not_frames(monkeypatch):
    shallow = round_trips(monkeypatch, 1000, 5)
    deep = round_trips(monkeypatch, 1000, 60)
    assert shallow.round_trips() == deep.round_trips()
    half = round_trips(monkeypatch, 500, 5)
    # per process: its thread list and its image name; per thread: one _KTHREAD read
    per = (1000 + 2 * 40) - (500 + 2 * 20)
    assert shallow.round_trips() - half.round_trips() == per
    assert shallow.round_trips() <= 1000 + 2 * 40 + 20
    assert shallow.count("getStack") == 0


def test_progress_every_200_threads(monkeypatch):
    _, engine, _, out = run(monkeypatch, ["--no-dml"], K.synthetic_system(450))
    progress = [x for x in out.splitlines() if "threads read" in x]
    assert progress == ["stackext: 200 threads read (8 of 18 processes)...",
                        "stackext: 400 threads read (16 of 18 processes)..."]


def test_ctrl_break_mid_walk_prints_partial_results_and_restores_state(monkeypatch):
    code, engine, before, out = run(monkeypatch, ["--driver", "SIoctl", "--no-dml"],
                                    interrupt=("getStack", 3))
    assert code == 130
    assert engine.snapshot() == before  # the walk that was interrupted put everything back
    assert "ffff8a07`2084b080" in out and "SIoctl!SioctlDeviceControl+0x109" in out
    assert "interrupted (CTRL+BREAK) while walking stacks" in out
    assert "10 thread(s) read, 2 of 10 stacks walked" in out
    assert "Traceback" not in out


def test_ctrl_break_mid_read_prints_the_threads_read_so_far(monkeypatch):
    code, engine, before, out = run(monkeypatch, ["--format", "json"],
                                    K.synthetic_system(1000), interrupt=("loadBytes", 300))
    assert code == 130 and engine.snapshot() == before
    doc = doc_of(out)
    assert doc["interrupted"] == "CTRL+BREAK"
    assert 250 < len(doc["threads"]) < 300


@pytest.mark.parametrize("argv, says", [
    (["--top", "x"], "argument --top: not a number"),
    (["--format", "xml"], "argument --format: invalid choice"),
    (["--budget", "lots"], "not a size"),
])
def test_bad_arguments_are_one_message_not_a_traceback(monkeypatch, argv, says):
    code, _, _, out = run(monkeypatch, argv)
    assert code == 2 and says in out and "Traceback" not in out


def test_help_and_target_errors(monkeypatch):
    code, _, _, out = run(monkeypatch, ["--help"])
    assert code == 0 and "!py -m stackext.threads" in out
    system = K.fixture_system()
    engine = system.engine()
    engine.session["kernel"] = False
    assert debugger_threads.main([], debugger=engine.dbg) == 2
    text = "".join(t for t, _ in engine.output).strip()
    assert text.startswith("stackext: stackext.threads lists kernel threads")
    assert len(text.splitlines()) == 1
    engine = system.engine(windbg_ext=False)  # pykd as a library
    assert debugger_threads.main([], debugger=engine.dbg) == 2
    assert "not inside a debugger" in "".join(t for t, _ in engine.output)
    engine = system.engine()
    engine.session["symbols"] = []
    assert debugger_threads.main([], debugger=engine.dbg) == 2
    text = "".join(t for t, _ in engine.output).strip()
    assert text.startswith("stackext: " + PT.NO_SYMBOLS) and len(text.splitlines()) == 1


def test_py_m_stackext_threads_runs_the_debugger_command(monkeypatch):
    engine = K.fixture_system().engine()
    monkeypatch.setitem(sys.modules, "pykd", engine.pykd)  # Debugger.load()'s import: !py start-up
    monkeypatch.setattr(sys, "argv", ["stackext.threads", "--no-dml", "--format", "csv"])
    monkeypatch.delitem(sys.modules, "stackext.threads", raising=False)
    runpy.run_module("stackext.threads", run_name="__main__", alter_sys=True)
    out = "".join(t for t, _ in engine.output)
    lines = out.splitlines()
    assert lines[0].startswith("stackext: 1 running thread(s)")
    assert lines[1].startswith("thread,process,image,state") and len(lines) == 12
