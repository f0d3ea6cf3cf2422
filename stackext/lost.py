"""Where the engine's stack walk went wrong: a kernel frame whose instruction pointer lies in no
loaded module means the unwinder lost track at the frame before it (a module without symbols or
unwind data, so the engine guessed the caller from the next stack slots). What it walks from there
are stack slots, not frames: `0x7e`, `0xffffffff`c0000005`, eight bytes each.

Pure: imports stackext.model and stackext.knowledge only.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from stackext import knowledge as K
from stackext.model import Frame, FramesFrom, LostTrack, UnknownReason


def _in_no_module(f: Frame, arch: str) -> bool:
    # a bare address as the call site (`0x7e`, `0xffff8504`29891ee8`): findSymbol/knf found no
    # module around it, on a kernel stack (user frames below a system call run outside modules
    # legitimately: `0x76e170d4` at a user ChildEBP)
    return not f.inline and f.module is None and f.call_site.startswith("0x") and \
        f.sp is not None and K.is_kernel_address(f.sp, arch)


def find_lost(frames: List[Frame], kernel: bool, arch: str,
              frames_from: FramesFrom) -> Optional[Tuple[int, LostTrack]]:
    """(position of the first frame in no module, what to report), or None. Kernel stacks only:
    kernel code runs in loaded modules, while user mode has JIT code outside any module. Frame 0
    is where the thread is (a bad IP there is the crash, not the walk)."""
    if not kernel or frames_from == FramesFrom.RAW_SCAN:
        return None
    # (most frames have a module: no call for them)
    pos = next((i for i, f in enumerate(frames)
                if i > 0 and f.module is None and _in_no_module(f, arch)), None)
    if pos is None:
        return None
    last = pos - 1
    while last > 0 and frames[last].inline:
        last -= 1
    bad, good = frames[pos], frames[last]
    return pos, LostTrack(frame=bad.index, ip=bad.ip, call_site=bad.call_site, after=good.index,
                          after_site=good.call_site, module=good.module,
                          dropped=len(frames) - pos)


def mark_lost(frames: List[Frame]) -> None:
    """The last frame kept: its caller's SP is the unwinder's guess, so its size is unknown."""
    phys = [f for f in frames if not f.inline]
    if phys:
        phys[-1].size = None
        phys[-1].size_unknown_reason = UnknownReason.WALK_LOST
