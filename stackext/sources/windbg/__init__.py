"""Saved WinDbg/kd text in, StackInputs out (streamed).

lines (decoding, cleaning, prompts, line kinds) -> rows (one k row, one Frame) -> stack (the
stack being read) and context (!thread, bugcheck) -> reader (the state machine); notes (dv,
.fnent) and dps (a raw scan from dps output) ride along. Call-site text is parsed by
stackext.symbols, shared with the pykd source.
"""

import importlib

__all__ = ["EmbeddedJson", "Item", "Reader", "Skipped", "read_file", "read_stacks"]

# Imported when first used: the debugger's knf continuation needs only `rows`, and every `!py`
# is a fresh interpreter that would otherwise pay for the whole reader (~15 ms).
_WHERE = {"EmbeddedJson": "lines", "Item": "lines", "Skipped": "lines", "Reader": "reader",
          "read_file": "files",
          "read_stacks": "reader"}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    return getattr(importlib.import_module("%s.%s" % (__name__, _WHERE[name])), name)
