"""A stack drawn to scale as inline SVG, from one stack's JSON dict (report_json.stack_dict's keys).

y grows downward from StackBase (or, when the base is unknown, from the top of the outermost frame
shown); every column uses the same px per byte, so blocks compare across stacks' segments. A frame
of known size is a block exactly as tall as its bytes. A span whose bytes are known but whose
owner is not (frames missing between two SPs, the part of the stack the log does not show) is
hatched at its real height. A frame whose extent is not known at all is a hatched block of
UNKNOWN_H px labelled "size unknown", drawn where the scale says nothing (above a column's top,
below its bottom, or over a span already hatched) -- never a made-up height.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from stackext.render import html_text as T

PX_BUDGET = 900.0  # the budget's height (or the tallest column's, without a budget)
UNKNOWN_H = 14.0
COL_W, LANE_W, GAP, LEFT, TOP = 180, 270, 40, 46, 64
PAGE = 0x1000
LABEL_MIN_H = 12.0  # a block this tall carries its own label
CALLOUTS = 5


class Column:
    """One segment's column: its blocks, regions, lane labels and extent, in px."""

    def __init__(self, d: Dict[str, Any], seg: Dict[str, Any], x: float, scale: float):
        self.d, self.seg, self.x, self.scale = d, seg, x, scale
        self.x86 = d.get("arch") == "x86"
        self.frames = [f for f in d["frames"] if f.get("segment") == seg["index"]]
        self.is_thread = seg["index"] == d.get("thread_segment")
        self.base = T.num(d.get("stack_base")) if self.is_thread else None
        self.top_addr = self.base if self.base is not None else _top_addr(self.frames, self.x86)
        self.out: List[list] = []  # regions and blocks, as display-list primitives
        self.lane: List[Tuple[float, float, str, str]] = []  # (y wanted, y of the thing, cls, text)
        self.bottom = float(TOP)
        self.ys: Dict[int, Tuple[float, float]] = {}  # frame index -> (top y, bottom y)
        # the heaviest frames too small to carry a label get one in the lane
        self.callouts = set((d.get("heaviest") or [])[:CALLOUTS] +
                            (d.get("heaviest_drivers") or [])[:CALLOUTS])

    def y(self, addr: int) -> float:
        return TOP + (self.top_addr - addr) * self.scale

    def block(self, y0: float, y1: float, cls: str, f: Optional[Dict[str, Any]],
              label: str, title: str, nbytes: Optional[int] = None) -> None:
        h = max(y1 - y0, 0.0)
        inside = label if label and h >= LABEL_MIN_H else None
        if label and not inside and f is not None and f["index"] in self.callouts:
            self.lane.append((y0 + h / 2, y0 + h / 2, "call", "%s %s" % (T.n(nbytes), label)))
        if f is not None:
            self.ys[f["index"]] = (y0, y1)
        self.out.append(["b", cls, self.x, r3(y0), COL_W, r3(h),
                         None if f is None else f["index"], nbytes,
                         None if f is None else T.frame_id(self.d, f, "b"), title,
                         None if inside is None else T.clip(inside, 27)])
        self.bottom = max(self.bottom, y1)

    def draw(self) -> None:
        if self.top_addr is None:  # nothing on this stack has an SP: list the frames only
            for k, f in enumerate(self.frames):
                self.lane.append((TOP + 14 * k, TOP + 14 * k, "note",
                                  "#%02x %s: no SP, not placed" % (f["index"], f["call_site"])))
            return
        if self.is_thread and self.base is not None:
            self._regions()
        inline: List[Dict[str, Any]] = []
        phys = [f for f in self.frames if not f.get("inline")]
        for f in self.frames:
            if f.get("inline"):
                inline.append(f)
                continue
            self._frame(f, phys, inline)
            inline = []
        for f in inline:  # inline frames with no physical frame after them on this stack
            self.lane.append((self.bottom, self.bottom, "note", "inline %s (no host frame)"
                              % f["call_site"]))
        self._marks()

    def _frame(self, f: Dict[str, Any], phys: List[Dict[str, Any]],
               inline: List[Dict[str, Any]]) -> None:
        sp, size = T.num(f.get("sp")), f.get("size")
        cls = "blk " + ("drv" if f.get("driver") else "ms")
        title = T.frame_title(self.d, f, inline)
        if inline:
            cls += " inl"
        if sp is None:
            self.lane.append((self.bottom + 8, self.bottom + 8, "note",
                              "#%02x %s: no SP, not placed" % (f["index"], f["call_site"])))
            return
        label = "%s%s" % ("\u25c6 " if inline else "", f["call_site"])
        if size is not None:
            hi, lo = (sp, sp - size) if self.x86 else (sp + size, sp)
            if f.get("heavy"):
                cls += " heavy"
            limit = T.num(self.d.get("stack_limit"))
            if self.is_thread and limit is not None and lo < limit:
                cls += " over"
            self.block(self.y(hi), self.y(lo), cls, f, label, title, size)
            return
        cls += " unk"
        label = "? " + label
        span = _known_span(f, phys, self.x86)
        if span is not None:  # frames missing between two SPs: hatched at the real height
            hi, lo = span
            self.block(self.y(hi), self.y(lo), cls + " gap", f, label, title + "\n(span "
                       "of %s bytes between the SPs; its owners are unknown)" % T.n(hi - lo))
        elif self.x86:  # the frame extends below its EBP by an unknown amount: below the column
            y = self.y(sp)
            self.block(y, y + UNKNOWN_H, cls, f, label, title)
        else:  # above its Child-SP by an unknown amount: in the headroom, or over the hatch
            y = self.y(sp)
            self.block(y - UNKNOWN_H, y, cls, f, label, title)

    def _regions(self) -> None:
        d, base = self.d, self.base
        limit = T.num(d.get("stack_limit"))
        if limit is not None:
            y0, y1 = self.y(base), self.y(limit)
            self.out.append(["r", "budget", self.x, r3(y0), COL_W, r3(y1 - y0),
                             "budget: %s bytes" % T.n(base - limit)])
            self.lane.append((y1, y1, "lim", "StackLimit %s" % T.addr(limit, d)))
            if d.get("kernel"):
                self.out.append(["r", "guard", self.x, r3(y1), COL_W, r3(PAGE * self.scale),
                                 "guard page below StackLimit (4 KB)"])
                self.lane.append((y1 + 6, y1 + PAGE * self.scale / 2, "lim", "guard page"))
            self.bottom = max(self.bottom, y1 + (PAGE * self.scale if d.get("kernel") else 0))
        for key, cls, what in (("start_area", "start", "start area: the thread's start frames "
                                "and initial context"),
                               ("not_shown", "notshown", "not shown: the log or walk stops "
                                "before the thread's start")):
            size = d.get(key)
            if size:
                y0, y1 = self.y(base), self.y(base - size)
                self.out.append(["b", cls, self.x, r3(y0), COL_W, r3(y1 - y0), None, size, None,
                                 "%s, %s bytes" % (what, T.n(size)),
                                 T.clip(what.split(":")[0] + " " + T.n(size), 27)
                                 if y1 - y0 >= LABEL_MIN_H else None])

    def _marks(self) -> None:
        d = self.d
        limit = T.num(d.get("stack_limit"))
        below = d.get("below_limit")
        if self.is_thread and below and limit is not None:
            y0, y1 = self.y(limit), self.y(limit - below)
            self.out.append(["r", "past", self.x - 8, r3(y0), 6, r3(y1 - y0),
                             "%s bytes past StackLimit" % T.n(below)])
            self.lane.append((y1 + 14, y1, "past", "%s bytes past StackLimit" % T.n(below)))
        hw = d.get("high_water") or {}
        if self.is_thread and hw.get("address"):
            y = r3(self.y(T.num(hw["address"])))
            self.out.append(["l", "hw", self.x - 10, y, self.x + COL_W + 10, y,
                             "high-water mark: the deepest point ever written"])
            self.lane.append((y, y, "hw", "high-water mark: %s bytes" % T.n(hw.get("used"))))
        committed = T.num(d.get("committed_limit"))
        if self.is_thread and committed is not None:
            y = r3(self.y(committed))
            self.out.append(["l", "committed", self.x, y, self.x + COL_W, y,
                             "committed bottom of the user stack"])
            self.lane.append((y, y, "lim", "committed bottom %s" % T.addr(committed, d)))
        for c in d.get("cycles") or []:
            ys = [self.ys[i] for i in range(c["first_frame"], c["last_frame"] + 1) if i in self.ys]
            if ys:
                y0, y1 = min(a for a, _ in ys), max(b for _, b in ys)
                per = c.get("bytes_per_round")
                self.out.append(["c", self.x - 26, r3(y0), r3(y1 - y0), c["repeats"],
                                 "a round of %d calls repeats %s%d times, %s bytes per round"
                                 % (len(c["call_sites"]),
                                    "at least " if c.get("repeats_at_least") else "", c["repeats"],
                                    "?" if per is None else T.n(per))])


