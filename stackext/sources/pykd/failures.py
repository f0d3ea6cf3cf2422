"""What the pykd adapter answers besides plain values: its errors (every pykd exception becomes a
DebuggerError), the boundary that turns one into a user's one-line error, and a walked frame.
Names no pykd API; stackext.sources.pykd.adapter re-exports these names.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Optional

from stackext.errors import StackextError


class DebuggerError(StackextError):
    """A pykd call failed (pykd.DbgException and its subclasses); str() is its first line."""


class SymbolError(DebuggerError):
    """No symbols or type information for what was asked (pykd.SymbolException)."""


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def boundary(what: str, advice: str = "") -> Iterator[None]:
    """Turn a DebuggerError into one StackextError line that says what was being done."""
    try:
        yield
    except DebuggerError as exc:
        tail = " (%s)" % advice if advice else ""
        raise StackextError("%s: %s%s" % (what, first_line(exc), tail)) from None


@dataclass
class RawFrame:
    """One getStack entry; list index = WinDbg frame number (pykd has no frameNumber)."""
    ip: int
    sp: Optional[int]  # Child-SP (x64/ARM64 stackOffset, x86 ChildEBP frameOffset); None inline
    ret: Optional[int]  # None on an inline frame (WinDbg prints dashes there)
    inline: bool
    symbol: str  # findSymbol text: `mod!fn+54`, `mod+1684`, or bare hex without a module
