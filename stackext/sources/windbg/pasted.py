"""WinDbg text as people paste it into issues, wikis and chats, turned back into WinDbg's own
lines: backticks escaped by GitHub issue bodies, `k` rows as markdown table rows with HTML-wrapped
cells, the mex extension's `!t` table (its Source column), `~*k` thread headers, a book's
apostrophes for backticks, a listing's line numbers, and lines far longer than any WinDbg row.

Pure; small states (inside a mex table, a wrapped row held, a numbered listing). Imports the
line helpers and the rows' column header (stackext.sources.windbg.rows.HEADER_RE) only.
"""

from __future__ import annotations

import html
import re
from typing import List, Optional, Tuple

from stackext.errors import StackextError
from stackext.sources.windbg.lines import ADDR, PROMPT_RE, READ_CHUNK, clean_line
from stackext.sources.windbg.rows import HEADER_RE

# No WinDbg row comes near this (rows with kp parameters and source paths stay under a few KB);
# a longer line is not read as a frame (a 95 MB line of addresses is not a one-frame stack).
LONG_LINE = 1 << 16

# GitHub issue bodies escape the backtick: "ffffd001\`528e3fb0"
ESCAPED_TICK = "\\`"
# ...or triple it inside a code span: "00 00000031`78643e48 00007fff```9b3419ce ntdll!Zw..."
TRIPLED_TICK_RE = re.compile(r"(?<=[0-9a-fA-F]{8})```(?=[0-9a-fA-F]{8})")
# ...and a book's typesetting (or a word processor's smart quotes) turns it into an apostrophe:
# "00 fffff800'00b9cc88 fffff800'028db5dc USBPORT!USBPORT_IsrDpc" (between two 8-digit halves,
# nothing else a debugger prints)
TYPESET_TICK_RE = re.compile(r"(?<=[0-9a-fA-F]{8})['\u2018\u2019\u00b4](?=[0-9a-fA-F]{8})")
# A markdown table row: "| 01 | 40 | <code>00000000`0015ef10</code> | ... | ntdll!Ldrp... |"
TABLE_ROW_RE = re.compile(r"^\|.*\|$")
# Its separator row: "|---|---:|:---|"
TABLE_RULE_RE = re.compile(r"^\|(?:\s*:?-+:?\s*\|)+$")
# HTML a table cell is wrapped in: "<sub>fffff880021748b0</sub>", "<code>nt!KeBugCheckEx</code>"
TAG_RE = re.compile(r"</?(?:sub|sup|code|tt|kbd|samp|pre|b|i|em|strong|span|br|p|div|font)\b"
                    r"[^<>]*>", re.I)

# mex's !t table header (also with an Info column instead of Source):
# "# Child-SP         Return           Call Site                             Source"
MEX_HEADER_RE = re.compile(r"^#\s*(Child-SP|ChildEBP)\s+Return\s+Call Site(?:\s+\w+)?$")
# A mex !t row: number, SP (or "(Inline)"), return address (or dashes), call site, and after the
# column padding the Source (or Info) cell:
# "2 000000d1f73fea30 00007ff8744a26ad Test!CreateAndWriteFiles+0x4f7        C:\...\Test.cpp @ 62"
# "4 (Inline)         ---------------- Test!invoke_main+0x22                    D:\a\...inl @ 78"
MEX_ROW_RE = re.compile(
    r"^(?P<n>[0-9a-fA-F]{1,4})\s+(?P<sp>" + ADDR + r"|\(Inline\))\s+(?P<ret>" + ADDR
    + r"|-{8,17})\s+(?P<site>\S+(?: \S+)*?)(?:\s{2,}(?P<tail>\S.*))?$"
)
# A Source cell: "C:\Users\User\source\repos\Test\Test\Test.cpp @ 62"
MEX_SOURCE_RE = re.compile(r"^(?P<file>[^\[\]!]+?) @ (?P<line>\d+)$")
# A source cell one space after a call site longer than mex's column:
# "nt!KiProcessExpiredTimerList+0x26a minkernel\ntos\ke\dpcsup.c @ 4109"
MEX_JOINED_RE = re.compile(r"^(?P<site>\S+(?: \S+)*?) (?P<file>[^\s!\\]*\\[^!]*?) @ (?P<line>\d+)$")

# k in an ARM64EC process: an Arch column after the frame number, which WinDbg's own rows lack
# " #   Arch   Child-SP          RetAddr               Call Site"
# "00  ARM64EC 000000e6`289ecbc0 00007fff`fa3b67ac     ntdll!ZwWaitLowEventPair+0x1595b4"
ARCH_HEADER_RE = re.compile(r"^#\s+Arch\s+(?=Child-SP\b)")
ARCH_ROW_RE = re.compile(r"^([0-9a-fA-F]{1,4})\s+(?:ARM64EC|ARM64|AMD64|x64|x86|ARM|CHPE)\s+(?=\S)")

