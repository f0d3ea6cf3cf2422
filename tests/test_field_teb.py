"""`!teb` in a saved user-mode log (fixtures/field/): its StackBase gives the user stack printed
beside it -- before or after it -- a base to measure from; its StackLimit is only the committed
bottom, and the end of the reservation (DeallocationStack) is not in `!teb`'s output."""

from __future__ import annotations

import io
import json
from pathlib import Path

from stackext.cli import main

FIELD = Path(__file__).resolve().parent.parent / "fixtures" / "field"


def stacks(name):
    out, err = io.StringIO(), io.StringIO()
    assert main(["usage", "--format", "json", str(FIELD / name)], out=out, err=err) == 0, err
    return json.loads(out.getvalue())["stacks"]


def test_a_teb_printed_after_the_kb_gives_its_stack_a_base():
    # Microsoft's "Debugging a Stack Overflow": `kb` of Loop2Big (frames 0e-1b, "..." before),
    # then `dt _TEB`, then `!teb` (StackBase 01100000, StackLimit 01001000). It had said "user
    # stack with no known bounds" and "at least 0xbfc used"; the base proves 0x01100000 -
    # 0x010049b0 = 0xfb650 at least (the frames inward of 0e are left out)
    a, b, c = stacks("x86_user_msdocs_stack_overflow_kb_then_teb.txt")
    assert c["stack_base"] == "0x1100000" and c["committed_limit"] == "0x1001000"
    assert c["used"] == 0x01100000 - 0x010049B0 and c["used_is_lower_bound"]
    assert c["budget"] is None and "DeallocationStack" in c["budget_note"]
    assert "!teb at" in c["bounds_note"] and c["verdict_id"] == "overflow"
    assert "no DeallocationStack)" in c["verdict"]  # StackBase is known now
    # the committed bottom: 0xff000 touched, and what was left below it is not known
    assert c["high_water"]["used"] == 0x01100000 - 0x01001000 and \
        c["high_water"]["remaining"] is None
    # the x64 !teb earlier in the page (another program) holds none of the x86 stacks' SPs
    assert a["stack_base"] is None and b["stack_base"] is None


def test_a_teb_after_a_tilde_k_finds_its_thread_among_the_listing():
    # a Rust tutorial: `~*k` (threads 0 and 4), then `.lastevent` and `!teb` of thread 4
    # (ClientId 722c.31fc, StackBase 0000004e`3af90000): the !teb is the listing's second
    # stack's, not the last one printed
    got = stacks("x64_user_rust_tilde_k_c00000fd_teb_after.txt")
    based = [s for s in got if s["stack_base"] is not None]
    assert [s["thread_number"] for s in based] == [4] and based[0]["thread"] == "0x31fc"
    s = based[0]
    assert s["stack_base"] == "0x4e3af90000" and s["committed_limit"] == "0x4e3af81000"
    assert s["used"] == 0x4E3AF90000 - 0x4E3AF865B0 == 39504 and not s["used_is_lower_bound"]
    assert s["verdict_id"] == "overflow"  # the thread's c00000fd
    assert len(got) == 7  # no stack lost or added by holding the listing back


def test_a_teb_before_the_stack_and_one_of_another_thread(tmp_path):
    # the same !teb before the `kb`, and then with another thread's ClientId: only the first
    # applies (the SPs lie between StackLimit and StackBase, the thread is the TEB's)
    text = (FIELD / "x86_user_msdocs_stack_overflow_kb_then_teb.txt").read_text()
    at = text.rindex("0:000> !teb\n")  # the x86 one (the page's first is an x64 program's)
    teb = text[at:text.index("    RpcHandle:", at)]
    rows = text[text.index("0:000> kb\n"):text.index("\n...\n\n```", text.index("0:000> kb"))]
    log = tmp_path / "before.txt"
    log.write_text(teb + "\n" + rows.replace("...\n", "") + "\n")
    (s,) = stacks_of(log)
    assert s["stack_base"] == "0x1100000" and s["used"] == 0x01100000 - 0x010049B0
    log.write_text("0:000> ~\n.  0  Id: 336c.1111 Suspend: 1 Teb: 00ff8000 Unfrozen\n" + teb
                   + "\n" + rows.replace("0:000> kb", "0:000> ~0kb").replace("...\n", ""))
    (s,) = stacks_of(log)
    assert s["stack_base"] is None  # ClientId 336c.264c is not thread 1111


def stacks_of(path):
    out, err = io.StringIO(), io.StringIO()
    assert main(["usage", "--format", "json", str(path)], out=out, err=err) == 0, err
    return json.loads(out.getvalue())["stacks"]


def test_a_kernel_sessions_x86_prompt_is_a_prompt(tmp_path):
    # after .effmach x86 a kernel session prompts "1: kd:x86>": its `!teb` (here the same
    # x86 !teb and kb as above) had been no command's output, and its kb no prompt's
    text = (FIELD / "x86_user_msdocs_stack_overflow_kb_then_teb.txt").read_text()
    at = text.rindex("0:000> !teb\n")
    teb = text[at:text.index("    RpcHandle:", at)].replace("0:000>", "1: kd:x86>")
    rows = text[text.index("0:000> kb\n"):text.index("\n...\n\n```", text.index("0:000> kb"))]
    log = tmp_path / "kd_x86.txt"
    log.write_text(rows.replace("0:000>", "1: kd:x86>").replace("...\n", "") + "\n" + teb)
    (s,) = stacks_of(log)
    assert s["stack_base"] == "0x1100000" and s["used"] == 0x01100000 - 0x010049B0


def test_wow64exts_info_gives_both_of_a_wow64_threads_stacks_their_reservation():
    # a debugging book's notepad session: `.effmach amd64` k (the native stack), `.effmach x86`
    # k (the guest's), then !wow64exts.info with each stack's StackBase, StackLimit and
    # Deallocation. Both had been "user stack with no known bounds"
    native, guest = stacks_of(FIELD / "wow64_effmach_k_both_stacks_then_wow64exts_info.txt")
    assert (native["arch"], native["stack_base"], native["stack_limit"]) == (
        "x64", "0x2afd20", "0x270000")
    assert native["budget"] == 0x2AFD20 - 0x270000 and native["used"] == 0x2AFD20 - 0x2AE4B8
    assert (guest["arch"], guest["stack_base"], guest["stack_limit"]) == (
        "x86", "0x2f0000", "0x2b0000")
    assert guest["budget"] == 0x40000 and guest["used"] == 0x2F0000 - 0x2EFA4C
    assert guest["used_is_lower_bound"]  # (x86: frame 00's ESP is not in the text)
    assert native["committed_limit"] == "0x2a8000" and guest["committed_limit"] == "0x2df000"
