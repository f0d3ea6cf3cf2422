"""Repeated call cycles: the overflow that is not one big frame but a loop of re-entry
(completion routines re-entering a driver through nt!IopfCompleteRequest, stacked filters).

Pure: imports stackext.model only.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import combinations
from operator import eq
from typing import Dict, List, Optional, Tuple

from stackext.model import Cycle, Frame, SymbolQuality

MAX_PERIOD = 64  # longest round looked for, in frames


_SITES: Dict[str, str] = {}  # call site -> its key (a lab's logs repeat the same sites)
_FUNCTIONS: Dict[Tuple[Optional[str], str], str] = {}  # (module, function) -> its key


def _site(f: Frame) -> str:
    key = _SITES.get(f.call_site)
    if key is None:
        if len(_SITES) > 4096:
            _SITES.clear()
        key = _SITES[f.call_site] = " ".join(f.call_site.split()).lower()
    return key


def _function(f: Frame) -> str:
    """The function to compare by; a nearest-export name is no function (its call site is)."""
    if f.function and f.symbol_quality == SymbolQuality.PDB:
        key = _FUNCTIONS.get((f.module, f.function))
        if key is None:
            if len(_FUNCTIONS) > 4096:
                _FUNCTIONS.clear()
            key = _FUNCTIONS[f.module, f.function] = ("%s!%s" % (f.module, f.function)).lower()
        return key
    return _site(f)


def find_cycles(frames: List[Frame], segment: Optional[int],
                remaining: Optional[int]) -> List[Cycle]:
    """Runs of the same sequence of functions repeated two or more times back to back, in the
    given segment (all frames when None), largest coverage first. Compared by call site (the
    same return addresses: one code path looping), and by function (recursion entered from
    different call sites); whichever explains more frames wins."""
    scope = frames if segment is None else [f for f in frames if f.segment == segment]
    by_site: List[Cycle] = []
    by_function: List[Cycle] = []
    pieces = _unbroken(scope)
    for piece in pieces:  # a round never spans frames the text leaves out
        sites, functions = _keys(piece)
        by_site += _find(piece, sites, remaining)
        by_function += _find(piece, functions, remaining)
    if len(pieces) > 1:  # a run that reaches a cut may go on in the frames left out
        edges = {p[0].index for p in pieces[1:]} | {p[-1].index for p in pieces[:-1]}
        for c in by_site + by_function:
            c.repeats_at_least = c.first_frame in edges or c.last_frame in edges

    def rank(cs: List[Cycle]):
        # more frames explained first; then shorter rounds (a function calling itself from two
        # places is one recursion, not a two-call round)
        return (sum(c.repeats * len(c.call_sites) for c in cs),
                -sum(len(c.call_sites) for c in cs))

    found = by_function if rank(by_function) > rank(by_site) else by_site
    found.sort(key=lambda c: -(c.repeats * len(c.call_sites)))
    return found


def _unbroken(scope: List[Frame]) -> List[List[Frame]]:
    """The scope cut where frames are missing ("...", a jump in frame numbers, an unwind
    warning) or frames of another stack lie between: the runs of frames that follow each
    other on the text."""
    cuts = [k for k in range(1, len(scope)) if scope[k].gap_before is not None
            or scope[k].index != scope[k - 1].index + 1]
    if not cuts:
        return [scope]
    ends = [0] + cuts + [len(scope)]
    return [scope[a:b] for a, b in zip(ends, ends[1:])]


def _keys(scope: List[Frame]) -> Tuple[List[str], List[str]]:
    """Each frame's _site and _function key: read from the caches in two list comprehensions
    (no call per frame: the cycle search runs on every stack); the calls fill in a miss."""
    known = _SITES
    sites = [known.get(f.call_site) for f in scope]
    if None in sites:
        sites = [_site(f) for f in scope]
    known_f = _FUNCTIONS
    pdb = SymbolQuality.PDB
    functions = [known_f.get((f.module, f.function)) if f.function and f.symbol_quality == pdb
                 else key for f, key in zip(scope, sites)]
    if None in functions:
        functions = [_function(f) for f in scope]
    return sites, functions


def _runs(keys: List[str]) -> List[Tuple[int, int, int]]:
    """Every maximal run where keys[j] == keys[j + p] for at least p positions in a row, as
    (first j, end j, p), sorted: a round of p keys repeated back to back starts at each of the
    run's first positions. The keys become fixed-width numbers in one byte string, and each
    period is one XOR of two big integers (C speed, the same cost whatever the stack's shape)."""
    ids: Dict[str, int] = {}
    numbers = [ids.setdefault(k, len(ids)) for k in keys]
    n = len(keys)
    # A run of p matches at period p makes p keys repeats of earlier ones: p <= n - distinct.
    periods = _periods(numbers, len(ids), min(MAX_PERIOD, n // 2, n - len(ids)))
    if not periods:
        return []
    width = 1 if len(ids) < 0x100 else 2 if len(ids) < 0x10000 else 3
    packed = bytes(numbers) if width == 1 else b"".join(x.to_bytes(width, "big")
                                                          for x in numbers)
    runs = []
    for p in periods:
        count = (n - p) * width
        diff = (int.from_bytes(packed[: count], "big") ^
                int.from_bytes(packed[p * width:], "big")).to_bytes(count, "big")
        if width > 1:  # one byte per key: 0 where every byte of the two numbers agreed
            merged = 0
            for k in range(width):
                merged |= int.from_bytes(diff[k::width], "big")
            diff = merged.to_bytes(n - p, "big")
        if _ZEROS[p] in diff:  # 0 at j where keys[j] == keys[j + p]
            runs.extend((m.start(), m.end(), p) for m in _run_re(p).finditer(diff))
    runs.sort()
    return runs


def _periods(numbers: List[int], distinct: int, top: int):
    """The periods 1..top worth an XOR: those at which some key recurs (any other leaves no 0
    in its diff). From the few repeated keys when there are few (most stacks); all otherwise."""
    if len(numbers) - distinct > 8 or top <= 3:  # many repeats, or few periods: try them all
        return range(1, top + 1)
    periods = set()
    for x, count in Counter(numbers).items():
        if count > 1:
            js = [numbers.index(x)]
            for _ in range(count - 1):
                js.append(numbers.index(x, js[-1] + 1))
            periods.update(b - a for a, b in combinations(js, 2) if b - a <= top)
    return sorted(periods)


_ZEROS = [b"\x00" * p for p in range(MAX_PERIOD + 1)]
_RUN_RES: Dict[int, "re.Pattern"] = {}  # compiled when first needed: 65 cost ~3 ms at import


def _run_re(p: int):
    """A run of at least p zero bytes (p >= 1): b"\x00{p,}"."""
    r = _RUN_RES.get(p)
    if r is None:
        r = _RUN_RES[p] = re.compile(b"\x00{%d,}" % max(p, 1))
    return r


def _may_repeat(keys: List[str], repeats: int) -> bool:
    """False when no round can repeat (most stacks: none or a few keys recur), found cheaply:
    a round of p keys repeated makes p keys equal to the key p before (three calls in a row
    of one, p = 1: two), so p keys repeat earlier ones."""
    if repeats < 2:
        return False
    if repeats > 8:
        return True  # many repeats: the search decides
    return any(sum(map(eq, keys, keys[p:])) >= max(p, 2)
               for p in range(1, min(repeats, len(keys) // 2) + 1))


def _find(scope: List[Frame], keys: List[str], remaining: Optional[int]) -> List[Cycle]:
    n = len(keys)
    if not _may_repeat(keys, n - len(set(keys))):
        return []
    runs = _runs(keys)
    cycles: List[Cycle] = []
    if not runs:
        return cycles
    active: List[Tuple[int, int, int]] = []
    k = 0
    i = 0
    while i < n:
        while k < len(runs) and runs[k][0] <= i:
            active.append(runs[k])
            k += 1
        # a run (a, b, p) holds a repeat at i while i + p <= b; (b - i) // p more rounds follow
        active = [x for x in active if i + x[2] <= x[1]]
        best = None  # (covered, period, repeats)
        for _, b, p in sorted(active, key=lambda x: x[2]):
            r = 1 + (b - i) // p
            # two back-to-back calls of one function is common and not worth a line
            if r >= (3 if p == 1 else 2) and (best is None or r * p > best[0]):
                best = (r * p, p, r)
        if best is None:
            i += 1
            continue
        covered, p, r = best
        round_frames = scope[i: i + p]
        per_round = _per_round(scope, i, p, r)
        left = None
        if per_round and remaining is not None:
            left = max(remaining, 0) // per_round
        cycles.append(Cycle(call_sites=[f.call_site for f in round_frames], repeats=r,
                            bytes_per_round=per_round, first_frame=scope[i].index,
                            last_frame=scope[i + covered - 1].index, rounds_left=left))
        i += covered
    cycles.sort(key=lambda c: -(c.repeats * len(c.call_sites)))
    return cycles


def _per_round(scope: List[Frame], i: int, p: int, r: int) -> Optional[int]:
    """The bytes of one round of r rounds of p frames from i: measured on the full rounds inside
    the run (the rounds after the first; of two, either) whose sizes are known (the outermost
    round's last frame may have none), and only when those rounds agree: rounds of different
    sizes have no one size per round (None)."""
    rounds = [scope[i + k * p: i + (k + 1) * p] for k in range(r)]
    sizes = [None if any(f.size is None for f in x) else sum(f.size for f in x) for x in rounds]
    known = [x for x in (sizes[1:] if r > 2 else sizes) if x is not None]
    if not known or any(x != known[0] for x in known):
        return None
    return known[0]
