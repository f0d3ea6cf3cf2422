"""Under the Windows Python with the real pykd: the facts issue 11's points 2-4 rest on, through
stackext's own adapter. Prints one JSON document.

    python.exe windbg_ways.py DUMP SYMBOLS
"""

import json
import sys

import pykd

from stackext.sources.pykd import scrape
from stackext.sources.pykd.adapter import Debugger


def main():
    pykd.initialize()
    pykd.setSymbolPath(sys.argv[2])
    pykd.loadDump(sys.argv[1])
    dbg = Debugger(pykd)
    out = {"prefer_dml": [scrape.prefer_dml(dbg.command_or_empty(".prefer_dml"))]}
    pykd.dbgCommand(".prefer_dml 1")
    out["prefer_dml"].append(scrape.prefer_dml(dbg.command_or_empty(".prefer_dml")))
    pykd.dbgCommand(".prefer_dml 0")
    out["export_only"] = sorted(scrape.export_only_starts(dbg.lm_text()))
    out["thread"] = [dbg.evaluate("@$thread"), pykd.getImplicitThread()]
    rsp = pykd.reg("rsp")
    landed = []
    for n in range(len(pykd.getStack(True))):
        text = pykd.dbgCommand(".frame 0x%x;dv /t /v" % n) or ""
        row = [x for x in text.splitlines() if x[:2].strip() and x[:2] == "%02x" % n]
        landed.append([n, row[0] if row else text.splitlines()[:3], pykd.reg("rsp") == rsp])
    pykd.dbgCommand(".frame 0")
    out["landed"] = landed
    # asked last: symfile() loads symbols (the noise stackext no longer makes)
    out["symfile_export"] = sorted(int(m.begin()) for m in pykd.getModulesList()
                                   if str(m.symfile()).lower() == "export symbols")
    print(json.dumps(out))


main()
