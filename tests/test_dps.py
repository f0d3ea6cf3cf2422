"""`dps Limit Base` output in a log, read as a raw-scan stack (the NTDebugging way to find who
used an overflowed stack when the unwinder fails). The return addresses and Child-SPs are those
of fixtures/005 (!thread Base fffff8800b9c7000, Limit fffff8800b9c1000); each return address
sits just below its caller's Child-SP."""

from __future__ import annotations

from stackext.analyze import analyze
from stackext.sources.windbg import read_stacks

LOG = """kd> !thread
THREAD fffffab0f950db50  Cid 0004.144c  Teb: 0000000000000000 Win32Thread: 0000000000000000 RUNNING on processor 4
Owning Process            fffffab0205a5b00       Image:         System
Stack Init fffff8800b9c6c70 Current fffff8800b9c1a50
Base fffff8800b9c7000 Limit fffff8800b9c1000 Call 0
kd> dps fffff8800b9c1000 fffff8800b9c7000
fffff880`0b9c1000  00000000`00000000
fffff880`0b9c1008  fffffab0`227bea10
fffff880`0b9c1048  fffff880`01486c7a ql2300+0x6dc7a
fffff880`0b9c1050  fffffab0`21f17600
fffff880`0b9c1058  fffff880`0138a110 storport!RaidpAdapterInterfaceTable
fffff880`0b9c10c8  fffff880`0136c113 storport!RaidpAdapterContinueScatterGather+0xc3
fffff880`0b9c1138  fffff800`01c0d5f3 hal!HalBuildScatterGatherList+0x203
fffff880`0b9c11a8  fffff880`0136be7a storport!RaUnitStartIo+0x28a
kd> q
"""


def test_dps_output_becomes_an_estimated_raw_scan_stack_on_the_thread():
    stacks = list(read_stacks(LOG.splitlines(True), "dps.log"))
    assert len(stacks) == 1
    s = stacks[0]
    assert s.frames_from == "raw-scan" and s.thread == 0xFFFFFAB0F950DB50
    assert s.stack_base == 0xFFFFF8800B9C7000 and s.stack_limit == 0xFFFFF8800B9C1000
    # exact symbols (storport!RaidpAdapterInterfaceTable: data) and bare values are not frames
    assert [f.call_site for f in s.frames] == [
        "ql2300+0x6dc7a", "storport!RaidpAdapterContinueScatterGather+0xc3",
        "hal!HalBuildScatterGatherList+0x203", "storport!RaUnitStartIo+0x28a"]
    # the slot above a return address is the caller's Child-SP, as !thread's stack shows them
    assert [f.sp for f in s.frames] == [0xFFFFF8800B9C1050, 0xFFFFF8800B9C10D0,
                                        0xFFFFF8800B9C1140, 0xFFFFF8800B9C11B0]
    r = analyze(s)
    assert r.frames_from == "raw-scan" and all(f.estimated for f in r.frames)
    # the same sizes as the walked stack in fixture 005 gives frames 04-06
    assert [f.size for f in r.frames[:3]] == [0x80, 0x70, 0x70]
    assert r.budget == 0x6000 and r.budget_origin == "thread"
