"""The in-debugger command (`!py -m stackext.usage [options]`): parse, collect, analyze, print.

Talks to the debugger only through stackext.sources.pykd_source (never imports pykd). A failing
run prints one line and returns; it never raises into `!py` (which would show a traceback) and
keeps no state between runs (`!py` gives each run a fresh interpreter).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import Callable, List, Optional, Tuple

from stackext.command import DebuggerParser, run_command
from stackext.errors import StackextError

PROG = "!py -m stackext.usage"
EPILOG = """examples:
  !py -m stackext.usage                       the current thread's stack against its budget
  !py -m stackext.usage --thread ffffe001`12345080 --driver mydrv
  !py -m stackext.usage --format json         JSON between marker lines (for kd -logo logs)
  !py -m stackext.usage --html C:\\tmp\\stack.html   the stack drawn to scale, one HTML file
outside a debugger (pykd as a library, Windows):
  python -m stackext.usage --dump C:\\dumps\\MEMORY.DMP
  python -m stackext.usage --dump C:\\dumps\\app.dmp --thread ~2 --symbols C:\\symbols
"""


def build_parser(write: Callable[[str], None]) -> argparse.ArgumentParser:
    from stackext.cli import add_analysis_options

    p = DebuggerParser(write, prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Where did this thread's stack go? Per-frame stack usage from "
                            "Child-SP differences, against the thread's budget.",
                epilog=EPILOG)
    add_analysis_options(p)
    p.add_argument("--thread", type=_thread_arg, metavar="ADDR",
                   help="kernel: ETHREAD/KTHREAD address (fffff803`12345678, 0x..., bare hex); "
                        "the debugger's thread, process and frame are put back afterwards. "
                        "User-mode dump (--dump): ~N or the thread id in hex as `~` shows it "
                        "(default: the dump's current thread)")
    p.add_argument("--dml", dest="dml", action="store_true", default=None,
                   help="links and colours (default: on inside WinDbg)")
    p.add_argument("--no-dml", dest="dml", action="store_false", help="plain text")
    p.add_argument("--no-high-water", dest="high_water", action="store_false",
                   help="skip the high-water scan of the stack pages (a few page reads)")
    p.add_argument("--dump", metavar="PATH",
                   help="open this dump first (only outside a debugger: python -m stackext.usage)")
    p.add_argument("--symbols", metavar="PATH",
                   help="symbol path for --dump (default: _NT_SYMBOL_PATH); the dump's own "
                        "folder is always added, so PDBs next to it are found")
    p.add_argument("--no-locals", dest="locals", action="store_false",
                   help="do not read the largest locals of the heaviest frames (dv, .fnent)")
    p.add_argument("--html", metavar="FILE",
                   help="write the stack's page (one self-contained HTML file) to FILE and "
                        "print its path")
    return p


def _thread_arg(text: str) -> str:
    """~N (user-mode dump) or an address; checked here, read once the target is known."""
    from stackext.cli import parse_address
    from stackext.sources.pykd_dump import is_user_thread_spec

    if not is_user_thread_spec(text):
        parse_address(text)  # raises argparse.ArgumentTypeError
    return text.strip()


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _double_fault_links(stack, report) -> str:
    """DML links for the way from the double-fault stack to the overflowed thread stack."""
    from stackext.sources.pykd_source import double_fault_trap, fmt_addr

    trap = double_fault_trap(stack)
    if trap is None:
        return ""
    ptr64 = report.arch != "x86"
    parts = ['<link cmd=".trap 0x%x">.trap %s</link>' % (trap, _escape(fmt_addr(trap, ptr64)))]
    if report.thread:
        parts.append('<link cmd=".thread 0x%x">.thread %s</link>'
                     % (report.thread, _escape(fmt_addr(report.thread, ptr64))))
    return ("to reach the overflowed thread stack: %s, then <link cmd=\"!py -m stackext.usage\">"
            "!py -m stackext.usage</link>" % " or ".join(parts))


