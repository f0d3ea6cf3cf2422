"""Stacks as old fixed-width texts keep them (fixtures/field/, Microsoft KB articles): NT4 kd's and
Dr. Watson's `FramePtr RetAddr Param1 ...` header, rows wrapped in two (the numbers on one line,
the call site alone on the next), kv's FPO note cut at the line's end ("[Non-Fpo]" on the next
line), and an x86 row whose ChildEBP is no frame pointer (it equals its own RetAddr)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from stackext.cli import main
from stackext.model import GapKind
from stackext.sources.windbg import read_file

FIELD = Path(__file__).resolve().parent.parent / "fixtures" / "field"


def stacks(path, *options):
    out, err = io.StringIO(), io.StringIO()
    code = main(["usage", "--format", "json", str(path)] + list(options), out=out, err=err)
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue())["stacks"]


def sizes(s):
    return [(f["index"], f["size"]) for f in s["frames"]]


def test_wrapped_rows_under_a_frameptr_header_are_read_whole():
    # KB Q235372 (Exchange 5.5 on NT4): the first two rows are wrapped -- they had been dropped
    # without a word, the stack starting at FormatRecipRows; its last row, "0ed8b338 0ed8b338",
    # had been a 9.6 MB frame (9,616,088 B, the headline's heaviest)
    (s,) = stacks(FIELD / "x86_kb_q235372_framePtr_wrapped_rows_self_ebp.txt")
    f = s["frames"]
    assert [x["call_site"] for x in f[:2]] == ["STORE!@EcFormatStandardStringProp@36+0x44",
                                               "STORE!@EcFormatRecipientRow@44+0x452"]
    assert sizes(s) == [(0, None), (1, 0x0E45F744 - 0x0E45F688), (2, 0x0E45F7B4 - 0x0E45F744),
                        (3, 0x4C), (4, 0x60), (5, None)]
    assert f[5]["size_unknown_reason"] == "self-frame-pointer" and f[5]["sp"] is None
    assert s["used"] == 0x0E45F860 - 0x0E45F688 and s["used_is_lower_bound"]
    assert s["warnings"] == []


def test_wrapped_rows_in_the_middle_of_a_stack_fill_its_holes():
    # KB Q214640 (the Exchange IMC): MSEXCIMC's rows wrapped; they had been "? frames missing:
    # 2,500 bytes" between ExchHeapFree and BaseThreadStart
    (s,) = stacks(FIELD / "x86_kb_q214640_framePtr_wrapped_rows_basethreadstart.txt")
    assert sizes(s) == [(0, None), (1, 0x10), (2, 0x798), (3, 0x1A8), (4, 0x84), (5, 0x34)]
    assert s["frames"][2]["call_site"] == "MSEXCIMC!CDeliveryBatch::Dispatch+0x27167"
    assert s["unattributed"] == 0 and s["used"] == 0x0598FFEC - 0x0598F5E4


def test_a_kv_fpo_note_cut_at_the_lines_end():
    # KB Q247973 (Oracle ODBC): "oran8!nnfgrne+0x54a(FPO:" then "[Non-Fpo]" on the next line,
    # and one row wrapped before its call site: the notes had been in the call sites
    # ("oran8!osncon+0x254(FPO:") and each "[Non-Fpo]" line a warning; a row a hole
    (s,) = stacks(FIELD / "x86_kb_q247973_kv_fpo_note_wrapped.txt", "--strict")
    f = s["frames"]
    assert len(f) == 17 and not any("(" in x["call_site"] for x in f)
    assert (f[5]["call_site"], f[5]["size"]) == ("oran8!osncon+0x254", 0x216C)
    assert (f[14]["call_site"], f[14]["size"]) == ("msdaora!DllGetClassObject+0xe35",
                                                   0x078EFF84 - 0x078EFF48)
    assert s["warnings"] == [] and s["unattributed"] == 0


def test_a_row_that_cannot_be_read_before_the_first_is_frames_missing(tmp_path):
    # the first wrapped row without its call site line: a hole inward of the first frame read
    # (frame 00 is not the innermost frame), never a silent start
    src = FIELD / "x86_kb_q235372_framePtr_wrapped_rows_self_ebp.txt"
    text = src.read_text().replace("\t  STORE!@EcFormatStandardStringProp@36+0x44\n", "", 1)
    log = tmp_path / "cut.txt"
    log.write_text(text)
    (s,) = stacks(log)
    assert s["frames"][0]["call_site"] == "STORE!@EcFormatRecipientRow@44+0x452"
    assert any("could not read this line" in w for w in s["warnings"])
    assert s["frames"][0]["size"] is None and s["used_is_lower_bound"]
    (stack,) = read_file(str(log))
    gap = stack.frames[0].gap_before
    assert gap is not None and gap.kind is GapKind.UNREADABLE and gap.where.endswith(":25")


def test_tabs_for_blanks_read_as_blanks(tmp_path):
    # fixture 022 (a K7Sentry advisory's x86 kb: an "Args to Child" header, an unwind WARNING)
    # with every run of blanks a tab, as a PDF's or a web page's copy gives it: the arguments
    # had stayed in the call sites (nt and fltmgr called third-party) and the tabbed WARNING
    # had been no hole
    src = FIELD.parent / "022_k7sentry_kb_x86_kernel.txt"
    plain = stacks(src)
    log = tmp_path / "tabs.txt"
    log.write_text(re.sub(r"(?<=\S) +(?=\S)", "\t", src.read_text()))
    tabbed = stacks(log)
    assert [f["call_site"] for f in tabbed[0]["frames"]] == \
        [f["call_site"] for f in plain[0]["frames"]]
    assert [f["size"] for f in tabbed[0]["frames"]] == [f["size"] for f in plain[0]["frames"]]
    assert tabbed[0]["frames"][1]["gap_bytes"] == plain[0]["frames"][1]["gap_bytes"] == \
        0xA72ABA14 - 0xA72AB9D4
