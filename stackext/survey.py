"""Which threads are close to the edge: every thread's used stack and headroom, ranked.

For a waiting thread, StackBase - KernelStack (the saved SP, `!thread`'s "Current") needs no stack
walk; for a running one, the innermost frame on its own stack. Pure: the log reader and the pykd
thread reader hand it StackInputs; stackext.render.survey writes the tables.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from stackext import knowledge as K
from stackext.analyze import AnalysisOptions, analyze
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
    if base is not None and stack.kernel_stack is not None and K.is_waiting(stack.state) and \
            (limit is None or limit - K.OVERFLOW_SLACK <= stack.kernel_stack <= base):
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


def headroom(stack: StackInput) -> Optional[int]:
    """Budget left for a thread that is not running: KernelStack - StackLimit (no walk)."""
    if stack.state is None or K.is_running(stack.state) or stack.kernel_stack is None:
        return None
    if stack.stack_base is None or stack.stack_limit is None:
        return None
    if not stack.stack_limit - K.OVERFLOW_SLACK <= stack.kernel_stack <= stack.stack_base:
        return None
    return stack.kernel_stack - stack.stack_limit


def to_walk(stacks: Sequence[StackInput], current: Optional[int], drivers: Iterable[str],
            top: int) -> List[int]:
    """--driver: every thread (their frames decide). --top N: the N closest to the edge, plus the
    running threads whose SP is not known without a walk. Always: the current thread when it is
    running (its live SP is the current frames)."""
    if list(drivers):
        return [s.thread for s in stacks if s.thread is not None]
    picked: List[int] = []
    running = [s.thread for s in stacks if K.is_running(s.state)]
    if current in running:
        picked.append(current)
    if top > 0:
        known = sorted((h, s.thread) for s in stacks for h in [headroom(s)] if h is not None)
        picked += [t for _, t in known[:top]] + running
    seen: Set[int] = set()
    return [t for t in picked if t is not None and not (t in seen or seen.add(t))]


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