def _top_addr(frames: List[Dict[str, Any]], x86: bool) -> Optional[int]:
    """The highest address a frame of this column is known to reach."""
    tops = []
    for f in frames:
        sp, size = T.num(f.get("sp")), f.get("size")
        if sp is not None and not f.get("inline"):
            tops.append(sp + (size or 0) if not x86 else sp)
    return max(tops) if tops else None


def _known_span(f: Dict[str, Any], phys: List[Dict[str, Any]], x86: bool):
    """(high, low) bytes between this unknown-size frame's SP and its neighbour's on the same
    stack when frames are missing between them (their owners unknown, their extent known)."""
    pos = phys.index(f)
    other = phys[pos - 1] if x86 else (phys[pos + 1] if pos + 1 < len(phys) else None)
    if x86 and pos == 0:
        return None
    sp, osp = T.num(f.get("sp")), None if other is None else T.num(other.get("sp"))
    if osp is None or sp is None:
        return None
    hi, lo = (sp, osp) if x86 else (osp, sp)
    return (hi, lo) if hi > lo else None


def _scale(d: Dict[str, Any]) -> float:
    extents = []
    for seg in d["segments"]:
        frames = [f for f in d["frames"] if f.get("segment") == seg["index"]
                  and not f.get("inline") and T.num(f.get("sp")) is not None]
        if frames:
            sps = [T.num(f["sp"]) for f in frames]
            extents.append(max(sps) - min(sps) + max((f.get("size") or 0) for f in frames))
    span = d.get("budget") or max(extents + [PAGE])
    scale = PX_BUDGET / max(span, 1)
    tallest = max(extents + [0]) * scale
    return scale if tallest <= 3 * PX_BUDGET else 3 * PX_BUDGET / max(extents)


