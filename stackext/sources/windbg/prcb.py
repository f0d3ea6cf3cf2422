"""A processor's DPC and ISR stack tops in a log: `dt nt!_KPRCB ADDR DpcStack` or `dx
@$prcb->DpcStack` output (the analysis judges a DPC segment whose SPs lie below that top against
the DPC stack's size; stackext.procstacks).

Standard library only; imports stackext.model.
"""

from __future__ import annotations

import re
from typing import List

from stackext.model import ProcessorStack, SegmentKind

# "+0x3110 DpcStack         : 0xfffff807`0cb30000 Void" (dt; x86: "+0x868 DpcStack : 0xf88c7000")
DT_RE = re.compile(r"^\+0x[0-9a-f]+\s+(?P<field>DpcStack|IsrStack)\s+:\s+0x(?P<value>[0-9a-f`]+)",
                   re.I)
# "@$prcb->DpcStack : 0xfffff8070cb30000 [Type: void *]" (dx)
DX_RE = re.compile(r"->(?P<field>DpcStack|IsrStack)\s*:\s*0x(?P<value>[0-9a-f`]+)(?:\s|$)", re.I)
# !analyze -v: "DPC_STACK_BASE:  FFFFBF0A20830FB0" (the crashing processor's DpcStack)
ANALYZE_RE = re.compile(r"^(?P<field>DPC_STACK_BASE):\s+(?:0x)?(?P<value>[0-9a-f`]{8,17})\s*$",
                        re.I)
_KIND = {"dpcstack": SegmentKind.DPC, "isrstack": SegmentKind.ISR,
         "dpc_stack_base": SegmentKind.DPC}


def is_prcb_command(commands: List[str]) -> bool:
    """`dt nt!_KPRCB ...` or `dx @$prcb->...`: its output may give the stack tops."""
    for c in commands:
        words = c.split()
        if words and words[0].lower() in ("dt", "dx") and "prcb" in c.lower():
            return True
    return False


def processor_stacks(lines: List[str]) -> List[ProcessorStack]:
    """The DpcStack/IsrStack values in a `dt`/`dx` command's output (cleaned lines). The ISR
    stack's size is not in them (nt!KeIsrStackSize): its top alone decides nothing."""
    out = []
    for line in lines:
        m = DT_RE.match(line) or DX_RE.search(line) or ANALYZE_RE.match(line)
        if m is None:
            continue
        top = int(m.group("value").replace("`", ""), 16)
        if top:
            name = m.group("field")
            how = "!analyze's DPC_STACK_BASE" if name.startswith("DPC_") else \
                "_KPRCB.%s in the log (%s)" % (name, "dt" if line.startswith("+") else "dx")
            out.append(ProcessorStack(kind=_KIND[name.lower()], top=top, size=None,
                                      origin=how))
    return out
