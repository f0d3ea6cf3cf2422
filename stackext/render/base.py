"""What every renderer shares: the options, and the begin/one/end shape helpers.

Each format is a module with begin(opts) -> str, one(report, opts, position) -> str and
end(opts, count) -> str: a file of any size streams through it one stack at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from stackext.model import StackReport


@dataclass
class RenderOptions:
    """How a renderer writes (the options every format shares)."""

    top: int = 5
    markers: bool = False  # JSON between marker lines (inside a debugger, for kd -logo logs)
    functions: int = 10  # function rollup rows shown in text formats
    wide: bool = False  # --wide: no call site shortened, decimal sizes beside the hex
    # The text table's width (the console's terminal); None: not limited (inside the debugger,
    # whose window scrolls, as kf's own table is never cut).
    width: Optional[int] = None
    # DML: link frame numbers to `.frame N` (False when a .frame /c or .cxr context renumbers
    # the engine's frames, so `.frame N` would land elsewhere).
    frame_links: bool = True
    # Inputs that failed ({"file", "line", "message"}), filled while the stacks stream; the
    # JSON document lists them at its end.
    errors: List[Dict[str, object]] = field(default_factory=list)


def no_text(*_args) -> str:
    """begin/end of the formats that have no header or footer."""
    return ""


def one_block(render_one: Callable[[StackReport, RenderOptions], str]):
    """`one` for the formats that print a block per stack, a blank line between."""
    def one(r: StackReport, opts: RenderOptions, position: int) -> str:
        return ("\n" if position else "") + render_one(r, opts) + "\n"
    return one
