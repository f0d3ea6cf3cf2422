"""`stackext report FILES... [-o FILE] [--fail-over 90%]`: one HTML page over many stacks.

Reads WinDbg logs (analysed as `stackext usage` does), kd logs with stackext JSON between its
marker lines, stackext JSON documents and JSON Lines (`--format jsonl`), in any mix; folders are
read for their *.txt, *.log, *.json and *.jsonl files. Streams: each stack becomes a table row
and a section in two temporary files as it is read, and only the summary stays in memory.

Exit status: 1 when --fail-over is given and any stack overflowed or used at least that share
of its budget (the gate's answer stands even if some file was bad: the stacks read already fail
it); otherwise 2 when a file could not be read (the page is still written, listing it; each bad
file is also one line on stderr); 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any, Dict, Iterator, List, Optional, TextIO

from stackext.analyze import AnalysisOptions, analyze
from stackext.errors import StackextError
from stackext.knowledge import ARCHES, DEFAULT_HEAVY
from stackext.lab_stats import LabStats
from stackext.options import expand, parse_size
from stackext.report_json import stack_dict
from stackext.sources import windbg

SUFFIXES = (".txt", ".log", ".json", ".jsonl")
# "90%", "90", "87.5 %"
_SHARE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")


def parse_share(text: str) -> float:
    m = _SHARE.match(text or "")
    if not m or not 0 < float(m.group(1)) <= 1000:
        raise argparse.ArgumentTypeError("not a share of the budget: %r (use e.g. 90%%)" % text)
    return float(m.group(1))


DESCRIPTION = ("One HTML page over many stacks: a row per stack, the used-share histogram, per "
               "third-party module and function how often it is on an overflowed or "
               "near-overflow stack, and each stack's picture.")
EPILOG = """examples:
  stackext report logs/ -o lab.html            every log, JSON and JSON Lines file in logs/
  stackext report --fail-over 90% run/*.log >lab.html   CI gate: exit 1 at 90 % or past

exit status: 0 page written; 1 --fail-over reached by a stack; 2 a file could not be read (the
             page is still written and lists it) or bad usage
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stackext report", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="WinDbg logs, kd logs with stackext JSON, stackext JSON or JSON Lines, "
                        "or folders of them")
    p.add_argument("-o", "--output", metavar="FILE", help="write the page here (default: stdout)")
    p.add_argument("--fail-over", type=parse_share, metavar="PCT",
                   help="exit 1 when any stack overflowed or used at least PCT of its budget")
    p.add_argument("--driver", action="append", default=[], metavar="NAME",
                   help="a module that is yours (repeatable), for logs analysed here")
    p.add_argument("--budget", type=parse_size, metavar="SIZE")
    p.add_argument("--heavy", type=parse_size, default=DEFAULT_HEAVY, metavar="SIZE")
    p.add_argument("--arch", choices=ARCHES)


def paths(files: List[str]) -> Iterator[str]:
    for path in expand(files):
        if os.path.isdir(path):
            for folder, dirs, names in os.walk(path):
                dirs.sort()
                for name in sorted(names):
                    if name.lower().endswith(SUFFIXES):
                        yield os.path.join(folder, name)
        else:
            yield path


def _checked(d: Any, where: str) -> Dict[str, Any]:
    """A stack dict from JSON, with the keys the page reads, or a StackextError."""
    ok = isinstance(d, dict) and isinstance(d.get("frames"), list) and \
        isinstance(d.get("segments"), list) and \
        all(isinstance(f, dict) and isinstance(f.get("index"), int) for f in d["frames"]) and \
        all(isinstance(s, dict) and isinstance(s.get("index"), int) for s in d["segments"])
    if not ok:
        raise StackextError("not a stackext stack (see the README's JSON contract)", where)
    return d


def _json_stacks(path: str) -> Iterator[Dict[str, Any]]:
    """A JSON document (whole) or JSON Lines (a line at a time)."""
    with open(path, encoding="utf-8-sig") as fh:
        first = fh.readline()
        try:
            line = json.loads(first)
        except ValueError:
            line = None
        if isinstance(line, dict) and "frames" in line:  # JSON Lines: one stack per line
            yield _checked(line, "%s:1" % path)
            for n, text in enumerate(fh, 2):
                if text.strip():
                    try:
                        yield _checked(json.loads(text), "%s:%d" % (path, n))
                    except ValueError as e:
                        raise StackextError("not JSON: %s" % e, "%s:%d" % (path, n)) from None
            return
        try:
            doc = json.loads(first + fh.read())
        except ValueError as e:
            raise StackextError("not JSON: %s" % e, path) from None
    if not isinstance(doc, dict) or doc.get("tool") != "stackext" or \
            not isinstance(doc.get("stacks"), list):
        raise StackextError("not a stackext JSON document", path)
    for k, d in enumerate(doc["stacks"]):
        yield _checked(d, "%s: stack %d" % (path, k))


def _starts_with_brace(path: str) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1] == b"{"


def stack_dicts(path: str, opts: AnalysisOptions) -> Iterator[Dict[str, Any]]:
    """Every stack in one file as its JSON dict."""
    try:
        if path != "-" and _starts_with_brace(path):
            yield from _json_stacks(path)
            return
    except OSError as e:
        raise StackextError("cannot read: %s" % (e.strerror or e), path) from None
    for item in windbg.read_file(path):
        if isinstance(item, windbg.EmbeddedJson):
            try:
                doc = json.loads(item.text)
            except ValueError as e:
                raise StackextError("stackext JSON block: %s" % e, item.source) from None
            for k, d in enumerate(doc.get("stacks") or [] if isinstance(doc, dict) else []):
                yield _checked(d, "%s: stack %d" % (item.source, k))
        else:
            yield stack_dict(analyze(item, opts, owned=True))  # read once: no copy


def over_gate(d: Dict[str, Any], share: Optional[float]) -> bool:
    pct = d.get("percent")
    return share is not None and (bool(d.get("overflow")) or (pct is not None and pct >= share))


def _add(d: Dict[str, Any], stats: LabStats, rows: TextIO, data: TextIO) -> str:
    """Count the stack, write its row and its data line; returns its kind. A stack JSON whose
    values are not what the contract says (a size that is not a number, ...) is a bad input,
    not a crash."""
    # the page's renderers: loaded by run() first, never with the console's parser
    from stackext.render import html_lab as L
    from stackext.render import html_text as T

    d["_position"] = stats.count
    kind = T.kind_of(d)
    try:
        row, line = T.ascii_html(L.stack_row(d, kind)), L.stack_data(d)
        stats.add(d, kind, d["_position"])
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as e:
        raise StackextError("cannot draw this stack (%s: %s); see the README's JSON contract"
                            % (type(e).__name__, e), str(d.get("source"))) from None
    rows.write(row)
    data.write(line)
    return kind


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # the page's renderers and tempfile (with random: ~2 ms) load here, not with the console's
    # parser (`stackext --help` and `usage` stay fast)
    import shutil
    import tempfile

    from stackext.render import html as H
    from stackext.render import html_lab as L
    from stackext.render import html_text as T

    opts = AnalysisOptions(budget=args.budget, heavy=args.heavy, drivers=tuple(args.driver),
                           arch=args.arch)
    stats = LabStats()
    bad: List[str] = []
    over = files = 0
    target = _open(args.output) if args.output else out  # a bad -o fails before the work
    try:
        with tempfile.TemporaryFile("w+", encoding="utf-8") as rows, \
                tempfile.TemporaryFile("w+", encoding="utf-8") as data:
            for path in paths(args.files):
                files += 1
                try:
                    for d in stack_dicts(path, opts):
                        _add(d, stats, rows, data)
                        over += over_gate(d, args.fail_over)
                except StackextError as e:
                    bad.append(str(e))
                    err.write("stackext: %s\n" % e)
            rows.seek(0)
            data.seek(0)
            target.write(H.page_head("stackext lab report: %d stacks" % stats.count))
            target.write(T.ascii_html(L.summary(stats, files, bad) + L.ROWS_HEAD))
            shutil.copyfileobj(rows, target)
            target.write(T.ascii_html(L.ROWS_TAIL + L.functions(stats) + L.SECTIONS_HEAD))
            shutil.copyfileobj(data, target)
            target.write(L.SECTIONS_TAIL + H.page_tail())
    finally:
        if target is not out:
            target.close()
    return 1 if over else (2 if bad else 0)


def _open(path: str) -> TextIO:
    try:
        return open(path, "w", encoding="utf-8", newline="\n")
    except OSError as e:
        raise StackextError("cannot write the page: %s" % (e.strerror or e), path) from None


def main(argv: Optional[List[str]] = None, out: Optional[TextIO] = None,
         err: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # -h (0) and usage errors (2)
        return int(e.code or 0)
    try:
        return run(args, out, err)
    except StackextError as e:
        err.write("stackext: %s\n" % e)
        return 2
