"""Formats WinDbg prints that the corpus lacks, written inline in the shape WinDbg gives them:
older x86 `!thread` (Stack Init/Current/Base/Limit on one line), `kp` parameters, the newer
`!analyze -v` (BUGCHECK_P1.., STACK_OVERFLOW, STACKUSAGE_FUNCTION)."""

from __future__ import annotations

from stackext.analyze import analyze
from stackext.sources.windbg import read_stacks

X86_THREAD = """kd> !thread
THREAD 86a5e030  Cid 0004.0044  Teb: 00000000 Win32Thread: 00000000 RUNNING on processor 0
Owning Process            85e3c8c8       Image:         System
Stack Init 8b1c7fd0 Current 8b1c7c68 Base 8b1c8000 Limit 8b1c5000 Call 00000000
Priority 8 BasePriority 8 UnusualBoost 0 ForegroundBoost 0 IoPriority 2 PagePriority 5
ChildEBP RetAddr  Args to Child
8b1c5a10 8f1a2a90 00000000 00000001 8b1c5a40 mydrv!DeepHelper+0x10 (FPO: [Non-Fpo]) (CONV: stdcall) [c:\\src\\mydrv\\helper.c @ 40]
8b1c6a40 8f1a2b10 8b1c6a80 00000000 00000000 mydrv!BigLocals+0x55 (FPO: [Non-Fpo]) (CONV: stdcall) [c:\\src\\mydrv\\helper.c @ 80]
8b1c7fbc 82c71e1f 86a5e030 00000000 00000000 mydrv!WorkerThread+0x30 (FPO: [Non-Fpo]) (CONV: stdcall)
8b1c7fcc 00000000 00000000 00000000 00000000 nt!KiThreadStartup+0x19
"""

KP = """0: kd> kp
 # Child-SP          RetAddr               Call Site
00 ffffd000`2a6a6f58 fffff801`2d55d0a9     nt!KeBugCheckEx
01 ffffd000`2a6a6f60 fffff801`2d55b8f9     nt!KiBugCheckDispatch+0x69
02 ffffd000`2a6a70a0 fffff801`5c4a1055     nt!KiPageFault+0x239 (TrapFrame @ ffffd000`2a6a70a0)
03 ffffd000`2a6a7230 fffff801`2d4e3a0d     mydrv!DispatchIoctl(struct _DEVICE_OBJECT * DeviceObject = 0xffffe000`6d1a9e40, struct _IRP * Irp = 0xffffe000`6e1b7010)+0x55 [c:\\src\\mydrv\\ioctl.c @ 120]
04 ffffd000`2a6a7290 fffff801`2d8a1234     nt!IofCallDriver+0x5d
"""

ANALYZE = """UNEXPECTED_KERNEL_MODE_TRAP (7f)
Arguments:
Arg1: 0000000000000008, EXCEPTION_DOUBLE_FAULT
Arg2: ffffd78058b61e50
Arg3: ffffd28f6bfd3ff0
Arg4: fffff8026c2a7c5d

BUGCHECK_CODE:  7f

BUGCHECK_P1: 8

STACK_OVERFLOW: Stack Limit: ffffd28f6bfd4000. Use (kF) and (!stackusage) to investigate stack usage.

STACKUSAGE_FUNCTION: The function at address 0xfffff8026c2a7c5d was blamed for the stack overflow. It is using 2248 bytes of stack.

STACK_TEXT:  
ffffd780`58b61d08 fffff802`6c61f7e9     : 00000000`0000007f 00000000`00000008 ffffd780`58b61e50 ffffd28f`6bfd3ff0 : nt!KeBugCheckEx
ffffd780`58b61d10 fffff802`6c61a5c3     : 00000000`00000000 00000000`00000000 00000000`00000000 00000000`00000000 : nt!KiBugCheckDispatch+0x69
ffffd780`58b61e50 fffff802`6c2a7c5d     : ffffd28f`6bfd4688 00000000`00000000 00000000`00000000 00000000`00000000 : nt!KiDoubleFaultAbort+0x2c3
ffffd28f`6bfd3ff0 fffff802`7f4d1a62     : 00000000`00000000 00000000`00000000 00000000`00000000 00000000`00000000 : nt!memcpy+0x5d
ffffd28f`6bfd3ff8 fffff802`7f4d1c2e     : ffffd28f`6bfd48a8 00000000`00000000 00000000`00000000 00000000`00000000 : mydrv!MYSTRUCT::toDebugStr+0x52
ffffd28f`6bfd48c0 fffff802`7f4d2011     : 00000000`00000000 00000000`00000000 00000000`00000000 00000000`00000000 : mydrv!DumpState+0x3e
ffffd28f`6bfd4900 fffff802`7e8a1234     : 00000000`00000000 00000000`00000000 00000000`00000000 00000000`00000000 : Wdf01000!FxIoQueue::DispatchRequestToDriver+0x1a1


SYMBOL_NAME:  mydrv!MYSTRUCT::toDebugStr+52
"""


def one(text):
    stacks = list(read_stacks(text.splitlines(True), "log.txt"))
    assert len(stacks) == 1
    return stacks[0]


def test_x86_thread_with_bounds_on_the_stack_init_line():
    s = one(X86_THREAD)
    assert s.stack_base == 0x8B1C8000 and s.stack_limit == 0x8B1C5000
    assert s.initial_stack == 0x8B1C7FD0 and s.kernel_stack == 0x8B1C7C68
    r = analyze(s)
    assert r.arch == "x86" and r.budget == 0x3000 and r.budget_origin == "thread"
    assert [f.size for f in r.frames] == [None, 0x1030, 0x157C, 0x10]
    assert r.start_area == 0x8B1C8000 - 0x8B1C7FCC and r.used == 0x8B1C8000 - 0x8B1C5A10
    assert r.heaviest_drivers == [2, 1]


def test_kp_parameters_stay_in_the_call_site_not_the_function():
    f = one(KP).frames[3]
    assert f.module == "mydrv" and f.function == "DispatchIoctl" and f.offset == 0x55
    assert f.source_line == 120
    assert analyze(one(KP)).frames[3].size == 0x60


def test_new_analyze_overflow_by_16_bytes_and_the_2248_byte_frame():
    s = one(ANALYZE)
    assert s.bugcheck.code == 0x7F and s.bugcheck.args == [
        8, 0xFFFFD78058B61E50, 0xFFFFD28F6BFD3FF0, 0xFFFFF8026C2A7C5D]
    assert s.limit_hint == 0xFFFFD28F6BFD4000
    r = analyze(s)
    assert r.overflow and r.double_fault and r.below_limit == 16
    # !analyze's own STACKUSAGE_FUNCTION line says the blamed function uses 2248 bytes
    assert r.frames[4].size == 2248 and r.heaviest_drivers[0] == 4


KB_NO_SP = """0:000> kb
 # RetAddr               : Args to Child                                                           : Call Site
00 00007ffb`1c2ac5de     : 00000000`00000000 00000000`00000000 00000000`00000000 00000000`00000000 : ntdll!NtWaitForSingleObject+0x14
01 00007ff6`5a3b1a2c     : 00000000`00000000 00000000`00000000 00000000`00000000 00000000`00000000 : KERNELBASE!WaitForSingleObjectEx+0x8e
"""


def test_kb_without_child_sp_says_which_command_to_run():
    import pytest

    from stackext.errors import StackextError

    with pytest.raises(StackextError) as e:
        list(read_stacks(KB_NO_SP.splitlines(True), "kb.txt"))
    assert str(e.value).startswith("kb.txt:2: this stack has no Child-SP column")
    assert "kf, kn or kv" in str(e.value)
