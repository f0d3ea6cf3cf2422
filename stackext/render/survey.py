"""The thread survey's tables: text (tabulate), JSON, CSV, and DML links to `.thread` and to
stackext.usage --thread.
"""

from __future__ import annotations

import csv
import io
import json
from typing import List, Optional

from tabulate import tabulate

from stackext import __version__
from stackext.addresses import fmt_addr
from stackext.addresses import hex_or_none as _hex
from stackext.render.markup import esc
from stackext.survey import DriverView, ThreadRow


def _addr(v: Optional[int]) -> Optional[str]:
    """As WinDbg prints it (fffffab0`f950db50); JSON keeps 0x... (its contract)."""
    return None if v is None else fmt_addr(v, v > 0xFFFFFFFF)


def to_json(rows: List[ThreadRow], view: DriverView, interrupted: Optional[str] = None) -> str:
    doc = {"tool": "stackext", "version": __version__, "threads": [
        {"thread": _hex(r.thread), "process": _hex(r.process), "image": r.image,
         "state": r.state, "stack_base": _hex(r.stack_base), "stack_limit": _hex(r.stack_limit),
         "budget": r.budget, "used": r.used, "remaining": r.remaining, "used_from": r.used_from,
         "source": r.source, "heaviest_driver_frame": r.heaviest_driver_frame}
        for r in rows]}
    if view.functions:
        doc["driver_functions"] = view.rows()
    if interrupted:
        doc["interrupted"] = interrupted
    return json.dumps(doc, indent=2) + "\n"


def to_table(rows: List[ThreadRow], view: DriverView, top: int) -> str:
    def n(v):
        return "-" if v is None else "{:,}".format(v)

    table = [[_addr(r.thread) or "-", r.image or "", r.state or "", n(r.used), n(r.budget),
              n(r.remaining), "" if r.used is None or not r.budget else
              "%.0f%%" % (100.0 * r.used / r.budget), r.used_from,
              (r.heaviest_driver_frame or {}).get("call_site", "")] for r in rows]
    out = [tabulate(table, headers=["thread", "image", "state", "used", "budget", "left",
                                    "%", "from", "heaviest driver frame"],
                    tablefmt="simple", disable_numparse=True,
                    colalign=("left", "left", "left", "right", "right", "right", "right", "left",
                              "left"))]
    for r in rows[:top] if top > 0 else []:
        if r.report is None or not r.report.heaviest_drivers:
            continue
        out.append("")
        out.append("thread %s: heaviest driver frames" % (_addr(r.thread) or r.source))
        for i in r.report.heaviest_drivers:
            f = r.report.frame(i)
            out.append("  #%02x %8s bytes  %s" % (f.index, n(f.size), f.call_site))
    if view.functions:
        out.append("")
        out.append(tabulate([[d["function"], n(d["bytes"]), d["count"], n(d["max_frame"]),
                              n(d["max_depth"] or None)] for d in view.rows()],
                            headers=["driver function", "bytes", "frames", "largest",
                                     "deepest"], tablefmt="simple", disable_numparse=True))
    return "\n".join(out) + "\n"


def to_csv(rows: List[ThreadRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["thread", "process", "image", "state", "stack_base", "stack_limit", "budget",
                "used", "remaining", "used_from", "source"])
    for r in rows:
        w.writerow([_hex(r.thread) or "", _hex(r.process) or "", r.image or "", r.state or "",
                    _hex(r.stack_base) or "", _hex(r.stack_limit) or "",
                    "" if r.budget is None else r.budget, "" if r.used is None else r.used,
                    "" if r.remaining is None else r.remaining, r.used_from, r.source])
    return buf.getvalue()


def to_dml(rows: List[ThreadRow], view: DriverView, top: int, usage_cmd: str) -> str:
    """The table with each thread linked to `.thread /p /r` and to `usage_cmd --thread`. Tags take
    no width in WinDbg, so the columns stay aligned; row i of the table is line i + 2 (after
    the header and the dashes)."""
    lines = [esc(line) for line in to_table(rows, view, top).rstrip("\n").split("\n")]
    for i, r in enumerate(rows):
        n = i + 2
        addr = _addr(r.thread)
        if addr is None or n >= len(lines) or not lines[n].startswith(addr):
            continue
        # `.thread /p /r`: the thread's process too, and its user-mode symbols reloaded
        lines[n] = ('<link cmd=".thread /p /r %s">%s</link>' % (addr, addr) + lines[n][len(addr):]
                    + '  <link cmd="%s --thread %s">usage</link>' % (esc(usage_cmd), addr))
    return "\n".join(lines) + "\n"


def render(rows: List[ThreadRow], view: DriverView, fmt: str, top: int,
           interrupted: Optional[str] = None) -> str:
    if fmt == "json":
        return to_json(rows, view, interrupted)
    if fmt == "csv":
        return to_csv(rows)
    return to_table(rows, view, top)
