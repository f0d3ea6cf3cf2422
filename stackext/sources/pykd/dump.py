"""Open a dump with pykd as a library (`python -m stackext.usage --dump PATH`): check the file,
load it, set the symbol path, .reload, and pick the user-mode thread to analyse.

Uses the adapter it is given; imports nothing from analyze/render. Errors become one-line
StackextErrors.
"""

from __future__ import annotations

import os
import re
import struct
from typing import Any, Optional

from stackext.errors import StackextError
from stackext.sources.pykd.adapter import Debugger, DebuggerError, boundary, first_line
from stackext.sources.pykd.scrape import current_thread as parse_current_thread
from stackext.sources.pykd.scrape import opened_dump as parse_opened_dump

# MINIDUMP_HEADER (minidumpapiset.h): Signature 'MDMP', Version, NumberOfStreams,
# StreamDirectoryRva, CheckSum, TimeDateStamp, Flags; then MINIDUMP_DIRECTORY entries of
# StreamType, DataSize, Rva (12 bytes each).
_MDMP = struct.Struct("<4sIIIIIQ")
_DIRECTORY = struct.Struct("<III")
# Kernel dumps open with "PAGEDUMP" (x86) or "PAGEDU64" (x64/ARM64); the header is one page (x86)
# or two (x64).
_KERNEL_MAGIC = {b"PAGEDUMP": 0x1000, b"PAGEDU64": 0x2000}

# A thread as --thread names it in user mode: ~N (the debugger's thread number, decimal as in
# WinDbg's `~2s`) or the OS thread id in hex as `~` prints it after the dot ("Id: 20.f8" -> f8).
_THREAD_INDEX = re.compile(r"^~(\d+)$")
_THREAD_ID = re.compile(r"^(?:0x)?([0-9a-f]{1,8})$", re.I)


