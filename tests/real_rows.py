"""Rows (sp, ret, call_site[, args]) copied from real logs in fixtures/ (each block names its
file), shared by the core and renderer tests."""

# fixtures/012_x64deepdive_knf_memory_x64_user.txt (knf; Memory 8, 160, 60, a0 on rows 1-4)
DEEPDIVE = [
    ("00000000`0029bbf8", "000007fe`fdd24d76", "ntdll!NtCreateFile"),
    ("00000000`0029bc00", "00000000`77ac2aad", "KERNELBASE!CreateFileW+0x2cd"),
    ("00000000`0029bd60", "000007fe`fe5b9ebd", "kernel32!CreateFileWImplementation+0x7d"),
    ("00000000`0029bdc0", "000007fe`fe55dc08", "usp10!UniStorInit+0xdd"),
    ("00000000`0029be60", "000007fe`fe5534af", "usp10!InitUnistor+0x1d8"),
]


# fixtures/005_ql2300_0x7f8_thread_base_limit_x64.txt (!thread: Base fffff8800b9c7000,
# Limit fffff8800b9c1000; the first 8 rows)
QL2300 = [
    ("fffff88002174768", "fffff80001cf2f69", "nt!KeBugCheckEx"),
    ("fffff88002174770", "fffff80001cefa4b", "nt!KiBugCheckDispatch+0x69"),
    ("fffff880021748b0", "fffff88001482416", "nt!KiDoubleFaultAbort+0x28b"),
    ("fffff8800b9c0f10", "fffff88001486c7a", "ql2300+0x69416"),
    ("fffff8800b9c1050", "fffff8800136c113", "ql2300+0x6dc7a"),
    ("fffff8800b9c10d0", "fffff80001c0d5f3", "storport!RaidpAdapterContinueScatterGather+0xc3"),
    ("fffff8800b9c1140", "fffff8800136be7a", "hal!HalBuildScatterGatherList+0x203"),
    ("fffff8800b9c11b0", "fffff8800136baf7", "storport!RaUnitStartIo+0x28a"),
]


# fixtures/101_jellykuo_session_space_thread_base_limit_x64.txt (!thread, Base ffffa68116598000,
# Limit ffffa68116591000), complete to KiStartSystemThread with two inline rows
SESSION = [
    ("ffffa681`165966c0", "fffff805`3903f405", "nt!KiSwapContext+0x76"),
    ("ffffa681`16596800", "fffff805`3903d764", "nt!KiSwapThread+0xab5"),
    ("ffffa681`16596950", "fffff805`3903c996", "nt!KiCommitThreadWait+0x134"),
    ("ffffa681`16596a00", "fffff99b`3c078c87", "nt!KeWaitForSingleObject+0x256"),
    ("ffffa681`16596da0", "fffff99b`3c0787b2", "win32kbase!QueuePowerRequest+0x187"),
    ("ffffa681`16596e00", "fffff99b`3c0e35d6", "win32kbase!UserPowerStateCallout+0x126"),
    ("ffffa681`16596e50", "fffff99b`3c5710cb", "win32kbase!W32CalloutDispatch+0x1a6"),
    ("ffffa681`16596fa0", "fffff805`395f168b", "win32k!W32CalloutDispatchThunk+0x2b"),
    ("ffffa681`16596fd0", "fffff805`394d3612", "nt!ExCallSessionCallBack+0xa3"),
    ("ffffa681`16597090", "fffff805`395784b7", "nt!PsInvokeWin32Callout+0x82"),
    ("ffffa681`165970c0", "fffff805`39578307", "nt!PopInvokeWin32Callout+0x177"),
    ("(inline)", None, "nt!PerfIsGroupOnInGroupMask+0x25"),
    ("ffffa681`165971a0", "fffff805`395f9630", "nt!PopDispatchStateCallout+0x5b"),
    ("(inline)", None, "nt!PoStartPowerStateTasks+0x25"),
    ("ffffa681`16597210", "fffff805`395f9b20", "nt!PopIssueActionRequest+0x1b8"),
    ("ffffa681`165972c0", "fffff805`3915ac68", "nt!PopPolicyWorkerAction+0x80"),
    ("ffffa681`16597340", "fffff805`390b6625", "nt!PopPolicyWorkerThread+0xa8"),
    ("ffffa681`16597380", "fffff805`390e5c07", "nt!ExpWorkerThread+0x155"),
    ("ffffa681`16597570", "fffff805`3923f044", "nt!PspSystemThreadStartup+0x57"),
    ("ffffa681`165975c0", "00000000`00000000", "nt!KiStartSystemThread+0x34",
     ("ffffa681`16598000", "ffffa681`16591000", "0", "0")),
]


