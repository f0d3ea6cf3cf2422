"""Where the engine's stack walk went wrong: a kernel frame whose instruction pointer lies in no
loaded module. Usually the unwinder lost track at the frame before it (a module without symbols
or unwind data, so the engine guessed the caller from the next stack slots), and what it walks
from there are stack slots, not frames: `0x7e`, `0xffffffff`c0000005`, eight bytes each. The text
can say otherwise, and then the report says that instead:
- the frame before is a trap handler (`nt!KiPageFault+0x43d`): this frame's IP and SP come from
  its trap frame, so it is real code running outside any loaded module (manually mapped code);
  it is kept, and only the frames after it are the unwinder's guesses;
- the IP is not even a canonical address (`0x41414141`41414141`): the stack was overwritten;
- frames are left out of the text just before it (a `...` line): where the walk lost track is
  not shown.

Not on x86: its `k` follows the chain of saved frame pointers, which needs no unwind data, so a
frame in code outside every module (a hook in pool) has a real ChildEBP and the frames after it
are the chain's, not slots (a hook of 360's on XP: 7 real frames and 0xc8 bytes were dropped).

Pure: imports stackext.model and stackext.knowledge only.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from stackext import knowledge as K
from stackext.model import Bugcheck, Frame, FramesFrom, LostCause, LostTrack, UnknownReason


def _in_no_module(f: Frame, arch: str) -> bool:
    # a bare address as the call site (`0x7e`, `0xffff8504`29891ee8`): findSymbol/knf found no
    # module around it, on a kernel stack (user frames below a system call run outside modules
    # legitimately: `0x76e170d4` at a user ChildEBP)
    return not f.inline and f.module is None and f.call_site.startswith("0x") and \
        f.sp is not None and K.is_kernel_address(f.sp, arch)


def _fault_arg(ip: Optional[int], bugcheck: Optional[Bugcheck]) -> Optional[int]:
    """The bug check argument (1-4) that names this IP as the faulting instruction, or None."""
    if ip is None or bugcheck is None or bugcheck.code not in K.BUGCHECK_FAULT_IP:
        return None
    i = K.BUGCHECK_FAULT_IP[bugcheck.code]
    return i + 1 if i < len(bugcheck.args) and bugcheck.args[i] == ip else None


def _cause(frames: List[Frame], pos: int, last: int, arch: str,
           fault_arg: Optional[int]) -> LostCause:
    bad = frames[pos]
    if any(f.gap_before is not None for f in frames[last + 1:pos + 1]):
        return LostCause.FRAMES_MISSING
    if bad.ip is not None and not K.is_canonical(bad.ip, arch):
        return LostCause.NOT_CANONICAL
    if arch == "x64" and K.fn_key(frames[last].function) in K.TRAP_ROUTINES:
        return LostCause.OUTSIDE_MODULES
    return LostCause.OUTSIDE_MODULES if fault_arg is not None else LostCause.NO_UNWIND


def find_lost(frames: List[Frame], kernel: bool, arch: str, frames_from: FramesFrom,
              bugcheck: Optional[Bugcheck] = None) -> Optional[Tuple[int, LostTrack]]:
    """(how many frames to keep, what to report), or None. On a kernel stack, any frame in no
    module (kernel code runs in loaded modules); on a user stack, where JIT code runs outside
    any module, only an IP that is no address at all (not canonical). Frame 0 is where the
    thread is (a bad IP there is the crash, not the walk)."""
    if frames_from == FramesFrom.RAW_SCAN or arch == "x86":
        return None  # (x86 k follows the saved-EBP chain: code in no module has a real EBP)
    if kernel:  # (most frames have a module: no call for them)
        pos = next((i for i, f in enumerate(frames)
                    if i > 0 and f.module is None and _in_no_module(f, arch)), None)
    else:  # user mode runs code outside modules (JIT): only an IP no user code can have is lost
        pos = next((i for i, f in enumerate(frames) if i > 0 and f.module is None
                    and not f.inline and f.ip is not None and (not K.is_canonical(f.ip, arch)
                                                               or K.above_user_space(f.ip, arch))),
                   None)
    if pos is None:
        return None
    last = pos - 1
    while last > 0 and frames[last].inline:
        last -= 1
    bad = frames[pos]
    fault_arg = _fault_arg(bad.ip, bugcheck)
    cause = _cause(frames, pos, last, arch, fault_arg)
    if not kernel and cause in (LostCause.NO_UNWIND, LostCause.OUTSIDE_MODULES):
        cause = LostCause.NOT_USER_CODE  # (an IP above user space on a user stack)
    # a trap frame gave this frame's IP and SP: keep it (the frames after it are the guesses)
    trap = cause == LostCause.OUTSIDE_MODULES and \
        K.fn_key(frames[last].function) in K.TRAP_ROUTINES
    keep = pos + 1 if trap else pos
    good = frames[keep - 1]
    invalid = next((f for f in frames[pos:] if not f.inline and f.ip is not None
                    and not K.is_canonical(f.ip, arch)), None)
    return keep, LostTrack(
        frame=bad.index, ip=bad.ip, call_site=bad.call_site, after=good.index,
        after_site=good.call_site,
        module=good.module if cause == LostCause.NO_UNWIND else None,
        dropped=len(frames) - keep, cause=cause, fault_arg=fault_arg,
        trap_site=frames[last].call_site if trap else None,
        gap=next((f.gap_before.kind for f in frames[last + 1:pos + 1] if f.gap_before), None),
        invalid_from=None if invalid is None else invalid.index,
        invalid_site=None if invalid is None else invalid.call_site)


_REASON = {LostCause.NOT_CANONICAL: UnknownReason.STACK_OVERWRITTEN,
           LostCause.FRAMES_MISSING: UnknownReason.FRAMES_MISSING}


def mark_lost(frames: List[Frame], cause: LostCause) -> None:
    """The last frame kept: its caller's SP is the unwinder's guess (or its caller is not shown,
    or the slot above it holds no address), so its size is unknown."""
    phys = [f for f in frames if not f.inline]
    if phys:
        phys[-1].size = None
        phys[-1].size_unknown_reason = _REASON.get(cause, UnknownReason.WALK_LOST)