def _open_target(args: argparse.Namespace) -> Tuple[Optional[int], Optional[str]]:
    """Open --dump (symbols, .reload) and select --thread. Returns (kernel thread address for
    collect, the report's source line or None)."""
    from stackext.cli import parse_address
    from stackext.sources import pykd_dump

    if not args.dump:
        if args.thread is not None and pykd_dump.is_user_thread_spec(args.thread):
            raise StackextError("--thread ~N selects a thread of a user-mode dump opened with "
                                "--dump; here switch threads with ~Ns first")
        return (None if args.thread is None else parse_address(args.thread)), None
    pykd_dump.open_dump(args.dump, args.symbols)
    if pykd_dump.is_kernel():
        if args.thread is not None and pykd_dump.is_user_thread_spec(args.thread):
            raise StackextError("--thread ~N is for user-mode dumps; on a kernel dump give an "
                                "ETHREAD/KTHREAD address")
        thread = None if args.thread is None else parse_address(args.thread)
        return thread, args.dump
    if args.thread is not None:
        pykd_dump.select_user_thread(args.thread)
    current = pykd_dump.current_thread()
    return None, args.dump + (", thread %s" % current if current else "")


def run(args: argparse.Namespace, write: Callable[[str, bool], None]) -> int:
    from stackext.analyze import analyze
    from stackext.cli import analysis_options, render_options
    from stackext.render import render
    from stackext.sources import pykd_source

    inside = pykd_source.in_debugger()
    if args.dump:
        if inside:
            raise StackextError("--dump works only outside a debugger (python -m "
                                "stackext.usage --dump PATH); here the open target is used "
                                "(.opendump to open another)")
    elif not inside:
        raise StackextError("not inside a debugger: run it in WinDbg as `!py -m stackext.usage`, "
                            "or give --dump PATH")
    elif args.symbols is not None:
        raise StackextError("--symbols goes with --dump; in the debugger use .sympath and .reload")
    dml = inside if args.dml is None else args.dml
    thread, where = _open_target(args)
    stack = pykd_source.collect(thread=thread)
    # the high-water mark (a few page reads) and, when the walk failed or stopped short, the
    # frames a raw scan of the stack finds (one read of the stack, one of the module list)
    from stackext.sources import pykd_memory

    pykd_memory.attach(pykd_source.load_pykd(), stack, high_water=args.high_water)
    if not stack.frames:
        raise StackextError("the debugger returned no frames for this thread, and a raw scan of "
                            "its stack found none (.reload; .thread)")
    if where:
        stack.source = where
    report = analyze(stack, analysis_options(args))
    if args.locals and args.top > 0:
        from stackext.sources import pykd_anatomy

        pykd_anatomy.attach(stack, report, args.top, thread=thread)
    if args.strict and report.warnings:
        raise StackextError("warning treated as error (--strict): %s" % report.warnings[0])
    if args.html:
        return _write_html(args.html, report, render_options(args), write)
    fmt = args.format
    ropts = dataclasses.replace(render_options(args), dml=dml and fmt == "table",
                                markers=fmt == "json" and inside)
    if dml and fmt == "table":
        fmt = "dml"
    text = render([report], fmt, ropts).rstrip("\n")
    write(text, fmt == "dml")
    if fmt == "dml":
        links = _double_fault_links(stack, report)
        if links:
            write(links, True)
    return 0


def _write_html(path: str, report, ropts, write: Callable[[str, bool], None]) -> int:
    from stackext.render import render

    path = os.path.abspath(path)
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(render([report], "html", ropts))
    except OSError as e:
        raise StackextError("cannot write the page: %s" % (e.strerror or e), path) from None
    write("stack page written to %s" % path, False)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Run once; returns an exit code (invisible inside WinDbg, useful to tests and scripts)."""
    return run_command(argv, build_parser, run)


def inside_debugger() -> bool:
    """True inside WinDbg/kd; False with pykd as a library or without pykd."""
    try:
        from stackext.sources import pykd_source

        return pykd_source.in_debugger()
    except Exception:  # noqa: BLE001 - no pykd, or pykd not initialized: not a debugger
        return False
