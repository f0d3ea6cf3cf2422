"""Record the real engine's answers (ground truth for the fake pykd).

    python3 tests/realengine/record.py [DUMP_NAME ...]     (Linux; runs setup.sh first)

For each dump runs probe_engine.py under the Windows Python + pykd and writes
    tests/realengine/recorded/<dump>.json          every probed call, in probe order
    tests/realengine/recorded/<dump>_<cmd>.txt     raw debugger text (knf, kv, kf, dv, fnent, ...)
"""

import datetime
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engine  # noqa: E402

RECORDED = os.path.join(engine.HERE, "recorded")

# recorded text files: suffix -> probe key
TEXT_FILES = [
    ("knf", "dbgCommand(knf)"),
    ("kv", "dbgCommand(kv)"),
    ("kf", "dbgCommand(kf)"),
    ("kn", "dbgCommand(kn)"),
    ("k", "dbgCommand(k)"),
    ("lm", "dbgCommand(lm)"),
    ("threads", "dbgCommand(~)"),
    ("r", "dbgCommand(r)"),
    ("dv", "B.dbgCommand(.frame /c N; dv /V /t)"),
    ("dv_after_frame", "B.dbgCommand(dv /V /t) after .frame N"),
    ("fnent", "B.dbgCommand(.fnent ip)"),
    ("uf", "B.dbgCommand(uf /c ip)"),
]


def header(name, key):
    m = re.search(r"dbgCommand\((.*)\)", key)
    cmd = m.group(1) if m else key
    return (
        "# source: real dbgeng via pykd 0.3.4.15 under Wine, dump %s\n"
        "# command: pykd.dbgCommand(%r) -- text below is exactly the returned string\n"
        "# probe key: %s; recorded %s by tests/realengine/record.py\n"
        % (name, cmd, key, datetime.date.today().isoformat())
    )


def record(name):
    cp, records = engine.probe(name)
    out = {
        "_source": "real dbgeng via pykd 0.3.4.15 under Wine, dump %s" % name,
        "_how": "tests/realengine/probe_engine.py run by tests/realengine/record.py",
        "_probe_exit_code": cp.returncode,
        "_probe_stderr_tail": cp.stderr[-2000:],
        "_complete": "done" in records,
        "records": records,
    }
    os.makedirs(RECORDED, exist_ok=True)
    with open(os.path.join(RECORDED, name + ".json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=False)
        f.write("\n")
    written = [name + ".json"]
    for suffix, key in TEXT_FILES:
        r = records.get(key)
        if not r or "value" not in r or not isinstance(r["value"], str):
            continue
        fn = "%s_%s.txt" % (name, suffix)
        with open(os.path.join(RECORDED, fn), "w") as f:
            f.write(header(name, key))
            f.write(r["value"])
        written.append(fn)
    return cp.returncode, "done" in records, written


def main(argv):
    ok, why = engine.ensure_setup()
    if not ok:
        print("real engine unavailable: %s" % why, file=sys.stderr)
        return engine.EXIT_UNAVAILABLE
    names = argv or list(engine.DUMP_NAMES)
    rc = 0
    for name in names:
        code, complete, written = record(name)
        print("%-16s probe exit=%s complete=%s -> %s" % (name, code, complete, ", ".join(written)))
        if not complete:
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
