"""Saved WinDbg/kd text in, StackInputs out (streamed).

lines (decoding, cleaning, prompts, line kinds) -> rows (one k row, one Frame) -> stack (the
stack being read) and context (!thread, bugcheck) -> reader (the state machine); notes (dv,
.fnent) and dps (a raw scan from dps output) ride along. Call-site text is parsed by
stackext.symbols, shared with the pykd source.
"""

from stackext.sources.windbg.lines import EmbeddedJson, Item
from stackext.sources.windbg.reader import Reader, read_file, read_stacks

__all__ = ["EmbeddedJson", "Item", "Reader", "read_file", "read_stacks"]
