"""What a lab asks of many stacks, from their JSON dicts (report_json.stack_dict), one stack at a
time in bounded memory: how the used share spreads, and per third-party module and function how
often it is on an overflowed or near-overflow stack, its largest and its typical frame.

Rules (the README's DuckDB query answers the per-module question by the same rules):
- a stack is *hot* when it overflowed or used at least NEAR percent of its budget;
- a module counts on a stack when one of its non-inline frames lies on the stack the budget
  applies to (`thread_segment`), as in each stack's own module table; third-party (`driver`)
  modules only;
- largest and typical (median; the mean of the middle two for an even count) are over those
  frames' known sizes; a frame of unknown size counts for presence, not for size.
Sizes are kept as counts per distinct size, so memory grows with distinct sizes, not frames.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, Iterable, List, Optional, Tuple

NEAR = 90.0


def is_hot(d: Dict[str, Any]) -> bool:
    pct = d.get("percent")
    return bool(d.get("overflow")) or (pct is not None and pct >= NEAR)


def median(sizes: Counter) -> Optional[float]:
    total = sum(sizes.values())
    if not total:
        return None
    want = [(total - 1) // 2, total // 2]
    got: List[int] = []
    seen = 0
    for size in sorted(sizes):
        seen += sizes[size]
        while want and want[0] < seen:
            got.append(size)
            want.pop(0)
    return (got[0] + got[1]) / 2.0


class Tally:
    """One module's or function's numbers over the stacks seen."""

    __slots__ = ("name", "module", "stacks", "hot", "sizes", "largest_at")

    def __init__(self, name: str, module: str):
        self.name, self.module = name, module
        self.stacks = self.hot = 0
        self.sizes: Counter = Counter()
        self.largest_at: Optional[Tuple[int, int, str]] = None  # (size, stack position, site)

    @property
    def largest(self) -> Optional[int]:
        return max(self.sizes) if self.sizes else None

    @property
    def typical(self) -> Optional[float]:
        return median(self.sizes)


def budgeted_driver_frames(d: Dict[str, Any]) -> Iterable[Dict[str, Any]]:
    seg = d.get("thread_segment")
    for f in d.get("frames") or []:
        if f.get("driver") and f.get("module") and not f.get("inline") and \
                (seg is None or f.get("segment") == seg):
            yield f


class LabStats:
    def __init__(self) -> None:
        self.count = 0
        self.kinds: Counter = Counter()  # overflow / near / ok / unknown
        self.histogram: Counter = Counter()  # bucket 0..10 (10: 100 % and more), None: no %
        self.modules: Dict[str, Tally] = {}
        self.functions: Dict[str, Tally] = {}

    def add(self, d: Dict[str, Any], kind: str, position: int) -> None:
        self.count += 1
        self.kinds[kind] += 1
        pct = d.get("percent")
        self.histogram[None if pct is None else min(int(pct // 10), 10)] += 1
        hot = is_hot(d)
        seen = set()
        for f in budgeted_driver_frames(d):
            module = f["module"]
            keys = [(self.modules, module, module)]
            if f.get("function"):
                keys.append((self.functions, "%s!%s" % (module, f["function"]), module))
            for table, key, mod in keys:
                t = table.get(key)
                if t is None:
                    t = table[key] = Tally(key, mod)
                if (id(table), key) not in seen:
                    seen.add((id(table), key))
                    t.stacks += 1
                    t.hot += hot
                size = f.get("size")
                if size is not None:
                    t.sizes[size] += 1
                    if t.largest_at is None or size > t.largest_at[0]:
                        t.largest_at = (size, position, f.get("call_site") or key)

    @staticmethod
    def ranked(table: Dict[str, Tally], limit: Optional[int] = None) -> List[Tally]:
        """Most often on hot stacks first, then the largest frame."""
        rows = sorted(table.values(), key=lambda t: (-t.hot, -(t.largest or 0), t.name))
        return rows if limit is None else rows[:limit]
