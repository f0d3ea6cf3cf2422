"""The one error type stackext shows to users: a single line that says what and where.

Imports nothing from stackext.
"""

from __future__ import annotations

import os
from typing import Callable, TextIO


class StackextError(Exception):
    """A problem the user can act on. str(e) is one line; `where` is "file:line" when known."""

    def __init__(self, message: str, where: str = ""):
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        first = self.message.splitlines()[0] if self.message else "error"
        return "%s: %s" % (self.where, first) if self.where else first


def run_guarded(run: Callable[[], int], err: TextIO) -> int:
    """A console command's boundary: its exit status, and at most one line on `err` whatever
    happens (STACKEXT_DEBUG=1 shows the traceback of an internal error)."""
    try:
        return run()
    except StackextError as e:
        err.write("stackext: %s\n" % e)
        return 2
    except KeyboardInterrupt:
        err.write("stackext: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # never a traceback for a user
        if os.environ.get("STACKEXT_DEBUG"):
            raise
        err.write("stackext: internal error, please report it: %s: %s\n"
                  % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
        return 2


def open_output(path: str) -> TextIO:
    """A report file to write (UTF-8, LF), or one line saying why it cannot be."""
    try:
        return open(path, "w", encoding="utf-8", newline="\n")
    except OSError as e:
        raise StackextError("cannot write the report: %s" % (e.strerror or e), path) from None
