"""`!py -m stackext.threads [options]`: the in-debugger thread survey: every kernel thread's
headroom, closest to the edge first.

Talks to the debugger only through the adapter it is given (never imports pykd). Like
stackext.debugger: one-line errors, argparse never exits, no traceback reaches `!py`; Ctrl+Break
prints what was gathered so far.
"""

from __future__ import annotations

import argparse
from typing import Callable, List, Optional

from stackext import knowledge as K
from stackext import launch
from stackext.debugger import DebuggerParser, Write, inside_debugger, run_command, wants_dml
from stackext.errors import StackextError
from stackext.options import add_help_alias, add_survey_options, survey_analysis_options
from stackext.report_json import MARKER_BEGIN, MARKER_END
from stackext.sources.pykd.adapter import Debugger
from stackext.sources.pykd.threads import gather
from stackext.survey import collect, to_walk

PROG = "!py -m stackext.threads"
EPILOG = """examples:
  !py -m stackext.threads                      every thread, closest to the edge first
  !py -m stackext.threads --top 5              also walk the 5 closest: heaviest driver frames
  !py -m stackext.threads --driver mydrv       only threads with mydrv on their stack
  !py -m stackext.threads --format json        JSON between marker lines (for kd -logo logs)
"""


def build_parser(write: Callable[[str], None]) -> argparse.ArgumentParser:
    p = DebuggerParser(write, prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Which threads are close to overflowing? Every kernel "
                                   "thread's used stack (StackBase - saved SP, no stack walk) "
                                   "against its budget.",
                       epilog=EPILOG)
    add_survey_options(p)
    p.add_argument("--dml", dest="dml", action="store_true", default=None,
                   help="links to .thread /p /r and stackext.usage (default: the debugger's "
                        ".prefer_dml setting)")
    p.add_argument("--no-dml", dest="dml", action="store_false", help="plain text")
    add_help_alias(p)
    return p


def _explain(rows, gathered) -> List[str]:
    """Say why a used value is missing, and what was not done."""
    notes = []
    unknown = 0
    for r in rows:
        if r.used is None and K.is_running(r.state) and \
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


def run(args: argparse.Namespace, dbg: Debugger, write: Write) -> int:
    inside = dbg.in_windbg()
    if not inside:
        raise StackextError("not inside a debugger: run it in WinDbg/kd as `%s`" % PROG)
    dml = wants_dml(dbg, args.dml, args.format)
    g = gather(dbg, lambda stacks, current: to_walk(stacks, current, args.driver, args.top),
               progress=lambda t: write(t, False))
    rows, view = collect(g.stacks, survey_analysis_options(args), list(args.driver), args.top)
    notes = _explain(rows, g)
    if args.driver and not rows:
        notes.append("no thread has %s on its stack (%d thread(s) read)"
                     % (" or ".join(args.driver), len(g.stacks)))
    from stackext.render import survey as render_survey  # tabulate: not for `--help`
    if args.format == "json":
        # machine output: nothing after the end marker but the document
        text = "\n".join((MARKER_BEGIN, render_survey.to_json(rows, view, g.interrupted)
                          .rstrip("\n"), MARKER_END))
        write(text, False)
        return 130 if g.interrupted else 0
    if args.format == "csv":
        for note in notes:  # before the rows, so that the CSV stays one table
            write("stackext: " + note, False)
        notes = []
    if args.format == "table" and dml:
        write(render_survey.to_dml(rows, view, args.top, launch.command("usage")).rstrip("\n"),
              True)
    else:
        write(render_survey.render(rows, view, args.format, args.top).rstrip("\n"), False)
    for note in notes:
        write("stackext: " + note, False)
    return 130 if g.interrupted else 0


def main(argv: Optional[List[str]] = None, debugger: Optional[Debugger] = None) -> int:
    """Run once; returns an exit code (invisible inside WinDbg, useful to tests and scripts).
    `debugger` defaults to the real pykd (Debugger.load())."""
    return run_command(argv, build_parser, run, debugger)


if __name__ == "__main__":  # `!py -m stackext.threads` inside WinDbg/kd
    import sys

    status = main()
    if status and not inside_debugger():  # as stackext.usage: visible outside WinDbg
        sys.exit(status)
