"""Runs under the Windows Python with the real pykd: print the engine's `knf 1000` of a dump's
main thread (~0) as one JSON line. Used by test_frames_real.py.

    python.exe knf_dump.py DUMP SYMBOL_PATH
"""

import json
import sys

import pykd


def main():
    dump, symbols = sys.argv[1], sys.argv[2]
    pykd.loadDump(dump)
    pykd.setSymbolPath(symbols)
    pykd.dbgCommand(".reload")
    pykd.dbgCommand("~0s")
    print(json.dumps({"knf": pykd.dbgCommand("knf 1000")}))


if __name__ == "__main__":
    main()
