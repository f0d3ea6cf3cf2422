"""The register context a stack is walked in: the faulting context a bugcheck carries (0x7E's
CONTEXT record, 0x8E's trap frame: `.cxr`/`.trap`, as !analyze does) or the overflowed thread's
trap frame after a double fault. A context the user set (`.cxr`/`.trap` before running stackext)
wins and stays in place; one stackext sets is reset afterwards, with the user's `.frame`.

Goes through the adapter only; state it changes is put back in try/finally.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, List, Optional, Tuple

from stackext import knowledge as K
from stackext.addresses import fmt_addr
from stackext.model import Bugcheck
from stackext.sources.pykd import scrape
from stackext.sources.pykd.adapter import Debugger, DebuggerError, first_line

_SP = {"x64": "rsp", "x86": "esp", "arm64": "sp"}


def bugcheck_context(bc: Optional[Bugcheck]) -> Optional[Tuple[str, int]]:
    """("`.cxr`" or "`.trap`", address) of the faulting context the bugcheck carries."""
    if bc is None or bc.code not in K.BUGCHECK_CONTEXT:
        return None
    index, command = K.BUGCHECK_CONTEXT[bc.code]
    addr = bc.args[index] if len(bc.args) > index else None
    return (command, addr) if addr else None


def thread_exception(dbg: Debugger) -> Optional[int]:
    """The exception code of the dump's last event when it happened on the current user-mode
    thread (`.lastevent`'s pid.tid is `~.`'s); None otherwise or when the engine cannot say."""
    try:
        event = scrape.last_event(dbg.command(".lastevent"))
        if event is None:
            return None
        return event[2] if scrape.current_thread_ids(dbg.command("~.")) == event[:2] else None
    except DebuggerError:
        return None


def exception_context(code: Optional[int]) -> Optional[Tuple[str, Optional[int]]]:
    """`.ecxr` for a stack overflow: its stack is the one that overflowed (as !analyze does);
    the current context is the handler's, on what was left of the stack."""
    return (".ecxr", None) if code == K.STATUS_STACK_OVERFLOW else None


def user_context(dbg: Debugger, arch: str) -> bool:
    """Did the user set a context (.cxr/.trap/.frame /c) before running stackext?"""
    try:
        return dbg.context_is_set(_SP.get(arch, "rsp"))
    except DebuggerError:
        return False


@contextlib.contextmanager
def switched_context(dbg: Debugger, want: Optional[Tuple[str, Optional[int]]], notes: List[str],
                     ptr64: bool = True) -> Iterator[bool]:
    """Walk in `want`'s context for the body, then reset it and put the user's `.frame` back.
    Yields whether the switch happened (a failed `.cxr` is a note, and the default context is
    walked)."""
    if want is None:
        yield False
        return
    command, addr = want
    try:
        frame = dbg.frame_number()
        dbg.set_context(command, addr)
    except DebuggerError as exc:
        notes.append("cannot switch to the faulting context (`%s`: %s): the default context "
                     "is analysed" % (show_context(want, ptr64), first_line(exc)))
        yield False
        return
    try:
        yield True
    finally:
        _put_back(dbg, frame)


def show_context(want: Tuple[str, Optional[int]], ptr64: bool) -> str:
    """`.cxr fffff880`0b9c1000` / `.ecxr`, as the user would type it."""
    command, addr = want
    return command if addr is None else "%s %s" % (command, fmt_addr(addr, ptr64))


def _put_back(dbg: Debugger, frame: int) -> None:
    pending: Optional[BaseException] = None
    for step in (dbg.reset_context, lambda: frame and dbg.set_frame(frame)):
        try:
            step()
        except DebuggerError:
            continue
        except BaseException as exc:  # noqa: BLE001 - finish restoring, then re-raise
            pending = pending or exc
    if pending is not None:
        raise pending
