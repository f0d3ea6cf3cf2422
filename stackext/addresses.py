"""Addresses as WinDbg prints them and as JSON/CSV carry them: one formatter, one hex-string
writer, one parser of WinDbg's backticked hex. Imports nothing from stackext."""

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


def hex_or_none(value: Optional[int]) -> Optional[str]:
    """"0x..." as JSON and CSV carry an address (64-bit values do not survive doubles)."""
    return None if value is None else "0x%x" % value


def parse_hex(text: str) -> int:
    """A hex number as WinDbg prints it, backtick or not: fffff880`021748b0."""
    return int(text.replace("`", ""), 16)
