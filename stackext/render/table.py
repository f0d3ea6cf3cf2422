"""The frame table a `knf` reader recognises: frame number in hex, the frame's own size in hex
(kf's Memory, but on the frame's own row: kf prints it one row later, on the caller's), the
Child-SP (ChildEBP on x86), the depth below StackBase (hex), the call site, notes last. Fits a
width: long call sites (C++ templates) are shortened in the middle; --wide keeps them whole and
adds the size in decimal.
"""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

from stackext import knowledge as K
from stackext.kinds import UnknownReason
from stackext.model import Frame, StackReport
from stackext.render import common as C
from stackext.render.base import RenderOptions

HEADERS = ["#", "Size", "Child-SP", "Depth", "Call Site", "Notes"]
WIDE_HEADERS = ["#", "Size", "bytes", "Child-SP", "Depth", "Call Site", "Notes"]
SP_FRAME_POINTER = "ChildEBP"
MIN_SITE = 24  # a call site is never cut shorter than this
Row = Tuple[Optional[Frame], List[str]]


def headers(opts: RenderOptions, arch: Optional[str] = None) -> List[str]:
    """The table's labels; the SP column named as WinDbg names it for the stack's architecture
    (x86's k prints ChildEBP: the frame pointer, not the SP)."""
    hdr = WIDE_HEADERS if opts.wide else HEADERS
    if arch in K.ARCH and K.ARCH[arch].sp_is_frame_pointer:
        return [SP_FRAME_POINTER if h == "Child-SP" else h for h in hdr]
    return hdr


def right_aligned(opts: RenderOptions) -> List[bool]:
    return [h in ("Size", "bytes", "Depth") for h in headers(opts)]


def site_column(opts: RenderOptions) -> int:
    return headers(opts).index("Call Site")


def ranked(r: StackReport, top: int) -> List[int]:
    """One heaviest list: the `top` heaviest frames and the `top` heaviest third-party ones,
    heaviest first (a frame in both appears once)."""
    idx = list(dict.fromkeys(r.heaviest[:top] + r.heaviest_drivers[:top]))
    return sorted(idx, key=lambda i: (-(r.frame(i).size or 0), i))


def _reason(r: StackReport, f: Frame) -> str:
    reason = f.size_unknown_reason
    key = K.fn_key(f.function)
    if reason == UnknownReason.START_AREA:
        return "system call: trap frame up to StackBase" if key in K.SYSCALL_ROUTINES \
            else "start area up to StackBase"
    if reason == UnknownReason.BASE_UNKNOWN:
        # the log or walk stops here and the base is not known: the thread's start, or a cut
        kernel_frame = f.sp is not None and K.is_kernel_address(f.sp, r.arch)
        return "start area, base unknown" if K.starts_thread(key, f.ret, kernel_frame) \
            else "stack continues"
    return reason.short


def notes(r: StackReport, f: Frame, rank: Optional[int]) -> str:
    out = []
    if f.driver:
        out.append("driver")
    if f.heavy:
        out.append("HEAVY")
    if rank is not None:
        out.append("top %d" % rank)
    if f.size is None and f.size_unknown_reason:
        out.append("? " + _reason(r, f))
    if f.size_note is not None:
        out.append(f.size_note.short)
    if f.estimated:
        out.append("estimated")
    return ", ".join(out)


def _child_sp(r: StackReport, f: Frame) -> str:
    if f.inline:
        return "(Inline Function)"
    return C.addr(f.sp, r.arch) if f.sp is not None else "?"


def frame_cells(r: StackReport, f: Frame, rank: Optional[int], opts: RenderOptions) -> List[str]:
    d = C.depth(r, f)
    size = "?" if f.size is None else "%x" % f.size
    cells = ["%02x" % f.index, size]
    if opts.wide:
        cells.append("" if f.size is None else C.nbytes(f.size))
    cells += [_child_sp(r, f), "" if d is None else "%x" % d, f.call_site, notes(r, f, rank)]
    return cells


def gap_cells(f: Frame, opts: RenderOptions) -> List[str]:
    """The row where frames are missing: the bytes the SPs prove (with the frame beside)."""
    own = "" if f.gap_bytes is None else ": %s bytes with #%02x" % (C.nbytes(f.gap_bytes),
                                                                  f.index)
    return ["", "?"] + ([""] if opts.wide else []) + ["", "", "...", "? frames missing" + own]


def rows(r: StackReport, opts: RenderOptions) -> Iterator[Row]:
    """(frame, cells) per table row; a gap row (frame None) sits where the frames are missing:
    outward of the frame on x64/ARM64, inward of it on x86."""
    before = K.ARCH[r.arch].sp_is_frame_pointer
    rank = {i: n + 1 for n, i in enumerate(ranked(r, opts.top))}
    for f in r.frames:
        if before and f.gap_bytes is not None:
            yield None, gap_cells(f, opts)
        yield f, frame_cells(r, f, rank.get(f.index), opts)
        if not before and f.gap_bytes is not None:
            yield None, gap_cells(f, opts)


def shorten(text: str, width: int) -> str:
    """Cut in the middle: the module stays, and the end of the name with the offset (a C++
    name's method): `mod!...Class<T>::push+0x12`."""
    if len(text) <= width:
        return text
    bang = text.find("!")
    head = bang + 1 if 0 < bang < width // 2 else (width - 3) // 2
    return text[:head] + "..." + text[len(text) - (width - 3 - head):]


NOTES_ROOM = 14  # the notes are the last column: a longer note runs past the width on its row


def fit(table: List[Row], opts: RenderOptions) -> List[Row]:
    """Shorten the call sites so that the table fits opts.width (not with --wide)."""
    if opts.wide or not opts.width or not table:
        return table
    col = site_column(opts)
    widths = column_widths(headers(opts), [c for _, c in table])
    before = sum(widths[:col]) + 2 * col
    room = max(MIN_SITE, opts.width - before - 2 - min(widths[-1], NOTES_ROOM))
    if widths[col] <= room:
        return table
    return [(f, c[:col] + [shorten(c[col], room)] + c[col + 1:]) for f, c in table]


def column_widths(hdr: List[str], plain: List[List[str]]) -> List[int]:
    return [max([len(h)] + [len(r[i]) for r in plain]) for i, h in enumerate(hdr)]


def grid(hdr: List[str], plain: List[List[str]], right: List[bool],
         markup: Optional[List[List[str]]] = None, esc=lambda x: x) -> List[str]:
    """Columns aligned by the plain text's width, two spaces apart, a dashed rule under the
    labels; with `markup` (DML) the cells printed are the markup (tags take no width)."""
    widths = column_widths(hdr, plain)

    def line(cells_plain: List[str], cells_markup: List[str]) -> str:
        parts = []
        for i, (p, m) in enumerate(zip(cells_plain, cells_markup)):
            pad = " " * (widths[i] - len(p))
            last = i == len(hdr) - 1
            parts.append(pad + m if right[i] else m + ("" if last else pad))
        return "  ".join(parts).rstrip()
    # the last column (notes) is ragged: its rule is as long as its label
    rule = ["-" * w for w in widths[:-1]] + ["-" * len(hdr[-1])]
    out = [line(hdr, [esc(h) for h in hdr]), line(rule, rule)]
    out.extend(line(p, m) for p, m in zip(plain, markup or [[esc(c) for c in p] for p in plain]))
    return out
