"""The engine's own `knf` text as rows: the independent oracle the lane's tests hold stackext
against (deliberately not stackext's own log reader)."""

import re

# knf row: "05       890 00000000`0011fb20 00000001`400016c7 seed!log_struct+0x27"
#          "04        30 (Inline Function) --------`-------- inline!inner_helper+0x1a"
KNF_ROW = re.compile(r"^(?P<num>[0-9a-f]{2,})\s+(?P<mem>[0-9a-f]+)?\s+"
                     r"(?P<sp>[0-9a-f]{8}`[0-9a-f]{8}|\(Inline Function\))\s+"
                     r"(?P<ret>[0-9a-f]{8}`[0-9a-f]{8}|--------`--------)\s+(?P<site>\S.*)$")


def knf_rows(text):
    """Rows as dicts: num, mem (int, None when the cell is blank), sp, ret, site, inline."""
    rows = []
    for line in (text or "").splitlines():
        m = KNF_ROW.match(line.rstrip())
        if m:
            d = m.groupdict()
            d["mem"] = int(d["mem"], 16) if d["mem"] else None
            d["inline"] = d["sp"].startswith("(")
            rows.append(d)
    return rows


def check_sizes(frames, rows):
    """Every JSON frame's size against knf's Memory cells: x64 frame i owns Child-SP(j) -
    Child-SP(i) for its next physical frame j, which knf spreads over rows i+1..j. Returns how
    many frames were checked (all physical frames but the outermost)."""
    assert len(frames) == len(rows) > 10
    checked = 0
    for i, f in enumerate(frames):
        assert f["inline"] == rows[i]["inline"], i
        if f["inline"]:
            assert f["size"] == 0, i
            continue
        j = next((k for k in range(i + 1, len(rows)) if not rows[k]["inline"]), None)
        if j is None or f["size"] is None:
            continue
        assert f["size"] == sum(r["mem"] or 0 for r in rows[i + 1:j + 1]), (i, f["call_site"])
        checked += 1
    assert checked == sum(1 for f in frames if not f["inline"]) - 1
    return checked
