"""A DPC/ISR stack that is running now is judged against its own size (issue 9, point 8).

The debugger cases run the kernel-shaped fake (tests/fakes/pykd_kernel.py) on real rows: the DPC
frames of fixture 113 (a KMDF DPC, amdacpbus2, retired by KiRetireDpcList: Child-SP, RetAddr and
call sites exactly as WinDbg printed them) on the DPC stack, over the running ioctlapp thread of
fixture 116 (its real Base/Limit and frames); the ISR frames of fixture 111 (a clock interrupt
on the ISR stack) over its thread. Made up, and said so: the KxRetireDpcList seam row (the shape
Windows 10 x64 prints between a DPC and the thread it interrupted), the processor's KPRCB address,
the DpcStack/IsrStack values (page-aligned tops above the frames, as `dt nt!_KPRCB` dumps show
DpcStack), nt!KeIsrStackSize's value, and fixture 111's thread bounds.
"""

from __future__ import annotations

import io
import json
import re
import struct
from pathlib import Path

from fakes import pykd_kernel as K
from fakes.pykd import output_text

from stackext import report_json as RJ
from stackext import usage
from stackext.cli import main
from stackext.render import RenderOptions, render

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
F113 = FIXTURES / "113_jellykuo_dpc_on_idle_kiexecutealldpcs_x64.txt"
F111 = FIXTURES / "111_jellykuo_0x133_clock_isr_stack_to_thread_x64.txt"
F116 = FIXTURES / "116_prenotes_process_ioctlapp_3threads_base_limit_x64.txt"
T116_RUN = 0xFFFF8A072084B080  # RUNNING, Base ffff808ddffe0000 Limit ffff808ddffd9000
PRCB = 0xFFFFF8074A3F2180  # made up: the current processor's KPRCB
DPC_TOP = 0xFFFFD68D79530000  # made up: above 113's frames (KiIdleLoop's Child-SP ...7952f5c0)
ISR_TOP = 0xFFFFF8070CB10000  # made up: above 111's ISR frames (fffff807`0cb0fa28..0cb0ffb0)
KE_ISR_STACK_SIZE = 0xFFFFF8074A500010  # made up: where nt!KeIsrStackSize lies
# "0e ffffd68d`7952f0e0 fffff804`73a8248e     nt!KiExecuteAllDpcs+0x67e [minkernel\...]"
NUMBERED = re.compile(r"^[0-9a-f]{2} (?P<rest>(?:[0-9a-f]{8}`[0-9a-f]{8}|\(Inline).*)$")


