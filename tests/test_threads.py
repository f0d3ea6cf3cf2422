"""`stackext threads`: every thread's headroom from !process/!thread logs, closest to the edge
first (real logs in fixtures/)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from stackext.cli import main

FIX = Path(__file__).resolve().parent.parent / "fixtures"
P116 = str(FIX / "116_prenotes_process_ioctlapp_3threads_base_limit_x64.txt")
LOGS = [P116] + [str(p) for p in sorted(FIX.glob("1[0-2][0-9]_*thread*.txt"))
                 if not p.name.startswith("116")]


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_waiting_threads_use_kernelstack_and_running_ones_their_stack():
    code, out, err = run(["threads", "--format", "json", P116])
    assert code == 0 and not err
    doc = json.loads(out)
    assert doc["tool"] == "stackext" and len(doc["threads"]) == 3
    t = {x["thread"]: x for x in doc["threads"]}
    waiting = t["0xffff8a071d5a3040"]  # Base ffff808de0a90000, Current ffff808de0a8ee20
    assert waiting["used"] == 0x11E0 and waiting["used_from"] == "KernelStack"
    assert waiting["budget"] == 0x7000 and waiting["remaining"] == 0x7000 - 0x11E0
    assert waiting["state"] == "WAIT:WrQueue" and waiting["image"] == "ioctlapp.exe"
    running = t["0xffff8a072084b080"]  # innermost frame ffff808d`dffdf0e0
    assert running["used"] == 0xFFFF808DDFFE0000 - 0xFFFF808DDFFDF0E0
    assert running["used_from"] == "stack"
    assert running["heaviest_driver_frame"]["call_site"] == "SIoctl!SioctlDeviceControl+0x109"
    for key in ("thread", "process", "image", "state", "stack_base", "stack_limit", "budget",
                "used", "remaining"):
        assert key in running


def test_ranked_closest_to_the_edge_first_across_logs():
    code, out, _ = run(["threads", "--format", "json"] + LOGS)
    rows = json.loads(out)["threads"]
    assert len(rows) >= 8
    left = [r["remaining"] for r in rows if r["remaining"] is not None]
    assert left == sorted(left)
    # fixture 104: Base ffffa58b1e508000, Current ffffa58b1e505a70: 0x2590 used of 0x7000
    assert rows[0]["thread"] == "0xffff808e2779a500" and rows[0]["used"] == 0x2590
    assert rows[0]["remaining"] == 0x7000 - 0x2590
    assert rows[0]["heaviest_driver_frame"]["call_site"].startswith("amdkmdag!")


def test_driver_filter_and_the_drivers_view():
    code, out, _ = run(["threads", "--driver", "SIoctl", "--format", "json"] + LOGS)
    doc = json.loads(out)
    assert [r["thread"] for r in doc["threads"]] == ["0xffff8a072084b080"]
    fn = doc["driver_functions"][0]
    assert fn["function"] == "SIoctl!SioctlDeviceControl" and fn["bytes"] == 0x100
    assert fn["max_depth"] == 0xFFFF808DDFFE0000 - 0xFFFF808DDFFDF0E0
    code, out, _ = run(["threads", "--driver", "amdkmdag", "--top", "1"] + LOGS)
    assert "heaviest driver frames" in out and "amdkmdag!" in out


def test_table_and_csv():
    code, out, _ = run(["threads", P116])
    assert code == 0 and out.splitlines()[0].split()[:3] == ["thread", "image", "state"]
    assert "KernelStack" in out
    code, out, _ = run(["threads", "--format", "csv", P116])
    assert out.splitlines()[0].startswith("thread,process,image,state,stack_base")
    assert len(out.splitlines()) == 4
