"""A stack row's call site as WinDbg printed it, without what was printed or pasted after it:
a source tail, kv's annotations (its trap frame kept), an author's comment or note, a warning or
!analyze's next field glued onto it.

Pure; imports the line helpers and the symbol parser only.
"""

from __future__ import annotations

import re

from stackext.sources.windbg.lines import ADDR, to_int
from stackext.symbols import without_params

# Comments people add after a row: "ql2300+0x69416 <- BSOD ...",
# "nt!KiDivideErrorFault+0x30a                 <= Exception Trigger",
# "nt!IopTimerDispatch+0x1cf72a ;pg triggers the exception here" (a debugger script's comment),
# the mex extension's "nt!KiPageFault+0x469 --> Trapframe"; an arrow of any length, with or
# without a blank after it ("net!call_net1+0x163  <-------- creates", "<----this", "<<< here")
COMMENT_RE = re.compile(r"\s+(?:(?:<-+|<=+|<<+|//|--+>).*|;.*)$")
# An author's note in their own language after the offset (WinDbg prints none there), bare or
# in brackets that hold no "file @ line": "nt!KiSwInterruptDispatch+0xfa9 另一个执行DPC的地方",
# "nt!KiDispatchException+0x150     [异常分发]"
NOTE_RE = re.compile(r"(\+0x[0-9a-fA-F]+)\s+(?:[^\x00-\x7f]|\[(?![^\]]* @ [0-9]+\])"
                     r"[^\]]*[^\x00-\x7f]).*$")
# WinDbg's own symbol warning printed onto the row it interrupted (no newline between):
# "01 00a13f68 0f1621f4 App!X.AllocLocal()+0xbc*** WARNING: Unable to verify checksum for C:\a.exe"
# (pasted into markdown, its "**" may be gone: "+0xbc* WARNING: Unable to ..."), or !analyze's
# next field on the last row, a page having lost the line breaks: "+0x16STACK_COMMAND: .bugcheck"
GLUED_WARNING_RE = re.compile(
    r"\s*\*+ ?(?:WARNING|ERROR): |(?<=[\w)])(?:STACK_COMMAND|FOLLOWUP_IP|SYMBOL_NAME|"
    r"MODULE_NAME|IMAGE_NAME|FOLLOWUP_NAME|THREAD_SHA1_HASH_MOD_FUNC|SYMBOL_STACK_INDEX|"
    r"FAILURE_BUCKET_ID|BUCKET_ID):")
# Source tail: nt!KeBugCheckEx [minkernel\ntos\ke\amd64\procstat.asm @ 140]  (the ] may be cut off)
SOURCE_RE = re.compile(r"\s+\[(?P<file>[^\[\]]+?) @ (?P<line>\d+)\]?$")
# A source tail cut before its "@ line" (a capped line):
#   amdkmdag!...::BuildPagingBuffer+0x167 [c:\constructicon\builds\gfx\one\23.40\drivers\kgd
CUT_SOURCE_RE = re.compile(r"\s+\[(?P<file>[^\[\]]*[\\/][^\[\]]*)$")
# Annotations WinDbg appends to a call site:
#   nt!KiSystemServiceCopyEnd+0x25 (TrapFrame @ ffff808d`dffdf4c0)
#   nt!PerfIsGroupOnInGroupMask+0x25 (Inline Function @ fffff805`39578307)
#   nt!KiTrap0E+0xcc (FPO: [0,0] TrapFrame @ b200be40)
#   nt!KeBugCheck2+0x574 (FPO: [6,242,4])
ANNOTATION_RE = re.compile(r"\s+\((?P<body>(?:TrapFrame|Inline Function @|FPO:|CONV:)[^()]*)\)$")
TRAP_RE = re.compile(r"TrapFrame(?:-EDITED)? @ (" + ADDR + ")")
# ...cut at the line's end: "oran8!nnfgrne+0x54a(FPO:" ("[Non-Fpo])" on the next line)
CUT_ANNOTATION_RE = re.compile(r"\s*\((?:TrapFrame|FPO:|CONV:)[^()]*$")
# ...and that rest on its own line: "[Non-Fpo]", "[1,0,0])", "[0,0] TrapFrame @ b200be40)"
FPO_REST_RE = re.compile(r"^\[(?:Non-Fpo|\d+,\d+(?:,\d+)?)\]\)?(?:\s+TrapFrame @ \S+\)?)?$")


def clean_call_site(site: str):
    """The call site without comments, source tail and annotations; plus (file, line, trap)."""
    if "*" in site or "_" in site and ":" in site:
        site = GLUED_WARNING_RE.split(site, 1)[0]
    if not site.isascii():
        site = NOTE_RE.sub(r"\1", site)
    if "[" not in site and "(" not in site and "<" not in site and "//" not in site and \
            ";" not in site and "->" not in site and "\\" not in site:
        return site.strip(), (None, None, None)  # most rows: nothing for the searches below
    site = COMMENT_RE.sub("", site.strip()).strip()
    source_file = source_line = trap = None
    m = SOURCE_RE.search(site)
    if m:
        source_file, source_line = m.group("file").strip(), int(m.group("line"))
        site = site[: m.start()].rstrip()
    else:
        m = CUT_SOURCE_RE.search(site)
        if m:
            source_file = m.group("file").strip()
            site = site[: m.start()].rstrip()
    while True:
        m = ANNOTATION_RE.search(site)
        if not m:
            break
        t = TRAP_RE.search(m.group("body"))
        if t:
            trap = to_int(t.group(1))
        site = site[: m.start()].rstrip()
    m = CUT_ANNOTATION_RE.search(site)
    if m:
        t = TRAP_RE.search(m.group(0))
        trap = trap if t is None else to_int(t.group(1))
        site = site[: m.start()].rstrip()
    if "\\_" in site:  # markdown's escaped "_" (no module or function has a backslash)
        site = site.replace("\\_", "_")
    return without_params(site), (source_file, source_line, trap)