def k_rows(path: Path, first: int, stop: int) -> list:
    """Rows first..stop-1 of a `k` log, as the kernel fake's rows (its own parser, not
    stackext's)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = NUMBERED.match(line.strip())
        if not m:
            continue
        r = K.ROW.match(m.group("rest"))
        site = K.NOISE.sub("", r.group("site")).strip()
        rows.append({"sp": K.num(r.group("sp")) if r.group("sp") else None,
                     "ret": K.num(r.group("ret")) if r.group("ret") else None,
                     "inline": r.group("sp") is None, "site": site, "inline_at": None})
    return rows[first:stop]


def dpc_system() -> K.KernelSystem:
    """116's running thread, interrupted by 113's DPC (rows 00-0f) on the DPC stack."""
    system = K.fixture_system()
    t = system.thread(T116_RUN)
    seam = {"sp": 0xFFFFD68D7952F5C0, "ret": 0xFFFFF80751231109, "inline": False,  # in SIoctl
            "site": "nt!KxRetireDpcList+0x5", "inline_at": None}
    t.rows = k_rows(F113, 0, 16) + [seam] + t.rows
    system.current = T116_RUN
    return system


def with_prcb(engine: K.KernelEngine, dpc=DPC_TOP, isr=None, isr_size=None) -> K.KernelEngine:
    engine.session["prcb"] = hex(PRCB)
    engine.session["variables"] = {"nt!KeIsrStackSize": hex(KE_ISR_STACK_SIZE)}
    if dpc is not None:
        engine.write(PRCB + 0x3110, struct.pack("<Q", dpc))
    if isr is not None:
        engine.write(PRCB + 0x85D8, struct.pack("<Q", isr))
    if isr_size is not None:
        engine.write(KE_ISR_STACK_SIZE, struct.pack("<I", isr_size))
    return engine


def usage_json(engine) -> dict:
    engine.output.clear()
    assert usage.main(["--format", "json", "--no-locals", "--no-high-water"],
                      debugger=engine.dbg) == 0
    body = output_text(engine).split(RJ.MARKER_BEGIN, 1)[1].split(RJ.MARKER_END, 1)[0]
    return json.loads(body)["stacks"][0]


def exprs(engine) -> list:
    return [c[1][0] for c in engine.calls if c[0] == "expr"]


def test_a_breakpoint_on_the_dpc_stack_is_judged_against_the_dpc_stack():
    engine = with_prcb(dpc_system().engine())
    before = engine.snapshot()
    s = usage_json(engine)
    assert engine.snapshot() == before
    dpc, thread = s["segments"][0], s["segments"][1]
    assert dpc["kind"] == "dpc" and (dpc["first_frame"], dpc["last_frame"]) == (0, 0x10)
    assert thread["kind"] == "thread" and s["thread_segment"] == 1
    # DpcStack - the innermost SP (ExAllocatePool2, ffffd68d`7952edb8), against x64's 0x6000
    assert dpc["top"] == "0xffffd68d79530000" and dpc["budget"] == 0x6000
    assert dpc["used"] == DPC_TOP - 0xFFFFD68D7952EDB8 == 4680
    assert dpc["remaining"] == 0xFFFFD68D7952EDB8 - (DPC_TOP - 0x6000) == 19896
    assert dpc["verdict_id"] == "ok" and dpc["verdict_proven"] is True
    assert dpc["verdict"] == "no overflow of the DPC stack: 4,680 of 24,576 bytes used, " \
                             "19,896 left"
    assert dpc["bounds_from"] == "_KPRCB.DpcStack of the current processor (the debugger)"
    assert dpc["budget_note"] is None
    # the thread's own verdict still rests on its own bounds
    assert s["budget"] == 0x7000 and s["verdict_id"] == "ok" and s["verdict_proven"] is True
    # one round trip for it, the field's offset from the symbols
    assert exprs(engine) == ["poi(@$prcb+0x3110)"]
    assert ("typeInfo", ("nt!_KPRCB",)) in engine.calls


def test_the_read_costs_one_round_trip_whatever_the_frame_count():
    small = with_prcb(dpc_system().engine())
    usage_json(small)
    system = dpc_system()
    t = system.thread(T116_RUN)
    t.rows = t.rows[:2] + t.rows[16:]  # two DPC frames and the seam: still the DPC stack
    few = with_prcb(system.engine())
    s = usage_json(few)
    assert s["segments"][0]["kind"] == "dpc" and s["segments"][0]["budget"] == 0x6000
    assert exprs(small) == exprs(few) == ["poi(@$prcb+0x3110)"]


def test_no_dpc_frames_off_the_thread_stack_no_read():
    """113's DPC ran on the idle thread's own stack; a thread with no DPC frames at all."""
    engine = with_prcb(K.fixture_system().engine())
    engine.system_current = None
    s = usage_json(engine)
    assert [seg["kind"] for seg in s["segments"]] == ["thread", "user"]
    assert exprs(engine) == [] and ("typeInfo", ("nt!_KPRCB",)) not in engine.calls


def test_a_kprcb_without_the_field_leaves_the_budget_unknown_and_says_so(monkeypatch):
    monkeypatch.setitem(K.TYPES, "nt!_KPRCB", (0xAF00, {"IsrStack": (0x85D8, 8)}))
    engine = with_prcb(dpc_system().engine())
    s = usage_json(engine)
    dpc = s["segments"][0]
    assert dpc["kind"] == "dpc" and dpc["budget"] is None and dpc["verdict_id"] is None
    assert dpc["used"] == 0xFFFFD68D7952F5C0 - 0xFFFFD68D7952EDB8  # what its SPs prove
    assert dpc["budget_note"] == "this kernel's _KPRCB has no DpcStack field"
    assert exprs(engine) == []  # nothing to read
    engine.output.clear()
    assert usage.main(["--no-locals", "--no-high-water"], debugger=engine.dbg) == 0
    lines = [x for x in output_text(engine).splitlines() if x.startswith("dpc ")]
    assert lines == ["dpc      #0 budget unknown: this kernel's _KPRCB has no DpcStack field"]


def test_no_nt_symbols_or_a_page_not_in_the_dump(monkeypatch):
    engine = dpc_system().engine()
    engine.session["symbols"] = []
    dpc = usage_json(with_prcb(engine))["segments"][0]
    assert dpc["budget"] is None and dpc["budget_note"] == \
        "no symbols for nt: cannot read _KPRCB (.symfix; .reload nt)"
    # a triage dump without the KPRCB's page: the engine cannot evaluate poi() there
    engine = with_prcb(dpc_system().engine(), dpc=None)
    dpc = usage_json(engine)["segments"][0]
    assert dpc["budget"] is None and dpc["budget_note"] == \
        "cannot read _KPRCB.DpcStack (Call IDebugControl::Evaluate failed)"


def test_a_dpc_stack_top_equal_to_its_outermost_child_sp_holds_it():
    # x64 DpcStack is the stack's initial RSP (...fb0 on every DPC_STACK_BASE !analyze printed in
    # the public texts hunted), which KxRetireDpcList's Child-SP equals: that frame lies on the
    # DPC stack (it had been "its stack pointers lie outside the processor's DPC stack")
    seam = 0xFFFFD68D7952F5C0  # the KxRetireDpcList row's Child-SP
    dpc = usage_json(with_prcb(dpc_system().engine(), dpc=seam))["segments"][0]
    assert dpc["kind"] == "dpc" and dpc["budget"] == 0x6000 and dpc["verdict_id"] == "ok"
    assert dpc["used"] == seam - 0xFFFFD68D7952EDB8 == 2056


def test_a_dpc_stack_top_the_sps_are_not_under_proves_nothing():
    engine = with_prcb(dpc_system().engine(), dpc=DPC_TOP + 0x10000)  # another processor's
    dpc = usage_json(engine)["segments"][0]
    assert dpc["budget"] is None and dpc["verdict_id"] is None
    assert dpc["budget_note"] == ("its stack pointers lie outside the processor's DPC stack as "
                                  "read (_KPRCB.DpcStack of the current processor (the "
                                  "debugger))")


def test_the_isr_stack_uses_the_kernels_own_size():
    """Fixture 111: a clock interrupt on the ISR stack; its size is nt!KeIsrStackSize as the
    target holds it (here 0x4000: any value, read, never assumed)."""
    system = K.KernelSystem()
    t = K.FakeThread(0xFFFFB8063A0C1080, 0xFFFFB80639000080, "RUNNING", None,
                     0xFFFFB80639767650, 0xFFFFB80639767000, 0xFFFFB80639768000,
                     0xFFFFB80639761000, rows=k_rows(F111, 0, 22), source="111")
    system.add("System", t)
    system.current = t.address
    engine = with_prcb(system.engine(), dpc=None, isr=ISR_TOP, isr_size=0x4000)
    s = usage_json(engine)
    isr = s["segments"][0]
    assert isr["kind"] == "isr" and (isr["first_frame"], isr["last_frame"]) == (0, 0x0B)
    assert isr["budget"] == 0x4000 and isr["used"] == ISR_TOP - 0xFFFFF8070CB0FA28 == 1496
    assert isr["remaining"] == 0x4000 - 1496 and isr["verdict_id"] == "ok"
    assert isr["verdict_proven"] is True
    assert exprs(engine) == ["poi(@$prcb+0x85d8)", "dwo(nt!KeIsrStackSize)"]
    engine = with_prcb(system.engine(), dpc=None, isr=ISR_TOP)  # the size's page not there
    isr = usage_json(engine)["segments"][0]
    assert isr["budget"] is None and isr["budget_note"] == (
        "cannot read nt!KeIsrStackSize, the ISR stack's size (Call IDebugControl::Evaluate "
        "failed)")


# -- saved logs ---------------------------------------------------------------------------------

DT = ["0: kd> dt nt!_KPRCB @$prcb DpcStack",
      "   +0x3110 DpcStack         : 0xffffd68d`79530000 Void"]
DX = ["0: kd> dx @$prcb->DpcStack",
      "@$prcb->DpcStack                 : 0xffffd68d79530000 [Type: void *]"]


def dpc_log(tmp_path: Path, before=(), after=()) -> Path:
    """A `k` of 113's DPC rows on the DPC stack (the KxRetireDpcList seam) over 116's running
    thread's kernel rows, with `dt`/`dx` output before or after it."""
    text = F113.read_text(encoding="utf-8").splitlines()
    rows = [x for x in text if NUMBERED.match(x.strip())][:16]
    thread = [x.strip() for x in F116.read_text(encoding="utf-8").splitlines()
              if x.strip().startswith("ffff808d`dffdf")]
    k = ["0: kd> k", " # Child-SP          RetAddr               Call Site"] + rows + [
        "10 ffffd68d`7952f5c0 fffff807`4e631f39     nt!KxRetireDpcList+0x5"] + [
        "%02x %s" % (0x11 + i, row) for i, row in enumerate(thread)]
    log = tmp_path / "dpc.txt"
    log.write_text("\n".join(list(before) + k + list(after)) + "\n", encoding="utf-8")
    return log


