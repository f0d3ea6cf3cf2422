"""The `stackext` console command: build_parser() and main(argv) -> int."""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
from typing import Callable, Iterator, List, Optional, TextIO

from stackext import __version__, lab
from stackext import frames_command as frames
from stackext import report_json as RJ
from stackext.addresses import fmt_addr
from stackext.analyze import analyze
from stackext.errors import StackextError, open_output, run_guarded
from stackext.knowledge import ARCHES
from stackext.model import StackInput, StackReport
from stackext.options import (
    OneLineParser,
    add_analysis_options,
    add_help_alias,
    add_survey_options,
    analysis_options,
    expand,
    render_options,
    survey_analysis_options,
    thread_spec,
)
from stackext.render import FRAMES_ONLY, stream
from stackext.sources import windbg
from stackext.survey import collect

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

THREADS_EPILOG = """examples:
  stackext threads process_0_7.txt             every thread, closest to the edge first
  stackext threads --top 5 process_0_7.txt     and the heaviest driver frames of the 5 closest
  stackext threads --driver mydrv logs\\*.txt     only threads with mydrv on their stack
numbers: sizes are hex as WinDbg reads them (6000 = 0x6000), 0n24576 decimal, 24K = 24 KiB
"""


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="stackext", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Where did the thread's stack go? Per-frame stack usage from WinDbg "
                    "output, against the thread's budget, with the heaviest driver frames.",
        epilog=EPILOG)
    p.add_argument("--version", action="version", version="stackext " + __version__)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    u = sub.add_parser("usage", help="per-frame stack usage of every stack in WinDbg logs",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    u.add_argument("files", nargs="*", metavar="FILE",
                   help="WinDbg text (k/kn/kv/kf/!thread/!analyze -v/kd -logo); - or none: stdin")
    add_analysis_options(u)
    u.add_argument("--thread", type=thread_spec, metavar="ADDR|~N",
                   help="only that thread's stack from a multi-thread log: its address or id "
                        "(hex), or ~N, the debugger's thread number in a ~*k log")
    u.add_argument("--fail-on-overflow", action="store_true",
                   help="exit 1 when any stack overflowed (for test labs)")
    u.add_argument("-o", "--output", metavar="FILE", help="write the report here (default: stdout)")
    lab.add_arguments(sub.add_parser("report", help="one HTML page over many stacks",
                                     description=lab.DESCRIPTION, epilog=lab.EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter))
    t = sub.add_parser("threads", help="every thread's headroom from !process 0 7 style logs",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Every thread's used stack (StackBase - its saved or walked "
                                   "SP) against its budget, closest to the edge first.",
                       epilog=THREADS_EPILOG)
    t.add_argument("files", nargs="*", metavar="FILE",
                   help="!process 0 7 / !thread output; - or none: stdin")
    add_survey_options(t)
    t.add_argument("--arch", choices=ARCHES, help="override architecture detection")
    t.add_argument("--strict", action="store_true",
                   help="treat warnings (unreadable lines inside a stack) as errors")
    for parser in (p, u, t):
        add_help_alias(parser)
    sub.add_parser("frames", add_help=False,  # parsed by stackext.frames (see main)
                   help="stack frames and deepest call paths of an x64 driver binary")
    return p


def _file_reports(path: str, args: argparse.Namespace, opts,
                  stackless: List[object]) -> Iterator[StackReport]:
    for item in windbg.read_file(path, threads_without_stack=True, skipped=True):
        if isinstance(item, windbg.Skipped) or isinstance(item, StackInput) and not item.frames:
            stackless.append(item)  # a !thread block without a stack, a listing without SPs:
            continue  # said, not analysed
        if isinstance(item, windbg.EmbeddedJson):
            reports = RJ.load(item.text, item.source)
            for r in reports:  # a live target (or older stackext) names no dump: the log does
                r.source = item.source if r.source == "debugger" else r.source
        else:
            reports = [analyze(item, opts, owned=True)]  # read once: no copy
        for r in reports:
            if args.thread is not None and not args.thread.matches(r.thread, r.thread_number):
                continue
            if args.strict and r.warnings:
                raise StackextError("warning treated as error (--strict): %s"
                                    % r.warnings[0], r.source)
            yield r


def _stacks(args: argparse.Namespace, failed: Callable[[StackextError], None],
            noted: Callable[[str], object] = lambda text: None) -> Iterator[StackReport]:
    """Reports for every stack in the files, one at a time. A file that fails is reported
    through `failed` and the next file is read: a lab batch never loses the good ones. Threads
    a file shows without a stack are said through `noted`, once per file."""
    opts = analysis_options(args)
    opts.totals = args.format not in FRAMES_ONLY  # what the format prints, no more
    found = 0
    for path in expand(args.files):
        stackless: List[object] = []
        try:
            for r in _file_reports(path, args, opts, stackless):
                found += 1
                yield r
        except StackextError as e:
            failed(e)
        threads = [x for x in stackless if isinstance(x, StackInput)]
        if threads and args.thread is None:
            noted(_stackless_note(threads))
        for x in stackless:
            if isinstance(x, windbg.Skipped):
                noted("%s: a listing not read: %s" % (x.source, x.why))
    if args.thread is not None and not found:
        failed(StackextError("no stack of thread %s in the input" % (args.thread,),
                             ", ".join(args.files) or "<stdin>"))


def _stackless_note(threads: List[StackInput]) -> str:
    """One line for the !thread blocks of a file that printed no stack to analyse."""
    first = threads[0]
    why = next((w.split("WinDbg: ", 1)[1] for w in first.warnings if "WinDbg: " in w),
                "no rows with stack pointers")
    return ("%s: %d thread%s printed no stack to analyse (the first: thread %s, %s); "
            "`stackext threads` shows each one's saved stack pointer against its bounds"
            % (first.source, len(threads), "" if len(threads) == 1 else "s",
               fmt_addr(first.thread) if first.thread is not None else "?", why.rstrip(".")))


def _error_entry(e: StackextError) -> dict:
    """{"file", "line", "message"} for the JSON document's errors list."""
    where, line = e.where or "", None
    head, sep, tail = where.rpartition(":")
    if sep and tail.isdigit():
        where, line = head, int(tail)
    return {"file": where or None, "line": line, "message": e.message.splitlines()[0]}


def console_width(stream: TextIO) -> int:
    """The table's width: COLUMNS when set, the terminal's width, 80 when not a terminal."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        if stream.isatty():
            return shutil.get_terminal_size().columns
    except (AttributeError, ValueError, OSError):
        pass
    return 80


def cmd_usage(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    overflow = []
    ropts = render_options(args)
    ropts.width = console_width(out if not args.output else io.StringIO())

    def failed(e: StackextError) -> None:
        err.write("stackext: %s\n" % e)
        ropts.errors.append(_error_entry(e))

    def note(reports):
        for r in reports:
            if r.overflow:
                overflow.append(r.source)
            yield r

    target = open_output(args.output) if args.output else out
    try:
        stream(note(_stacks(args, failed, lambda text: err.write("stackext: note: %s\n" % text))),
               args.format, ropts, target.write)
    finally:
        if target is not out:
            target.close()
    if ropts.errors:
        return 2
    return 1 if overflow and args.fail_on_overflow else 0


def _thread_stacks(args: argparse.Namespace) -> Iterator[StackInput]:
    """Every thread block of the logs, with or without a resident stack."""
    for path in expand(args.files):
        for item in windbg.read_file(path, threads_without_stack=True):
            if isinstance(item, windbg.EmbeddedJson):
                continue
            if args.strict and item.warnings:
                raise StackextError("warning treated as error (--strict): %s"
                                    % item.warnings[0], item.source)
            yield item


def cmd_threads(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """`stackext threads LOG`: every thread of the logs, closest to the edge first."""
    read = []
    rows, view = collect(_counted(_thread_stacks(args), read), survey_analysis_options(args),
                         list(args.driver), args.top)
    if args.driver and not rows:
        err.write("stackext: no thread has %s on its stack (%d thread(s) read)\n"
                  % (" or ".join(args.driver), len(read)))
        if args.format == "table":
            return 0
    from stackext.render import survey as render_survey  # tabulate: not for `--help`
    out.write(render_survey.render(rows, view, args.format, args.top))
    return 0


def _counted(items, seen: list):
    for item in items:
        seen.append(None)
        yield item


def cmd_report(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    return lab.run(args, out, err)


COMMANDS = {"usage": cmd_usage, "threads": cmd_threads, "report": cmd_report}


def main(argv: Optional[List[str]] = None, out: Optional[TextIO] = None,
         err: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["frames"]:  # its own parser and options
        return frames.main(argv[1:], out, err)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # -h, --version (0) and usage errors (2)
        return int(e.code or 0)
    if not args.command:
        parser.print_help(out)
        return 2
    return run_guarded(lambda: COMMANDS[args.command](args, out, err), err)


def main_exit() -> None:
    sys.exit(main())
