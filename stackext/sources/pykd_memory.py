"""A thread's raw stack memory through pykd: the high-water mark and the raw scan.

Reads memory only (pykd is passed in, never imported here); the scanning itself is the pure
stackext.scan. Round trips: the high-water mark reads one page per call and stops at the first
written page; the raw scan is one memory read plus one module-list read.
"""

from __future__ import annotations

import re
from typing import Any, Callable, List, Optional, Tuple

from stackext import knowledge as K
from stackext import scan
from stackext.model import Frame, HighWater, StackInput
from stackext.sources.pykd_source import first_line, fmt_addr, parse_symbol

# An outermost frame this far below StackBase that is not a thread start means the walk stopped
# early: the start frames plus the initial trap/FX-save area take well under a page on x64
# (fixtures 101/104/116: 0x30 to 0xbb0 bytes), so a page of stack left unexplained is a cut walk.
CUT_SHORT = 0x1000
ModuleRange = Tuple[int, int, str]


def _ptr_size(stack: StackInput) -> int:
    return stack.ptr_size or (4 if stack.arch == "x86" else 8)


def _page_size(pykd: Any) -> int:
    try:
        return int(pykd.pageSize()) or scan.PAGE
    except (pykd.DbgException, AttributeError):
        return scan.PAGE


def _page_reader(pykd: Any, page: int) -> Callable[[int], Optional[bytes]]:
    def read_page(addr: int) -> Optional[bytes]:
        try:
            # loadBytes returns a list of ints on the real engine (tests/realengine/FINDINGS.md)
            return bytes(pykd.loadBytes(addr, page))
        except pykd.DbgException:  # MemoryException: not in the dump / paged out
            return None
    return read_page


MAX_CHUNK_PAGES = 64