def log_stack(path: Path) -> dict:
    out = io.StringIO()
    assert main(["usage", "--format", "json", str(path)], out=out) == 0
    return json.loads(out.getvalue())["stacks"][0]


def test_a_log_with_dt_output_judges_the_dpc_stack(tmp_path):
    for before, after in ((DT, ()), ((), DT), (DX, ())):
        s = log_stack(dpc_log(tmp_path, before, after))
        dpc = s["segments"][0]
        assert dpc["kind"] == "dpc" and dpc["budget"] == 0x6000 and dpc["used"] == 4680
        assert dpc["remaining"] == 19896 and dpc["verdict_id"] == "ok", (before, after)
        assert dpc["verdict_proven"] is True
        assert dpc["bounds_from"] == "_KPRCB.DpcStack in the log (%s)" % (
            "dx" if before == DX else "dt")


def test_a_log_without_it_says_what_is_missing(tmp_path):
    log = dpc_log(tmp_path)
    dpc = log_stack(log)["segments"][0]
    assert dpc["budget"] is None and dpc["verdict_id"] is None and dpc["verdict"] is None
    assert dpc["budget_note"] == ("the processor's DpcStack is not known (in the log: `dt "
                                  "nt!_KPRCB @$prcb DpcStack`, or !analyze's DPC_STACK_BASE)")
    out = io.StringIO()
    assert main(["usage", str(log)], out=out) == 0
    assert "dpc      #0 budget unknown: the processor's DpcStack is not known" in out.getvalue()


