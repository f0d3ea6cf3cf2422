"""The deepest call path from each root, in bytes, over the call graph (calls and tail jumps).

A call stacks the callee's frame on the caller's; a tail jump replaces the caller's frame by the
callee's, so a path's `chain` lists the frames that are on the stack together, outermost first,
and `bytes` is their sum. Recursion (a strongly connected component that calls itself) counts
each member's frame once, or `--calls` bound times. What the graph cannot know makes the path
incomplete, with the reason: an indirect call, unbounded recursion, a dynamic frame, a call into
another module -- unless `--calls` states it.
"""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Set, Tuple

from stackext.binary.callsfile import Calls
from stackext.binary.model import (
    DYNAMIC_FRAME,
    EXTERNAL_CALL,
    INDIRECT_CALL,
    RECURSION,
    Function,
    Path,
)

Best = Tuple[int, Tuple[object, ...]]   # bytes, chain (function rvas, then maybe an import name)


def _sccs(nodes: List[int], edges: Dict[int, List[int]]) -> Iterator[List[int]]:
    """Tarjan's strongly connected components, iteratively, callees before callers."""
    index: Dict[int, int] = {}
    low: Dict[int, int] = {}
    on_stack: Set[int] = set()
    stack: List[int] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(edges.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(edges.get(w, ()))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                yield comp


class Graph:
    def __init__(self, functions: Dict[int, Function], calls: Optional[Calls] = None):
        self.f = functions
        self.calls = calls or Calls()
        by_name: Dict[str, int] = {}
        for rva, fn in sorted(functions.items()):
            by_name.setdefault(fn.name, rva)
        self.by_name = by_name
        self.unknown_names = sorted(
            n for table in (self.calls.indirect, self.calls.recursion, self.calls.dynamic)
            for n in table if n not in by_name) + sorted(
            t for ts in self.calls.indirect.values() for t in ts if t not in by_name)
        self.resolved: Dict[int, List[int]] = {
            by_name[n]: [by_name[t] for t in ts if t in by_name]
            for n, ts in self.calls.indirect.items() if n in by_name}
        self.recursive: Set[int] = set()
        self.best: Dict[int, Best] = {}
        self._solve()

    def own(self, rva: int) -> int:
        fn = self.f[rva]
        return fn.frame + (self.calls.dynamic.get(fn.name, 0) if fn.dynamic else 0)

    def _callees(self, rva: int) -> List[int]:
        return [c for c in self.f[rva].calls + self.resolved.get(rva, []) if c in self.f]

    def _below(self, rva: int, skip: Set[int]) -> Best:
        """The deepest thing `rva` calls (outside `skip`): a function's best or an import."""
        best: Best = (0, ())
        for c in self._callees(rva):
            if c not in skip and self.best[c][0] > best[0]:
                best = self.best[c]
        for name in self.f[rva].imports:
            cost = self.calls.external_cost(name)
            if cost is not None and cost > best[0]:
                best = (cost, (name,))
        return best

    def _solve(self) -> None:
        nodes = sorted(self.f)
        edges = {r: self._callees(r) + [t for t in self.f[r].tails if t in self.f]
                 for r in nodes}
        for comp in _sccs(nodes, edges):
            members = set(comp)
            calls_inside = any(c in members for r in comp for c in self._callees(r))
            if len(comp) > 1 or calls_inside:
                self._recursive(comp, members)
                continue
            r = comp[0]
            below = self._below(r, set())
            best: Best = (self.own(r) + below[0], (r,) + below[1])
            for t in self.f[r].tails:
                if t in self.f and t != r and self.best[t][0] > best[0]:
                    best = self.best[t]
            self.best[r] = best

    def _recursive(self, comp: List[int], members: Set[int]) -> None:
        """A cycle: every member's frame, `bound` times, then the deepest way out of it."""
        self.recursive |= members
        bounds = [self.calls.recursion[self.f[r].name] for r in comp
                  if self.f[r].name in self.calls.recursion]
        times = max(bounds) if bounds else 1
        frames = times * sum(self.own(r) for r in comp)
        out: Best = (0, ())
        for r in comp:
            below = self._below(r, members)
            for t in self.f[r].tails:
                if t in self.f and t not in members and self.best[t][0] > below[0]:
                    below = self.best[t]
            if below[0] > out[0]:
                out = below
        for r in comp:
            ordered = (r,) + tuple(m for m in sorted(comp) if m != r)
            self.best[r] = (frames + out[0], ordered + out[1])

    def path(self, root: int) -> Path:
        total, chain = self.best[root]
        p = Path(root=self.f[root].name, bytes=total, chain=[], complete=True)
        for item in chain:
            if isinstance(item, str):          # an import with a stated cost
                p.chain.append(item)
                continue
            fn = self.f[item]
            p.chain.append(fn.name)
            if item not in self.resolved:
                p.unknown_calls += fn.indirect
            if item in self.recursive:
                p.recursion.append(fn.name)
            if fn.dynamic and fn.name not in self.calls.dynamic:
                p.dynamic.append(fn.name)
            p.external += [i for i in fn.imports if self.calls.external_cost(i) is None]
        bounded = any(n in self.calls.recursion for n in p.recursion)
        for reason, present in ((INDIRECT_CALL, p.unknown_calls), (RECURSION, p.recursion
                                and not bounded), (DYNAMIC_FRAME, p.dynamic),
                                (EXTERNAL_CALL, p.external)):
            if present:
                p.reasons.append(reason)
        p.external = sorted(set(p.external))
        p.complete = not p.reasons
        return p
