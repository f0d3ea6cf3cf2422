"""A log's lines: decoded and bounded, cleaned of web-page and markdown debris, read as a
debugger prompt, and the kinds of line that shape a stack (headers, warnings, elisions, chatter).

Pure and stateless; imports stackext.model only.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from itertools import chain
from typing import Iterable, Iterator, List, NamedTuple, Optional, Union

from stackext.addresses import parse_hex
from stackext.errors import StackextError
from stackext.model import Gap, GapKind, StackInput

READ_CHUNK = 1 << 20  # never more than this of a line without a newline is held
READ_BLOCK = 1 << 16  # the text read at a time (<= READ_CHUNK: a line inside a block fits)
MAX_LINE = 4096  # characters of one line we look at; WinDbg rows with source paths stay < 1 KB

# An address as WinDbg prints it: 8 digits on x86, 16 with the backtick on x64 -- or 16 without it,
# as web pages that ate the backticks show them (fixture 004: fffff88002174768).
ADDR = r"(?:[0-9a-fA-F]{8}`[0-9a-fA-F]{8}|[0-9a-fA-F]{16}|[0-9a-fA-F]{8})(?![0-9a-fA-F`])"
# The same words where text runs on after them, and a row's start as text shows it anywhere: its
# SP, RetAddr and arguments, then a module's name ("9444fadc 82843dd6 9444faf8 nt!...")
HEX_WORD = r"[0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})?"
ROW_TEXT = r"(?:" + HEX_WORD + r"\s+){2,6}[\w.$@?~]+!"

# Debugger prompts: "0: kd> k", "12: kd> !thread ...", "kd>.trap fffff880021748b0", "0:006> ~*kb",
# "0:000:x86> k", "lkd> k", "1: kd:x86> k" (a kernel session after .effmach x86).
PROMPT_RE = re.compile(r"^(?:(?P<cpu>\d+):\s?)?(?P<who>(?:l?kd|\d{3,})(?::[A-Za-z0-9]+)?)>\s?"
                       r"(?P<cmd>.*)$")

# ~*kb per-thread header: "   1  Id: 4884.53dc Suspend: 1 Teb: 01172000 Unfrozen"
TILDE_RE = re.compile(r"^[.#]?\s*\d+\s+Id:\s*[0-9a-fA-F]+\.[0-9a-fA-F]+\s+Suspend:")
# "WARNING: Stack unwind information not available. Following frames may be wrong."
# "WARNING: Frame IP not in any known module. Following frames may be wrong."
# "<Intermediate frames may have been skipped due to lack of complete unwind>" (newer x86 k)
UNWIND_RE = re.compile(r"^(?:WARNING:.*(?:Following frames may be wrong|unwind information not "
                       r"avail)|<Intermediate frames may have been skipped\b)")
# Elisions by whoever pasted the log: "...", ".", "……", "[…]", "[...]", "<snip>"
# and with words after a blank: "... removed 6k lines duplicated", "<snip 300 frames>" (not kd's
# own "...Retry sending the same data packet", which has none), or between dots: "...cut..."
ELISION_RE = re.compile(r"^(?:\.+|\u2026+|\[\s*(?:\.{3}|\u2026)\s*\]|<snip>|\(\.\.\.\)|"
                        r"(?:\.{3}|\u2026|<snip\b|\[snip\b)\s+[^.\s].*|"
                        r"(?:\.{2,}|\u2026)\s*[A-Za-z][\w ]{0,40}?\s*(?:\.{2,}|\u2026))$", re.I)
# A module loaded without its PDB, its code named by the nearest export:
# "*** ERROR: Symbol file could not be found.  Defaulted to export symbols for ntdll.dll - "
# "... Defaulted to export symbols for C:\WINDOWS\System32\KERNEL32.DLL -"
EXPORT_SYMBOLS_RE = re.compile(r"Defaulted to export symbols for (?P<path>.+?)\s*-?\s*$", re.I)


def export_module(text: str) -> Optional[str]:
    """The module (lower case, no folder, no extension) an export-symbols line names."""
    m = EXPORT_SYMBOLS_RE.search(text) if "Defaulted to export" in text else None
    if not m:
        return None
    name = re.split(r"[\\/]", m.group("path"))[-1]
    return name.rsplit(".", 1)[0].lower() if "." in name else name.lower()


# Debugger chatter that can sit between two rows without ending the stack:
# "*** WARNING: Unable to verify checksum for ...WindowDemo.exe", "Unable to load image ..."
# The thread lines ~*, ~. and !uniqstack print under a thread's "Id:" line: "      Start:
# notepad!WinMainCRTStartup (00e131c9)", "      Priority: 0  Priority class: 32  Affinity: f";
# the PDB a "DBGHELP: mscorlib_ni - public symbols" line names on the line after it.
NOISE_RE = re.compile(
    r"^(?:\*\*\*|WARNING:|Unable to load image|DBGHELP:|SYMSRV:|Page [0-9a-f]+ not"
    r"|Start: |Priority: -?\d+ +Priority class: "
    r"|[A-Za-z]:\\\S*\.pdb$)"
)
# Lines that end a stack: "SYMBOL_NAME:  fileinfo!FIPfFileFSOpPostCreate+2ff", "rax=00000002",
# markdown fences and a Jekyll page's Liquid tags ("{% endhighlight %}"),
# "PROCESS ffff8a07222e60c0".
LABEL_RE = re.compile(
    r"^(?:[A-Z][A-Z0-9_]{2,}:|[a-z][a-z0-9]{1,4}=[0-9a-fA-F]|```|~~~|\{%|PROCESS\s)")
# "start             end                 module name" (lm): a table of ranges, not of frames.
NONSTACK_HEADER_RE = re.compile(r"^start\s+end\s+module name")
# Commands whose output has address-address-symbol lines that are not stack frames.
NONSTACK_COMMANDS = {
    "dps", "dqs", "dds", "dpp", "dq", "dd", "dp", "db", "dw", "dc", "da", "du", "dt", "dv",
    "lm", "lmv", "lmi", "u", "ub", "uf", "r", "kd", "x", "ln", "!pte", "!pool", "!address",
    "!mex.irs", "!irs",  # mex's "interpret raw stack": a row per stack slot, stale ones too
    "!irp",
    # a step prints the next instruction; stepping over an inline call, a frame row before it
    # ("could step in/over inline function frames ...", then "01 000000e4`d1c8f110 ...")
    "p", "t", "pa", "ta", "pc", "tc", "pt", "tt", "p-", "t-",
}


def text_of(raw) -> io.TextIOBase:
    """A binary stream as text: `.logopen /u` writes UTF-16 with a BOM, some tools save it without
    one (told by its NULs); everything else is read as UTF-8, bad bytes replaced."""
    head = raw.peek(64)[:64] if hasattr(raw, "peek") else b""
    encoding = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else utf16_without_bom(head)
    return io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline=None)


def utf16_without_bom(head: bytes) -> str:
    """UTF-16 saved without a BOM, told by its NULs: ASCII text has a NUL in every high byte
    ("0\x00:\x00 \x00k\x00d\x00>\x00" is "0: kd>" in UTF-16-LE); else UTF-8."""
    pairs = len(head) // 2
    if pairs < 4:
        return "utf-8"
    even, odd = head[0:pairs * 2:2].count(0), head[1:pairs * 2:2].count(0)
    if odd * 10 >= pairs * 9 and even == 0:
        return "utf-16-le"
    if even * 10 >= pairs * 9 and odd == 0:
        return "utf-16-be"
    return "utf-8"


BINARY_PROBE = 8192  # the characters checked for NUL: a binary file is no log


def probed(lines: Iterable[str], name: str) -> Iterator[str]:
    """The lines, the first BINARY_PROBE characters checked for NUL (then the rest unchecked,
    at C speed)."""
    it = iter(lines)
    return chain(_probe(it, name), it)


def _probe(it: Iterator[str], name: str) -> Iterator[str]:
    seen = 0
    for raw in it:
        if "\x00" in raw[: BINARY_PROBE - seen]:
            raise StackextError("binary file, not a WinDbg text log", where="%s:1" % name)
        seen += len(raw)
        yield raw
        if seen >= BINARY_PROBE:
            return


def bounded_lines(stream) -> Iterator[str]:
    """The lines as readline(READ_CHUNK) gives them -- at most READ_CHUNK characters each, the
    rest of a longer line skipped -- read READ_BLOCK characters at a time and handed on at C
    speed (a readline per line costs a big log 5 % of its time)."""
    return chain.from_iterable(_blocks(stream))


def _blocks(stream) -> Iterator[List[str]]:
    head = ""  # the start of a line the last block ended in
    dropping = False  # past READ_CHUNK characters of a line: skipping to its end
    while True:
        block = stream.read(READ_BLOCK)
        if not block:
            if head and not dropping:
                yield [head]
            return
        parts = block.split("\n")
        tail = parts.pop()  # after the block's last newline: the start of the next line
        if parts:
            if dropping:
                del parts[0]  # the end of the long line
                dropping = False
            else:
                parts[0] = head + parts[0]
            lines = [x + "\n" for x in parts]
            if lines and len(lines[0]) > READ_CHUNK:
                lines[0] = lines[0][:READ_CHUNK]
            yield lines
            head = tail
        elif not dropping:
            head += tail
        if not dropping and len(head) >= READ_CHUNK:
            yield [head[:READ_CHUNK]]
            head, dropping = "", True


to_int = parse_hex  # the reader's name for addresses.parse_hex


# "=> ", "--> ", "==> " before a row's first address (WinDbg prints no such mark)
ARROW_MARK_RE = re.compile(r"[=-]+>\s+(?=[0-9a-fA-F]{8})")


def clean_line(raw: str) -> str:
    """One log line without CR, web-page and code-comment quoting, markdown emphasis and
    surrounding blanks; a tab is a blank (a PDF's or a web page's copy puts tabs for blanks)."""
    text = raw[:MAX_LINE].rstrip("\r\n").replace("\xa0", " ").replace("\ufeff", "")
    text = (text.replace("\t", " ") if "\t" in text else text).strip()
    while text.startswith((">", "//")):  # "> " quoting in web copies, "// " in source code
        text = text[2:].lstrip() if text.startswith("//") else text[1:].lstrip()
    if text[:1] in ("=", "-") and text[1:2] in ("=", "-", ">"):  # an author's "=> f88daeb4 ..."
        m = ARROW_MARK_RE.match(text)
        text = text[m.end():] if m else text
    if "\xb7" in text:  # an author's highlight marks (U+00B7) around csrss!main+0x3d4
        text = text.replace("\xb7", "")
    if "**" in text and not text.startswith("*"):
        text = text.replace("**", "")
    if len(text) > 4 and text.startswith("__") and text.endswith("__"):
        text = text[2:-2].strip()
    return text


class Prompt(NamedTuple):
    """A prompt line: the session it shows and the commands typed after it."""

    kernel: bool  # "kd>"/"lkd>" rather than a user-mode "0:000>"
    commands: List[str]  # split at ";", each stripped, empty ones left out
    names: List[str]  # each command's first word, lower case: "dps", ".frame", "!thread"
    thread: Optional[int] = None  # user mode: the thread number a k typed here walks
    processor: Optional[int] = None  # kd: the processor "9: kd>" is on
    current: Optional[int] = None  # user mode: the prompt's own thread ("0:005>": 5)

    @property
    def prints_no_stack(self) -> bool:
        """Every command is one whose address-address-symbol lines are not stack frames."""
        return bool(self.names) and all(c in NONSTACK_COMMANDS for c in self.names)


def may_be_prompt(raw: str) -> bool:
    """False for most lines, cheaply: every prompt has a ">"."""
    return ">" in raw


def parse_prompt(text: str) -> Optional[Prompt]:
    """A cleaned line read as a debugger prompt, or None."""
    m = PROMPT_RE.match(text)
    if not m:
        return None
    inner = PROMPT_RE.match(m.group("cmd"))
    while inner:  # "0:000>2: kd> k" (a page that glued two prompts): the one typed at is last
        m, inner = inner, PROMPT_RE.match(inner.group("cmd"))
    commands = [c.strip() for c in m.group("cmd").split(";") if c.strip()]
    who = m.group("who")
    kd = who.startswith(("kd", "lkd"))
    current = None if kd else int(who.split(":")[0])
    return Prompt(kd, commands, [c.split()[0].lower() for c in commands],
                  None if kd else _k_thread(current, commands),
                  int(m.group("cpu")) if kd and m.group("cpu") else None, current)


# "~51s" (switch to thread 51), "~51 kb" / "~51kb" (thread 51's stack)
THREAD_COMMAND_RE = re.compile(r"~\s*(\d+)\s*(?:(s)\s*$|(?=k))")


def _k_thread(current: int, commands: List[str]) -> Optional[int]:
    """The user-mode thread whose stack the first k command at a "0:049>" prompt prints: the
    prompt's own (049, decimal), the one a `~Ns` before it switched to, or the one `~N k`
    names; None when no k command is typed or another ~ command comes first (~*k, ~~[id]s)."""
    for c in commands:
        m = THREAD_COMMAND_RE.match(c)
        if m is not None and m.group(2):
            current = int(m.group(1))
        elif m is not None:
            return int(m.group(1))
        elif c.startswith("~"):
            return None
        elif c[:1] in "kK":
            return current
    return None


def gap_of(text: str, where: str) -> Optional[Gap]:
    """A line that says frames are missing (an unwind warning, an elision), as a Gap."""
    if UNWIND_RE.match(text):
        return Gap(GapKind.UNWIND_WARNING, where, text)
    if ELISION_RE.match(text):
        return Gap(GapKind.ELIDED, where, text)
    return None


@dataclass
class EmbeddedJson:
    """A JSON document stackext printed into a debugger log between MARKER_BEGIN and MARKER_END."""

    source: str
    text: str


class Skipped(NamedTuple):
    """A listing the log has but no size can come from (no Child-SP column, rows run together),
    in a log with other stacks: said, not analysed."""

    source: str  # "file:line" of its first row or header
    why: str


Item = Union[StackInput, EmbeddedJson]
