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


# !process 0 7 prints "Kernel stack not resident." and no stack for swapped-out threads: they
# still have bounds and a saved SP (shape of fixture 116; thread 3 made non-resident).
NOT_RESIDENT = """0: kd> !process 0 7
PROCESS ffff8a07222e60c0
    Image: ioctlapp.exe

        THREAD ffff8a071d5a3040  Cid 2f38.0bd4  Teb: 0000006d28977000 Win32Thread: 0000000000000000 WAIT: (WrQueue) UserMode Alertable
        Owning Process            ffff8a07222e60c0       Image:         ioctlapp.exe
        Stack Init ffff808de0a8f650 Current ffff808de0a8ee20
        Base ffff808de0a90000 Limit ffff808de0a89000 Call 0000000000000000
        Kernel stack not resident.

        THREAD ffff8a071ff3a080  Cid 2f38.2df4  Teb: 0000006d28979000 Win32Thread: 0000000000000000 WAIT: (WrQueue) UserMode Alertable
        Owning Process            ffff8a07222e60c0       Image:         ioctlapp.exe
        Stack Init ffff808de09d7650 Current ffff808de09d6e20
        Base ffff808de09d8000 Limit ffff808de09d1000 Call 0000000000000000
        Child-SP          RetAddr           Call Site
        ffff808d`e09d6e60 fffff807`4e63c77d nt!KiSwapContext+0x76
        ffff808d`e09d6fa0 fffff807`4e63b604 nt!KiSwapThread+0xbfd
"""


def test_threads_without_a_resident_stack_are_ranked_too(tmp_path):
    p = tmp_path / "p07.txt"
    p.write_text(NOT_RESIDENT)
    code, out, _ = run(["threads", "--format", "json", str(p)])
    rows = {r["thread"]: r for r in json.loads(out)["threads"]}
    assert set(rows) == {"0xffff8a071d5a3040", "0xffff8a071ff3a080"}
    assert rows["0xffff8a071d5a3040"]["used"] == 0x11E0
    assert rows["0xffff8a071d5a3040"]["used_from"] == "KernelStack"
    code, out, _ = run(["usage", "--format", "json", str(p)])
    assert [s["thread"] for s in json.loads(out)["stacks"]] == ["0xffff8a071ff3a080"]


def test_budget_option_applies_to_every_thread():
    code, out, _ = run(["threads", "--format", "json", "--budget", "12K", P116])
    rows = json.loads(out)["threads"]
    assert {r["budget"] for r in rows} == {12288}
    t = {r["thread"]: r for r in rows}["0xffff8a071d5a3040"]
    assert t["remaining"] == 12288 - 0x11E0
