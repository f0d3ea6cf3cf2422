"""Renderers: each turns StackReports into a string. None of them prints or imports a source.

`render(reports, fmt, options)` picks one by name from FORMATS (no if/elif chain).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Callable, Dict, Iterable, List, Optional

from stackext.model import StackReport


@dataclass
class RenderOptions:
    top: int = 5
    dml: bool = False
    markers: bool = False  # JSON between marker lines (inside a debugger, for kd -logo logs)
    functions: int = 10  # function rollup rows shown in text formats


def _formats() -> Dict[str, ModuleType]:
    """Each format is a module with begin(opts), one(report, opts, position), end(opts, count)."""
    from stackext.render import csv_, dml, html, json_, jsonl, markdown, text

    return {"table": text, "json": json_, "csv": csv_, "markdown": markdown, "dml": dml,
            "html": html, "jsonl": jsonl}


FORMAT_NAMES = ("table", "json", "csv", "markdown", "dml", "html", "jsonl")


def stream(reports: Iterable[StackReport], fmt: str, options: Optional[RenderOptions],
           write: Callable[[str], object]) -> int:
    """Render reports one at a time as they come (memory stays at one stack, whatever the
    input's size). Returns how many were written."""
    opts = options or RenderOptions()
    fmt_module = _formats()[fmt]
    write(fmt_module.begin(opts))
    count = 0
    for r in reports:
        write(fmt_module.one(r, opts, count))
        count += 1
    write(fmt_module.end(opts, count))
    return count


def render(reports: List[StackReport], fmt: str, options: Optional[RenderOptions] = None) -> str:
    parts: List[str] = []
    stream(reports, fmt, options, parts.append)
    return "".join(parts)


def no_text(*_args) -> str:
    """begin/end of the formats that have no header or footer."""
    return ""


def one_block(render_one: Callable[[StackReport, RenderOptions], str]):
    """`one` for the formats that print a block per stack, a blank line between."""
    def one(r: StackReport, opts: RenderOptions, position: int) -> str:
        return ("\n" if position else "") + render_one(r, opts) + "\n"
    return one
