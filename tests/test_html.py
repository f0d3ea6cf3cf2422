"""`--format html` and `--format jsonl` of `stackext usage`, and `stackext report` (the lab page),
on the real logs in fixtures/ -- read back with the standard library's HTML parser."""

from __future__ import annotations

import io
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fixture_paths import CRAFTED, DF, FIX, LOGS

from stackext import lab
from stackext.cli import main
from stackext.render import html_text, json_


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def run_lab(argv):
    out, err = io.StringIO(), io.StringIO()
    code = lab.main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


class Page(HTMLParser):
    """Elements with their attributes and text, and each picture block's rect."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elements, self.blocks, self.text = [], [], []
        self._g = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag == "g":
            self._g = a
        elif tag == "rect" and self._g is not None and "data-bytes" in self._g:
            self.blocks.append((self._g, a))

    def handle_endtag(self, tag):
        if tag == "g":
            self._g = None

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag, cls=None):
        return [a for t, a in self.elements if t == tag and
                (cls is None or cls in (a.get("class") or "").split())]


def test_005_blocks_are_as_tall_as_their_bytes():
    code, out, _ = run(["usage", "--format", "html", DF])
    assert code == 0 and out.startswith("<!DOCTYPE html>")
    page = Page(out)
    svg = page.all("svg", "pic")[0]
    scale = float(svg["data-scale"])
    assert scale == pytest.approx(900.0 / 24576)  # the thread's 24,576-byte budget is 900 px
    frames = {int(g["data-frame"]): (int(g["data-bytes"]), float(r["height"]))
              for g, r in page.blocks if "data-frame" in g and "gap" not in g["class"]}
    # every frame of known size, and nothing else, is drawn to scale
    doc = json.loads(run(["usage", "--format", "json", DF])[1])["stacks"][0]
    known = {f["index"]: f["size"] for f in doc["frames"] if f["size"] is not None}
    assert {k: v[0] for k, v in frames.items()} == known
    for size, height in frames.values():
        assert height == pytest.approx(size * scale, abs=1e-3)
    assert frames[0x0B] == (640, pytest.approx(23.4375, abs=1e-3))
    # what the log does not show, drawn at its real height and hatched, never as a frame
    not_shown = [(g, r) for g, r in page.blocks if g.get("class") == "notshown"][0]
    assert int(not_shown[0]["data-bytes"]) == 19872
    assert float(not_shown[1]["height"]) == pytest.approx(19872 * scale, abs=1e-3)
    past = page.all("rect", "past")[0]
    assert float(past["height"]) == pytest.approx(240 * scale, abs=1e-3)
    text = "".join(page.text)
    assert ("OVERFLOW: kernel stack overflow (double fault 0x7F/8): the innermost thread-stack "
            "frame is 240 bytes below StackLimit") in text
    assert "\u00d72" in text  # the rosempio cycle: 11 calls, twice
    # the two unknown-size frames: hatched, a fixed height, labelled unknown
    unknown = [g for g in page.all("g", "unk")]
    assert sorted(int(g["data-frame"]) for g in unknown) == [0x02, 0x27]
    assert all("data-bytes" not in g for g in unknown)


def test_one_script_no_network_and_crafted_names_stay_text(tmp_path):
    log = tmp_path / "crafted.txt"
    log.write_text(Path(DF).read_text().replace("rosempio!DsmWriteEvent+0x3c4f4",
                                                CRAFTED + "+0x3c4f4"))
    code, out, _ = run(["usage", "--format", "html", str(log)])
    assert code == 0
    assert out.count("<script") == 1 and out.count("</script>") == 1
    assert "<img" not in out and CRAFTED not in out
    page = Page(out)
    assert not page.all("img")
    assert any(CRAFTED in t for t in page.text)  # shown as the text it is
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", out)
    assert out.isascii()


def test_every_fixture_renders_and_parses():
    for path in LOGS:
        code, out, err = run(["usage", "--format", "html", path])
        assert code == 0, (path, err)
        page = Page(out)
        sections = page.all("section", "stack")
        doc = json.loads(run(["usage", "--format", "json", path])[1])
        assert len(sections) == len(doc["stacks"]) == len(page.all("svg", "pic")), path


def test_output_file(tmp_path):
    target = tmp_path / "005.html"
    code, out, _ = run(["usage", "--format", "html", "-o", str(target), DF])
    assert code == 0 and out == ""
    assert target.read_text().count('<section class="stack"') == 1
    code, _, err = run(["usage", "-o", str(tmp_path / "no" / "such" / "x.html"), DF])
    assert code == 2 and "cannot write the report" in err and "Traceback" not in err


def test_jsonl_is_the_json_documents_stacks_one_per_line():
    path = str(FIX / "116_prenotes_process_ioctlapp_3threads_base_limit_x64.txt")
    lines = run(["usage", "--format", "jsonl", path])[1].splitlines()
    doc = json.loads(run(["usage", "--format", "json", path])[1])
    assert len(lines) == len(doc["stacks"]) == 3
    assert [json.loads(x) for x in lines] == doc["stacks"]


def stack_data(out):
    """The lab page's per-stack data: one line of gzip'd JSON in base64 per stack."""
    import base64
    import gzip

    text = out.split('<script type="application/x-stackext-gzip" id="stack-data">\n', 1)[1]
    lines = text.split("</script>", 1)[0].splitlines()
    return [json.loads(gzip.decompress(base64.b64decode(x))) for x in lines]


def test_report_over_every_fixture():
    code, out, err = run_lab(LOGS)
    assert code == 0 and err == ""
    page = Page(out)
    rows = [a for t, a in page.elements if t == "div" and "data-kind" in a]
    stacks = sum(len(json.loads(run(["usage", "--format", "json", p])[1])["stacks"])
                 for p in LOGS)
    data = stack_data(out)
    assert len(rows) == len(data) == stacks == 45
    assert [a["data-kind"] for a in rows].count("overflow") == 2
    # each row links to its own stack's data line
    grid = out.split('<div id="stacks"', 1)[1].split("<h2>Third-party functions", 1)[0]
    assert re.findall(r'href="(#s\d+)"', grid) == ["#s%d" % k for k in range(45)]
    assert data[2]["source"].endswith("005_ql2300_0x7f8_thread_base_limit_x64.txt:6")
    assert data[2]["headline"].startswith("OVERFLOW: kernel stack overflow")
    # the same display list as the stack's own page, less what the script rebuilds from rows
    single = run(["usage", "--format", "html", DF])[1]
    heights = sorted(float(r["height"]) for g, r in Page(single).blocks if "data-frame" in g)
    assert sorted(p[5] for p in data[2]["pic"]["p"]
                  if p[0] == "b" and p[6] is not None and p[7] is not None) == heights
    text = "".join(page.text)
    assert "45 stacks from 39 files: 2 overflowed" in text


def test_report_rosempio_numbers():
    st = lab.LabStats()
    opts = lab.AnalysisOptions()
    for path in LOGS:
        for d in lab.stack_dicts(path, opts):
            st.add(d, html_text.kind_of(d), st.count)
    ros = st.modules["rosempio"]
    # on 004 (STACK_TEXT, 36 %) and 005 (the overflow): 22 frames each on 005
    assert (ros.stacks, ros.hot, ros.largest) == (2, 1, 640)
    assert st.modules["ql2300"].largest == 320


def test_report_mixed_inputs_bad_file_and_gate(tmp_path, capsys):
    doc = run(["usage", "--format", "json", DF])[1]
    (tmp_path / "doc.json").write_text(doc)
    (tmp_path / "kd.log").write_text("kd> !py -m stackext.usage --format json\n%s\n%s%s\n"
                                     % (json_.MARKER_BEGIN, doc, json_.MARKER_END))
    (tmp_path / "lines.jsonl").write_text(
        run(["usage", "--format", "jsonl", str(FIX / "024_insightengineering_ntfs_stacktext_full_x64.txt")])[1])
    shutil.copy(str(FIX / "019_winfsp539_k_x64.txt"), str(tmp_path / "log.txt"))
    (tmp_path / "broken.json").write_text('{"tool": "stackext", "stacks": [{"frames": 3}]}')
    code, out, err = run_lab([str(tmp_path)])
    assert code == 2  # a bad file: the page is still written
    assert err.strip() == "stackext: %s: stack 0: not a stackext stack (see the README's JSON " \
        "contract)" % (tmp_path / "broken.json")
    page = Page(out)
    assert len(stack_data(out)) == 4
    # in file-name order: doc.json, kd.log, lines.jsonl, log.txt (broken.json has none)
    assert [d["source"] for d in stack_data(out)] == [
        DF + ":6", DF + ":6", str(FIX / "024_insightengineering_ntfs_stacktext_full_x64.txt")
        + ":5", str(tmp_path / "log.txt") + ":6"]
    assert "not a stackext stack" in "".join(page.text)
    # the gate: 005 overflowed, so any share fails it; without 005 nothing reaches 90 %
    assert run_lab(["--fail-over", "90%", str(tmp_path)])[0] == 1
    assert run_lab(["--fail-over", "90%", str(tmp_path / "log.txt")])[0] == 0
    assert run_lab(["--fail-over", "20%", str(tmp_path / "log.txt")])[0] == 1  # 019: 20.3 %
    assert run_lab(["--fail-over", "lots", DF])[0] == 2
    assert "not a share of the budget: 'lots'" in capsys.readouterr().err


def test_report_through_the_console_command(tmp_path):
    target = tmp_path / "lab.html"
    code, out, _ = run(["report", "-o", str(target), DF])
    assert code == 0 and out == ""
    assert len(stack_data(target.read_text())) == 1


def test_html_inside_the_debugger_has_the_locals(tmp_path):
    """`!py -m stackext.usage --html FILE` on the real-engine recording of the seed program:
    the 2,192-byte frame's block carries its largest local and its layout."""
    from fakes import pykd as fakepykd

    from stackext import usage

    engine = fakepykd.fake("real_seed_user_x64")
    target = tmp_path / "seed.html"
    assert usage.main(["--html", str(target)], debugger=engine.dbg) == 0
    assert fakepykd.output_text(engine).strip() == "stack page written to %s" % target
    page = Page(target.read_text())
    titles = [t for t in page.text if t.startswith("#") and "seed!MyStruct_toDebugStr+0x72" in t]
    assert titles and "local copy (struct MYSTRUCT): 2,064 bytes at rsp+0x70" in titles[0]
    assert "layout: 2,184 fixed + 0 pushed (0 registers) + return address" in titles[0]


