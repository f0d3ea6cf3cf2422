"""`!py -m stackext.usage [options]`: the in-debugger entry (also `python -m stackext.usage
--dump PATH` with pykd as a library): parse, collect, analyze, print.

Talks to the debugger only through the adapter it is given (stackext.sources.pykd; tests pass one
over a fake, `!py` gets Debugger.load()); never imports pykd. A failing
run prints one line and returns; it never raises into `!py` (which would show a traceback) and
keeps no state between runs (`!py` gives each run a fresh interpreter).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import Callable, List, Optional, Tuple

from stackext import launch
from stackext.analyze import analyze
from stackext.debugger import DebuggerParser, Write, inside_debugger, run_command, wants_dml
from stackext.errors import StackextError, open_output
from stackext.options import (
    add_analysis_options,
    add_help_alias,
    analysis_options,
    parse_address,
    render_options,
)
from stackext.render import render, renderer
from stackext.sources.pykd import anatomy, dump, live, memory
from stackext.sources.pykd.adapter import Debugger, boundary
from stackext.sources.pykd.nosymbols import missing_symbol_folders

PROG = "!py -m stackext.usage"
EPILOG = """examples:
  !py -m stackext.usage                       the current thread's stack against its budget
  !py -m stackext.usage --thread ffffe001`12345080 --driver mydrv
  !py -m stackext.usage --format json         JSON between marker lines (for kd -logo logs)
  !py -m stackext.usage --html C:\\tmp\\stack.html   the stack drawn to scale, one HTML file
  !py stackext.usage --thread @$thread         the launcher (scripts/), under pykd.pyd's own !py
numbers as WinDbg reads them: --budget 6000 is 0x6000, 0n24576 decimal, 24K = 24 KiB
outside a debugger (pykd as a library, Windows):
  python -m stackext.usage --dump C:\\dumps\\MEMORY.DMP
  python -m stackext.usage --dump C:\\dumps\\app.dmp --thread ~2 --symbols C:\\symbols
"""


def build_parser(write: Callable[[str], None]) -> argparse.ArgumentParser:
    p = DebuggerParser(write, prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Where did this thread's stack go? Per-frame stack usage from "
                            "Child-SP differences, against the thread's budget.",
                epilog=EPILOG)
    add_analysis_options(p)
    p.add_argument("--thread", type=_thread_arg, metavar="ADDR",
                   help="kernel: ETHREAD/KTHREAD address (fffff803`12345678, 0x..., bare hex, "
                        "or a pseudo-register such as @$thread, read by the debugger); "
                        "the debugger's thread, process and frame are put back afterwards. "
                        "User-mode dump (--dump): ~N or the thread id in hex as `~` shows it "
                        "(default: the dump's current thread)")
    p.add_argument("--dml", dest="dml", action="store_true", default=None,
                   help="links and colours (default: the debugger's .prefer_dml setting)")
    p.add_argument("--no-dml", dest="dml", action="store_false", help="plain text")
    p.add_argument("--no-high-water", dest="high_water", action="store_false",
                   help="skip the high-water scan of the stack pages (a few page reads)")
    p.add_argument("--dump", metavar="PATH",
                   help="open this dump first (only outside a debugger: python -m stackext.usage)")
    p.add_argument("--symbols", metavar="PATH",
                   help="symbol path for --dump (default: _NT_SYMBOL_PATH); the dump's own "
                        "folder is always added, so PDBs next to it are found")
    p.add_argument("--html", metavar="FILE",
                   help="write the stack's page (one self-contained HTML file) to FILE and "
                        "print its path")
    p.add_argument("--no-locals", dest="locals", action="store_false",
                   help="do not read the largest locals of the heaviest frames (dv, .fnent)")
    add_help_alias(p)
    return p


def _thread_arg(text: str) -> str:
    """~N (user-mode dump), @$pseudo-register or an address; checked here, read once the
    target is known."""
    if not dump.is_user_thread_spec(text) and not text.strip().startswith("@"):
        parse_address(text)  # raises argparse.ArgumentTypeError
    return text.strip()


def _open_target(dbg: Debugger,
                 args: argparse.Namespace) -> Tuple[Optional[int], Optional[str]]:
    """Open --dump (symbols, .reload) and select --thread. Returns (kernel thread address for
    collect, the report's source line or None)."""
    if not args.dump:
        if args.thread is not None and dump.is_user_thread_spec(args.thread):
            raise StackextError("--thread ~N selects a thread of a user-mode dump opened with "
                                "--dump; here switch threads with ~Ns first")
        return _address(dbg, args.thread), _opened_source(dbg)
    dump.open_dump(dbg, args.dump, args.symbols)
    if dump.is_kernel(dbg):
        if args.thread is not None and dump.is_user_thread_spec(args.thread):
            raise StackextError("--thread ~N is for user-mode dumps; on a kernel dump give an "
                                "ETHREAD/KTHREAD address")
        return _address(dbg, args.thread), args.dump
    if args.thread is not None:
        dump.select_user_thread(dbg, args.thread)
    current = dump.current_thread(dbg)
    return None, args.dump + (", thread %s" % current if current else "")


