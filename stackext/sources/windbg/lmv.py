"""What a log says about modules: whose they are (`lmv`'s CompanyName) and which were loaded with
export symbols only (WinDbg's "Defaulted to export symbols for X").

Observes lines; never ends a stack. The image path alone decides nothing: third-party drivers
install under \\SystemRoot\\System32\\drivers too.
"""

from __future__ import annotations

import re
from typing import Dict, Optional, Set

from stackext.model import StackInput
from stackext.sources.windbg.lines import export_module

# "start             end                 module name"
LM_HEADER_RE = re.compile(r"^start\s+end\s+module name")
# "fffff880`00c00000 fffff880`00c62000   rosempio   (deferred)"
# "82a0b000 82e1d000   nt         (pdb symbols)          c:\symbols\ntkrpamp.pdb\...\ntkrpamp.pdb"
LM_ROW_RE = re.compile(r"^[0-9a-f]{8}`?(?:[0-9a-f]{8})?\s+[0-9a-f]{8}`?(?:[0-9a-f]{8})?\s+"
                       r"(?P<name>[A-Za-z0-9_.$-]+)", re.I)
# "    CompanyName:      Microsoft Corporation"
COMPANY_RE = re.compile(r"^CompanyName:\s+(?P<company>\S.*?)\s*$")


class ModuleFacts:
    """module name (lower case) -> True for a Microsoft module, False for another company's."""

    def __init__(self) -> None:
        self.microsoft: Dict[str, bool] = {}
        self.export_only: Set[str] = set()
        self._in_lm = False
        self._current: Optional[str] = None

    def feed(self, text: str, prompt: bool) -> None:
        if prompt:
            self._in_lm, self._current = False, None
            return
        if LM_HEADER_RE.match(text):
            self._in_lm = True
            return
        if self._in_lm:
            m = LM_ROW_RE.match(text)
            if m:
                self._current = m.group("name").lower()
                return
        if self._current is not None and text.startswith("CompanyName:"):
            m = COMPANY_RE.match(text)
            if m:
                self.microsoft[self._current] = "microsoft" in m.group("company").lower()

    def note(self, text: str) -> None:
        """A line of debugger chatter: "Defaulted to export symbols for X" marks X."""
        module = export_module(text)
        if module:
            self.export_only.add(module)

    def apply(self, stack: StackInput) -> None:
        """What the log said so far about the stack's modules."""
        stack.export_modules = set(self.export_only)
        microsoft = self.microsoft
        if not microsoft:
            return  # no lmv in the log (yet): nothing to mark
        for f in stack.frames:
            if f.microsoft is None and f.module:
                f.microsoft = microsoft.get(f.module.lower())
