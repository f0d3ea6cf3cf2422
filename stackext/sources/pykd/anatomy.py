"""Why the heaviest frames are big, read live: `.frame N; dv /V /t` and `.fnent IP` for a few
frames after the analysis, turned into Frame.locals / Frame.layout by stackext.anatomy.

Everything goes through the adapter it is given; the `.frame` rows are read by scrape. The
scope frame it moves is put back exactly as found (checked with `.frame`); it never uses
`.frame /c`, which changes the register context (tests/realengine/FINDINGS.md), nor
setFrame/getFrameNumber, which count frames differently from `.frame` when inline frames are
present. Round trips: 3 + 2 per annotated frame, at most `top` frames.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional

from stackext.anatomy import annotate
from stackext.model import StackInput, StackReport
from stackext.sources.pykd.adapter import Debugger, DebuggerError, boundary, first_line
from stackext.sources.pykd.live import Walk
from stackext.sources.pykd.scrape import frame_row, row_sp, type_name


def pick_frames(report: StackReport, top: int) -> List[int]:
    """Heavy frames (largest first), then the heaviest driver frames: physical frames with a
    size, at most `top` of them, so the cost does not grow with the stack."""
    if top <= 0:
        return []
    by_index = {f.index: f for f in report.frames}
    heavy = sorted((f for f in report.frames if f.heavy), key=lambda f: (-(f.size or 0), f.index))
    order = [f.index for f in heavy] + list(report.heaviest_drivers)
    picked: List[int] = []
    for n in order:
        f = by_index.get(n)
        if f is None or f.inline or f.sp is None or f.ip is None or not f.size or n in picked:
            continue
        picked.append(n)
        if len(picked) >= top:
            break
    return picked


def read_notes(dbg: Debugger, stack: StackInput, report: StackReport,
               indexes: List[int], ours: bool = False) -> List[str]:
    """Fill stack.frame_notes[N] = {"dv", "fnent"} for the given frames; returns warnings.
    `ours`: the context is one stackext set and resets afterwards (.cxr/.ecxr)."""
    warnings: List[str] = []
    by_index = {f.index: f for f in report.frames}
    with boundary("cannot read the current frame"):
        saved = dbg.command(".frame")
    row = frame_row(saved)
    if row is None:
        return ["locals not read: `.frame` did not name the current frame"]
    # After `.frame /c K` (or a .cxr) the engine numbers frames from that context while the stack
    # walk starts there: `.frame N` would not reach our frame N, and merely moving the scope
    # changes what `.frame` shows afterwards (the real engine then prints the frame's return
    # address, which it did not before). So in such a context, change nothing.
    current = by_index.get(int(row.group("n"), 16))
    if current is None or row_sp(row) != current.sp:
        return ["locals not read: a .cxr/.frame /c context is set (run .cxr, then this command, "
                "to see the largest locals)"]
    try:
        for n in indexes:
            f = by_index[n]
            try:
                dv = dbg.command(".frame %x; dv /V /t" % n)
            except DebuggerError as exc:
                warnings.append("locals of frame %02x not read: %s" % (n, first_line(exc)))
                continue
            # The scope must land on this very frame (a `.frame /c` context set by the user
            # renumbers frames): compare the Child-SP/ChildEBP the engine printed.
            if row_sp(frame_row(dv)) != f.sp:
                warnings.append("locals of frame %02x not read: `.frame %x` landed on another "
                                "frame (a .cxr/.frame /c context is set?)" % (n, n))
                continue
            notes = {"dv": dv}
            if report.arch != "x86":  # x86 has no unwind data for .fnent to show
                try:
                    notes["fnent"] = dbg.command(".fnent %x" % f.ip)
                except DebuggerError:
                    pass
            stack.frame_notes[n] = notes
    finally:
        _restore(dbg, row.group("n"), saved, warnings, ours)
    return warnings


def _restore(dbg: Debugger, number: str, saved: str, warnings: List[str], ours: bool) -> None:
    try:
        dbg.command(".frame %s" % number)
        now = dbg.command(".frame")
    except DebuggerError as exc:
        warnings.append("could not put the current frame back (.frame %s): %s"
                        % (number, first_line(exc)))
        return
    # Right after a .cxr/.ecxr the row shows a zero RetAddr, after `.frame 0` the real one
    # (real engine): in a context stackext resets next, the frame number and SP are what count.
    was, row = frame_row(saved), frame_row(now)
    if row is None or (row.group("n"), row_sp(row)) != (was.group("n"), row_sp(was)) or \
            not ours and row.group(0) != was.group(0):
        warnings.append("the current frame changed: run `.frame %s` to get it back" % number)


def type_sizes(dbg: Debugger) -> Callable[[str, Optional[str]], Optional[int]]:
    """sizeof for dv's struct types from the module's type info (typeInfo("seed!MYSTRUCT")),
    cached; None when the symbols do not have it."""
    cache: Dict[tuple, Optional[int]] = {}

    def sizeof(type_text: str, module: Optional[str]) -> Optional[int]:
        name = type_name(type_text)
        key = (module, name)
        if key not in cache:
            cache[key] = None
            for full in ([module + "!" + name] if module else []) + [name]:
                try:
                    cache[key] = dbg.type_size(full)
                    break
                except DebuggerError:
                    continue
        return cache[key]

    return sizeof


def attach(dbg: Debugger, walk: Walk, report: StackReport, top: int) -> None:
    """Read the notes of the report's heaviest frames and annotate the report's frames with
    their locals (largest first) and layout. Runs inside live.walked (the thread and context
    the stack was walked in still current). Best effort: problems become warnings."""
    stack = walk.stack
    indexes = pick_frames(report, top)
    reach = len(report.frames) if walk.reach is None else walk.reach
    beyond = [n for n in indexes if n >= reach]
    if beyond:
        report.warnings.append(
            "locals of frame%s %s not read: walked from the double fault's trap frame (`%s`), "
            "which `.frame N` does not reach once the debugger's context is put back (run "
            "`%s`, then this command)" % ("s" if len(beyond) > 1 else "",
                                          ", ".join("%02x" % n for n in beyond), walk.trap,
                                          walk.trap))
    indexes = [n for n in indexes if n < reach]
    if not indexes:
        return
    report.warnings.extend(read_notes(dbg, stack, report, indexes, ours=walk.switched))
    sizes = type_sizes(dbg)
    ptr = stack.ptr_size or (4 if report.arch == "x86" else 8)
    for n, text in stack.frame_notes.items():
        f = report.frame(n)
        annotate(f, text.get("dv"), text.get("fnent"), ptr,
                 sizeof=lambda t, _m=f.module: sizes(t, _m))


def frames_match(dbg: Debugger, report: StackReport) -> bool:
    """Does `.frame N` land on the report's frame N? Not in a `.frame /c`/`.cxr` context, where
    the engine numbers frames from that context (the check read_notes makes: the current
    `.frame` row's number and Child-SP are ours). Frame links are offered only then."""
    try:
        row = frame_row(dbg.command(".frame"))
    except DebuggerError:
        return False
    if row is None:
        return False
    current = next((f for f in report.frames if f.index == int(row.group("n"), 16)), None)
    return current is not None and row_sp(row) == current.sp
