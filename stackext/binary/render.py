"""A FramesReport as table, markdown, csv or json (each render(report, top) -> str).

JSON keys `tool`, `binary`, `pdb`, `functions` [`name`, `rva`, `frame`, `dynamic`, `pushes`,
`alloc`, `calls`] and `paths` [`root`, `bytes`, `chain`, `complete`, `unknown_calls`,
`recursion`] are the contract; the others are additions.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Callable, Dict, List, Optional

from tabulate import tabulate

from stackext.binary.model import REASONS, FramesReport, Function, Path

CHAIN_SHOWN = 8  # table/markdown: frames of a chain shown (first 3 ... last 4)


def _callees(f: Function, names: Dict[int, str]) -> List[str]:
    return sorted(set([names[c] for c in f.calls + f.tails if c in names] + f.imports))


def function_doc(f: Function, names: Dict[int, str]) -> dict:
    return {"name": f.name, "rva": "0x%x" % f.rva, "frame": f.frame, "dynamic": f.dynamic,
            "pushes": f.pushes, "alloc": f.alloc, "calls": _callees(f, names),
            "leaf": f.leaf, "indirect_calls": f.indirect, "address_taken": f.address_taken,
            "dynamic_from": f.dynamic_why}


def path_doc(p: Path) -> dict:
    return {"root": p.root, "bytes": p.bytes, "chain": p.chain, "complete": p.complete,
            "unknown_calls": p.unknown_calls, "recursion": p.recursion,
            "external_calls": p.external, "dynamic": p.dynamic, "reasons": p.reasons}


def _top(items: list, top: Optional[int]) -> list:
    return items if top is None else items[:max(top, 0)]


def render_json(r: FramesReport, top: Optional[int]) -> str:
    names = {f.rva: f.name for f in r.functions}
    doc = {"tool": "stackext", "binary": r.binary, "pdb": r.pdb, "names_from": r.names_from,
           "functions": [function_doc(f, names) for f in _top(r.functions, top)],
           "paths": [path_doc(p) for p in _top(r.paths, top)], "warnings": r.warnings}
    return json.dumps(doc, indent=2) + "\n"


def _chain(p: Path) -> str:
    c = p.chain
    if len(c) > CHAIN_SHOWN:
        c = c[:3] + ["... %d more" % (len(c) - 7)] + c[-4:]
    return " > ".join(c)


def _why(p: Path) -> str:
    if p.complete:
        return "complete"
    parts = []
    for reason in p.reasons:
        label = REASONS[reason]
        if reason == "indirect_call":
            label += " x%d" % p.unknown_calls
        else:
            names = {"external_call": p.external, "recursion": p.recursion,
                     "dynamic_frame": p.dynamic}[reason]
            label += " (%s)" % ", ".join(names[:3] + (["..."] if len(names) > 3 else []))
        parts.append(label)
    return "incomplete: " + "; ".join(parts)


def _tables(r: FramesReport, top: Optional[int], fmt: str) -> str:
    top = 20 if top is None else top
    frows = [[f.frame, f.pushes, f.alloc, "dynamic" if f.dynamic else "",
              f.name, "0x%x" % f.rva] for f in _top(r.functions, top)]
    prows = [[p.bytes, p.root, _chain(p), _why(p)] for p in _top(r.paths, top)]
    head = "binary %s (names from %s%s): %d functions, %d roots" % (
        r.binary, r.names_from, ", " + r.pdb if r.pdb else "", len(r.functions), len(r.paths))
    out = [head, "", "Heaviest frames (bytes)",
           tabulate(frows, ["frame", "pushes", "alloc", "", "function", "rva"], tablefmt=fmt),
           "", "Deepest paths (bytes)",
           tabulate(prows, ["bytes", "root", "chain", ""], tablefmt=fmt) if prows
           else "no roots (give --root NAME or --all-roots)"]
    out += ["", *("warning: %s" % w for w in r.warnings)] if r.warnings else []
    return "\n".join(out) + "\n"


def render_table(r: FramesReport, top: Optional[int]) -> str:
    return _tables(r, top, "simple")


def render_markdown(r: FramesReport, top: Optional[int]) -> str:
    return _tables(r, top, "github")


def render_csv(r: FramesReport, top: Optional[int]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["kind", "name", "rva", "frame", "pushes", "alloc", "dynamic", "bytes",
                "complete", "reasons", "chain"])
    for f in _top(r.functions, top):
        w.writerow(["function", f.name, "0x%x" % f.rva, f.frame, f.pushes, f.alloc,
                    int(f.dynamic), "", "", "", ""])
    for p in _top(r.paths, top):
        w.writerow(["path", p.root, "", "", "", "", "", p.bytes, int(p.complete),
                    " ".join(p.reasons), " > ".join(p.chain)])
    return buf.getvalue()


RENDERERS: Dict[str, Callable[[FramesReport, Optional[int]], str]] = {
    "table": render_table, "markdown": render_markdown, "csv": render_csv,
    "json": render_json}
