"""High-water mark and raw scan on kernel-shaped memory built from a real !thread log
(fixtures/101_...: Base ffffa68116598000, Limit ffffa68116591000)."""

from __future__ import annotations

import struct

from stackext.analyze import analyze
from stackext.model import StackInput
from stackext.scan import high_water, raw_scan

BASE, LIMIT = 0xFFFFA68116598000, 0xFFFFA68116591000


def memory(written_from: int, unreadable=()):
    """A stack whose bytes are zero below `written_from` and non-zero from there up."""
    def read_page(addr):
        if addr in unreadable:
            return None
        words = [0x4141414141414141 if addr + i * 8 >= written_from else 0 for i in range(512)]
        return struct.pack("<512Q", *words)
    return read_page


def test_high_water_finds_the_first_written_qword_and_reads_few_pages():
    mark = LIMIT + 0x2A58  # deepest write 0x55a8 below base
    hw = high_water(memory(mark), LIMIT, BASE)
    assert hw.address == mark
    assert hw.used == BASE - mark == 0x45A8 and hw.remaining == 0x2A58
    assert hw.pages_read == 3 and hw.unreadable_pages == 0


def test_unreadable_page_makes_the_mark_unknown_not_zero():
    hw = high_water(memory(LIMIT + 0x3000, unreadable={LIMIT + 0x1000}), LIMIT, BASE)
    assert hw.address is None and hw.used is None and hw.unreadable_pages == 1


def test_never_written_stack_reports_zero_used():
    hw = high_water(memory(BASE), LIMIT, BASE)
    assert hw.used == 0 and hw.remaining == BASE - LIMIT


def test_raw_scan_keeps_return_addresses_into_modules_and_marks_sizes_estimated():
    # return addresses from the same log: nt!KiSwapThread+0xab5 etc., with noise between
    nt = (0xFFFFF80539000000, 0xFFFFF80539A00000, "nt")
    start = 0xFFFFA681165966B8
    words = [0] * 0x300
    words[0] = 0xFFFFF8053903F405            # -> sp ffffa681`165966c0 (KiSwapContext's caller)
    words[0x27] = 0x0000000000001234         # noise: not in a module
    words[0x28] = 0xFFFFF8053903D764         # -> sp ...16596800
    words[0x52] = 0xFFFFF8053903C996         # -> sp ...16596950
    names = {0xFFFFF8053903F405: "nt!KiSwapThread+0xab5",
             0xFFFFF8053903D764: "nt!KiCommitThreadWait+0x134",
             0xFFFFF8053903C996: "nt!KeWaitForSingleObject+0x256"}
    fs = raw_scan(words, start, 8, [nt], lambda v: names[v])
    assert [f.call_site for f in fs] == list(names.values())
    assert [f.sp for f in fs] == [0xFFFFA681165966C0, 0xFFFFA68116596800, 0xFFFFA68116596950]
    assert all(f.estimated for f in fs)
    r = analyze(StackInput(frames=fs, stack_base=BASE, stack_limit=LIMIT,
                           bounds_origin="thread", frames_from="raw-scan"))
    assert r.frames[0].size == 0x140 and r.frames[0].estimated
    assert r.frames_from == "raw-scan"


def test_user_stack_high_water_is_the_committed_bottom_from_the_teb():
    from build_frames import frames

    # user frames of fixtures/122 (TE.exe); bounds in the shape a TEB gives them
    rows = [("00000083`7cdef148", "000007fe`430912c6", "ntdll!ZwWaitForMultipleObjects+0xa"),
            ("00000083`7cdef150", "000007fe`368641b5", "KERNELBASE!WaitForMultipleObjectsEx+0xe5"),
            ("00000083`7cdef430", "000007fe`3a566793",
             "WDTFAudioSimpleIoAction!CAudioImpl::RunIO+0x3d1")]
    r = analyze(StackInput(frames=frames(rows), stack_base=0x837CDF0000,
                           stack_limit=0x837CCF0000, bounds_origin="thread",
                           committed_limit=0x837CDE9000))
    assert r.high_water.used == 0x837CDF0000 - 0x837CDE9000
    assert r.high_water.remaining == 0x837CDE9000 - 0x837CCF0000
    assert r.high_water.page_granular
    from stackext.render import render

    text = render([r], "table")
    assert "deepest  ever written: 28,672 bytes (3% of budget)" in text


def test_kernel_high_water_line_in_the_report():
    hw = high_water(memory(LIMIT + 0x2A58), LIMIT, BASE)
    from build_frames import frames

    from stackext.render import render

    r = analyze(StackInput(frames=frames([("ffffa681`165966c0", "0", "nt!KiSwapContext+0x76")]),
                           stack_base=BASE, stack_limit=LIMIT, bounds_origin="thread",
                           high_water=hw))
    text = render([r], "table")
    assert "deepest  ever written: 17,832 bytes (62% of budget), 10,840 bytes left" in text
    assert "recycled stack" in text
    import json

    assert json.loads(render([r], "json"))["stacks"][0]["high_water"]["used"] == 0x45A8
