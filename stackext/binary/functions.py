"""Functions of an x64 image: .pdata entries merged into functions (chained entries belong to
the function they continue), frames from their prologues, names, and the call edges capstone
finds in their code. Call targets without unwind data are leaf functions (8 bytes); a leaf that
is `jmp [__imp_X]` is the import X.
"""

from __future__ import annotations

import bisect
import struct
from typing import Dict, List, Optional, Tuple

from stackext.binary.disasm import (
    CALL,
    CFG,
    IMPORT,
    INDIRECT,
    LEAF_SCAN_LIMIT,
    TAIL,
    Disassembler,
    Scan,
)
from stackext.binary.model import Function
from stackext.binary.pdb import PdbSymbols
from stackext.binary.pe import Entry, Image
from stackext.binary.unwind import RETURN_ADDRESS, Prologue

LEAF_READ = 256  # bytes read of a leaf function


def _primaries(entries: List[Entry]) -> Dict[int, List[Entry]]:
    """Function start -> its entries (primary first), following each chain to its start."""
    by_begin = {e.begin: e for e in entries}
    out: Dict[int, List[Entry]] = {}
    for e in entries:
        root, seen = e, set()
        while root.parent is not None and root.parent in by_begin and root.begin not in seen:
            seen.add(root.begin)
            root = by_begin[root.parent]
        out.setdefault(root.begin, []).append(e)
    for group in out.values():
        group.sort(key=lambda e: (e.parent is not None, e.begin))
    return out


def _prologue(e: Entry, by_begin: Dict[int, Entry], depth: int = 0) -> Prologue:
    parent = by_begin.get(e.parent) if e.parent is not None else None
    if parent is None or depth > 32:
        return e.prologue
    return e.prologue.plus(_prologue(parent, by_begin, depth + 1))


