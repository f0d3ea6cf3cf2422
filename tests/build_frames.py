"""Hand-built frames for core tests: (sp, ret, call_site) rows copied from real logs."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from stackext.model import Frame


def split_site(site: str) -> Tuple[Optional[str], Optional[str], Optional[int]]:
    if site.startswith("0x"):
        return None, None, None
    module, _, rest = site.partition("!")
    if not _:
        mod, _, off = site.partition("+")
        return mod, None, int(off, 16) if off else None
    fn, _, off = rest.rpartition("+0x")
    if not _:
        return module, rest, None
    return module, fn, int(off, 16)


def addr(text: Optional[str]) -> Optional[int]:
    if text is None or text.startswith("-"):
        return None
    return int(text.replace("`", ""), 16)


def frames(rows: Sequence[tuple], start: int = 0) -> List[Frame]:
    """rows: (sp, ret, call_site[, args]) with sp None or "(inline)" for an inline frame."""
    out = []
    for i, row in enumerate(rows):
        sp, ret, site = row[0], row[1], row[2]
        args = [addr(a) for a in row[3]] if len(row) > 3 else []
        inline = sp == "(inline)"
        module, fn, off = split_site(site)
        out.append(Frame(index=start + i, sp=None if inline else addr(sp),
                         ret=None if inline else addr(ret), call_site=site, module=module,
                         function=fn, offset=off, inline=inline, args=args))
    return out
