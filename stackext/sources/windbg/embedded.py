"""A stackext JSON document printed into a debugger log between the marker lines (a kd -logo
log of `!py -m stackext.usage --format json`): captured whole, read back without re-analysis.
"""

from __future__ import annotations

from typing import List, Optional

from stackext.errors import StackextError
from stackext.report_json import MARKER_BEGIN, MARKER_END
from stackext.sources.windbg.lines import EmbeddedJson

MAX_JSON = 64 << 20


class JsonBlock:
    """The lines between MARKER_BEGIN and MARKER_END, in bounded memory."""

    def __init__(self, name: str):
        self.name = name
        self.lines: Optional[List[str]] = None  # None: not inside a block
        self.line = 0
        self.size = 0

    @property
    def open(self) -> bool:
        return self.lines is not None

    def start(self, n: int) -> None:
        self.lines, self.line, self.size = [], n, 0

    def feed(self, n: int, raw: str) -> Optional[EmbeddedJson]:
        """One line inside the block; the document when the end marker arrives."""
        if raw.strip() == MARKER_BEGIN:  # a run that printed no end (it failed): start again
            self.start(n)
            return None
        if raw.strip() == MARKER_END:
            lines = self.lines or []
            # A kd log also records what stackext's own engine commands printed (pykd's
            # dbgCommand) after the begin marker: the document starts at its "{" line.
            first = next((i for i, line in enumerate(lines) if line.strip() == "{"), 0)
            text, self.lines = "\n".join(lines[first:]), None
            return EmbeddedJson("%s:%d" % (self.name, self.line), text)
        self.size += len(raw)
        if self.size > MAX_JSON:
            raise StackextError("stackext JSON block is larger than %d MB" % (MAX_JSON >> 20),
                                where="%s:%d" % (self.name, self.line))
        self.lines.append(raw.rstrip("\r\n"))
        return None

    def finish(self) -> None:
        if self.open:
            raise StackextError("stackext JSON block has no end marker (%s)" % MARKER_END,
                                where="%s:%d" % (self.name, self.line))
