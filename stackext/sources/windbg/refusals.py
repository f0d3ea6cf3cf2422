"""Why a stack in a log cannot be read, by the first line that shows it: no Child-SP column
(x64 kb of recent WinDbg, kc), rows run together on one line, a STACK_TEXT of call sites only,
SOS !dumpstack's slot scan. The reader says it in one line when no stack at all was found, in
one note otherwise. Imports the line helpers only.
"""

from __future__ import annotations

import re
from typing import Iterator, Optional, Tuple

from stackext.errors import StackextError
from stackext.sources.windbg.lines import ROW_TEXT, Skipped

# x64 kb in recent WinDbg has no Child-SP column, kc has nothing but the call sites:
# " # RetAddr               : Args to Child                                      : Call Site"
# " #  Call Site", and k's "RetAddr               Call Site" where it prints no Child-SP
NO_SP_HEADER_RE = re.compile(
    r"^(?:#?\s*RetAddr\s+(?::\s*Args to Child\s*:\s*)?Call Site|#\s*Call Site\s*$)", re.I)
# A row of that layout (x64 kb without its header, as people paste it; a mail list may wrap it
# after the arguments):
# 00 fffff805`8d0a04e9     : 00000000`0000000a 00000000`00000008 ... : nt!KeBugCheckEx
# 03 (Inline Function)     : --------`-------- ... : NetEbpfExt!RemoveEntryList+0x3
NO_SP_ROW_RE = re.compile(
    r"^(?:[0-9a-fA-F]{2,4}\s+)?(?:[0-9a-fA-F]{8}`[0-9a-fA-F]{8}|\(Inline Function\))\s+:\s*"
    r"(?:[0-9a-fA-F-]{8}`[0-9a-fA-F-]{8}(?:\s+|$)){1,4}(?::\s*\S|$)")
# A stack whose rows run together on one line (a PDF's or a web page's text layer):
# "... 0: kd> k L=0012f968 ChildEBP RetAddr 0012f930 00469a16 processA!LPtoDP+0x19 0012f968 ...",
# "...looks like this:STACK_TEXT: 9444f6b4 828ba08c 0000008e 80000003 92c70a78 nt!KeBugCheckEx ..."
JOINED_ROWS_RE = re.compile(
    r"\b(?:(?:ChildEBP|Child-SP)\s+RetAddr\b|STACK_TEXT:).*?"
    r"(?:(?:[0-9a-fA-F`]{8,17}\s+){2,6}[\w.$@?~]+![^\s!]+\s+){3}")
# ...and under the header line: "9444f6b4 828ba08c 0000008e ... nt!KeBugCheckEx+0x1e 9444fadc ..."
JOINED_BARE_RE = re.compile(r"^(?:" + ROW_TEXT + r"[^\s!]+(?:\s+|$)){3}")
# Why no stack could be read, by the first line that shows it (read_stacks says it when no
# stack at all was found)
REFUSALS = {
    "no-sp": "this stack has no Child-SP column (x64 kb of recent WinDbg and kc print none): "
             "run kf, kn or kv, which print Child-SP",
    "joined": "the rows of this stack run together on one line (a PDF's or a web page's text): "
              "put each row on a line of its own",
    "call-sites": "this STACK_TEXT shows call sites only (copied without its Child-SP and "
                  "RetAddr columns): copy !analyze -v's rows whole",
    "return-only": "these rows show return addresses and functions but no stack pointers (a "
                   "logged trace, such as !verifier's): no frame size can be known from them",
    "named-only": "these lines name functions but show no stack pointers (kc, !stacks, dx's "
                  "Stack.Frames, a list of call sites): no frame size can be known; run kf, kn "
                  "or kv, which print Child-SP",
    "slot-scan": "this is SOS !dumpstack: it lists every stack slot that holds a return "
                 "address, stale ones too, so the distances between its rows are no frame "
                 "sizes: run k",
}
# SOS !dumpstack's header: "Child-SP         RetAddr          Caller, Callee"; its x86 rows
# after `!dumpstack -ee` have none: "0faaf1cc 080bfa96 (MethodDesc 080d0970 +0x6 ...)"
SLOT_SCAN_HEADER_RE = re.compile(r"^Child-SP\s+RetAddr\s+Caller,\s*Callee\b")
SLOT_SCAN_COMMANDS = frozenset(("!dumpstack", "!sos.dumpstack"))
# A function as a row names it: "FLTMGR!FltpDoUnloadFilter+0xa3"
SITE = r"[\w.$~-]+![^\s!]+"
# The first line under a STACK_TEXT: label that is a bare call site (a copy that kept only the
# last column): "watchdog!WdpDbgCaptureTriageDump+0xe6", "0x00007ffc`9e093f04"
CALL_SITE_ONLY_RE = re.compile(r"^(?:" + SITE + r"|0x[0-9a-fA-F`]+)$")
# A return address and its function, no stack pointer: the stack traces !verifier (forced pending,
# the IRP log) and !htrace keep, "     817b21e4 nt!IovpLocalCompletionRoutine+0xb2"
RETURN_ONLY_RE = re.compile(r"^[0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?\s+" + SITE + "$")


