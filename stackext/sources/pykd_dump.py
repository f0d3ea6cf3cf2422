"""Open a dump with pykd as a library (`python -m stackext.usage --dump PATH`): check the file,
load it, set the symbol path, .reload, and pick the user-mode thread to analyse.

Uses pykd only through the module that stackext.sources.pykd_source.load_pykd returns; imports
nothing from analyze/render. Errors become one-line StackextErrors.
"""

from __future__ import annotations

import os
import re
import struct
from typing import Any, Optional

from stackext.errors import StackextError
from stackext.sources.pykd_source import boundary, first_line, load_pykd

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
# `~.` on the real engine:  ".  2  Id: 20.f8 Suspend: 0 Teb: 00000000`67fc0000 Unfrozen"
_CURRENT_THREAD = re.compile(r"^[.#]?\s*(?P<n>\d+)\s+Id:\s*(?P<pid>[0-9a-f]+)\.(?P<tid>[0-9a-f]+)",
                             re.I)


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


def symbol_path(dump: str, symbols: Optional[str] = None) -> str:
    """--symbols (else _NT_SYMBOL_PATH), then the dump's own folder so PDBs next to it load."""
    parts = [symbols if symbols is not None else os.environ.get("_NT_SYMBOL_PATH", "")]
    parts.append(os.path.dirname(os.path.abspath(dump)))
    return ";".join(p for p in parts if p)


def open_dump(path: str, symbols: Optional[str] = None) -> None:
    """loadDump + setSymbolPath + .reload. One line on any failure."""
    check_dump_file(path)
    pykd = load_pykd()
    with boundary(pykd, "cannot open dump %s" % path):
        pykd.loadDump(path)
    with boundary(pykd, "cannot load symbols for %s" % path, "check --symbols"):
        pykd.setSymbolPath(symbol_path(path, symbols))
        pykd.dbgCommand(".reload")


def is_kernel() -> bool:
    pykd = load_pykd()
    with boundary(pykd, "cannot read the target"):
        return bool(pykd.isKernelDebugging())


def is_user_thread_spec(text: str) -> bool:
    return bool(_THREAD_INDEX.match(text or ""))


def select_user_thread(spec: str) -> None:
    """Make the user-mode thread `spec` (~N or a hex thread id) current: used only on a dump
    stackext opened itself, so nothing has to be put back."""
    pykd = load_pykd()
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
        pykd.dbgCommand(cmd)
    except pykd.DbgException as exc:
        # The real engine: `~7s` and `~~[999]s` raise "Call IDebugControl::ExecuteWide failed".
        raise StackextError("no %s in this dump (%s); list them with `~` in WinDbg"
                            % (what, first_line(exc))) from None


def current_thread() -> Optional[str]:
    """"~2 (Id 20.f8)" for the current user-mode thread, None when the engine does not say."""
    m = _current()
    return None if m is None else "~%s (Id %s.%s)" % (m.group("n"), m.group("pid"), m.group("tid"))


def current_thread_id() -> Optional[int]:
    m = _current()
    return None if m is None else int(m.group("tid"), 16)


def _current() -> Any:
    pykd = load_pykd()
    try:
        text = pykd.dbgCommand("~.") or ""
    except pykd.DbgException:
        return None
    for line in text.splitlines():
        m = _CURRENT_THREAD.match(line.strip())
        if m:
            return m
    return None
