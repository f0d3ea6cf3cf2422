"""Which threads are close to the edge: every thread's used stack and headroom, ranked.

For a waiting thread, StackBase - KernelStack (the saved SP, `!thread`'s "Current") needs no stack
walk; for a running one, the innermost frame on its own stack. Pure except `run_log`, which reads
logs through stackext.sources; the pykd side lives in stackext.sources.pykd_threads.
"""

from __future__ import annotations

import heapq
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, TextIO, Tuple

from tabulate import tabulate

from stackext import __version__
from stackext.analyze import AnalysisOptions, analyze
from stackext.knowledge import DEFAULT_KERNEL_BUDGET
from stackext.model import StackInput, StackReport


@dataclass
class ThreadRow:
    thread: Optional[int]
    process: Optional[int] = None
    image: Optional[str] = None
    state: Optional[str] = None
    stack_base: Optional[int] = None
    stack_limit: Optional[int] = None
    budget: Optional[int] = None
    used: Optional[int] = None
    remaining: Optional[int] = None
    used_from: str = ""  # "KernelStack" (saved SP), "stack" (innermost frame)
    source: str = ""
    heaviest_driver_frame: Optional[Dict[str, object]] = None
    report: Optional[StackReport] = field(default=None, repr=False)

    @property
    def sort_key(self):
        # closest to the edge first; unknown headroom last
        return (self.remaining is None, self.remaining if self.remaining is not None else 0,
                self.thread or 0)


def waiting(state: Optional[str]) -> bool:
    return bool(state) and not state.upper().startswith("RUNNING")


def row_for(stack: StackInput, report: Optional[StackReport],
            budget: Optional[int] = None) -> ThreadRow:
    """Headroom of one thread: saved SP when it is not running, else its innermost frame."""
    row = ThreadRow(thread=stack.thread, process=stack.process, image=stack.image,
                    state=stack.state, stack_base=stack.stack_base, stack_limit=stack.stack_limit,
                    source=stack.source, report=report)
    base, limit = stack.stack_base, stack.stack_limit
    if budget is not None:
        row.budget = budget  # --budget
    elif base is not None and limit is not None:
        row.budget = base - limit
    elif report is not None:
        row.budget = report.budget
    if base is not None and stack.kernel_stack is not None and waiting(stack.state) and \
            (limit is None or limit - 0x3000 <= stack.kernel_stack <= base):
        row.used = base - stack.kernel_stack
        row.used_from = "KernelStack"
    elif report is not None and report.used is not None and not report.used_is_lower_bound:
        row.used = report.used
        row.used_from = "stack"
    if row.used is not None and row.budget is not None:
        row.remaining = row.budget - row.used
    if report is not None and report.heaviest_drivers:
        f = report.frame(report.heaviest_drivers[0])
        row.heaviest_driver_frame = {"index": f.index, "call_site": f.call_site,
                                     "size": f.size}
    return row


def has_driver(stack: StackInput, drivers: Iterable[str]) -> bool:
    names = {d.lower() for d in drivers}
    return any((f.module or "").lower() in names for f in stack.frames)


@dataclass
class DriverView:
    """Where one driver's stack goes across all threads walked: per function, total bytes,
    how often, and the deepest point (StackBase - SP) it was seen at."""

    functions: "OrderedDict[str, Dict[str, int]]" = field(default_factory=OrderedDict)

    def add(self, report: StackReport, drivers: Iterable[str]) -> None:
        names = {d.lower() for d in drivers}
        for f in report.frames:
            if (f.module or "").lower() not in names or f.inline:
                continue
            key = f.symbol if f.function else f.call_site
            e = self.functions.setdefault(key, {"bytes": 0, "count": 0, "max_frame": 0,
                                                "max_depth": 0})
            e["bytes"] += f.size or 0
            e["count"] += 1
            e["max_frame"] = max(e["max_frame"], f.size or 0)
            if report.stack_base is not None and f.sp is not None and \
                    f.segment == report.thread_segment:
                e["max_depth"] = max(e["max_depth"], report.stack_base - f.sp)

    def rows(self) -> List[Dict[str, object]]:
        return sorted(({"function": k, **v} for k, v in self.functions.items()),
                      key=lambda d: -int(d["bytes"]))