# What a CI or a test harness puts before every line of the debugger's output: a GitHub Actions
# or Azure Pipelines raw log's "2026-09-06T23:34:42.1358649Z ", "[2024-01-02 10:11:12] ",
# dotnet's SOSRunner "00:00.028: ", BugId's "stdout>"
CI_PREFIX_RE = re.compile(r"(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z |\[\d{4}-\d\d-\d\d[ T]"
                          r"\d\d:\d\d:\d\d(?:[.,]\d+)?Z?\] |\d\d:\d\d\.\d{3}: |std(?:out|err)> ?)")

# A listing copied with its line numbers (a code viewer's, a slide's, a book's): a decimal number
# before each line, first before a prompt, a stack's header or label ("13  1: kd> kf",
# "15   #   Memory  Child-SP ...", "16  00           fffff886`4ca070e0 ..."), one more each line
LINE_NUMBER_RE = re.compile(r"^\s*(\d{1,5})(?:\s+|$)")
# A row a fixed-width text (a KB article, a Dr. Watson log, an e-mail) wrapped in two: its numbers
# on one line, its call site alone on the next:
#   "  0e45f688 00433144 000004e4 0000001e 00000010"
#   "  STORE!@EcFormatStandardStringProp@36+0x44"
_WORD = r"[0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?"
WRAPPED_HEAD_RE = re.compile(r"^\s*(?:[0-9a-fA-F]{2}\s+)?" + _WORD + r"(?:\s+:?\s*" + _WORD
                             + r"){1,6}\s*:?\s*$")
# ...the call site, maybe with kv's FPO note: "STORE!FormatRecipRows+0x316", "hal+0x1a2b"
# (not a disassembly label, "nt!KiPageFault+0x474:")
WRAPPED_SITE_RE = re.compile(r"^\s*[A-Za-z_$@?][\w.$@?~-]*(?:![^\s(]*[^\s:(]|\+0x[0-9a-fA-F]+)"
                             r"(?:\s*\((?:FPO|CONV|Non-FPO|TrapFrame)[^()]*\)?)*\s*$")

# ~*k thread header: "   0  Id: 20.108 Suspend: 1 Teb: 7ffdf000 Unfrozen" (". 0" current, "# 0"
# the event's thread): the debugger's thread number and the thread id (hex, after the dot)
TILDE_ID_RE = re.compile(r"^[.#]?\s*(?P<num>\d+)\s+Id:\s*[0-9a-fA-F]+\.(?P<tid>[0-9a-fA-F]+)\s")


def table_row(text: str) -> str:
    """A markdown table row as a WinDbg line: cells without HTML, joined by two spaces; the
    separator row is an empty line. An empty cell (kf's blank Memory) is left out, as WinDbg's
    own blank column reads."""
    if TABLE_RULE_RE.match(text):
        return ""
    cells = []
    for cell in text[1:-1].split("|"):
        cell = TAG_RE.sub("", cell).strip()
        if len(cell) > 1 and cell.startswith("`") and cell.endswith("`"):
            cell = cell[1:-1].strip()  # an inline code span
        if cell:
            cells.append(cell)
    return "  ".join(cells)


def mex_header(text: str) -> Optional[str]:
    """mex's !t column header as WinDbg's, or None."""
    m = MEX_HEADER_RE.match(text)
    return None if m is None else "# %s RetAddr Call Site" % m.group(1)


def mex_row(text: str) -> Optional[str]:
    """A mex !t row as a WinDbg k row: the Source cell as WinDbg's "[file @ line]" tail, an Info
    cell left out, the inline row's dashes as WinDbg's. None when the line is no mex row."""
    m = MEX_ROW_RE.match(text)
    if m is None:
        return None
    site, tail = m.group("site"), m.group("tail")
    source = MEX_SOURCE_RE.match(tail) if tail else None
    if tail is None:
        source = MEX_JOINED_RE.match(site)
        if source is not None:
            site = source.group("site")
    ret = m.group("ret")
    if ret.startswith("-"):
        ret = "--------`--------" if len(ret) > 8 else "--------"
    row = "%s %s %s %s" % (m.group("n"), m.group("sp"), ret, site)
    if source is not None:
        row += " [%s @ %s]" % (source.group("file").strip(), source.group("line"))
    return row


def tilde_thread(text: str) -> Optional[Tuple[int, int]]:
    """(debugger thread number, thread id) of a ~*k thread header, or None."""
    m = TILDE_ID_RE.match(text)
    return None if m is None else (int(m.group("num")), int(m.group("tid"), 16))


