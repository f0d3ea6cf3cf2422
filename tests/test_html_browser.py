"""The HTML pages in a real browser: Debian's headless Chromium, driven over the DevTools protocol
(tests/cdp.py). Skipped when no Chromium is installed, unless STACKEXT_REQUIRE_BROWSER=1 (CI sets
it), which turns the skip into a failure."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import pytest
from cdp import Browser, find_chromium
from fixture_paths import CRAFTED, DF, LOGS

from stackext import lab
from stackext.cli import main

BLOCKS = """(function () {
  var out = [];
  document.querySelectorAll("svg.pic").forEach(function (svg) {
    var scale = parseFloat(svg.getAttribute("data-scale"));
    svg.querySelectorAll("g.blk[data-bytes]").forEach(function (g) {
      out.push([scale, parseInt(g.getAttribute("data-bytes"), 10),
                g.querySelector("rect").getBoundingClientRect().height]);
    });
  });
  return out;
})()"""


@pytest.fixture(scope="module")
def browser():
    exe = find_chromium()
    if exe is None:
        if os.environ.get("STACKEXT_REQUIRE_BROWSER") == "1":
            pytest.fail("STACKEXT_REQUIRE_BROWSER=1 but no chromium on PATH "
                        "(apt-get install -y chromium)")
        pytest.skip("no chromium on PATH (apt-get install -y chromium)")
    b = Browser(exe)
    yield b
    b.close()


def page_for(tmp_path, argv, name="page.html"):
    target = tmp_path / name
    out, err = io.StringIO(), io.StringIO()
    code = main(argv + ["-o", str(target)], out=out, err=err)
    assert code in (0, 1), err.getvalue()
    return target


def visit(browser, path):
    url = path.as_uri()
    browser.open(url)
    assert browser.errors() == []
    assert browser.requests() == [url]  # the page itself, nothing else
    return url


def png_size(path):
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_005_picture_to_scale_with_its_verdict(browser, tmp_path):
    visit(browser, page_for(tmp_path, ["usage", "--format", "html", DF]))
    blocks = browser.eval(BLOCKS)
    assert len(blocks) == 38  # 40 frames, two of unknown size
    for scale, size, height in blocks:
        assert height == pytest.approx(size * scale, abs=0.01)
    assert sum(size for _, size, _ in blocks) == 24816 - 19872 + 328  # thread + IST blocks
    verdict = browser.eval("document.querySelector('.verdict').textContent")
    assert verdict.startswith("OVERFLOW: kernel stack overflow (double fault 0x7F/8)")
    # clicking a block shows its details and marks its table row
    browser.eval("document.getElementById('s0b0b').dispatchEvent("
                 "new MouseEvent('click', {bubbles: true}))")
    detail = browser.eval("document.querySelector('.detail').textContent")
    assert detail.splitlines()[:3] == ["#0b rosempio!DsmWriteEvent+0x3c4f4",
                                       "size 640 bytes (0x280)",
                                       "depth 23,568 bytes below StackBase"]
    assert browser.eval("document.getElementById('s0f0b').classList.contains('sel')")
    shot = tmp_path / "005.png"
    browser.screenshot(str(shot))
    width, height = png_size(shot)
    assert width == 1280 and height > 900


def test_sorting_the_frame_table(browser, tmp_path):
    visit(browser, page_for(tmp_path, ["usage", "--format", "html", DF]))
    browser.eval("document.querySelector('table.frames th:nth-child(2)').click()")
    first = browser.eval("document.querySelector('table.frames tbody tr').id")
    assert first == "s0f0b"  # the 640-byte frame: numbers sort largest first


def test_without_script_the_picture_and_table_are_there(browser, tmp_path):
    browser.call("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        visit(browser, page_for(tmp_path, ["usage", "--format", "html", DF]))
        blocks = browser.eval(BLOCKS)  # evaluated by the protocol, not the page
        assert len(blocks) == 38
        assert browser.eval("document.querySelectorAll('table.frames tbody tr').length") == 40
        title = browser.eval("document.querySelector('#s0b0b title').textContent")
        assert title.startswith("#0b rosempio!DsmWriteEvent+0x3c4f4\nsize 640 bytes")
    finally:
        browser.call("Emulation.setScriptExecutionDisabled", {"value": False})


def test_dark_theme(browser, tmp_path):
    browser.call("Emulation.setEmulatedMedia", {"features": [
        {"name": "prefers-color-scheme", "value": "dark"}]})
    try:
        visit(browser, page_for(tmp_path, ["usage", "--format", "html", DF]))
        bg = browser.eval("getComputedStyle(document.documentElement).backgroundColor")
        assert bg == "rgb(21, 23, 26)"
    finally:
        browser.call("Emulation.setEmulatedMedia", {"features": []})


def test_prints(browser, tmp_path):
    import base64

    visit(browser, page_for(tmp_path, ["usage", "--format", "html", DF]))
    browser.call("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert browser.eval("getComputedStyle(document.querySelector('.detail')).display") \
            == "none"
        assert len(browser.eval(BLOCKS)) == 38  # the picture prints, at scale
    finally:
        browser.call("Emulation.setEmulatedMedia", {"media": ""})
    pdf = base64.b64decode(browser.call("Page.printToPDF", {"printBackground": True})["data"])
    assert pdf[:5] == b"%PDF-" and len(pdf) > 10000


def test_crafted_names_are_text(browser, tmp_path):
    log = tmp_path / "crafted.txt"
    log.write_text(Path(DF).read_text().replace("rosempio!DsmWriteEvent+0x3c4f4",
                                                CRAFTED + "+0x3c4f4"))
    visit(browser, page_for(tmp_path, ["usage", "--format", "html", str(log)]))
    assert browser.eval("document.scripts.length") == 1
    assert browser.eval("document.images.length") == 0
    cell = browser.eval("document.querySelector('#s0f0b td:last-child').textContent")
    assert cell == CRAFTED + "+0x3c4f4"
    # the lab page: in its row, its module table and the picture its script draws
    target = tmp_path / "lab.html"
    assert lab.main([str(log), "-o", str(target)], io.StringIO(), io.StringIO()) == 0
    visit(browser, target)
    browser.eval("window.stackextReveal('s0')")
    assert browser.eval("document.scripts.length") == 2  # the page's script and its data
    assert browser.eval("document.images.length") == 0
    assert browser.eval("document.querySelector('#s0f0b td:last-child').textContent") \
        == CRAFTED + "+0x3c4f4"
    assert CRAFTED.split("!")[0] in browser.eval("document.querySelector('.tally').textContent")
    assert browser.errors() == []


SHAPES = """(function (root) {
  function num(v) { return v === null ? null : (isNaN(parseFloat(v)) ? v : parseFloat(v)); }
  return Array.prototype.map.call(root.querySelectorAll("svg.pic"), function (svg) {
    return Array.prototype.map.call(svg.children, function (e) {
      var shape = e.tagName === "g" ? e.querySelector("rect, line") : e;
      var text = e.tagName === "text" ? e : e.querySelector("text");
      return [e.tagName, e.getAttribute("class"), e.getAttribute("data-frame"),
              e.getAttribute("data-bytes"), shape && shape.tagName,
              ["x", "y", "width", "height", "x1", "y1", "x2", "y2", "d"].map(function (a) {
                return num(shape && shape.getAttribute(a));
              }),
              text && text.textContent, text && num(text.getAttribute("y"))];
    });
  });
})(%s)"""


def same_shapes(a, b):
    """Two pictures' elements: the same, coordinates within 0.002 px (rounding in two languages)."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x[:5] == y[:5] and x[6] == y[6], (x, y)
        for u, v in zip(x[5] + [x[7]], y[5] + [y[7]]):
            if isinstance(u, float) and isinstance(v, float):
                assert u == pytest.approx(v, abs=0.002), (x, y)
            else:
                assert u == v, (x, y)


