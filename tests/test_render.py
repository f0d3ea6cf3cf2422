"""Renderers: JSON contract and round trip, CSV, DML escaping, the text report's wording."""

from __future__ import annotations

import csv
import io
import json

from build_frames import frames
from real_rows import QL2300, SESSION

from stackext import report_json as RJ
from stackext.analyze import analyze
from stackext.model import Bugcheck, StackInput
from stackext.render import RenderOptions, dml, render, stream


def _ql2300():
    return analyze(StackInput(
        frames=frames(QL2300), stack_base=0xFFFFF8800B9C7000, stack_limit=0xFFFFF8800B9C1000,
        bounds_origin="thread", source="005.txt:20", thread=0xFFFFFAB0F950DB50,
        bugcheck=Bugcheck(0x7F, [8, 0x80050033, 0x406F8, 0xFFFFF88001482416])))


def test_json_contract_names_types_and_hex_strings():
    doc = json.loads(render([_ql2300()], "json"))
    assert doc["tool"] == "stackext" and isinstance(doc["version"], str)
    s = doc["stacks"][0]
    for key in ("source", "arch", "thread", "bugcheck", "stack_base", "stack_limit", "budget",
                "budget_origin", "used", "used_is_lower_bound", "remaining", "overflow",
                "start_area", "frames", "segments", "heaviest", "modules", "functions",
                "warnings"):
        assert key in s, key
    assert s["source"] == "005.txt:20" and s["arch"] == "x64"
    assert s["thread"] == "0xfffffab0f950db50"
    assert s["bugcheck"] == {"code": "0x7f", "args": ["0x8", "0x80050033", "0x406f8",
                                                      "0xfffff88001482416"]}
    assert s["stack_base"] == "0xfffff8800b9c7000" and s["budget"] == 0x6000
    assert s["budget_origin"] == "thread" and s["used"] == 0x60F0 and s["overflow"] is True
    assert s["remaining"] == -0xF0
    f3 = s["frames"][3]
    for key in ("index", "sp", "ret", "call_site", "module", "function", "inline", "size",
                "size_unknown_reason", "segment", "driver", "heavy"):
        assert key in f3, key
    assert f3 == {**f3, "index": 3, "sp": "0xfffff8800b9c0f10", "ret": "0xfffff88001486c7a",
                  "call_site": "ql2300+0x69416", "module": "ql2300", "function": None,
                  "inline": False, "size": 0x140, "size_unknown_reason": None, "segment": 1,
                  "driver": True, "heavy": False}
    assert s["frames"][2]["size"] is None
    assert s["frames"][2]["size_unknown_reason"] == "other-stack"
    assert s["frames"][2]["size_unknown_label"] == "next frame is on another stack"
    assert s["segments"][0] == {**s["segments"][0], "index": 0, "kind": "ist",
                                "first_frame": 0, "last_frame": 2}
    assert s["heaviest"][0] in (1, 3)
    assert {"module": "ql2300", "bytes": 0x1C0, "frames": 2, "driver": True}.items() <= \
        s["modules"][0].items()


def test_json_loads_back_and_renders_the_same_table():
    r = _ql2300()
    again = RJ.load(render([r], "json"))
    for fmt in ("table", "csv", "markdown", "dml", "json"):
        assert render(again, fmt) == render([r], fmt), fmt


def test_stream_json_equals_document_and_markers_wrap_it():
    r = _ql2300()
    parts = []
    n = stream(iter([r, r]), "json", RenderOptions(markers=True), parts.append)
    text = "".join(parts)
    assert n == 2
    lines = text.splitlines()
    assert lines[0] == RJ.MARKER_BEGIN and lines[-1] == RJ.MARKER_END
    doc = json.loads("\n".join(lines[1:-1]))
    assert doc == json.loads(render([r, r], "json"))
    empty = []
    stream(iter([]), "json", RenderOptions(), empty.append)
    assert json.loads("".join(empty))["stacks"] == []


def test_csv_has_one_row_per_frame_with_sizes():
    rows = list(csv.DictReader(io.StringIO(render([_ql2300()], "csv"))))
    assert len(rows) == 8
    assert rows[3]["size"] == "320" and rows[3]["driver"] == "1"
    assert rows[2]["size"] == "" and rows[2]["segment_kind"] == "ist"
    parts = []
    stream(iter([_ql2300(), _ql2300()]), "csv", RenderOptions(), parts.append)
    assert "".join(parts).count("source,thread,index") == 1


def test_table_header_says_budget_origin_and_verdict():
    text = render([_ql2300()], "table")
    lines = text.splitlines()
    assert lines[0] == "OVERFLOW by 240 bytes - heaviest third-party frame ql2300+0x69416 (320 B)"
    assert "budget   0x6000 (24,576 bytes): the thread's StackBase - StackLimit; Base " \
        "fffff880`0b9c7000 Limit fffff880`0b9c1000" in lines
    assert "used     0x60f0 (24,816 bytes), 101% of budget, 240 bytes past StackLimit" in lines
    assert "verdict  kernel stack overflow (double fault 0x7F/8): the innermost thread-stack " \
        "frame is 240 bytes below StackLimit" in lines
    assert sum("OVERFLOW" in x for x in lines) == 1  # the headline says it once
    row = next(x for x in lines if x.startswith("03 "))
    assert row.split() == ["03", "140", "fffff880`0b9c0f10", "60f0", "ql2300+0x69416",
                           "driver,", "top", "1"]
    assert "? stack switch" in text and "#" not in "".join(x[60:] for x in lines[8:])


def test_dml_links_and_escapes_target_strings():
    stack = StackInput(frames=frames(SESSION), stack_base=0xFFFFA68116598000,
                       stack_limit=0xFFFFA68116591000, bounds_origin="thread",
                       thread=0xFFFFBC0406B7A040)
    evil = 'evil"><exec cmd=".kill">&'
    stack.frames[4].module = evil
    stack.frames[4].call_site = evil + "!x+0x1"
    out = render([analyze(stack)], "dml")
    assert '<link cmd=".frame 0x4;dv /t /v">04</link>' in out
    assert '<link cmd="!thread ffffbc04`06b7a040">' in out
    assert "<exec" not in out and 'evil">' not in out
    assert "evil&quot;&gt;&lt;exec cmd=&quot;.kill&quot;&gt;&amp;" in out
    assert dml.esc('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"
