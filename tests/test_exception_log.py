"""Issue 9 point 2 in logs: a thread that took STATUS_STACK_OVERFLOW (0xC00000FD) is a proven
overflow (what was left, only as its bounds show). The fixture is a real `!analyze -vv` + `~*kpn` (WebKit's
DumpRenderTree, fixtures/exceptions/): the exception record says c00000fd, EXCEPTION_CODE the access violation that
followed in the handler; FAULTING_THREAD e68 is the thread `~*kpn` shows."""

from __future__ import annotations

from pathlib import Path

from stackext import words
from stackext.analyze import analyze
from stackext.model import VerdictKind
from stackext.sources.windbg.exception import ExceptionFacts
from stackext.sources.windbg.reader import read_stacks

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "exceptions" / \
    "webkit_analyze_c00000fd_tilde_kpn_x86_user.txt"


def _stacks(text):
    return [s for s in read_stacks(text.splitlines(True), "log.txt") if hasattr(s, "frames")]


def test_the_fixtures_stack_overflow_is_proven_but_what_was_left_is_not_in_the_text():
    (stack,) = _stacks(FIXTURE.read_text(encoding="utf-8"))
    assert stack.thread == 0xE68 and stack.exception_code == 0xC00000FD
    r = analyze(stack)
    assert r.verdict == VerdictKind.OVERFLOW and r.overflow and r.verdict_proven
    # no bounds in this log: the event proves the stack could not grow, not that nothing was
    # left (Microsoft's "Debugging a Stack Overflow" shows 0xC00000FD with 253,196 bytes of
    # reservation left: no page could be committed); it had said "0 bytes left"
    assert r.remaining is None and r.budget is None
    assert r.used == 0x93104 - 0x92A08 == 1788 and r.used_is_lower_bound  # the SPs prove it
    assert words.verdict(r) == (
        "stack overflow (exception 0xC00000FD, STATUS_STACK_OVERFLOW): the stack could not grow "
        "past its guard page; how much of its reservation was left is not in the text (no "
        "StackBase/DeallocationStack)")


def test_another_threads_exception_is_not_this_stacks():
    text = FIXTURE.read_text(encoding="utf-8").replace("FAULTING_THREAD:  00000e68",
                                                       "FAULTING_THREAD:  00000e6c")
    (stack,) = _stacks(text)
    assert stack.exception_code is None
    assert analyze(stack).verdict == VerdictKind.BUDGET_UNKNOWN


# Lines as real WinDbg output printed them (each from a public page or repository):
REAL_LINES = [
    # SkylineCommunications/dataminer-docs SLScripting_StackOverflow.md (.lastevent, !analyze)
    ("Last event: 4198.99ec: Stack overflow - code c00000fd (first/second chance not available)",
     0xC00000FD, 0x99EC),
    ("ERROR_CODE: (NTSTATUS) 0xc00000fd - A new guard page for the stack cannot be created.",
     0xC00000FD, None),
    # dotnet/diagnostics#3506 (the break-in line of a live session)
    ("(4d38.2d90): Stack overflow - code c00000fd (first chance)", 0xC00000FD, 0x2D90),
    # the fixture (.exr inside !analyze's EXCEPTION_RECORD, after the reader strips blanks)
    ("ExceptionCode: c00000fd (Stack overflow)", 0xC00000FD, None),
    ("EXCEPTION_CODE: (NTSTATUS) 0xc0000005 - The instruction at 0x%08lx referenced memory at "
     "0x%08lx. The memory could not be %s.", 0xC0000005, None),
    ("EXCEPTION_CODE_STR:  c0000005", 0xC0000005, None),
]


def test_each_real_line_states_its_code_and_thread():
    for text, code, thread in REAL_LINES:
        facts = ExceptionFacts()
        assert facts.feed(text), text
        assert (facts.code, facts.thread) == (code, thread), text
    facts = ExceptionFacts()
    for text in ("ExceptionCode: c00000fd (Stack overflow)", "EXCEPTION_CODE_STR:  c0000005"):
        facts.feed(text)
    assert facts.code == 0xC00000FD  # the overflow wins over the handler's access violation
    assert not ExceptionFacts().feed("EXCEPTION_PARAMETER1:  00000000")


EFT = Path(__file__).resolve().parent.parent / "fixtures" / "field" / \
    "x64_user_eft_c00000fd_event_then_k_recursion.txt"


def test_the_event_thread_is_the_one_the_next_prompt_shows():
    # a Rapid7 post: "(12dc.1a68): Stack overflow - code c00000fd", then "0:096> k" (the
    # debugger stops on the event's thread, 96): that k is the overflowing thread's
    text = EFT.read_text(encoding="utf-8")
    (stack,) = _stacks(text)
    assert stack.thread_number == 96 and stack.exception_code == 0xC00000FD
    assert analyze(stack).verdict == VerdictKind.OVERFLOW
    # another thread's k at the same prompt (~0 k): not the thread that took it (it had been
    # "stack overflow (exception 0xC00000FD)", proven)
    (other,) = _stacks(text.replace("0:096> k", "0:096> ~0 k"))
    assert other.thread_number == 0 and other.exception_code is None
    assert analyze(other).verdict != VerdictKind.OVERFLOW
    # an access violation on another thread after the overflow: the code and the thread are the
    # later event's, never the first event's code on the second event's thread
    later = text.replace("  First chance exceptions", "  (12dc.2b00): Access violation - code "
                         "c0000005 (first chance)\n  First chance exceptions", 1)
    (av,) = _stacks(later)
    assert av.thread_number == 96 and av.exception_code == 0xC0000005


def test_the_m_form_of_0x7f_with_arg1_8_is_a_double_fault_too():
    # dokany #944's 0x7F/8 STACK_TEXT cut before KiDoubleFaultAbort's row: the bug check alone
    # says double fault. WinDbg prints the same bug check as UNEXPECTED_KERNEL_MODE_TRAP_M
    # (1000007f) on some dumps; that form had been "no overflow seen"
    src = Path(__file__).resolve().parent.parent / "fixtures" / \
        "002_dokany944_stacktext_doublefault_x64.txt"
    rows = src.read_text(encoding="utf-8").splitlines(True)
    cut = "".join(rows[6:9])  # STACK_TEXT:, KeBugCheckEx, KiBugCheckDispatch
    for name, code in (("UNEXPECTED_KERNEL_MODE_TRAP (7f)", "0000007f"),
                       ("UNEXPECTED_KERNEL_MODE_TRAP_M (1000007f)", "1000007f")):
        text = name + "\nArg1: 0000000000000008, EXCEPTION_DOUBLE_FAULT\n\n" + \
            cut.replace("00000000`0000007f", "00000000`" + code)
        (stack,) = _stacks(text)
        r = analyze(stack)
        assert r.bugcheck.code == int(code, 16) and r.double_fault, name
        assert "double fault" in words.verdict(r)