def collect(stacks: Iterable[StackInput], opts: AnalysisOptions, drivers: List[str],
            top: int) -> Tuple[List[ThreadRow], DriverView]:
    rows: List[ThreadRow] = []
    view = DriverView()
    for stack in stacks:
        if drivers and not has_driver(stack, drivers):
            continue
        report = analyze(stack, opts) if stack.frames else None
        row = row_for(stack, report, opts.budget)
        if report is not None and drivers:
            view.add(report, drivers)
        if top <= 0:
            row.report = None  # keep memory flat: reports only for the N closest
        rows.append(row)
    rows.sort(key=lambda r: r.sort_key)
    if top > 0:
        keep = {id(r) for r in heapq.nsmallest(top, rows, key=lambda r: r.sort_key)}
        for r in rows:
            if id(r) not in keep:
                r.report = None
    return rows, view


def _hex(v: Optional[int]) -> Optional[str]:
    return None if v is None else "0x%x" % v


def to_json(rows: List[ThreadRow], view: DriverView) -> str:
    doc = {"tool": "stackext", "version": __version__, "threads": [
        {"thread": _hex(r.thread), "process": _hex(r.process), "image": r.image,
         "state": r.state, "stack_base": _hex(r.stack_base), "stack_limit": _hex(r.stack_limit),
         "budget": r.budget, "used": r.used, "remaining": r.remaining, "used_from": r.used_from,
         "source": r.source, "heaviest_driver_frame": r.heaviest_driver_frame}
        for r in rows]}
    if view.functions:
        doc["driver_functions"] = view.rows()
    return json.dumps(doc, indent=2) + "\n"


def to_table(rows: List[ThreadRow], view: DriverView, top: int) -> str:
    def n(v):
        return "-" if v is None else "{:,}".format(v)

    table = [[_hex(r.thread) or "-", r.image or "", r.state or "", n(r.used), n(r.budget),
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
        out.append("thread %s: heaviest driver frames" % (_hex(r.thread) or r.source))
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
    import csv
    import io

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


def render(rows: List[ThreadRow], view: DriverView, fmt: str, top: int) -> str:
    if fmt == "json":
        return to_json(rows, view)
    if fmt == "csv":
        return to_csv(rows)
    return to_table(rows, view, top)


def run_log(args, out: TextIO) -> int:
    """`stackext threads LOG`: every thread block of the logs, closest to the edge first."""
    from stackext.errors import StackextError
    from stackext.sources import windbg_log

    def stacks():
        from stackext.cli import expand

        for path in expand(args.files):
            for item in windbg_log.read_file(path, threads_without_stack=True):
                if isinstance(item, windbg_log.EmbeddedJson):
                    continue
                if args.strict and item.warnings:
                    raise StackextError("warning treated as error (--strict): %s"
                                        % item.warnings[0], item.source)
                yield item

    opts = AnalysisOptions(budget=args.budget, heavy=args.heavy, top=5,
                           drivers=tuple(args.driver), arch=args.arch)
    rows, view = collect(stacks(), opts, list(args.driver), args.top)
    out.write(render(rows, view, args.format, args.top))
    return 0


__all__ = ["ThreadRow", "row_for", "collect", "render", "run_log", "DEFAULT_KERNEL_BUDGET"]


if __name__ == "__main__":  # `!py -m stackext.threads` inside WinDbg/kd
    import sys

    from stackext import debugger, debugger_threads

    status = debugger_threads.main()
    if status and not debugger.inside_debugger():  # as stackext.usage: visible outside WinDbg
        sys.exit(status)
