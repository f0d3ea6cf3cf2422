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

from stackext import lab
from stackext.cli import main
from stackext.render import html_text, json_

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures"
DF = str(FIX / "005_ql2300_0x7f8_thread_base_limit_x64.txt")
LOGS = sorted(str(p) for p in FIX.glob("*.txt")) + sorted(str(p) for p in
                                                         (FIX / "realengine").glob("*.txt"))
CRAFTED = "ev&il!Tpl<a,\"b'>::</script><img/src=x>"


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


def test_report_over_every_fixture(tmp_path):
    code, out, err = run_lab(LOGS)
    assert code == 0 and err == ""
    page = Page(out)
    rows = page.all("tr")
    stacks = sum(len(json.loads(run(["usage", "--format", "json", p])[1])["stacks"])
                 for p in LOGS)
    sections = page.all("section", "lazy")
    assert len(sections) == stacks == 45
    assert len([a for t, a in page.elements if t == "tr" and "data-kind" in a]) == stacks
    assert [a["data-kind"] for a in rows if "data-kind" in a].count("overflow") == 2
    # each row links to its own section
    links = {a["href"] for a in page.all("a") if a.get("href", "").startswith("#s")}
    assert {"#" + s["id"] for s in sections} <= links
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
    assert len(page.all("section", "lazy")) == 4
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
    assert target.read_text().count('<section class="stack lazy"') == 1
