"""The option vocabulary the console and the debugger share: sizes, addresses, the analysis
options, the file arguments (with wildcards expanded). Imports no source and no renderer.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
from typing import List, NamedTuple, Optional, Sequence

from stackext.analyze import AnalysisOptions
from stackext.errors import StackextError
from stackext.knowledge import ARCHES, DEFAULT_HEAVY
from stackext.render.base import RenderOptions

FORMAT_CHOICES = ("table", "json", "csv", "markdown", "html", "jsonl")

# Numbers as WinDbg reads them: bare digits are hex ("6000" = 0x6000), "0n24576" is decimal,
# "0x6000" hex; a K/KB/KiB (M/MB/MiB) suffix makes the digits a decimal count of KiB (MiB):
# "24K" = 24 KiB. "6000", "0x6000", "0n24576", "24K", "24 KB", "1M"
# (_SIZE and _ADDR are compiled on first use, in re's cache: most runs give neither option, and
# every `!py` run is a fresh interpreter)
_SIZE = r"^\s*(?:(0x[0-9a-f]+)|(0n\d+)|(\d+)\s*(k|kb|kib|m|mb|mib)|([0-9a-f]+))\s*$"
SIZE_HELP = "hex as WinDbg reads it (6000 = 0x6000), 0n for decimal (0n24576), or 24K (KiB)"


def parse_size(text: str) -> int:
    m = re.match(_SIZE, (text or "").replace("`", ""), re.I)
    if not m:
        raise argparse.ArgumentTypeError(
            "not a size: %r (use e.g. 6000 or 0x6000 (hex), 0n24576 (decimal), 24K)" % text)
    hex_, dec, kib, unit, bare = m.groups()
    if kib is not None:
        value = int(kib) * (1024 if unit.lower().startswith("k") else 1024 * 1024)
    elif dec is not None:
        value = int(dec[2:])
    else:
        value = int(hex_ or bare, 16)
    if value <= 0 or value > 1 << 40:
        raise argparse.ArgumentTypeError("size out of range: %r" % text)
    return value


# "fffff803`12345678", "0xfffff80312345678", "fffff80312345678"
_ADDR = r"^\s*(?:0x)?([0-9a-f]{1,8})`?([0-9a-f]{0,8})\s*$"


def parse_address(text: str) -> int:
    m = re.match(_ADDR, text or "", re.I)
    if not m:
        raise argparse.ArgumentTypeError(
            "not an address: %r (use WinDbg's fffff803`12345678, 0x... or bare hex)" % text)
    return int(m.group(1) + m.group(2), 16)


class ThreadSpec(NamedTuple):
    """--thread of a saved log: the debugger's thread number (`~1`) or the thread's id or
    address (`53dc`, fffff803`12345678)."""
    number: Optional[int] = None
    address: Optional[int] = None

    def matches(self, thread: Optional[int], number: Optional[int]) -> bool:
        return number == self.number if self.number is not None else thread == self.address

    def __str__(self) -> str:
        return "~%d" % self.number if self.number is not None else "0x%x" % self.address


# "~1" (as `~1s` selects it; decimal, as `~` numbers threads)
_TILDE = re.compile(r"^\s*~(\d+)\s*$")


def thread_spec(text: str) -> ThreadSpec:
    m = _TILDE.match(text or "")
    if m:
        return ThreadSpec(number=int(m.group(1)))
    if (text or "").strip().startswith("~"):
        raise argparse.ArgumentTypeError("not a thread number: %r (use ~N, as `~` numbers "
                                         "threads, e.g. ~1)" % text)
    return ThreadSpec(address=parse_address(text))


def count(text: str) -> int:
    """A number of rows: 0 or more (decimal: a count, not an address; 0x for hex)."""
    try:
        value = int(text[2:], 10) if text[:2].lower() == "0n" else int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r" % text) from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more: %r" % text)
    return value


class OneLineParser(argparse.ArgumentParser):
    """A usage error is one line (what is wrong and where to read more); --help stays full."""

    def error(self, message):
        self.exit(2, "%s: %s (see `%s --help`)\n" % (self.prog, message, self.prog))


def add_analysis_options(p: argparse.ArgumentParser) -> None:
    """The options every entry shares (console, !py, .scriptload bridge)."""
    p.add_argument("--format", choices=FORMAT_CHOICES,
                   default="table", help="output format (default: table)")
    p.add_argument("--top", type=count, default=5, metavar="N",
                   help="how many heaviest frames to list (default: 5)")
    p.add_argument("--driver", action="append", default=[], metavar="NAME",
                   help="a module that is yours (repeatable); wins over the inbox-module table")
    p.add_argument("--budget", type=parse_size, metavar="SIZE",
                   help="stack budget to judge against, %s; a bare 24576 is hex 0x24576 "
                        "(default: the thread's StackBase-StackLimit, else 12K x86 / 24K x64)"
                        % SIZE_HELP)
    p.add_argument("--heavy", type=parse_size, default=DEFAULT_HEAVY, metavar="SIZE",
                   help="a frame this big or bigger is heavy, same numbers (default: 1K = 400, "
                        "MSVC C6262's kernel-mode threshold)")
    p.add_argument("--wide", action="store_true",
                   help="the whole table: no call site shortened, decimal sizes beside the hex")
    p.add_argument("--arch", choices=ARCHES, help="override architecture detection")
    p.add_argument("--strict", action="store_true",
                   help="treat warnings (unreadable lines inside a stack) as errors")


def analysis_options(args: argparse.Namespace) -> AnalysisOptions:
    return AnalysisOptions(budget=args.budget, heavy=args.heavy, top=max(args.top, 0),
                           drivers=tuple(args.driver), arch=args.arch)


def render_options(args: argparse.Namespace) -> RenderOptions:
    return RenderOptions(top=max(args.top, 0), wide=getattr(args, "wide", False))


def add_help_alias(p: argparse.ArgumentParser) -> None:
    """`-?` for help, as WinDbg's commands take it."""
    p.add_argument("-?", action="help", help=argparse.SUPPRESS)


def expand(files: Sequence[str]) -> List[str]:
    """The file arguments, with wildcards expanded here (cmd.exe and PowerShell leave
    `logs\\*.txt` to the program). A pattern that matches nothing stays, to fail by name."""
    out: List[str] = []
    if not files and sys.stdin is not None and sys.stdin.isatty():
        # nothing piped in: waiting on a terminal would look like a hang
        raise StackextError("no input: give WinDbg log files, or pipe WinDbg output in "
                            "(`-` reads what you paste, end with Ctrl+D / Ctrl+Z)")
    for f in files or ["-"]:
        if f != "-" and any(c in f for c in "*?[") and not os.path.exists(f):
            out.extend(sorted(glob.glob(f)) or [f])
        else:
            out.append(f)
    return out




def add_survey_options(p: argparse.ArgumentParser) -> None:
    """The thread survey's options (`stackext threads` and `!py -m stackext.threads`)."""
    p.add_argument("--format", choices=("table", "json", "csv"), default="table",
                   help="output format (default: table)")
    p.add_argument("--top", type=count, default=0, metavar="N",
                   help="walk the N closest threads and show their heaviest driver frames")
    p.add_argument("--driver", action="append", default=[], metavar="NAME",
                   help="only threads with this driver on their stack (repeatable); adds the "
                        "per-function view of that driver across them")
    p.add_argument("--budget", type=parse_size, metavar="SIZE",
                   help="judge every thread against this budget instead of its own "
                        "StackBase - StackLimit: %s" % SIZE_HELP)
    p.add_argument("--heavy", type=parse_size, default=DEFAULT_HEAVY, metavar="SIZE",
                   help="a frame this big or bigger is heavy (default: 1K)")


def survey_analysis_options(args: argparse.Namespace) -> AnalysisOptions:
    """The analysis of each walked thread: its five heaviest frames."""
    return AnalysisOptions(budget=args.budget, heavy=args.heavy, top=5,
                           drivers=tuple(args.driver), arch=getattr(args, "arch", None))
