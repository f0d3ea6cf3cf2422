/*
 * dumpself.h - shared helper for the real-engine test programs.
 *
 * The interesting thread calls wait_for_dump() at its deepest point. A second
 * thread (the "dumper") then writes a minidump of the whole process with
 * MiniDumpWriteDump and releases it. Dumping from another thread matters:
 * under Wine, a thread that dumps itself is recorded with a zero register
 * context (an empty stack).
 *
 * Usage of every program:  prog.exe DUMPFILE [mode] [flags-hex]
 * The dump type defaults to DUMPSELF_DEFAULT_FLAGS below.
 */
#ifndef DUMPSELF_H
#define DUMPSELF_H

#include <windows.h>
#include <dbghelp.h>
#include <stdio.h>
#include <stdlib.h>

#define DUMPSELF_DEFAULT_FLAGS                                              \
    (MiniDumpWithThreadInfo | MiniDumpWithProcessThreadData |               \
     MiniDumpWithPrivateReadWriteMemory)

static HANDLE g_ready;
static HANDLE g_done;
static const char *g_dump_path;
static DWORD g_dump_flags = DUMPSELF_DEFAULT_FLAGS;
static volatile DWORD g_target_tid;
/* Filled from the TEB by the waiting thread; also puts the _NT_TIB type into every PDB so a
 * probe can use typedVar("prog!_NT_TIB", teb) when ntdll has no symbols (Wine). */
static NT_TIB *volatile g_target_tib;
static volatile ULONG_PTR g_target_stack_base, g_target_stack_limit;
static volatile BOOL g_dump_ok;

static DWORD WINAPI dumper_thread(LPVOID arg)
{
    HANDLE file;
    (void)arg;
    WaitForSingleObject(g_ready, INFINITE);
    /* give the waiting thread time to block inside the kernel wait */
    Sleep(200);
    file = CreateFileA(g_dump_path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                       FILE_ATTRIBUTE_NORMAL, NULL);
    if (file == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "dumpself: cannot create %s (error %lu)\n", g_dump_path,
                GetLastError());
    } else {
        g_dump_ok = MiniDumpWriteDump(GetCurrentProcess(), GetCurrentProcessId(), file,
                                      (MINIDUMP_TYPE)g_dump_flags, NULL, NULL, NULL);
        if (!g_dump_ok)
            fprintf(stderr, "dumpself: MiniDumpWriteDump failed (error %lu)\n",
                    GetLastError());
        CloseHandle(file);
    }
    SetEvent(g_done);
    return 0;
}

/* Call once from main() before the interesting thread goes deep. */
static void dumpself_init(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DUMPFILE [mode] [flags-hex]\n", argv[0]);
        exit(2);
    }
    g_dump_path = argv[1];
    if (argc > 3)
        g_dump_flags = (DWORD)strtoul(argv[3], NULL, 16);
    g_ready = CreateEventA(NULL, TRUE, FALSE, NULL);
    g_done = CreateEventA(NULL, TRUE, FALSE, NULL);
    CloseHandle(CreateThread(NULL, 0, dumper_thread, NULL, 0, NULL));
}

/* Called by the interesting thread at its deepest point. */
__attribute__((noinline)) static void wait_for_dump(void)
{
    NT_TIB *tib = (NT_TIB *)NtCurrentTeb();
    g_target_tid = GetCurrentThreadId();
    g_target_tib = tib;
    g_target_stack_base = (ULONG_PTR)tib->StackBase;
    g_target_stack_limit = (ULONG_PTR)tib->StackLimit;
    SetEvent(g_ready);
    WaitForSingleObject(g_done, INFINITE);
}

/* Report and return the process exit code. */
static int dumpself_finish(void)
{
    printf("dumpself: path=%s flags=0x%lx target_tid=%lu teb=%p stack_base=0x%llx "
           "stack_limit=0x%llx ok=%d\n",
           g_dump_path, g_dump_flags, g_target_tid, (void *)g_target_tib,
           (unsigned long long)g_target_stack_base, (unsigned long long)g_target_stack_limit,
           g_dump_ok ? 1 : 0);
    fflush(stdout);
    return g_dump_ok ? 0 : 1;
}

#endif
