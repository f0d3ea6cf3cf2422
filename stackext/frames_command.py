"""`stackext frames BINARY`: the stack budget of an x64 driver (or any PE) before it runs --
every function's fixed frame from its unwind data, the deepest call path from each root, and a
gate for CI (`--max-frame`, `--max-path`: exit 1 naming what is over).

Also `python -m stackext.frames BINARY ...`, and inside the debugger `!py -m stackext.frames
MODULE` (stackext.frames_debugger). main(argv) -> int: 0 report printed, 1 over a
limit, 2 bad input or missing libraries (one line on stderr).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional, TextIO

from stackext.errors import StackextError, run_guarded
from stackext.options import parse_size

X64_KERNEL_STACK = 24 * 1024
INSTALL_HINT = 'stackext frames needs pefile and capstone: pip install "stackext[frames]"'

EPILOG = """examples:
  stackext frames mydriver.sys                      heaviest frames, deepest paths (PDB next to it)
  stackext frames mydriver.sys --pdb sym/mydriver.pdb --top 10
  stackext frames mydriver.sys --all-roots          also from every function whose address is taken
  stackext frames mydriver.sys --calls calls.json   state indirect targets, recursion, import costs
  stackext frames mydriver.sys --max-frame 2K --max-path 20K    the CI gate

exit status: 0 report printed, 1 a frame or path is over --max-frame/--max-path,
             2 bad input or usage (one line on stderr)
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stackext frames", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Stack frames and worst call paths of an x64 PE (.sys/.dll/.exe) from its "
                    "unwind data, PDB and code.", epilog=EPILOG)
    p.add_argument("binary", metavar="BINARY")
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options after BINARY (shared with `!py -m stackext.frames MODULE`)."""
    p.add_argument("--pdb", metavar="FILE",
                   help="symbols (default: the PDB the binary names, next to it)")
    p.add_argument("--top", type=int, metavar="N",
                   help="functions and paths to list (default: 20 in table/markdown, all in "
                        "json/csv)")
    p.add_argument("--format", choices=("table", "json", "csv", "markdown"), default="table")
    p.add_argument("--root", action="append", default=[], metavar="NAME",
                   help="also a path from this function (repeatable)")
    p.add_argument("--all-roots", action="store_true",
                   help="also a path from every function whose address is taken")
    p.add_argument("--calls", metavar="FILE",
                   help="JSON: indirect-call targets, recursion bounds, import and "
                        "dynamic-frame costs (see README)")
    p.add_argument("--max-frame", type=parse_size, metavar="SIZE",
                   help="exit 1 when a function's frame is bigger (e.g. 2K)")
    p.add_argument("--max-path", type=parse_size, metavar="SIZE", nargs="?",
                   const=X64_KERNEL_STACK,
                   help="exit 1 when a path is deeper (alone: 24K, the x64 kernel stack)")


def gate(report, max_frame: Optional[int], max_path: Optional[int]) -> List[str]:
    """One line per function or path over its limit."""
    over = []
    if max_frame is not None:
        over += ["frame over --max-frame %d: %s is %d bytes" % (max_frame, f.name, f.frame)
                 for f in report.functions if f.frame > max_frame]
    if max_path is not None:
        over += ["path over --max-path %d: %d bytes from %s: %s" % (
            max_path, p.bytes, p.root, " > ".join(p.chain)) for p in report.paths
            if p.bytes > max_path]
    return over


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        # pefile and capstone are the `frames` extra: imported only for this command
        from stackext.binary import callsfile, render, report
    except ImportError:
        err.write("stackext: %s\n" % INSTALL_HINT)
        return 2
    opts = report.FramesOptions(pdb=args.pdb, roots=args.root, all_roots=args.all_roots,
                                calls=callsfile.load(args.calls) if args.calls else None)
    if not os.path.isfile(args.binary):
        raise StackextError("no such file", args.binary)
    result = report.analyze(args.binary, opts)
    out.write(render.RENDERERS[args.format](result, args.top))
    over = gate(result, args.max_frame, args.max_path)
    for line in over:
        err.write("stackext: %s\n" % line)
    return 1 if over else 0


def main(argv: Optional[List[str]] = None, out: Optional[TextIO] = None,
         err: Optional[TextIO] = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # -h (0) and usage errors (2)
        return int(e.code or 0)
    return run_guarded(lambda: run(args, out, err), err)

