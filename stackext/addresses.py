"""Addresses as WinDbg prints them: the one formatting function. Imports nothing from stackext."""

from __future__ import annotations

from typing import Optional


def fmt_addr(value: Optional[int], ptr64: bool = True) -> str:
    """fffff880`021748b0 on 64-bit targets, 8 digits on 32-bit ones; "-" when unknown. A value
    above 32 bits is always printed in the 64-bit form."""
    if value is None:
        return "-"
    if not ptr64 and value <= 0xFFFFFFFF:
        return "%08x" % value
    text = "%016x" % value
    return text[:8] + "`" + text[8:]
