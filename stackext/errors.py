"""The one error type stackext shows to users: a single line that says what and where.

Imports nothing from stackext.
"""

from __future__ import annotations


class StackextError(Exception):
    """A problem the user can act on. str(e) is one line; `where` is "file:line" when known."""

    def __init__(self, message: str, where: str = ""):
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        first = self.message.splitlines()[0] if self.message else "error"
        return "%s: %s" % (self.where, first) if self.where else first
