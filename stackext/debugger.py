"""The boundary every in-debugger command shares (`!py -m stackext.usage`, `!py -m
stackext.threads`): argparse that prints through the debugger and never exits, one-line errors,
no traceback into `!py`, Ctrl+Break (SystemExit("CTRL+BREAK")) caught.

Never imports pykd itself: the entries get a stackext.sources.pykd.adapter.Debugger (tests pass
one over a fake; by default Debugger.load() imports the real pykd), and output goes through it.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, List, Optional

from stackext.errors import StackextError
from stackext.sources.pykd import scrape
from stackext.sources.pykd.adapter import Debugger

Write = Callable[[str, bool], None]


class ParserExit(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class DebuggerParser(argparse.ArgumentParser):
    """argparse that prints through the debugger and never raises SystemExit (`!py` would
    swallow it silently, and Ctrl+Break also arrives as SystemExit)."""

    def __init__(self, write: Callable[[str], None], **kwargs):
        super().__init__(**kwargs)
        self._write = write

    def _print_message(self, message, file=None):  # noqa: ARG002 - argparse's signature
        if message:
            self._write(message.rstrip("\n"))

    def exit(self, status=0, message=None):
        if message:
            self._write(message.rstrip("\n"))
        raise ParserExit(status)


# dbgeng passes at most 16,383 characters of one output call (the rest, newline included, is
# dropped; DML is converted after the cut): a report goes out in pieces well under that.
OUTPUT_CHUNK = 8000


def chunks(text: str, limit: int = OUTPUT_CHUNK) -> List[str]:
    """`text` as pieces of whole lines, each at most `limit` characters (a single longer line,
    which no report has, is split at the limit)."""
    out: List[str] = []
    piece: List[str] = []
    size = 0
    for line in text.split("\n"):
        while len(line) > limit:
            out.extend(["\n".join(piece)] if piece else [])
            piece, size = [], 0
            out.append(line[:limit])
            line = line[limit:]
        if piece and size + 1 + len(line) > limit:
            out.append("\n".join(piece))
            piece, size = [], 0
        size += len(line) + (1 if piece else 0)
        piece.append(line)
    out.append("\n".join(piece))
    return out


def writer(dbg: Optional[Debugger]) -> Write:
    """Print through the debugger (pykd.dprintln, in pieces under the engine's limit); plain
    stdout when there is no pykd."""
    def write(text: str, dml: bool = False) -> None:
        if dbg is None:
            sys.stdout.write(text + "\n")
            return
        for piece in chunks(text, OUTPUT_CHUNK):
            dbg.output(piece, dml)
    return write


def run_command(argv: Optional[List[str]],
                build_parser: Callable[[Callable[[str], None]], argparse.ArgumentParser],
                run: Callable[[argparse.Namespace, Debugger, Write], int],
                debugger: Optional[Debugger] = None) -> int:
    """Parse and run once; an exit code (invisible inside WinDbg, useful to tests and
    scripts). Whatever happens, at most one line of error and never a traceback. Without
    `debugger`, the real pykd is loaded (its absence is reported after parsing, so -h works)."""
    missing: Optional[StackextError] = None
    if debugger is None:
        try:
            debugger = Debugger.load()
        except StackextError as exc:
            missing = exc
    write = writer(debugger)

    def error(message: str) -> None:
        write("stackext: " + message, False)

    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        try:
            args = build_parser(lambda text: write(text, False)).parse_args(argv)
        except ParserExit as e:
            return e.status
        if debugger is None:
            raise missing
        return run(args, debugger, write)
    except StackextError as e:
        error(str(e))
        return 2
    except SystemExit as e:  # Ctrl+Break arrives as SystemExit("CTRL+BREAK")
        error("interrupted (%s)" % (e.code if e.code is not None else "exit"))
        return 130
    except RecursionError:
        error("internal error: recursion too deep (please report it)")
        return 2
    except Exception as e:  # noqa: BLE001 - never a traceback inside the debugger
        if os.environ.get("STACKEXT_DEBUG"):
            raise
        text = str(e).strip().splitlines()
        error("internal error, please report it: %s: %s"
              % (type(e).__name__, text[0] if text else ""))
        return 2


def wants_dml(dbg: Debugger, chosen: Optional[bool], fmt: str) -> bool:
    """--dml / --no-dml when given; else the debugger's own `.prefer_dml` for a table (plain
    when it does not say: kd without DML gets clean text)."""
    if chosen is not None:
        return chosen
    return fmt == "table" and bool(scrape.prefer_dml(dbg.command_or_empty(".prefer_dml")))


def inside_debugger() -> bool:
    """True inside WinDbg/kd; False with pykd as a library or without pykd."""
    try:
        return Debugger.load().in_windbg()
    except Exception:  # noqa: BLE001 - no pykd, or pykd not initialized: not a debugger
        return False
