"""`!py -m stackext.frames MODULE` inside the debugger: the `stackext frames` report of a loaded
module, its image read from the target (headers, then the sections the analysis reads) and its
names from the engine's symbols (one `x MODULE!*`), or from `--pdb FILE`. A MODULE that is an
existing file is analysed as `stackext frames FILE` would, printed through the debugger.

Also `python -m stackext.frames MODULE --dump PATH` with pykd as a library (Windows). Talks to
the debugger only through the adapter; one-line errors, never a traceback into `!py`; reads
memory only (nothing to put back).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Callable, List, Optional

from stackext import frames_command as frames
from stackext import launch
from stackext.debugger import DebuggerParser, Write, inside_debugger, run_command
from stackext.errors import StackextError
from stackext.options import add_help_alias
from stackext.sources.pykd import dump, scrape
from stackext.sources.pykd.adapter import Debugger, DebuggerError, boundary

if TYPE_CHECKING:
    from stackext.binary.model import FramesReport

try:  # pefile and capstone: the `frames` extra (one line says how to install it)
    from stackext.binary import callsfile, mapped, pe, render, report
    from stackext.binary.pdb import PdbSymbols
except ImportError:
    report = None

PROG = "!py -m stackext.frames"
EPILOG = """examples:
  !py -m stackext.frames mydrv                  a loaded module: frames, deepest paths
  !py -m stackext.frames mydrv --top 10 --root DispatchRead
  !py -m stackext.frames mydrv --pdb C:\\sym\\mydrv.pdb   names (and alloca flags) from the PDB
  !py -m stackext.frames C:\\drivers\\mydrv.sys     a file, as `stackext frames` reads it
outside a debugger (pykd as a library, Windows):
  python -m stackext.frames mydrv --dump C:\\dumps\\MEMORY.DMP --symbols C:\\sym
"""


def build_parser(write: Callable[[str], None]) -> argparse.ArgumentParser:
    p = DebuggerParser(write, prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Stack frames and worst call paths of a loaded x64 module, "
                                   "from its unwind data in memory and the engine's symbols.",
                       epilog=EPILOG)
    p.add_argument("binary", metavar="MODULE",
                   help="a loaded module's name as `lm` shows it (or a .sys/.dll/.exe file)")
    frames.add_arguments(p)
    p.add_argument("--dump", metavar="PATH",
                   help="open this dump first (only outside a debugger)")
    p.add_argument("--symbols", metavar="PATH",
                   help="symbol and image path for --dump (the dump's folder is always added)")
    add_help_alias(p)
    return p


def _open(dbg: Debugger, args: argparse.Namespace) -> None:
    inside = dbg.in_windbg()
    if args.dump and inside:
        raise StackextError("--dump works only outside a debugger; here the open target is used")
    if not args.dump:
        if not inside:
            raise StackextError("not inside a debugger: run it in WinDbg as `%s MODULE`, give "
                                "--dump PATH, or run `stackext frames FILE`"
                                % launch.command("frames"))
        if args.symbols is not None:
            raise StackextError("--symbols goes with --dump; in the debugger use .sympath")
        return
    dump.open_dump(dbg, args.dump, args.symbols)
    # a minidump holds no module images: the engine maps them from the image path
    with boundary("cannot set the image path for %s" % args.dump):
        dbg.command(".exepath+ %s" % dump.symbol_path(args.dump, args.symbols))


def module_report(dbg: Debugger, name: str, opts: "report.FramesOptions") -> "FramesReport":
    """The report of loaded module `name`: its image read from the target."""
    with boundary("no loaded module %s (lm lists them)" % name):
        mod = dbg.module_named(name)

    def read(addr: int, size: int) -> Optional[bytes]:
        try:
            return dbg.read_bytes(addr, size)
        except DebuggerError:
            return None

    image_bytes = mapped.read_image(read, mod.begin, mod.end - mod.begin, name)
    image = pe.load_mapped(image_bytes.data, name.lower(), name, mod.begin)
    warnings: List[str] = image.warnings + image_bytes.warnings
    if opts.pdb:
        symbols, names_from = report.pdb_for(image, opts.pdb, warnings), "pdb"
    else:
        with boundary("cannot list the symbols of %s" % name):
            listed = scrape.x_functions(dbg.command("x %s!*" % name))
        symbols = PdbSymbols(guid="", age=0, publics={
            a - mod.begin: n for a, n in listed.items() if mod.begin <= a < mod.end})
        names_from = "engine"
        if not symbols.publics:
            warnings.append("the engine lists no functions of %s (.sympath, .reload /f): names "
                            "from exports" % name)
            symbols = None
    return report.of_image(image, symbols, opts, warnings, opts.pdb, names_from)


def run(args: argparse.Namespace, dbg: Debugger, write: Write) -> int:
    if report is None:
        raise StackextError(frames.INSTALL_HINT)
    _open(dbg, args)
    opts = report.FramesOptions(pdb=args.pdb, roots=args.root, all_roots=args.all_roots,
                                calls=callsfile.load(args.calls) if args.calls else None)
    if os.path.isfile(args.binary):
        result = report.analyze(args.binary, opts)
    else:
        result = module_report(dbg, args.binary, opts)
    write(render.RENDERERS[args.format](result, args.top).rstrip("\n"), False)
    over = frames.gate(result, args.max_frame, args.max_path)
    for line in over:
        write("stackext: %s" % line, False)
    return 1 if over else 0


def main(argv: Optional[List[str]] = None, debugger: Optional[Debugger] = None) -> int:
    """Run once in the debugger's boundary; an exit code (invisible inside WinDbg)."""
    return run_command(argv, build_parser, run, debugger)


def module_main(argv: List[str]) -> int:
    """`python -m stackext.frames`: the in-debugger command under `!py` or with --dump, else
    the console command on a file."""
    if "--dump" not in argv and not inside_debugger():
        return frames.main(argv)
    status = main(argv)
    # inside WinDbg `!py` would report a SystemExit: the status stays invisible there
    return status if status and "--dump" in argv else 0


if __name__ == "__main__":
    code = module_main(sys.argv[1:])
    if code:
        sys.exit(code)