def _opened_source(dbg: Debugger) -> Optional[str]:
    """Inside the debugger on a dump: the report's source names the dump (so that the stacks
    read back from many kd logs can be told apart), as with --dump."""
    path = dump.opened_dump(dbg)
    if path is None or dump.is_kernel(dbg):
        return path
    current = dump.current_thread(dbg)
    return path + (", thread %s" % current if current else "")


def _address(dbg: Debugger, text: Optional[str]) -> Optional[int]:
    """An address as typed; `@$thread` and other pseudo-registers through the engine."""
    if text is None:
        return None
    if text.startswith("@"):
        with boundary("cannot evaluate --thread %s" % text):
            return dbg.evaluate(text)
    return parse_address(text)


def run(args: argparse.Namespace, dbg: Debugger, write: Write) -> int:
    inside = dbg.in_windbg()
    if args.dump:
        if inside:
            raise StackextError("--dump works only outside a debugger (python -m "
                                "stackext.usage --dump PATH); here the open target is used "
                                "(.opendump to open another)")
    elif not inside:
        raise StackextError("not inside a debugger: run it in WinDbg as `%s`, or give --dump "
                            "PATH" % launch.command("usage"))
    elif args.symbols is not None:
        raise StackextError("--symbols goes with --dump; in the debugger use .sympath and .reload")
    # JSON for a kd log: the begin marker goes out first, so that what the engine logs of
    # stackext's own commands lies inside the block (the log reader skips it), not before it.
    early_marker = inside and args.format == "json"
    if early_marker:
        # start-up: the JSON document module is for a JSON run only (the renderer imports it)
        from stackext.report_json import MARKER_BEGIN

        write(MARKER_BEGIN, False)
    dml = inside and wants_dml(dbg, args.dml, args.format)
    thread, where = _open_target(dbg, args)
    with live.walked(dbg, thread=thread) as walk:
        # in the thread and context the stack was walked in: `.frame N` (the locals) lands on
        # the report's frame N; all of it is put back on leaving, also on errors and Ctrl+Break
        report = _analyse(dbg, walk, args, where)
    report.warnings.extend(walk.put_back)
    if args.strict and report.warnings:
        raise StackextError("warning treated as error (--strict): %s" % report.warnings[0])
    if args.html:
        return _write_html(args.html, report, render_options(args), write)
    fmt = args.format
    ropts = dataclasses.replace(render_options(args), markers=fmt == "json" and inside)
    if dml and fmt == "table":
        fmt = "dml"
        ropts.frame_links = anatomy.frames_match(dbg, report)
    text = render([report], fmt, ropts).rstrip("\n")
    if early_marker:
        text = text.split("\n", 1)[1]  # the begin marker already went out
    write(text, fmt == "dml")
    if fmt == "dml":
        links = renderer("dml").double_fault_links(report, launch.command("usage"))
        if links:
            write(links, True)
    return 0


def _analyse(dbg: Debugger, walk: live.Walk, args: argparse.Namespace, where: Optional[str]):
    """Collect's stack (more memory read), analysed, with the largest locals."""
    stack = walk.stack
    stack.warnings.extend(missing_symbol_folders(args.symbols if args.dump else None))
    # the high-water mark (a few page reads) and, when the walk failed or stopped short, the
    # frames a raw scan of the stack finds (one read of the stack, one of the module list)
    memory.attach(dbg, stack, high_water=args.high_water)
    if not stack.frames:
        raise StackextError("the debugger returned no frames for this thread, and a raw scan of "
                            "its stack found none (.reload; .thread)")
    if where:
        stack.source = where
    report = analyze(stack, analysis_options(args))
    if args.locals and args.top > 0:
        anatomy.attach(dbg, walk, report, args.top)
    return report


def _write_html(path: str, report, ropts, write: Write) -> int:
    path = os.path.abspath(path)
    with open_output(path) as fh:
        fh.write(render([report], "html", ropts))
    write("stack page written to %s" % path, False)
    return 0


def main(argv: Optional[List[str]] = None, debugger: Optional[Debugger] = None) -> int:
    """Run once; returns an exit code (invisible inside WinDbg, useful to tests and scripts).
    `debugger` defaults to the real pykd (Debugger.load())."""
    return run_command(argv, build_parser, run, debugger)


if __name__ == "__main__":
    import sys

    status = main()
    # Outside a debugger the exit status is the interface (scripts, CI); inside WinDbg `!py`
    # would report a SystemExit, so the status stays invisible there.
    if status and not inside_debugger():
        sys.exit(status)
