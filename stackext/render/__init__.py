"""Renderers: each turns StackReports into strings. None of them prints or imports a source.

FORMATS is the registry: a format name and the module that writes it. A module is imported
when its format is first asked for, so an in-debugger run (a fresh interpreter each `!py`)
pays only for the renderer it uses (tabulate alone costs ~26 ms to import).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Callable, Iterable, List, Optional

from stackext.model import StackReport
from stackext.render.base import RenderOptions

FORMATS = {
    "table": "stackext.render.text",
    "json": "stackext.render.json_",
    "csv": "stackext.render.csv_",
    "markdown": "stackext.render.markdown",
    "dml": "stackext.render.dml",
    "html": "stackext.render.html",
    "jsonl": "stackext.render.jsonl",
}
FORMAT_NAMES = tuple(FORMATS)
# Formats that print frames only: no module/function totals, no cycles (AnalysisOptions.totals)
FRAMES_ONLY = frozenset({"csv"})


def renderer(fmt: str) -> ModuleType:
    return importlib.import_module(FORMATS[fmt])


def stream(reports: Iterable[StackReport], fmt: str, options: Optional[RenderOptions],
           write: Callable[[str], object]) -> int:
    """Render reports one at a time as they come (memory stays at one stack, whatever the
    input's size). Returns how many were written."""
    opts = options or RenderOptions()
    module = renderer(fmt)
    write(module.begin(opts))
    if hasattr(module, "summary_line"):
        count = _spooled(reports, module, opts, write)
    else:
        count = 0
        for r in reports:
            write(module.one(r, opts, count))
            count += 1
    write(module.end(opts, count))
    return count


SPOOL_IN_MEMORY = 4 << 20  # a bigger report goes to a temporary file


def _spooled(reports: Iterable[StackReport], module: ModuleType, opts: RenderOptions,
             write: Callable[[str], object]) -> int:
    """A format that opens with one line per stack (the summary): each stack's block goes to a
    spool as it comes, only its summary line is kept, so memory stays flat; then the summary,
    then the blocks."""
    # start-up: tempfile (with shutil, random, bz2, lzma) costs ~4 ms to import, and only a
    # stream of stacks spools; an in-debugger run renders its one report with render()
    import tempfile

    lines: List[str] = []
    count = 0
    with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY, "w+", encoding="utf-8") as spool:
        for r in reports:
            lines.append(module.summary_line(r))
            spool.write(module.one(r, opts, count))
            count += 1
        write(module.summary(lines, opts))
        spool.seek(0)
        for chunk in iter(lambda: spool.read(1 << 16), ""):
            write(chunk)
    return count


def render(reports: List[StackReport], fmt: str, options: Optional[RenderOptions] = None) -> str:
    """The reports (in memory already) as one string: what stream() writes, without a spool."""
    parts: List[str] = []
    module = renderer(fmt)
    if not hasattr(module, "summary_line"):
        stream(reports, fmt, options, parts.append)
        return "".join(parts)
    opts = options or RenderOptions()
    lines = []
    for count, r in enumerate(reports):
        lines.append(module.summary_line(r))
        parts.append(module.one(r, opts, count))
    return "".join([module.begin(opts), module.summary(lines, opts)] + parts
                   + [module.end(opts, len(reports))])


__all__ = ["FORMATS", "FORMAT_NAMES", "FRAMES_ONLY", "RenderOptions", "render", "renderer",
           "stream"]