def test_every_fixture_and_the_lab_page_draws_the_same(browser, tmp_path):
    single = []  # every stack's picture as the Python side drew it, in the lab's order
    for k, path in enumerate(LOGS):
        visit(browser, page_for(tmp_path, ["usage", "--format", "html", path], "%d.html" % k))
        for scale, size, height in browser.eval(BLOCKS):
            assert height == pytest.approx(size * scale, abs=0.01), path
        single.extend(browser.eval(SHAPES % "document"))
    target = tmp_path / "lab.html"
    assert lab.main(LOGS + ["-o", str(target)], io.StringIO(), io.StringIO()) == 0
    visit(browser, target)
    assert len(single) == browser.eval("document.querySelectorAll('#stacks .r[data-kind]')"
                                       ".length") == 45
    for k, shapes in enumerate(single):
        browser.eval("window.stackextReveal('s%d')" % k)
        drawn = browser.eval(SHAPES % ("document.getElementById('s%d')" % k))
        assert len(drawn) == 1
        same_shapes(drawn[0], shapes)
    assert browser.errors() == []


def test_lab_page_over_the_fixtures(browser, tmp_path):
    target = tmp_path / "lab.html"
    assert lab.main(LOGS + ["-o", str(target)], io.StringIO(), io.StringIO()) == 0
    visit(browser, target)
    assert browser.eval("document.querySelectorAll('#stacks .r[data-kind]').length") == 45
    # filter: the two overflows
    browser.eval("var k = document.getElementById('kind'); k.value = 'overflow';"
                 "k.dispatchEvent(new Event('change'))")
    assert browser.eval("document.getElementById('shown').textContent") == "2"
    # sort by used share, largest first
    browser.eval("document.querySelector('#stacks .head span:nth-child(4)').click()")
    top = browser.eval("document.querySelector('#stacks .r[data-kind] a').textContent")
    assert top.endswith("005_ql2300_0x7f8_thread_base_limit_x64.txt:6")
    # a row's link draws that stack's picture, to scale, and goes there
    browser.eval("document.querySelector('#stacks .r[data-kind] a').click()")
    browser.eval("new Promise(function (ok) { setTimeout(ok, 300); })")
    assert browser.eval("location.hash") == "#s2"
    assert browser.eval("document.querySelectorAll('#s2 svg.pic').length") == 1
    blocks = browser.eval(BLOCKS)
    assert len(blocks) == 38
    for scale, size, height in blocks:
        assert height == pytest.approx(size * scale, abs=0.01)
    # the details of a block drawn by the script
    browser.eval("document.getElementById('s2b0b').dispatchEvent("
                 "new MouseEvent('click', {bubbles: true}))")
    detail = browser.eval("document.querySelector('#s2 .detail').textContent")
    assert detail.splitlines() == ["#0b rosempio!DsmWriteEvent+0x3c4f4", "size 640 bytes",
                                   "depth 23,568 bytes below StackBase", "driver"]
    assert browser.errors() == []
    shot = tmp_path / "lab.png"
    browser.screenshot(str(shot))
    assert png_size(shot)[0] == 1280
