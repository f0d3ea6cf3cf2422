"""A thread's raw stack memory through the adapter: the high-water mark and the raw scan.

Reads memory only; the scanning and the decisions (stackext.scan) are pure. Round trips: the
high-water mark reads one page per call and stops at the first written page; the raw scan is one
memory read plus one module-list read.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional

from stackext import knowledge as K
from stackext import scan
from stackext.addresses import fmt_addr
from stackext.model import Frame, FramesFrom, HighWater, StackInput
from stackext.sources.pykd.adapter import Debugger, DebuggerError, first_line
from stackext.sources.pykd.scrape import parse_lm
from stackext.symbols import parse_symbol

MAX_CHUNK_PAGES = 64


def _ptr_size(stack: StackInput) -> int:
    return stack.ptr_size or (4 if stack.arch == "x86" else 8)


def _page_reader(dbg: Debugger, page: int) -> Callable[[int], Optional[bytes]]:
    def read_page(addr: int) -> Optional[bytes]:
        try:
            return dbg.read_bytes(addr, page)
        except DebuggerError:  # not in the dump / paged out
            return None
    return read_page


def _chunk_reader(dbg: Debugger, page: int, end: int) -> Callable[[int], Optional[bytes]]:
    """A page reader for long scans (a user stack's reserve can be 1 MB): reads 1, 2, 4, ...
    pages per round trip (at most MAX_CHUNK_PAGES), so a scan of n pages costs about log2(n)
    round trips and reads at most twice what it needs. A chunk that fails is retried page by
    page, so an unreadable page is still found exactly."""
    cache: Dict[int, bytes] = {}
    state = {"pages": 1}
    single = _page_reader(dbg, page)

    def read_page(addr: int) -> Optional[bytes]:
        if addr in cache:
            return cache.pop(addr)
        n = max(1, min(state["pages"], MAX_CHUNK_PAGES, (end - addr) // page))
        state["pages"] = n * 2
        if n == 1:
            return single(addr)
        try:
            data = dbg.read_bytes(addr, n * page)
        except DebuggerError:
            state["pages"] = 1
            return single(addr)
        for i in range(1, n):
            cache[addr + i * page] = data[i * page:(i + 1) * page]
        return data[:page]
    return read_page


def read_high_water(dbg: Debugger, stack: StackInput) -> Optional[HighWater]:
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
    page = dbg.page_size() or K.PAGE
    if stack.kernel:
        hw = scan.high_water(_page_reader(dbg, page), limit, base, _ptr_size(stack), page)
        hw.origin = "zero scan up from StackLimit"
        return hw
    start = stack.committed_limit
    if start is None or not limit <= start < base:
        return None
    hw = scan.high_water(_chunk_reader(dbg, page, base), start, base, _ptr_size(stack), page)
    if hw.address is None and hw.used is None:
        return None  # not in the dump (a minidump holds only [sp, StackBase)): page-granular mark
    hw.remaining = (base - limit) - hw.used  # against the reserve, the user budget
    hw.origin = "zero scan up from the committed bottom (TEB StackLimit)"
    return hw


# -- raw scan -----------------------------------------------------------------------------------

def module_ranges(dbg: Debugger) -> List[scan.ModuleRange]:
    """Every loaded module's [begin, end) and name, in one call: getModulesList() (pykd 0.3.4.15
    has it; its begin/end/name are answered from dbgeng's module list), else `lm` parsed."""
    mods = dbg.modules()
    if mods is not None:
        return mods
    try:
        return parse_lm(dbg.command("lm"))
    except DebuggerError:
        return []


def raw_scan_frames(dbg: Debugger, stack: StackInput) -> Optional[List[Frame]]:
    """When the walk failed or was cut short: read [start, StackBase) once, keep the words that
    point into loaded modules as return addresses (`dps`-style) and rebuild the frames beyond the
    walked ones. Walked frames stay as they are; the rebuilt ones are marked estimated. Returns
    the whole frame list for StackInput.frames (frames_from raw-scan), or None when no scan is
    needed or possible."""
    if not scan.needs_raw_scan(stack):
        return None
    base = stack.stack_base
    ptr = _ptr_size(stack)
    start = scan.scan_start(stack)
    start -= start % ptr
    count = (base - start) // ptr
    if count <= 0:
        return None
    try:
        words = dbg.read_pointers(start, count) if ptr == 8 else dbg.read_dwords(start, count)
    except DebuggerError as exc:
        stack.warnings.append("raw scan: cannot read the stack %s..%s (%s)"
                              % (fmt_addr(start), fmt_addr(base), first_line(exc)))
        return None
    modules = module_ranges(dbg)
    if not modules:
        stack.warnings.append("raw scan: no module list (lm printed nothing)")
        return None

    def symbolize(value: int) -> str:
        try:
            return parse_symbol(dbg.symbol(value))[0]
        except DebuggerError:
            return "0x%x" % value

    found = scan.raw_scan(words, start, ptr, modules, symbolize)
    return scan.beyond_walk(list(stack.frames), found)


def attach(dbg: Debugger, stack: StackInput, high_water: bool = True, raw: bool = True) -> None:
    """For the usage command, after collect and before analyze: the high-water mark (a few page
    reads; --no-high-water skips it) and, when the walk was cut short, the raw-scan frames."""
    if raw:
        frames = raw_scan_frames(dbg, stack)
        if frames is not None and len(frames) > len(stack.frames):
            walked = len(stack.frames)
            stack.warnings.append(
                "the stack walk %s: frames %s rebuilt by a raw scan of the stack (return "
                "addresses into loaded modules, as `dps` shows them); their sizes are estimates"
                % ("returned no frames" if not walked else "stopped at frame %02x" % (walked - 1),
                   "%02x-%02x" % (walked, len(frames) - 1)))
            stack.frames = frames
            stack.frames_from = FramesFrom.RAW_SCAN
    if high_water:
        stack.high_water = read_high_water(dbg, stack)


__all__ = ["read_high_water", "raw_scan_frames", "module_ranges", "attach"]