class Paste:
    """The reader's view of pasted text: one call of line() per raw line, before the reader's."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.mex = False  # under a mex !t header
        self.arch = False  # under a k header with an Arch column (ARM64EC)
        self.long_at = 0  # the first line far longer than any WinDbg row
        self.held: Optional[Tuple[int, str]] = None  # a wrapped row's numbers, with their line
        self.numbered: Optional[int] = None  # the last line number of a numbered listing

    def rejoin(self, n: int, raw: str) -> List[Tuple[int, str]]:
        """The lines to read for this one, a wrapped row's two lines joined into one at the
        first's number (a row of numbers is held until the next line shows whether its call
        site follows alone)."""
        out = []
        if self.held is not None:
            (first, head), self.held = self.held, None
            if WRAPPED_SITE_RE.match(raw):
                return [(first, head.rstrip("\r\n") + " " + raw.strip() + "\n")]
            out.append((first, head))
        if "!" not in raw and len(raw) < 200 and WRAPPED_HEAD_RE.match(raw):
            self.held = (n, raw)
        else:
            out.append((n, raw))
        return out

    def flush(self) -> List[Tuple[int, str]]:
        held, self.held = self.held, None
        return [] if held is None else [held]

    def line(self, n: int, raw: str) -> str:
        if raw[:1] in "0123456789[s":  # (a cheap test first: most lines start otherwise)
            m = CI_PREFIX_RE.match(raw)
            raw = raw if m is None else raw[m.end():]
        if self.numbered is not None or raw[:1] in "0123456789 ":
            raw = self._unnumbered(raw)
        if len(raw) > LONG_LINE:
            self.long_at = self.long_at or n
            size = len(raw.rstrip("\r\n"))
            return "[line %s%d characters long: not read]" % (
                "over " if size >= READ_CHUNK else "", size)
        if ESCAPED_TICK in raw:
            raw = raw.replace(ESCAPED_TICK, "`")
        if "```" in raw:
            raw = TRIPLED_TICK_RE.sub("`", raw)
        if "'" in raw or not raw.isascii():
            raw = TYPESET_TICK_RE.sub("`", raw)
        if "<" in raw:  # a web page's HTML copy: "nt!Foo+0x17eb<br/>", "1: kd&gt; k</p>"
            text = TAG_RE.sub("", raw)
            if text != raw:
                raw = html.unescape(text) if "&" in text else text
        if not self.mex and not self.arch and "|" not in raw and "Return" not in raw and \
                "Arch" not in raw:
            return raw  # the common line, untouched
        text = clean_line(raw)
        if self.arch or text.startswith("#") and ARCH_HEADER_RE.match(text):
            return self._arch_column(raw, text)
        if text.startswith("|") and TABLE_ROW_RE.match(text):
            return table_row(text)
        if self.mex:
            row = mex_row(text)
            if row is not None:
                return row
            self.mex = False
        header = mex_header(text) if text.startswith("#") else None
        if header is not None:
            self.mex = True
            return header
        return raw

    def _unnumbered(self, raw: str) -> str:
        """The line without the line number of a numbered listing (a blank line keeps it going,
        a line without the next number ends it)."""
        m = LINE_NUMBER_RE.match(raw)
        if self.numbered is not None:
            if m is not None and int(m.group(1)) == self.numbered + 1 or not raw.strip():
                self.numbered += 1
                return raw if m is None else raw[m.end():]
            self.numbered = None
        elif m is not None and m.end() < len(raw):
            rest = raw[m.end():].strip()
            if PROMPT_RE.match(rest) or HEADER_RE.match(rest) or rest.startswith("STACK_TEXT:"):
                self.numbered = int(m.group(1))
                return raw[m.end():]
        return raw

    def _arch_column(self, raw: str, text: str) -> str:
        """An ARM64EC k's header and rows without their Arch cell (the frames of all its
        architectures share the one stack: its Child-SPs subtract as any k's)."""
        m = ARCH_HEADER_RE.match(text)
        if m is not None:
            self.arch = True
            return "# " + text[m.end():]
        m = ARCH_ROW_RE.match(text)
        if m is None:
            self.arch = False
            return raw
        return m.group(1) + " " + text[m.end():]

    def finish(self, found: bool) -> None:
        """The log had no stack and a line far longer than any WinDbg row: say so."""
        if not found and self.long_at:
            raise StackextError(
                "a line of more than {:,} characters, far longer than any WinDbg row: not read "
                "(no call stack found)".format(LONG_LINE),
                where="%s:%d" % (self.name, self.long_at))