def test_the_table_and_the_json_read_back_say_the_same(tmp_path):
    log = dpc_log(tmp_path, DT)
    out = io.StringIO()
    assert main(["usage", str(log)], out=out) == 0
    line = [x for x in out.getvalue().splitlines() if x.startswith("dpc ")]
    assert line == ["dpc      #0 no overflow of the DPC stack: 4,680 of 24,576 bytes used, "
                    "19,896 left; bounds ffffd68d`7952a000..ffffd68d`79530000 from "
                    "_KPRCB.DpcStack in the log (dt)"]
    doc = io.StringIO()
    assert main(["usage", "--format", "json", str(log)], out=doc) == 0
    again = RJ.load(doc.getvalue())[0]
    assert again.segments[0].verdict.value == "ok" and again.segments[0].top == DPC_TOP
    text = render([again], "table", RenderOptions())
    assert [x for x in text.splitlines() if x.startswith("dpc ")] == line


def test_innermost_frames_missing_is_not_proven(tmp_path):
    """The log starts at frame 02: the DPC stack's verdict is given, but not proven."""
    log = dpc_log(tmp_path, DT)
    lines = log.read_text(encoding="utf-8").splitlines()
    log.write_text("\n".join(x for x in lines if not x.startswith(("00 ", "01 "))) + "\n",
                   encoding="utf-8")
    dpc = log_stack(log)["segments"][0]
    assert dpc["first_frame"] == 2 and dpc["used"] == DPC_TOP - 0xFFFFD68D7952EDC0 == 4672
    assert dpc["verdict_id"] == "ok" and dpc["verdict_proven"] is False
    assert dpc["verdict"].endswith("(not proven: innermost frames missing)")


def _log_stacks(name):
    out = io.StringIO()
    assert main(["usage", "--format", "json", str(FIXTURES / "field" / name)], out=out) == 0
    return json.loads(out.getvalue())["stacks"]


def test_analyzes_dpc_stack_base_puts_a_crash_in_a_dpc_on_the_dpc_stack():
    # a WFP callout's DbgPrint at IRQL 2 (0xA), its STACK_TEXT cut before KiRetireDpcList, and
    # !analyze's DPC_STACK_BASE: FFFFBF0A20830FB0 with every SP 0x32c0..0x3b28 below it: it had
    # been a thread stack of unknown bounds, "at least 2,152 of 24,576 bytes (9%)"
    (s,) = _log_stacks("wfp_callout_0xa_on_dpc_stack_dpc_stack_base_x64.txt")
    (dpc,) = s["segments"]
    assert dpc["kind"] == "dpc" and s["thread_segment"] is None
    assert dpc["top"] == "0xffffbf0a20830fb0" and dpc["budget"] == 0x6000
    assert dpc["used"] == 0xFFFFBF0A20830FB0 - 0xFFFFBF0A2082D488 == 15144
    assert dpc["remaining"] == 0x6000 - 15144 and dpc["verdict_id"] == "ok"
    assert dpc["bounds_from"] == "!analyze's DPC_STACK_BASE"
    assert s["verdict_id"] == "no-thread-stack"


def test_a_dpc_stack_base_the_sps_lie_far_from_leaves_the_stack_as_it_was():
    # a 0x5C at boot (KiSystemStartup, the P0 boot stack): DPC_STACK_BASE FFFFF80225BE3FB0, the
    # SPs 0x82d8 below it, outside any 24 KB DPC stack: still the thread's (default budget)
    (s,) = _log_stacks("qemu_0x5c_boot_stack_dpc_stack_base_elsewhere_x64.txt")
    assert [g["kind"] for g in s["segments"]] == ["thread"] and s["thread_segment"] == 0
    assert s["used"] == 3896 and s["budget"] == 0x6000
