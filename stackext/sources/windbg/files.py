"""The log files the reader reads: a path ("-" for stdin) as lines, its encoding told.

Imports stackext.errors and this package's lines and reader.
"""

from __future__ import annotations

import sys
from typing import Iterator

from stackext.errors import StackextError
from stackext.sources.windbg import lines as L
from stackext.sources.windbg.lines import Item
from stackext.sources.windbg.reader import read_stacks


def read_file(path: str, threads_without_stack: bool = False,
              skipped: bool = False) -> Iterator[Item]:
    """Stacks from a file ("-" is stdin), streamed; StackextError on unreadable input. The
    flags: read_stacks'."""
    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            raw = getattr(sys.stdin, "buffer", None)
            stream = L.text_of(raw) if raw is not None else sys.stdin
            yield from read_stacks(L.bounded_lines(stream), name, threads_without_stack, skipped)
            return
        with open(path, "rb") as raw, L.text_of(raw) as text:
            yield from read_stacks(L.bounded_lines(text), name, threads_without_stack, skipped)
    except OSError as e:
        raise StackextError("cannot read the log: %s" % (e.strerror or e), where=name) from None