def check_dump_file(path: str) -> str:
    """Refuse a missing, unreadable, truncated or non-dump file before the engine sees it: the
    real engine's loadDump *accepts* a truncated minidump and leaves a broken target behind
    (tests/realengine/FINDINGS.md). Returns "user" or "kernel"."""
    if not os.path.exists(path):
        raise StackextError("cannot open dump %s: no such file" % path)
    if os.path.isdir(path):
        raise StackextError("cannot open dump %s: it is a folder, not a dump file" % path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(_MDMP.size)
            if head[:4] == b"MDMP":
                _check_minidump(f, head, size, path)
                return "user"
    except OSError as exc:
        raise StackextError("cannot open dump %s: %s" % (path, exc.strerror or exc)) from None
    need = _KERNEL_MAGIC.get(head[:8])
    if need is None:
        raise StackextError("cannot open dump %s: not a Windows dump (no MDMP/PAGEDUMP "
                            "signature)" % path)
    if size < need:
        raise StackextError("cannot open dump %s: truncated (%d bytes, the header alone is %d)"
                            % (path, size, need))
    return "kernel"


def _check_minidump(f: Any, head: bytes, size: int, path: str) -> None:
    if len(head) < _MDMP.size:
        raise StackextError("cannot open dump %s: truncated minidump header" % path)
    _, _, count, rva, _, _, _ = _MDMP.unpack(head)
    if count == 0 or rva + count * _DIRECTORY.size > size:
        raise StackextError("cannot open dump %s: truncated or corrupt (its stream directory "
                            "lies beyond the end of the file)" % path)
    f.seek(rva)
    table = f.read(count * _DIRECTORY.size)
    for i in range(count):
        kind, length, at = _DIRECTORY.unpack_from(table, i * _DIRECTORY.size)
        if kind and at + length > size:
            raise StackextError("cannot open dump %s: truncated (stream %d needs %d bytes, the "
                                "file has %d)" % (path, kind, at + length, size))
        if kind in _MEMORY_LISTS:
            _check_memory(f, kind, at, length, size, path)


# Memory64ListStream (9): NumberOfMemoryRanges, BaseRva (u64 each), then StartOfMemoryRange and
# DataSize (u64 each) per range, the data back to back from BaseRva. MemoryListStream (5):
# NumberOfMemoryRanges (u32), then StartOfMemoryRange (u64), DataSize, Rva (u32) per range.
_MEMORY_LISTS = {9: (struct.Struct("<QQ"), struct.Struct("<QQ")),
                 5: (struct.Struct("<I"), struct.Struct("<QII"))}


def _check_memory(f: Any, kind: int, at: int, length: int, size: int, path: str) -> None:
    """Every memory range lies inside the file: a full-memory dump cut short still has a whole
    header and stream directory, and the engine would load it "successfully"."""
    head, entry = _MEMORY_LISTS[kind]
    f.seek(at)
    data = f.read(length)
    if len(data) < head.size:
        return
    fields = head.unpack_from(data)
    n = min(fields[0], (len(data) - head.size) // entry.size)
    end = fields[1] if kind == 9 else 0
    for i in range(n):
        rec = entry.unpack_from(data, head.size + i * entry.size)
        end = end + rec[1] if kind == 9 else max(end, rec[2] + rec[1])
    if end > size:
        raise StackextError("cannot open dump %s: truncated (its memory ranges need %d bytes, the "
                            "file has %d: %d bytes missing)" % (path, end, size, end - size))


def symbol_path(dump: str, symbols: Optional[str] = None) -> str:
    """--symbols (else _NT_SYMBOL_PATH), then the dump's own folder so PDBs next to it load."""
    parts = [symbols if symbols is not None else os.environ.get("_NT_SYMBOL_PATH", "")]
    parts.append(os.path.dirname(os.path.abspath(dump)))
    return ";".join(p for p in parts if p)


def open_dump(dbg: Debugger, path: str, symbols: Optional[str] = None) -> None:
    """loadDump + setSymbolPath + .reload. One line on any failure."""
    check_dump_file(path)
    with boundary("cannot open dump %s" % path):
        dbg.load_dump(path)
    with boundary("cannot load symbols for %s" % path, "check --symbols"):
        dbg.set_symbol_path(symbol_path(path, symbols))
        dbg.command(".reload")


def is_kernel(dbg: Debugger) -> bool:
    with boundary("cannot read the target"):
        return dbg.is_kernel()


def is_user_thread_spec(text: str) -> bool:
    return bool(_THREAD_INDEX.match(text or ""))


def select_user_thread(dbg: Debugger, spec: str) -> None:
    """Make the user-mode thread `spec` (~N or a hex thread id) current: used only on a dump
    stackext opened itself, so nothing has to be put back."""
    m = _THREAD_INDEX.match(spec.strip())
    if m:
        cmd, what = "~%ss" % m.group(1), "thread ~%s" % m.group(1)
    else:
        t = _THREAD_ID.match(spec.strip())
        if not t:
            raise StackextError("--thread %s: give ~N (the debugger's thread number) or the "
                                "thread id in hex as `~` shows it" % spec)
        cmd, what = "~~[%s]s" % t.group(1), "thread id %s" % t.group(1)
    try:
        dbg.command(cmd)
    except DebuggerError as exc:
        # The real engine: `~7s` and `~~[999]s` raise "Call IDebugControl::ExecuteWide failed".
        raise StackextError("no %s in this dump (%s); list them with `~` in WinDbg"
                            % (what, first_line(exc))) from None


def current_thread(dbg: Debugger) -> Optional[str]:
    """"~2 (Id 20.f8)" for the current user-mode thread, None when the engine does not say."""
    try:
        return parse_current_thread(dbg.command("~."))
    except DebuggerError:
        return None


def opened_dump(dbg: Debugger) -> Optional[str]:
    """The file of the dump the debugger has open, from `||` (pykd has no API for it); None on a
    live target or when the engine does not say."""
    try:
        if not dbg.is_dump():
            return None
        return parse_opened_dump(dbg.command("||"))
    except DebuggerError:
        return None
