"""The implicit thread and process, and the frame scope: `--thread` switches them, and
everything changed is put back as it was found, also on errors and Ctrl+Break.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, List, Optional, Tuple

from stackext.addresses import fmt_addr
from stackext.sources.pykd.adapter import Debugger, DebuggerError, boundary


@contextlib.contextmanager
def switched_thread(dbg: Debugger, thread: Optional[int]) -> Iterator[List[str]]:
    """Make `thread` (an ETHREAD/KTHREAD address) current for the body; restore exactly what
    changed: implicit thread, implicit process, current frame, and check the register context.
    Yields a list the body may append warnings to."""
    notes: List[str] = []
    if thread is None:
        yield notes
        return
    with boundary("cannot read the current thread"):
        saved = (dbg.implicit_thread(), dbg.implicit_process(), dbg.frame_number(), dbg.sp())
    if thread == saved[0]:
        yield notes
        return
    try:
        with boundary("cannot switch to thread %s" % fmt_addr(thread),
                      "is it an ETHREAD/KTHREAD address? try !thread %x" % thread):
            dbg.set_implicit_thread(thread)
        yield notes
    finally:
        _restore(dbg, saved, notes)


def _restore(dbg: Debugger, saved: Tuple[int, int, int, int], notes: List[str]) -> None:
    thread, process, frame, sp = saved
    # Each step on its own: one failing (or a Ctrl+Break) must not skip the others.
    steps = (
        (lambda: dbg.implicit_thread() != thread, lambda: dbg.set_implicit_thread(thread)),
        (lambda: dbg.implicit_process() != process, lambda: dbg.set_implicit_process(process)),
        (lambda: dbg.frame_number() != frame, lambda: dbg.set_frame(frame)),
    )
    pending: Optional[BaseException] = None
    for changed, undo in steps:
        try:
            if changed():
                undo()
        except BaseException as exc:  # noqa: BLE001 - finish restoring, then re-raise
            pending = pending or exc
    try:
        if dbg.sp() != sp:
            notes.append("the register context changed (.cxr/.trap context lost): run your "
                         ".cxr/.trap again")
    except BaseException as exc:  # noqa: BLE001
        pending = pending or exc
    if pending is not None and not isinstance(pending, DebuggerError):
        raise pending


# -- the target -------------------------------------------------------------------------------