class Builder:
    def __init__(self, image: Image, symbols: Optional[PdbSymbols]):
        self.image = image
        self.symbols = symbols
        self.dis = Disassembler(image.imports, image.guard_pointers, self._in_code)
        self.functions: Dict[int, Function] = {}
        self._spans: List[Tuple[int, int, int]] = []   # (begin, end, function start), sorted
        self._starts: List[int] = []

    def _in_code(self, rva: int) -> bool:
        return any(a <= rva < b for a, b in self.image.code)

    def name(self, rva: int) -> str:
        name = self.symbols.name(rva) if self.symbols else None
        return name or self.image.exports.get(rva) or "%s+0x%x" % (self.image.module, rva)

    def containing(self, rva: int) -> Optional[int]:
        i = bisect.bisect_right(self._starts, rva) - 1
        if i >= 0 and self._spans[i][0] <= rva < self._spans[i][1]:
            return self._spans[i][2]
        return None

    def build(self) -> Dict[int, Function]:
        by_begin = {e.begin: e for e in self.image.entries}
        groups = _primaries(self.image.entries)
        self._spans = sorted((e.begin, e.end, start) for start, g in groups.items() for e in g)
        self._starts = [s[0] for s in self._spans]
        scans = {}
        for start, group in groups.items():
            prologue = max((_prologue(e, by_begin) for e in group), key=lambda p: p.frame)
            f = Function(self.name(start), start, prologue.frame, prologue.pushes,
                         prologue.alloc + prologue.machframe)
            if prologue.machframe:
                f.alloc -= RETURN_ADDRESS  # the machine frame holds the return address
            self.functions[start] = f
            scans[start] = self._scan(group, by_begin)
        pending = list(scans.items()) + [(r, self._leaf(r)) for r in self._known_leaves()]
        while pending:
            start, scan = pending.pop()
            pending.extend(self._link(self.functions[start], scan))
        self._mark_dynamic(scans)
        return self.functions

    def _scan(self, group: List[Entry], by_begin: Dict[int, Entry]) -> Scan:
        spans = [(e.begin, e.end) for e in group]
        total = Scan()
        for e in group:
            code = self.image.read(e.begin, e.end - e.begin)
            part = self.dis.scan(code, e.begin, spans, e.begin + e.prologue.prolog_size)
            total.sites.extend(part.sites)
            total.address_taken |= part.address_taken
            if total.dynamic_at is None:
                total.dynamic_at = part.dynamic_at
        return total

    def _link(self, f: Function, scan: Scan) -> List[Tuple[int, Scan]]:
        """Turn one function's call sites into edges; returns newly found leaf functions."""
        new = []
        for site in scan.sites:
            if site.kind == IMPORT:
                f.imports.append(site.name or "?")
            elif site.kind in (INDIRECT, CFG):
                f.indirect += 1
            elif site.target is not None:
                callee = self.containing(site.target)
                if callee is None and site.target not in self.functions and f.leaf \
                        and site.kind == TAIL and site.at != f.rva:
                    continue  # a jump inside a leaf without unwind data: not provably a call
                if callee is None:
                    callee = site.target
                    if callee not in self.functions and self._in_code(callee):
                        new.append((callee, self._leaf(callee)))
                target = self.functions.get(callee)
                if target is None:
                    continue
                if target.thunk_of:
                    f.imports.append(target.thunk_of)
                else:
                    (f.calls if site.kind == CALL else f.tails).append(callee)
        for rva in scan.address_taken:
            if rva in self.functions:
                self.functions[rva].address_taken = True
        return new

    def _known_leaves(self) -> List[int]:
        """Functions the PDB or the exports name that have no unwind data: leaf functions."""
        named = set(self.image.exports)
        if self.symbols:
            named |= set(self.symbols.procs) | set(self.symbols.publics)
        return sorted(r for r in named
                      if r not in self.functions and self.containing(r) is None
                      and self._in_code(r))

    def _leaf(self, rva: int) -> Scan:
        proc = self.symbols.procs.get(rva) if self.symbols else None
        if proc is not None and proc.length:  # the PDB says where it ends
            code = self.image.read(rva, proc.length)
            scan = self.dis.scan(code, rva, [(rva, rva + proc.length)], rva)
        else:
            code = self.image.read(rva, LEAF_READ)
            scan = self.dis.scan(code, rva, [(rva, rva + 1)], rva, limit=LEAF_SCAN_LIMIT)
        f = Function(self.name(rva), rva, RETURN_ADDRESS, leaf=True)
        if len(scan.sites) == 1 and scan.sites[0].kind == IMPORT and scan.sites[0].at == rva:
            f.thunk_of = scan.sites[0].name
        self.functions[rva] = f
        return scan

    def _mark_dynamic(self, scans: Dict[int, Scan]) -> None:
        procs = self.symbols.procs if self.symbols else {}
        for start, f in self.functions.items():
            proc = procs.get(start)
            if proc is not None and proc.has_alloca:
                f.dynamic, f.dynamic_why = True, "pdb"
            elif start in scans and scans[start].dynamic_at is not None:
                f.dynamic, f.dynamic_why = True, "code"

    def data_pointers(self) -> List[int]:
        """Function starts whose absolute address sits in a data section (dispatch tables)."""
        base, found = self.image.image_base, set()
        for a, b in self.image.data:
            raw = self.image.read(a, b - a)
            for (value,) in struct.iter_unpack("<Q", raw[:len(raw) & ~7]):
                if base < value < base + 0x80000000 and (value - base) in self.functions:
                    found.add(value - base)
        return sorted(found)


def build(image: Image, symbols: Optional[PdbSymbols]) -> Tuple[Dict[int, Function], List[int]]:
    """Functions by start rva, and the starts whose address is stored in data."""
    b = Builder(image, symbols)
    functions = b.build()
    pointers = b.data_pointers()
    for rva in pointers:
        functions[rva].address_taken = True
    return functions, pointers
