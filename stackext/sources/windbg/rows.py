"""One WinDbg stack row in, one Frame out: the column header and the k/kn/kb/kv/kf/!thread/
STACK_TEXT rows under it.

Pure and stateless; imports stackext.model, the symbol parser, the line helpers and the call
site's cleaning (stackext.sources.windbg.callsite).
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

from stackext.model import Frame
from stackext.sources.windbg.callsite import clean_call_site
from stackext.sources.windbg.lines import ADDR, HEX_WORD, ROW_TEXT, to_int
from stackext.symbols import split_call_site

# The placeholder of an inline row: --------`-------- (x64) or -------- (x86).
DASHES = r"--------(?:`--------)?(?![-`])"

# knf, # then Memory: 01       40 00000000`0015ef10 00000000`77711a17     ntdll!Ldrp...
# knf row 0, no Memory: 00         0000001d`240feb98 00007ffe`b622d831     win32u!...
# x86 kb, no #:    a6c4a878 82a48bf8 00000000 ffff8888 00000000 nt!MmAccessFault+0x104
# inline, k:       04 (Inline Function) --------`--------     nt!KiExpireTimerTable+0x9d
# inline, x86 kb:  10 (Inline) -------- -------- -------- -------- WindowDemo!invoke_main+0x1a
# The lazy ?? groups take the fewest leading numbers, so an x86 row never loses its ChildEBP.
ROW_RE = re.compile(
    r"^(?:(?P<a>[0-9a-fA-F]{1,16})\s+)??(?:(?P<b>[0-9a-fA-F]{1,16})\s+)??"
    r"(?:(?P<sp>" + ADDR + r")|(?P<inl>\(Inline(?: Function)?\)))\s+"
    r"(?P<ret>" + ADDR + "|" + DASHES + r")(?:\s+(?P<rest>.*))?$"
)
# The start of an x64 row with its Child-SP and RetAddr, the most common line of a big log:
# ffffed0e`e77dcd48 fffff802`0442bfa9     : 00000000`0000000a ... : nt!KeBugCheckEx
# 01       40 00000000`0015ef10 00000000`77711a17     ntdll!LdrpDoDebuggerBreak+0x30
# No other line the reader knows starts like this: the reader tries it as a row first.
SP_ROW_RE = re.compile(
    r"(?:[0-9a-fA-F]{1,16}\s+){0,2}[0-9a-fA-F]{8}`[0-9a-fA-F]{8}\s+[0-9a-fA-F]{8}`[0-9a-fA-F]{8}\s"
)
# The start of a row that was cut off (fixture 202 ends with it):
# 0c        30 ffff8402`8b90a3c0 ff
ROW_START_RE = re.compile(
    r"^(?:[0-9a-fA-F]{1,16}\s+){0,2}(?:[0-9a-fA-F]{8}`|[0-9a-fA-F]{8}(?:[0-9a-fA-F]{8})?\b|\(Inl)"
)
# x86 kb "Args to Child" cells: a6c4a90c 8fc4f637 8aab0000 ffff8888 0000c5e4 nt!memcpy+0x33
X86_ARG_RE = re.compile(r"(?:[0-9a-fA-F]{8}|--------)(?:\s+|$)")
# All the "Args to Child" cells of a kb/kv/STACK_TEXT row at once, blank-separated:
# 00000000`0000000a ffff8009`1002ac08 00000000`00000002 --------`--------
ARGS_RE = re.compile(r"\s*(?:(?:" + ADDR + "|" + DASHES + r")(?:\s+(?:" + ADDR + "|" + DASHES
                     + r"))*)?\s*$")
# A call site right after the RetAddr's colon: "nt!KiSwapContext+0x76", "0xfffff801`61a2e880"
SITE_START_RE = re.compile(r"(?:[\w.$@?~-]+!|0x[0-9a-fA-F]+(?:`[0-9a-fA-F]+)?(?:\s|$))")
# A "call site" that is only a number means a dq/dd dump line (address qword qword), not a row;
# two joined by a dash are !irp's Completion-Context cell ("0  0 00000000 00000000 00000000-0"),
# more in a row x64 !locks' waiting threads ("ffffd086d7059080       ffffd086d721d080  ...")
BARE_HEX_RE = re.compile(r"[0-9a-fA-F`]+(?:(?:-|\s+)[0-9a-fA-F`]+)*$")
# A "call site" that holds the next rows: rows run together on one line (a book's text layer:
# "nt!KeBugCheckEx+0x1e 9444fadc 82843dd6 9444faf8 00000000 9444fb4c nt!KiDispatchException+0x1ac")
ROWS_IN_SITE_RE = re.compile(r"\s" + ROW_TEXT)

# A call site holds a name or a number: a row whose "call site" has neither is some other table
# (!running's spin-lock map "................", an author's "<<<" after a !locks waiter list).
NO_NAME_RE = re.compile(r"[^A-Za-z0-9]*$")
# ...or !running -t/-ti's processor line after its Prcb and Current thread: their priorities,
# the next and idle threads ("( 8) ffffda0274ec60c0  ................")
RUNNING_RE = re.compile(r"\(\s*\d{1,2}\)(?:\s|$)")
# Disassembly whose address and opcode look like ChildEBP and RetAddr (`u` after an exception):
# "0f161f80 f85d5d04 ldr         r5,[sp,#-4]!                    00a03000=00000000"
# A module list pasted without its `lm` header: start, end, then the image's file name ("The most
# recently unloaded DLLs are" / "00007ff9`6d7c0000 00007ff9`6d80a000   FabrikamContextMenu.dll")
# or lm's module and symbol state ("fffff803`6a000000 fffff803`6a0f3000   mydrv   (deferred)").
MODULE_LIST_RE = re.compile(r"[\w.$~-]+\.(?:dll|sys|exe|drv|ocx|cpl|efi|mui)$"
                            r"|\S+\s+(?:[#M]\s+)?\((?:deferred|[\w ]*symbols\b[^)]*)\)", re.I)
DISASSEMBLY_RE = re.compile(r"[a-z][a-z0-9]{1,9}(?:\.[a-z0-9]{1,4})? {2,}[^\s(\[]")


class Layout:
    """What a column header line said: `#` (frame numbers), `Memory`, ChildEBP, Args to Child."""

    def __init__(self, numbered=None, memory=None, x86=None, args=None):
        self.numbered = numbered
        self.memory = memory
        self.x86 = x86
        self.args = args


# " # Child-SP          RetAddr               Call Site", " #   Memory  Child-SP ..."
# "Child-SP          RetAddr               : Args to Child                       : Call Site"
# " # ChildEBP RetAddr  Args to Child              "
# NT4 kd and Dr. Watson (x86): "FramePtr RetAddr Param1 Param2 Param3 Function Name",
# "FramePtr ReturnAd Param#1  Param#2  Param#3  Param#4  Function Name"
HEADER_RE = re.compile(
    r"^(?P<num>#\s*)?(?P<mem>Memory\s+)?(?P<sp>Child-SP|ChildEBP|FramePtr)\s+"
    r"(?:RetAddr|ReturnAd)\b(?P<tail>.*)$"
)


def parse_header(text: str) -> Optional[Layout]:
    m = HEADER_RE.match(text)
    if not m:
        return None
    return Layout(
        numbered=bool(m.group("num")),
        memory=bool(m.group("mem")),
        x86=m.group("sp") != "Child-SP",
        args="Args to Child" in m.group("tail") or "Param" in m.group("tail"),
    )


class Row:
    """A parsed row: the Frame plus what the reader needs to know about the columns."""

    def __init__(self, frame: Frame, numbered: bool, width: int, wide_args: bool = False):
        self.frame = frame
        self.numbered = numbered
        self.width = width  # hex digits of the SP/RetAddr cells: 8 (x86) or 16 (x64); 0 inline
        # 64-bit "Args to Child" after 8-digit SPs (an older WinDbg's x64 view of a WoW64 thread)
        self.wide_args = wide_args


def looks_like_row(text: str) -> bool:
    return bool(ROW_START_RE.match(text))


# a stack pointer and a return address side by side anywhere in a line ("?? f88daeb4 bae829f2 ...")
ROW_INSIDE_RE = re.compile(r"(?<![0-9a-fA-F`])" + HEX_WORD + r"\s+" + HEX_WORD
                           + r"(?![0-9a-fA-F`])")


def may_hold_row(text: str) -> bool:
    """A line of a listing that could not be read but may be one of its rows (it starts as one,
    or holds an SP and a RetAddr after something else): a hole in the listing, never bytes
    charged to the neighbouring frame."""
    return bool(ROW_START_RE.match(text) or ROW_INSIDE_RE.search(text))


def runtime_frame(f: Frame) -> bool:
    """!clrstack's row of an explicit Frame of the CLR ("[HelperMethodFrame_PROTECTOBJ: 0000...]
    System.RuntimeMethodHandle.InvokeMethod(...)"): its SP is the Frame object's address, and
    native frames !clrstack does not print lie on each side of it."""
    return f.call_site.startswith("[") and "Frame" in f.call_site.partition(":")[0]


def names_nothing(text: str) -> bool:
    """A whole line laid out as a row whose call site holds no name or number: a line of some
    other table (!running's processors), which ends a listing rather than breaking it."""
    m = ROW_RE.match(text)
    return bool(m and m.group("rest") and NO_NAME_RE.match(m.group("rest")))


def parse_row(text: str, layout: Layout, lineno: int) -> Optional[Row]:
    """A Frame from one cleaned row, or None when the line is not a whole, readable row."""
    m = ROW_RE.match(text)
    if not m or not m.group("rest"):
        return None
    sp_text, ret_text = m.group("sp"), m.group("ret")
    inline = sp_text is None
    width = 0 if inline else len(sp_text.replace("`", ""))
    if not inline and not ret_text.startswith("-") and len(ret_text.replace("`", "")) != width:
        return None  # "fffff802" after a 16-digit SP: the row was cut inside RetAddr
    number, memory = _leading(m.group("a"), m.group("b"), layout)
    rest = m.group("rest")
    if rest.startswith("(T) "):  # newer x86 k: the frame was reached through a trap frame
        rest = rest[4:].lstrip()
    parts = _split_args(rest, width, layout)
    if parts is None:
        return None
    args, site = parts
    # 0008ea48 751f282c : 00000000`77770190 00000000`001dfb50 : wow64cpu!CpupSyscallStub+0x9
    wide = width == 8 and "`" in rest[: len(rest) - len(site)]
    site, extras = clean_call_site(site)
    if not site or BARE_HEX_RE.match(site) or DISASSEMBLY_RE.match(site) or \
            MODULE_LIST_RE.match(site) or NO_NAME_RE.match(site) or RUNNING_RE.match(site) or \
            ROWS_IN_SITE_RE.search(site):
        return None
    module, function, offset, ip = split_call_site(site)
    frame = Frame(
        index=number if number is not None else -1,
        sp=None if inline else to_int(sp_text),
        ret=None if inline or ret_text.startswith("-") else to_int(ret_text),
        call_site=site,
        module=module,
        function=function,
        offset=offset,
        inline=inline,
        ip=ip,
        args=args,
        source_file=extras[0],
        source_line=extras[1],
        memory=memory,
        trap_frame=extras[2],
        line=lineno,
    )
    return Row(frame, number is not None, width, wide)


def _leading(a, b, layout: Layout) -> Tuple[Optional[int], Optional[int]]:
    """Frame number and Memory cell from the 0-2 small numbers before the SP."""
    if a is not None:  # two numbers: always "number Memory" (knf)
        return int(a, 16), int(b, 16)
    if b is None:
        return None, None
    if layout.memory and not layout.numbered:  # kf without n: the one number is Memory
        return None, int(b, 16)
    return int(b, 16), None


def _split_args(rest: str, width: int, layout: Layout):
    """(args, call site) from what follows RetAddr; None when the row is cut or unreadable."""
    rest = rest.strip()
    args: List[Optional[int]] = []
    if rest.startswith(":"):  # sp ret : a1 a2 a3 a4 : call site  (kb/kv x64, STACK_TEXT, !thread)
        body = rest[1:]
        cut = body.find(":")
        if cut < 0 or not ARGS_RE.match(body, 0, cut):  # one match for all the cells
            # "sp ret : nt!Foo+0x76" under !thread's "Child-SP RetAddr : Call Site" (not a
            # wrapped row's second half, nor NT 3.51's "Callee-SP Return-RA")
            site = body.strip()
            ok = layout.args is False and width == 16 and SITE_START_RE.match(site)
            return ([], site) if ok and " : " not in site else None
        args = [None if cell[0] == "-" else int(cell.replace("`", ""), 16)
                for cell in body[:cut].split()]
        return args, body[cut + 1:].strip()
    if layout.args is False or (width == 16 and not layout.args):
        return args, rest
    # x86 kb/kv: up to three 8-digit "Args to Child" before the call site.
    while len(args) < 3:
        m = X86_ARG_RE.match(rest)
        if not m or m.end() >= len(rest):
            break
        cell = m.group(0).strip()
        args.append(None if cell.startswith("-") else int(cell, 16))
        rest = rest[m.end():]
    return args, rest