def _chunk_reader(pykd: Any, page: int, end: int) -> Callable[[int], Optional[bytes]]:
    """A page reader for long scans (a user stack's reserve can be 1 MB): reads 1, 2, 4, ...
    pages per round trip (at most MAX_CHUNK_PAGES), so a scan of n pages costs about log2(n)
    round trips and reads at most twice what it needs. A chunk that fails is retried page by
    page, so an unreadable page is still found exactly."""
    cache = {}  # type: dict
    state = {"pages": 1}
    single = _page_reader(pykd, page)

    def read_page(addr: int) -> Optional[bytes]:
        if addr in cache:
            return cache.pop(addr)
        n = max(1, min(state["pages"], MAX_CHUNK_PAGES, (end - addr) // page))
        state["pages"] = n * 2
        if n == 1:
            return single(addr)
        try:
            data = bytes(pykd.loadBytes(addr, n * page))
        except pykd.DbgException:
            state["pages"] = 1
            return single(addr)
        for i in range(1, n):
            cache[addr + i * page] = data[i * page:(i + 1) * page]
        return data[:page]
    return read_page


def read_high_water(pykd: Any, stack: StackInput) -> Optional[HighWater]:
    """The deepest point ever written on the thread's stack, for StackInput.high_water.

    Kernel stacks are fully committed, so scanning up from StackLimit for the first non-zero
    word finds it (one page per round trip, stopping at the first written page). A user stack
    grows on demand: on Windows its committed bottom (TEB StackLimit) is already a page-granular
    mark, which the analysis reports when this returns None; under Wine the whole reserve is
    committed (tests/realengine/FINDINGS.md), so when the memory is in the dump the same zero
    scan is run up from the committed bottom. Unreadable pages make the mark unknown, never 0."""
    base, limit = stack.stack_base, stack.stack_limit
    if base is None or limit is None or base <= limit:
        return None
    page = _page_size(pykd)
    read = _page_reader(pykd, page)
    if stack.kernel:
        hw = scan.high_water(read, limit, base, _ptr_size(stack), page)
        hw.origin = "zero scan up from StackLimit"
        return hw
    start = stack.committed_limit
    if start is None or not limit <= start < base:
        return None
    hw = scan.high_water(_chunk_reader(pykd, page, base), start, base, _ptr_size(stack), page)
    if hw.address is None and hw.used is None:
        return None  # not in the dump (a minidump holds only [sp, StackBase)): page-granular mark
    hw.remaining = (base - limit) - hw.used  # against the reserve, the user budget
    hw.origin = "zero scan up from the committed bottom (TEB StackLimit)"
    return hw


# -- raw scan -----------------------------------------------------------------------------------

def needs_raw_scan(stack: StackInput) -> bool:
    """No frames, or the outermost frame on the thread's stack is not a thread start and lies
    well below StackBase (the unwinder gave up)."""
    base, limit = stack.stack_base, stack.stack_limit
    if base is None or limit is None:
        return False
    phys = [f for f in stack.frames if not f.inline and f.sp is not None]
    if not phys:
        return True
    last = phys[-1]
    if not limit - 2 * CUT_SHORT <= last.sp < base:
        return False  # the walk went on to another stack (user mode, DPC): not cut short here
    if (last.function or "").lower() in K.START_ROUTINES:
        return False
    return base - last.sp > CUT_SHORT


def _scan_start(pykd: Any, stack: StackInput) -> int:
    """Where to start: the outermost walked frame, else the live or saved SP, else StackLimit."""
    base, limit = stack.stack_base, stack.stack_limit
    phys = [f.sp for f in stack.frames
            if not f.inline and f.sp is not None and limit <= f.sp < base]
    if phys:
        return max(phys)
    for sp in (stack.current_sp, stack.kernel_stack):
        if sp is not None and limit <= sp < base:
            return sp
    return limit


def module_ranges(pykd: Any) -> List[ModuleRange]:
    """Every loaded module's [begin, end) and name, in one call: getModulesList() (pykd 0.3.4.15
    has it; its begin/end/name are answered from dbgeng's module list), else `lm` parsed."""
    try:
        mods = pykd.getModulesList()
        return [(int(m.begin()), int(m.end()), str(m.name())) for m in mods]
    except (AttributeError, TypeError, pykd.DbgException):
        pass
    try:
        text = pykd.dbgCommand("lm") or ""
    except pykd.DbgException:
        return []
    return parse_lm(text)


# Real `lm` row (tests/realengine/recorded/seed_lm.txt):
# 00000001`40000000 00000001`4003e000   seed     C (private pdb symbols)  z:\work\...\seed.pdb
_LM_ROW = re.compile(r"^\s*([0-9a-fA-F`]{8,17})\s+([0-9a-fA-F`]{8,17})\s+(\S+)")


def parse_lm(text: str) -> List[ModuleRange]:
    out = []
    for line in text.splitlines():
        m = _LM_ROW.match(line)
        if m:
            out.append((int(m.group(1).replace("`", ""), 16),
                        int(m.group(2).replace("`", ""), 16), m.group(3)))
    return out


def raw_scan_frames(pykd: Any, stack: StackInput) -> Optional[List[Frame]]:
    """When the walk failed or was cut short: read [start, StackBase) once, keep the words that
    point into loaded modules as return addresses (`dps`-style) and rebuild the frames beyond the
    walked ones. Walked frames stay as they are; the rebuilt ones are marked estimated. Returns
    the whole frame list for StackInput.frames (frames_from "raw-scan"), or None when no scan
    is needed or possible."""
    if not needs_raw_scan(stack):
        return None
    base = stack.stack_base
    ptr = _ptr_size(stack)
    start = _scan_start(pykd, stack)
    start -= start % ptr
    count = (base - start) // ptr
    if count <= 0:
        return None
    try:
        words = pykd.loadPtrs(start, count) if ptr == 8 else pykd.loadDWords(start, count)
    except pykd.DbgException as exc:
        stack.warnings.append("raw scan: cannot read the stack %s..%s (%s)"
                              % (fmt_addr(start), fmt_addr(base), first_line(exc)))
        return None
    modules = module_ranges(pykd)
    if not modules:
        stack.warnings.append("raw scan: no module list (lm printed nothing)")
        return None

    def symbolize(value: int) -> str:
        try:
            return parse_symbol(pykd.findSymbol(value))[0]
        except pykd.DbgException:
            return "0x%x" % value

    found = scan.raw_scan([int(w) for w in words], start, ptr, modules, symbolize)
    walked = [f for f in stack.frames]
    outer = max((f.sp for f in walked if f.sp is not None), default=None)
    beyond = [f for f in found if outer is None or f.sp > outer]
    for i, f in enumerate(beyond):
        f.index = len(walked) + i
    if walked and beyond and walked[-1].ret is None:
        walked[-1].ret = beyond[0].ip
    return walked + beyond


def attach(pykd: Any, stack: StackInput, high_water: bool = True, raw: bool = True) -> None:
    """For the usage command, after collect and before analyze: the high-water mark (a few page
    reads; --no-high-water skips it) and, when the walk was cut short, the raw-scan frames."""
    if raw:
        frames = raw_scan_frames(pykd, stack)
        if frames is not None and len(frames) > len(stack.frames):
            walked = len(stack.frames)
            stack.warnings.append(
                "the stack walk %s: frames %s rebuilt by a raw scan of the stack (return "
                "addresses into loaded modules, as `dps` shows them); their sizes are estimates"
                % ("returned no frames" if not walked else "stopped at frame %02x" % (walked - 1),
                   "%02x-%02x" % (walked, len(frames) - 1)))
            stack.frames = frames
            stack.frames_from = "raw-scan"
    if high_water:
        stack.high_water = read_high_water(pykd, stack)


__all__ = ["read_high_water", "raw_scan_frames", "needs_raw_scan", "module_ranges", "parse_lm",
           "attach"]
