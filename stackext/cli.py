"""The `stackext` command: build_parser() and main(argv) -> int, shared by the console script
and (for the analysis options) the in-debugger entry. Imports sources lazily per command.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
from typing import Iterator, List, Optional, Sequence, TextIO

from stackext import __version__
from stackext.analyze import AnalysisOptions, analyze
from stackext.errors import StackextError
from stackext.knowledge import DEFAULT_HEAVY
from stackext.model import ARCHES, StackReport
from stackext.render import FORMAT_NAMES, RenderOptions, stream

EPILOG = """examples:
  stackext usage crash_analyze.txt            analyze every stack in a saved WinDbg log
  stackext usage --format json kd.log          the same as JSON (see README for the contract)
  stackext usage --driver mydrv --top 10 x.txt  mark mydrv's frames as yours, show 10 heaviest
  stackext usage --budget 28K thread.txt       judge against a 28 KB stack
  pbpaste | stackext usage -                   read a stack pasted from WinDbg on stdin
  stackext threads process_0_7.txt             every thread's headroom, closest to the edge first

exit status: 0 report printed, 1 an overflow was found and --fail-on-overflow was given,
             2 bad input or usage (one line on stderr names the file and line)
"""

# "12K", "24KB", "28 KiB", "0x6000", "24576", "1M"
_SIZE = re.compile(r"^\s*(0x[0-9a-f]+|\d+)\s*(k|kb|kib|m|mb|mib)?\s*$", re.I)


def parse_size(text: str) -> int:
    m = _SIZE.match(text or "")
    if not m:
        raise argparse.ArgumentTypeError(
            "not a size: %r (use e.g. 12K, 24KB, 0x6000 or 24576)" % text)
    value = int(m.group(1), 0)
    unit = (m.group(2) or "").lower()
    if unit.startswith("k"):
        value *= 1024
    elif unit.startswith("m"):
        value *= 1024 * 1024
    if value <= 0 or value > 1 << 40:
        raise argparse.ArgumentTypeError("size out of range: %r" % text)
    return value


# "fffff803`12345678", "0xfffff80312345678", "fffff80312345678"
_ADDR = re.compile(r"^\s*(?:0x)?([0-9a-f]{1,8})`?([0-9a-f]{0,8})\s*$", re.I)


def parse_address(text: str) -> int:
    m = _ADDR.match(text or "")
    if not m:
        raise argparse.ArgumentTypeError(
            "not an address: %r (use WinDbg's fffff803`12345678, 0x... or bare hex)" % text)
    return int(m.group(1) + m.group(2), 16)


def add_analysis_options(p: argparse.ArgumentParser) -> None:
    """The options every entry shares (console, !py, .scriptload bridge)."""
    p.add_argument("--format", choices=[f for f in FORMAT_NAMES if f != "dml"],
                   default="table", help="output format (default: table)")
    p.add_argument("--top", type=int, default=5, metavar="N",
                   help="how many heaviest frames to list (default: 5)")
    p.add_argument("--driver", action="append", default=[], metavar="NAME",
                   help="a module that is yours (repeatable); wins over the inbox-module table")
    p.add_argument("--budget", type=parse_size, metavar="SIZE",
                   help="stack budget to judge against: 12K, 24KB, 0x6000, 24576 "
                        "(default: the thread's StackBase-StackLimit, else 12K x86 / 24K x64)")
    p.add_argument("--heavy", type=parse_size, default=DEFAULT_HEAVY, metavar="SIZE",
                   help="a frame this big or bigger is heavy (default: 1K, MSVC C6262's "
                        "kernel-mode threshold)")
    p.add_argument("--arch", choices=ARCHES, help="override architecture detection")
    p.add_argument("--strict", action="store_true",
                   help="treat warnings (unreadable lines inside a stack) as errors")


def analysis_options(args: argparse.Namespace) -> AnalysisOptions:
    return AnalysisOptions(budget=args.budget, heavy=args.heavy, top=max(args.top, 0),
                           drivers=tuple(args.driver), arch=args.arch)


def render_options(args: argparse.Namespace) -> RenderOptions:
    return RenderOptions(top=max(args.top, 0))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stackext", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Where did the thread's stack go? Per-frame stack usage from WinDbg "
                    "output, against the thread's budget, with the heaviest driver frames.",
        epilog=EPILOG)
    p.add_argument("--version", action="version", version="stackext " + __version__)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    u = sub.add_parser("usage", help="per-frame stack usage of every stack in WinDbg logs",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    u.add_argument("files", nargs="*", metavar="FILE",
                   help="WinDbg text (k/kn/kv/kf/!thread/!analyze -v/kd -logo); - or none: stdin")
    add_analysis_options(u)
    u.add_argument("--thread", type=parse_address, metavar="ADDR",
                   help="only that thread's stack from a multi-thread log")
    u.add_argument("--fail-on-overflow", action="store_true",
                   help="exit 1 when any stack overflowed (for test labs)")
    u.add_argument("-o", "--output", metavar="FILE", help="write the report here (default: stdout)")
    from stackext import lab  # here, not at the top: lab imports this module

    lab.add_arguments(sub.add_parser("report", help="one HTML page over many stacks",
                                     description=lab.DESCRIPTION, epilog=lab.EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter))
    t = sub.add_parser("threads", help="every thread's headroom from !process 0 7 style logs",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("files", nargs="*", metavar="FILE")
    t.add_argument("--format", choices=("table", "json", "csv"), default="table")
    t.add_argument("--top", type=int, default=0, metavar="N",
                   help="also show the heaviest driver frames of the N closest threads")
    t.add_argument("--driver", action="append", default=[], metavar="NAME",
                   help="only threads with this driver on their stack (repeatable)")
    t.add_argument("--budget", type=parse_size, metavar="SIZE")
    t.add_argument("--heavy", type=parse_size, default=DEFAULT_HEAVY, metavar="SIZE")
    t.add_argument("--arch", choices=ARCHES)
    t.add_argument("--strict", action="store_true")
    return p


def expand(files: Sequence[str]) -> List[str]:
    """The file arguments, with wildcards expanded here (cmd.exe and PowerShell leave
    `logs\\*.txt` to the program). A pattern that matches nothing stays, to fail by name."""
    out: List[str] = []
    if not files and sys.stdin is not None and sys.stdin.isatty():
        # nothing piped in: waiting on a terminal would look like a hang
        raise StackextError("no input: give WinDbg log files, or pipe WinDbg output in "
                            "(`-` reads what you paste, end with Ctrl+D / Ctrl+Z)", "stackext")
    for f in files or ["-"]:
        if f != "-" and any(c in f for c in "*?[") and not os.path.exists(f):
            out.extend(sorted(glob.glob(f)) or [f])
        else:
            out.append(f)
    return out


def _stacks(files: Sequence[str], args: argparse.Namespace) -> Iterator[StackReport]:
    """Reports for every stack in the files, one at a time."""
    from stackext.render import json_
    from stackext.sources import windbg_log

    opts = analysis_options(args)
    found = 0
    for path in expand(files):
        for item in windbg_log.read_file(path):
            if isinstance(item, windbg_log.EmbeddedJson):
                reports = json_.load(item.text, item.source)
            else:
                reports = [analyze(item, opts)]
            for r in reports:
                if getattr(args, "thread", None) is not None and r.thread != args.thread:
                    continue
                if args.strict and r.warnings:
                    raise StackextError("warning treated as error (--strict): %s"
                                        % r.warnings[0], r.source)
                found += 1
                yield r
    if getattr(args, "thread", None) is not None and not found:
        raise StackextError("no stack of thread 0x%x in the input" % args.thread,
                            ", ".join(files) or "<stdin>")


def cmd_usage(args: argparse.Namespace, out: TextIO) -> int:
    overflow = []

    def note(reports):
        for r in reports:
            if r.overflow:
                overflow.append(r.source)
            yield r

    target = _output(args.output) if args.output else out
    try:
        stream(note(_stacks(args.files, args)), args.format, render_options(args), target.write)
    finally:
        if target is not out:
            target.close()
    return 1 if overflow and args.fail_on_overflow else 0


def _output(path: str) -> TextIO:
    try:
        return open(path, "w", encoding="utf-8", newline="\n")
    except OSError as e:
        raise StackextError("cannot write the report: %s" % (e.strerror or e), path) from None


def cmd_threads(args: argparse.Namespace, out: TextIO) -> int:
    from stackext import threads

    return threads.run_log(args, out)


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    from stackext import lab

    return lab.run(args, out, sys.stderr)


COMMANDS = {"usage": cmd_usage, "threads": cmd_threads, "report": cmd_report}


def main(argv: Optional[List[str]] = None, out: Optional[TextIO] = None,
         err: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # -h, --version (0) and usage errors (2)
        return int(e.code or 0)
    if not args.command:
        parser.print_help(out)
        return 2
    try:
        return COMMANDS[args.command](args, out)
    except StackextError as e:
        err.write("stackext: %s\n" % e)
        return 2
    except KeyboardInterrupt:
        err.write("stackext: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # never a traceback for a user; STACKEXT_DEBUG=1 shows it
        if os.environ.get("STACKEXT_DEBUG"):
            raise
        err.write("stackext: internal error, please report it: %s: %s\n"
                  % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
        return 2


def main_exit() -> None:
    sys.exit(main())
