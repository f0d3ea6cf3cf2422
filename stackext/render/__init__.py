"""Renderers: each turns StackReports into a string. None of them prints or imports a source.

`render(reports, fmt, options)` picks one by name from FORMATS (no if/elif chain).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List

from stackext.model import StackReport


@dataclass
class RenderOptions:
    top: int = 5
    color: bool = False
    dml: bool = False
    markers: bool = False  # JSON between marker lines (inside a debugger, for kd -logo logs)
    functions: int = 10  # function rollup rows shown in text formats


def _formats() -> Dict[str, Callable[[List[StackReport], RenderOptions], str]]:
    from stackext.render import csv_, dml, json_, markdown, text

    return {
        "table": text.render,
        "json": json_.render,
        "csv": csv_.render,
        "markdown": markdown.render,
        "dml": dml.render,
    }


FORMAT_NAMES = ("table", "json", "csv", "markdown", "dml")


def render(reports: List[StackReport], fmt: str, options: RenderOptions = None) -> str:
    return _formats()[fmt](reports, options or RenderOptions())


def stream(reports, fmt: str, options: RenderOptions, write: Callable[[str], object]) -> int:
    """Render reports one at a time as they come (memory stays at one stack, whatever the
    input's size). Returns how many were written."""
    opts = options or RenderOptions()
    count = 0
    if fmt == "json":
        import json

        from stackext.render import json_

        write(json_.stream_begin(opts))
        for r in reports:
            write((",\n" if count else "\n") + "    " + json_.stack_json(r, "    "))
            count += 1
        write(json_.stream_end(opts, count))
        return count
    if fmt == "csv":
        from stackext.render import csv_

        first = True
        for r in reports:
            text = csv_.render([r], opts)
            write(text if first else text.split("\n", 1)[1])
            first = False
            count += 1
        if first:
            write(csv_.render([], opts))
        return count
    for r in reports:
        write(("\n" if count else "") + render([r], fmt, opts))
        count += 1
    return count