def test_report_a_stack_json_with_wrong_values_is_a_bad_file(tmp_path):
    doc = json.loads(run(["usage", "--format", "json", DF])[1])
    doc["stacks"][0]["frames"][3]["size"] = "big"
    (tmp_path / "odd.json").write_text(json.dumps(doc))
    code, out, err = run_lab([str(tmp_path / "odd.json"), DF])
    assert code == 2
    assert err.startswith("stackext: %s:6: cannot draw this stack (TypeError: " % DF)
    assert len(stack_data(out)) == 1  # the log itself is still on the page


def test_report_memory_stays_flat(tmp_path):
    """Peak Python memory while reading 60 and 300 stacks: the same (rows and data go to
    temporary files; only counts stay)."""
    import tracemalloc

    body = "\n".join(x for x in Path(DF).read_text().splitlines() if not x.startswith("# "))
    peaks = []
    for n in (60, 300):
        log = tmp_path / ("%d.log" % n)
        log.write_text((body + "\n\n") * n)
        tracemalloc.start()
        code, out, _ = run_lab([str(log), "-o", str(tmp_path / "lab.html")])
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert code == 0
        assert (tmp_path / "lab.html").read_text().count('data-kind="overflow"') == n
    assert peaks[1] < peaks[0] * 1.2, peaks


def test_report_unwritable_output_fails_first(tmp_path):
    code, out, err = run_lab([DF, "-o", str(tmp_path / "no" / "lab.html")])
    assert (code, out) == (2, "")
    assert err == "stackext: %s: cannot write the page: No such file or directory\n" % (
        tmp_path / "no" / "lab.html")
