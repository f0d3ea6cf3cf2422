"""The module and function totals of a stack (the rollups): bytes per module and per function
on the stack the budget applies to.

Pure: imports stackext.model only.
"""

from __future__ import annotations

from typing import Dict, List

from stackext.model import Frame, FunctionTotal, ModuleTotal, StackReport, SymbolQuality


def rollups(report: StackReport, frames: List[Frame]) -> None:
    """Bytes per module and per function, in one pass (first seen first among equals)."""
    t = report.thread_segment
    mods: Dict[str, list] = {}  # key -> [bytes, frames, driver]
    funcs: Dict[str, list] = {}  # key -> [bytes, count, first frame]
    pdb = SymbolQuality.PDB
    for f in frames:
        if t is not None and f.segment != t:
            continue
        size = f.size or 0
        key = f.module or "?"
        m = mods.get(key)
        if m is None:
            mods[key] = [size, 1, f.driver]
        else:
            m[0] += size
            m[1] += 1
            m[2] = m[2] or f.driver
        if not f.inline:
            # a nearest-export name is no function: roll such frames up by call site
            fkey = f.call_site if f.symbol_quality is not pdb else \
                f"{f.module}!{f.function}" if f.module and f.function else \
                f.module or f.call_site  # Frame.symbol, inline
            x = funcs.get(fkey)
            if x is None:
                funcs[fkey] = [size, 1, f]
            else:
                x[0] += size
                x[1] += 1
    used = report.used if report.used and not report.used_is_lower_bound else None
    # ModuleTotal(module, bytes, frames, driver, share), FunctionTotal(function, bytes, count,
    # module, driver): positional, sorted by (-bytes, name lower case), first seen first among
    # equals (the position in the tuple: tuples sort in C, a key function per item does not)
    report.modules.extend([
        ModuleTotal(name, total, count, bool(driver), (total / used) if used else None)
        for _, _, _, name, total, count, driver in sorted([
            (-total, name.lower(), i, name, total, count, driver)
            for i, (name, (total, count, driver)) in enumerate(mods.items())])])
    report.functions.extend([
        FunctionTotal(name, total, count, first.module, first.driver)
        for _, _, _, name, total, count, first in sorted([
            (-total, name.lower(), i, name, total, count, first)
            for i, (name, (total, count, first)) in enumerate(funcs.items())])])
