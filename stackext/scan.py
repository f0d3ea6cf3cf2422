"""Reading a stack's raw memory: the high-water mark and the `dps`-style raw scan.

Pure functions over callables that return memory, so the pykd source decides how to read it
(one page per round trip) and tests feed them plain bytes. Imports stackext.model and the
symbol parser only.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from typing import Callable, List, Optional, Sequence, Tuple

from stackext.knowledge import PAGE
from stackext.model import Frame, HighWater
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
