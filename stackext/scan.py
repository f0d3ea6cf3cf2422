"""Reading a stack's raw memory: the high-water mark and the `dps`-style raw scan.

Pure functions over callables that return memory, so the pykd source decides how to read it
(one page per round trip) and tests feed them plain bytes. Imports stackext.model and the
symbol parser only.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from typing import Callable, List, Optional, Sequence, Tuple

from stackext.knowledge import PAGE, START_ROUTINES, fn_key
from stackext.model import Frame, HighWater, StackInput
from stackext.symbols import split_call_site


def high_water(read_page: Callable[[int], Optional[bytes]], limit: int, base: int,
               ptr_size: int = 8, page: int = PAGE) -> HighWater:
    """Deepest point ever written on a fully committed (kernel) stack: scanning up from
    StackLimit, the first non-zero pointer-sized word. `read_page(addr)` returns `page` bytes or
    None when the page cannot be read. A recycled stack can still hold an earlier owner's
    writes, so this is an upper bound on this thread's own deepest use."""
    unreadable = 0
    addr = limit - (limit % page)
    fmt = "<%d%s" % (page // ptr_size, "Q" if ptr_size == 8 else "I")
    while addr < base:
        data = read_page(addr)
        if data is None or len(data) < page:
            unreadable += 1
            # a page we cannot see may hold the mark: what lies above it says nothing
            return HighWater(address=None, used=None, remaining=None,
                             unreadable_pages=unreadable, pages_read=(addr - limit) // page + 1)
        words = struct.unpack(fmt, data[:page])
        for i, w in enumerate(words):
            if w:
                mark = addr + i * ptr_size
                if mark < limit:
                    continue
                return HighWater(address=mark, used=base - mark, remaining=mark - limit,
                                 pages_read=(addr - limit) // page + 1)
        addr += page
    return HighWater(address=None, used=0, remaining=base - limit,
                     pages_read=(base - limit) // page)


ModuleRange = Tuple[int, int, str]  # begin, end, name


def raw_scan(words: Sequence[int], start: int, ptr_size: int, modules: Sequence[ModuleRange],
             symbolize: Callable[[int], str]) -> List[Frame]:
    """Rebuild a frame list from the raw stack [start, ...): every word that points into a
    loaded module is taken as a return address. The slot above a return address is its
    caller's Child-SP on x64, so the sizes between them are estimates (marked `estimated`)."""
    ranges = sorted(modules)
    begins = [m[0] for m in ranges]
    frames: List[Frame] = []
    for i, value in enumerate(words):
        k = bisect_right(begins, value) - 1
        if k < 0 or not (ranges[k][0] <= value < ranges[k][1]):
            continue
        site = symbolize(value)
        sym = split_call_site(site)
        frames.append(Frame(index=len(frames), sp=start + (i + 1) * ptr_size, ret=None,
                            call_site=site, module=sym.module or ranges[k][2],
                            function=sym.function, offset=sym.offset, ip=value, estimated=True))
    for a, b in zip(frames, frames[1:]):
        a.ret = b.ip
    return frames


# An outermost frame this far below StackBase that is not a thread start means the walk stopped
# early: the start frames plus the initial trap/FX-save area take well under a page on x64
# (fixtures 101/104/116: 0x30 to 0xbb0 bytes), so a page of stack left unexplained is a cut walk.
CUT_SHORT = PAGE


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
    if fn_key(last.function) in START_ROUTINES:
        return False
    return base - last.sp > CUT_SHORT


def scan_start(stack: StackInput) -> int:
    """Where a raw scan starts: the outermost walked frame, else the live or saved SP, else
    StackLimit."""
    base, limit = stack.stack_base, stack.stack_limit
    phys = [f.sp for f in stack.frames
            if not f.inline and f.sp is not None and limit <= f.sp < base]
    if phys:
        return max(phys)
    for sp in (stack.current_sp, stack.kernel_stack):
        if sp is not None and limit <= sp < base:
            return sp
    return limit


def beyond_walk(walked: List[Frame], found: List[Frame]) -> List[Frame]:
    """The walked frames followed by the raw-scan frames outward of them (renumbered); the last
    walked frame's return address is the first rebuilt frame's IP."""
    outer = max((f.sp for f in walked if f.sp is not None), default=None)
    beyond = [f for f in found if outer is None or f.sp > outer]
    for i, f in enumerate(beyond):
        f.index = len(walked) + i
    if walked and beyond and walked[-1].ret is None:
        walked[-1].ret = beyond[0].ip
    return walked + beyond
