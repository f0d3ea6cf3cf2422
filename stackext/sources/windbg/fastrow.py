"""The reader's fast path for the most common line of a big log: a plain x64 row with
Child-SP, RetAddr, four "Args to Child" and a `module!function+0xoff` call site.

For such a line every step of the full path (pasted text, dps and frame-note capture, line
cleaning, the dispatcher's cascade, ROW_RE, the call-site parser) is known to give one answer:
the Frame built here. Any other line, or any reader state in which a step could answer
otherwise, is left to the reader and takes the full path. tests/test_fast_path.py runs both
paths on every log we keep and compares the output byte for byte.

Imports the reader's helpers, stackext.model and the switch (stackext.fastpath) only.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator, List, Tuple

from stackext import fastpath
from stackext.model import Frame
from stackext.sources.windbg import lines as L
from stackext.sources.windbg.rows import Row, _leading
from stackext.sources.windbg.stack import MAX_FRAMES

# STACK_TEXT / !thread / kv rows (the number only under a "#" header):
# ffffed0e`e77dcd48 fffff802`0442bfa9     : 00000000`0000000a ffff8009`1002ac08 00000000`00000002
#  00000000`00000001 : nt!KeBugCheckEx          (one line in the log)
# 05 ffffed0e`e77dd390 fffff802`084660ee : ... : Ntfs!GetIndexBuffer+0x6f
# (a number of 8 or more digits reads as an address there: such a row takes the full path)
# The call site's characters leave out all that would make the full path read it otherwise:
# blanks, ( [ < / (annotations, source tails, comments, parameter lists), > (a prompt), * | `.
# A source tail is read as the full path reads it: " [c:\src\driver.c @ 21]".
HEX16 = r"[0-9a-fA-F]{8}`[0-9a-fA-F]{8}"
# One group per address and one for the four arguments (a group costs the match more than
# the int() of its text saves); a row with its frame number has the number's group filled in,
# a plain one an empty group in its place (the two share the other groups' numbers).
_ROW = ("(" + HEX16 + ") +(" + HEX16 + r") +: (" + HEX16 + " +" + HEX16 + " +" + HEX16 + " +"
        + HEX16 + r") +: "
        r"([A-Za-z0-9_.$@?~]+)!([A-Za-z0-9_.$@?~:]+)(?:\+0x([0-9a-fA-F]{1,16}))?"
        r"(?: +\[([A-Za-z0-9_.:\\ -]+) @ ([0-9]{1,9})\])? *\r?\n?\Z")
FAST_ROW_RE = re.compile(r"([0-9a-fA-F]{1,7}) +" + _ROW)  # "05 ffffed0e`e77dd390 ..."
PLAIN_ROW_RE = re.compile("()" + _ROW)  # the SP's backtick at [8]: no number can come first
_match = FAST_ROW_RE.match
_plain = PLAIN_ROW_RE.match
_MAX_LINE = L.MAX_LINE


def left(reader, paste, dps, notes, lines: Iterable[str]) -> Iterator[Tuple[int, str, Any]]:
    """The log's lines (numbered from 1) but the fast rows this loop takes whole, each as (line
    number, line, items): items are what a fast row that is not the next frame of the open
    listing ends (a list, usually empty), None for a line the fast path leaves to the reader.
    Most rows of a big log never leave this loop (no call per row)."""
    match, plain = _match, _plain
    fresh = True  # the reader's state is to be read again (it may change at each yield)
    quiet = False  # ...no step of the full path is in a state that reads a row otherwise
    stack = None
    frames = None  # the open listing's frames while it takes an unnumbered row as it comes
    for n, raw in enumerate(lines, 1):
        m = None if len(raw) > _MAX_LINE else plain(raw) if raw[8:9] == "`" else match(raw)
        if m is not None and fresh:
            quiet = fastpath.ENABLED and not (
                reader.skip_rows or reader.json.open or paste.mex or paste.held is not None
                or paste.numbered is not None
                or dps.rows is not None
                or notes.kind is not None or reader.retired)
            stack = reader.stack
            frames = stack.taking_unnumbered() if quiet and stack is not None else None
            fresh = False
        if m is None or not quiet:
            fresh = True
            for line in paste.rejoin(n, raw):  # (a row wrapped in two comes out whole)
                yield line[0], line[1], None
            continue
        num, sp, ret, args, module, function, off, src, src_line = m.groups()
        number, memory = (None, None) if not num else _leading(None, num, reader.layout)
        # The dataclass's own __init__, positional (its fields' order): its instances share one
        # key table (a frame built from a plain dict costs 2.5 times the memory, which a table
        # of a big log holds for every frame).
        frame = Frame(number if number is not None else -1, int(sp.replace("`", ""), 16),
                      int(ret.replace("`", ""), 16),
                      raw[m.start(5):m.end(7 if off is not None else 6)], module, function,
                      int(off, 16) if off is not None else 0, False, None,
                      args,  # four words, read when Frame.args is first read (hex_words)
                      None if src is None else src.strip(),
                      None if src_line is None else int(src_line), memory, None, None, None, n)
        if frames is not None and number is None and len(frames) < MAX_FRAMES:
            frame.index = len(frames)  # what append_next does for this row
            frames.append(frame)
            continue
        if stack is not None and stack.append_next(frame, number is not None):
            continue
        fresh = True
        out: List = []
        reader._add_row(n, Row(frame, number is not None, 16), out)
        yield n, raw, out
    for line in paste.flush():
        yield line[0], line[1], None