def primitives(d: Dict[str, Any]) -> Dict[str, Any]:
    """The picture as a display list: Python lays it out once; html_svg.svg and the lab page's
    script (picture() in html_page.js) only play it back."""
    scale = _scale(d)
    segs = sorted(d["segments"], key=lambda s: -s["index"])
    cols = []
    for k, seg in enumerate(segs):
        col = Column(d, seg, LEFT + k * (COL_W + LANE_W + GAP), scale)
        col.draw()
        cols.append(col)
    prims: List[list] = []
    height = 0.0
    for col in cols:
        prims.extend(_header(col))
        prims.extend(col.out)
        lane, low = _lane(col)
        prims.extend(lane)
        height = max(height, col.bottom, low)
    prims.extend(_joins(cols))
    return {"w": LEFT + len(cols) * (COL_W + LANE_W + GAP), "h": round(height + 24),
            "scale": float("%.9g" % scale), "label": "stack of " + (d.get("source") or ""),
            "p": prims}


def r3(v: float) -> float:
    return round(v, 3)


def fmt3(v: float) -> str:
    """A coordinate as markup writes it: at most 3 decimals, no trailing zeros."""
    return ("%.3f" % v).rstrip("0").rstrip(".")


def _header(col: Column) -> List[list]:
    seg, d = col.seg, col.d
    name = "#%d %s%s" % (seg["index"], seg["kind"], " (budget)" if col.is_thread else "")
    top = ("StackBase %s" % T.addr(col.base, d)) if col.base is not None else (
        "top: outermost frame shown" if col.top_addr is not None else "no SPs")
    return [["t", "colhead", col.x, 16, name], ["t", "colsub", col.x, 30, top]]


def _lane(col: Column) -> Tuple[List[list], float]:
    """Labels to the right of the column, pushed apart so they never overlap, each with a
    leader line to what it names."""
    out: List[list] = []
    last = -1e9
    for want, at, cls, text in sorted(col.lane, key=lambda t: t[0]):
        y = r3(max(want, last + 13))
        last = y
        out.append(["n", cls, col.x + COL_W, r3(at), y, T.clip(text, 40)])
    return out, last + 6


def _joins(cols: List[Column]) -> List[list]:
    """A curve from the innermost frame on the outer stack to the outermost on the inner one."""
    out = []
    for outer, inner in zip(cols, cols[1:]):
        a = [outer.ys[i] for i in sorted(outer.ys)][:1]
        b = [inner.ys[i] for i in sorted(inner.ys)][-1:]
        if not a or not b:
            continue
        x1, y1, x2, y2 = outer.x + COL_W, a[0][1], inner.x, b[0][0]
        mid = (x1 + x2) / 2
        out.append(["p", "join", "M%s %s C%s %s %s %s %s %s" % tuple(
            fmt3(v) for v in (x1, y1, mid, y1, mid, y2, x2, y2)), "the stack switched here"])
    return out