# A line that names a function and shows no stack pointer: kc's "00 ntdll!ZwWaitForSingleObject",
# !stacks' "b0.0000a8  82723b70  Blocked    ntoskrnl!_KiSystemService+0xc4", dx's
# "[0x1]            : nt!KdCheckForDebugBreak + 0x7a006", a kv cut to "RetAddr : call site", a
# STACK_TEXT without its first two columns (": args : nt!KeBugCheckEx+0x107"), a bare call site
NAMED_RE = re.compile(
    r"^(?:[0-9a-fA-F]{1,4}\s+|[0-9a-fA-F]+\.[0-9a-fA-F]+\s+[0-9a-fA-F]{8,16}\s+\w+\s+|"
    r"\[0x[0-9a-fA-F]+\]\s*:\s*|[0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?\s*:\s*|"
    r":\s*(?:[0-9a-fA-F]{8}`[0-9a-fA-F]{8}\s+){1,4}:\s*)?" + SITE + r"(?:\s*\+\s*0x[0-9a-fA-F]+)?$")


class NamedRun:
    """Three lines in a row that name functions without a stack pointer (NAMED_RE): a listing no
    size can come from, refused at its first line."""

    def __init__(self) -> None:
        self.first = self.last = -1

    def see(self, text: str, n: int, thread_block: bool) -> Optional[Tuple[int, str]]:
        """(the run's first line, "named-only") at its third line; not under a !thread block
        (whose note says it printed no rows with stack pointers)."""
        if thread_block or not NAMED_RE.match(text):
            return None
        if n != self.last + 1:
            self.first = n
        self.last = n
        return (self.first, "named-only") if n - self.first == 2 else None


def refusal(text: str, n: int, stacktext_start: bool = False,
            among_rows: bool = False) -> Optional[Tuple[int, str]]:
    """(n, a REFUSALS key) for a line that shows why its stack cannot be read, else None.
    `stacktext_start`: the line is the first under a STACK_TEXT: label; `among_rows`: rows of
    a listing come before it (a row that lost its Child-SP there is a hole, not a trace)."""
    if NO_SP_ROW_RE.match(text):
        return n, "no-sp"
    if stacktext_start and CALL_SITE_ONLY_RE.match(text):
        return n, "call-sites"
    if not among_rows and RETURN_ONLY_RE.match(text):
        return n, "return-only"
    if JOINED_BARE_RE.match(text) or len(text) > 200 and JOINED_ROWS_RE.search(text):
        return n, "joined"
    return None


def said(refused: Optional[Tuple[int, str]], found: bool, name: str,
         skipped: bool) -> Iterator[Skipped]:
    """The first line no size could come from (refused: line, REFUSALS key): a one-line error
    when the log held no stack, else a Skipped note (when the caller takes them)."""
    if refused is None:
        return
    line, why = refused
    if not found:
        raise StackextError(REFUSALS[why], where="%s:%d" % (name, line))
    if skipped:
        yield Skipped("%s:%d" % (name, line), REFUSALS[why])
