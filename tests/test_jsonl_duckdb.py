"""The README's DuckDB query over a folder of `--format jsonl` files answers the lab page's
per-module question with the page's own numbers (two implementations, one answer)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import duckdb
import pytest

from stackext import lab
from stackext.cli import main
from stackext.render import html_text

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures"
README = (ROOT / "README.md").read_text(encoding="utf-8")
LOGS = sorted(FIX.glob("*.txt")) + sorted((FIX / "realengine").glob("*.txt"))


def readme_query() -> str:
    section = README.split("## Past one page: JSON Lines and DuckDB", 1)[1]
    return re.search(r"```sql\n(.*?)```", section, re.S).group(1)


def test_readme_query_agrees_with_the_lab_page(tmp_path):
    for log in LOGS:
        out = io.StringIO()
        assert main(["usage", "--format", "jsonl", str(log)], out=out) == 0
        (tmp_path / (log.stem + ".jsonl")).write_text(out.getvalue())
    query = readme_query().replace("reports/*.jsonl", (tmp_path / "*.jsonl").as_posix())
    rows = duckdb.sql(query).fetchall()

    stats = lab.LabStats()
    for path in sorted(tmp_path.glob("*.jsonl")):
        for d in lab.stack_dicts(str(path), lab.AnalysisOptions()):
            stats.add(d, html_text.kind_of(d), stats.count)
    page = [(t.name, t.stacks, t.hot, t.largest, t.typical)
            for t in lab.LabStats.ranked(stats.modules)]
    assert len(rows) == len(page) == 15
    for got, want in zip(rows, page):
        assert got[:4] == want[:4]
        if want[4] is None:
            assert got[4] is None
        else:
            assert got[4] == pytest.approx(want[4])
    # the real numbers: rosempio on 004 and 005 (the overflow), its 640-byte frame on 005
    assert rows[0][:4] == ("rosempio", 2, 1, 640) and rows[0][4] == 96.0
    assert rows[1][:4] == ("ql2300", 2, 1, 320) and rows[1][4] == 224.0
