"""The in-debugger thread survey (`!py -m stackext.threads [options]`): every kernel thread's
headroom, closest to the edge first.

Talks to the debugger only through stackext.sources (never imports pykd). Like
stackext.debugger: one-line errors, argparse never exits, no traceback reaches `!py`; Ctrl+Break
prints what was gathered so far.
"""

from __future__ import annotations

import argparse
import json
from typing import Callable, List, Optional

from stackext.command import DebuggerParser, run_command
from stackext.errors import StackextError

PROG = "!py -m stackext.threads"
EPILOG = """examples:
  !py -m stackext.threads                      every thread, closest to the edge first
  !py -m stackext.threads --top 5              also walk the 5 closest: heaviest driver frames
  !py -m stackext.threads --driver mydrv       only threads with mydrv on their stack
  !py -m stackext.threads --format json        JSON between marker lines (for kd -logo logs)
"""


def build_parser(write: Callable[[str], None]) -> argparse.ArgumentParser:
    from stackext.cli import parse_size
    from stackext.knowledge import DEFAULT_HEAVY

    p = DebuggerParser(write, prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Which threads are close to overflowing? Every kernel thread's used "
                            "stack (StackBase - saved SP, no stack walk) against its budget.",
                epilog=EPILOG)
    p.add_argument("--top", type=int, default=0, metavar="N",
                   help="walk the N closest threads' stacks (and the running ones) and show "
                        "their heaviest driver frames")
    p.add_argument("--driver", action="append", default=[], metavar="NAME",
                   help="only threads with this driver on their stack (walks every stack; "
                        "repeatable); adds the per-function view of that driver")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--budget", type=parse_size, metavar="SIZE",
                   help="judge every thread against this budget instead of its own "
                        "StackBase - StackLimit")
    p.add_argument("--heavy", type=parse_size, default=DEFAULT_HEAVY, metavar="SIZE",
                   help="a frame this big or bigger is heavy (default: 1K)")
    p.add_argument("--dml", dest="dml", action="store_true", default=None,
                   help="links to .thread and stackext.usage (default: on inside WinDbg)")
    p.add_argument("--no-dml", dest="dml", action="store_false", help="plain text")
    return p


def escape(text: str) -> str:
    """DML-escape target text (image names, call sites)."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def dml_table(text: str, rows) -> str:
    """The plain table with each thread linked to `.thread` and to stackext.usage --thread.
    Tags are invisible in WinDbg, so tabulate's columns stay aligned."""
    lines = [escape(line) for line in text.split("\n")]
    for i, r in enumerate(rows):
        n = i + 2  # after the header and the dashes
        if r.thread is None or n >= len(lines):
            continue
        addr = "0x%x" % r.thread
        if not lines[n].startswith(addr):
            continue
        lines[n] = ('<link cmd=".thread %s">%s</link>' % (addr, addr) + lines[n][len(addr):]
                    + '  <link cmd="!py -m stackext.usage --thread %s">usage</link>' % addr)
    return "\n".join(lines)


def _explain(rows, gathered) -> List[str]:
    """Say why a used value is missing, and what was not done."""
    notes = []
    unknown = 0
    for r in rows:
        if r.used is None and (r.state or "").startswith("RUNNING") and \
                r.thread not in gathered.walked:
            r.used_from = "running, SP not known"
            unknown += 1
    if unknown:
        notes.append("%d running thread(s): their SP is known only from a walk (cheap only for "
                     "the current thread); --top N walks them" % unknown)
    if gathered.interrupted:
        notes.append("interrupted (%s) while %s: showing what was gathered (%s)"
                     % (gathered.interrupted, gathered.phase or "finishing",
                        gathered.progress_note()))
    return notes


def run(args: argparse.Namespace, write: Callable[[str, bool], None]) -> int:
    from stackext import threads
    from stackext.analyze import AnalysisOptions
    from stackext.render import json_
    from stackext.sources import pykd_source, pykd_threads

    pykd = pykd_source.load_pykd()
    inside = pykd_source.in_debugger()
    if not inside:
        raise StackextError("not inside a debugger: run it in WinDbg/kd as `%s`" % PROG)
    dml = inside if args.dml is None else args.dml
    g = pykd_threads.gather(pykd, args.driver, args.top, progress=lambda t: write(t, False))
    opts = AnalysisOptions(budget=args.budget, heavy=args.heavy, top=5,
                           drivers=tuple(args.driver))
    rows, view = threads.collect(g.stacks, opts, list(args.driver), args.top)
    notes = _explain(rows, g)
    text = threads.render(rows, view, args.format, args.top).rstrip("\n")
    if args.format == "json":
        doc = json.loads(text)
        if g.interrupted:
            doc["interrupted"] = g.interrupted
        text = "\n".join((json_.MARKER_BEGIN, json.dumps(doc, indent=2), json_.MARKER_END))
        notes = []  # machine output: nothing after the end marker but the document
    elif args.format == "csv":
        for note in notes:  # before the rows, so that the CSV stays one table
            write("stackext: " + note, False)
        notes = []
    if args.format == "table" and dml:
        write(dml_table(text, rows), True)
    else:
        write(text, False)
    for note in notes:
        write("stackext: " + note, False)
    return 130 if g.interrupted else 0


def main(argv: Optional[List[str]] = None) -> int:
    """Run once; returns an exit code (invisible inside WinDbg, useful to tests and scripts)."""
    return run_command(argv, build_parser, run)