# fixtures/022_k7sentry_kb_x86_kernel.txt (kb; an unwind WARNING after frame 0)
K7 = [
    ("a72ab9d4", "88c8b8b6", "nt!ProbeForRead+0x2e"),
    ("a72aba14", "82a39d9d", "K7Sentry+0x78b6"),
    ("a72aba2c", "82c31324", "nt!IofCallDriver+0x63"),
    ("a72aba4c", "82c34673", "nt!IopSynchronousServiceTail+0x1f8"),
    ("a72abb08", "82c7b90d", "nt!IopXxxControlFile+0x810"),
    ("a72abb68", "82c28ed6", "nt!NtDeviceIoControlFile+0x2a"),
    ("a72abc04", "82a40a06", "nt!ObpRemoveObjectRoutine+0x5e"),
    ("a72abc04", "76e170d4", "nt!KiSystemServicePostCall"),
    ("0029f5b4", "00000000", "0x76e170d4"),
]


# fixtures/111_jellykuo_0x133_clock_isr_stack_to_thread_x64.txt (k; ISR stack then thread)
ISR = [
    ("fffff807`0cb0fa28", "fffff807`09ed00e1", "nt!KeBugCheckEx"),
    ("fffff807`0cb0fa30", "fffff807`09ecf95c", "nt!KeAccumulateTicks+0x231"),
    ("fffff807`0cb0ff70", "fffff807`0a03429a", "nt!KiCallInterruptServiceRoutine+0x9c"),
    ("fffff807`0cb0ffb0", "fffff807`0a034b07", "nt!KiInterruptSubDispatchNoLockNoEtw+0xfa"),
    ("ffffb806`39767060", "fffff807`09f39da5", "nt!KiInterruptDispatchNoLockNoEtw+0x37"),
    ("ffffb806`397671f0", "fffff807`09f39c46", "nt!KiInitiateGenericCallDpc+0xb5"),
    ("ffffb806`39767570", "fffff807`0a0370a4", "nt!PspSystemThreadStartup+0x57"),
    ("ffffb806`397675c0", "00000000`00000000", "nt!KiStartSystemThread+0x34"),
]


# fixtures/002_dokany944_stacktext_doublefault_x64.txt (STACK_OVERFLOW: Stack Limit only)
DOKANY = [
    ("fffff803`7a483d08", "fffff803`769d5929", "nt!KeBugCheckEx"),
    ("fffff803`7a483d10", "fffff803`769d0783", "nt!KiBugCheckDispatch+0x69"),
    ("fffff803`7a483e50", "fffff803`768620e3", "nt!KiDoubleFaultAbort+0x2c3"),
    ("ffff8402`8b909fc0", "fffff803`76861fa9", "nt!RtlpHpVsChunkSplit+0x43"),
]


# The corpus has no DPC-stack or expanded-stack switch: these two are built in the shape such
# stacks have (the DPC stack below the thread stack's range, KxRetireDpcList / KiDpcInterrupt at
# the seam; a KeExpandKernelStackAndCallout callout on a fresh segment).
DPC_SWITCH = [
    ("fffff807`0cb2f9e8", "fffff807`09e2e6ac", "mydrv!DpcRoutine+0x40"),
    ("fffff807`0cb2fa20", "fffff807`09e2d8b6", "nt!KiExecuteAllDpcs+0x2e8"),
    ("fffff807`0cb2fb80", "fffff807`09e7f265", "nt!KiRetireDpcList+0x1a7"),
    ("fffff807`0cb2fde0", "fffff807`09e1f0a0", "nt!KxRetireDpcList+0x5"),
    ("ffffb806`39767060", "fffff807`09f39da5", "nt!KiDispatchInterruptContinue"),
    ("ffffb806`39767090", "fffff807`09f39c46", "nt!KiDpcInterrupt+0x2e0"),
    ("ffffb806`39767230", "fffff807`09efee2f", "mydrv!SpinWait+0x20"),
    ("ffffb806`39767280", "00000000`00000000", "nt!KiStartSystemThread+0x34"),
]


EXPANDED = [
    ("ffffb806`3a01f800", "fffff807`09e2e6ac", "mydrv!DeepCallout+0x1e0"),
    ("ffffb806`3a01fd00", "fffff807`09e2d8b6", "nt!KySwitchKernelStackCallout+0x2e"),
    ("ffffb806`39767060", "fffff807`09e7f265", "nt!KiSwitchKernelStackAndCallout+0x5f"),
    ("ffffb806`397671f0", "fffff807`09e1f0a0", "nt!KeExpandKernelStackAndCalloutInternal+0x8c"),
    ("ffffb806`39767240", "fffff807`09f39c46", "mydrv!Dispatch+0x30"),
    ("ffffb806`39767280", "00000000`00000000", "nt!KiStartSystemThread+0x34"),
]
