/*
 * overflow.c - a real user-mode stack overflow (STATUS_STACK_OVERFLOW, 0xC00000FD).
 *
 * A worker thread with a 256 KB stack reservation recurses without end. The overflow reaches a
 * vectored exception handler on the overflowing thread (on what is left of its stack), which
 * hands the EXCEPTION_POINTERS to a dumper thread and waits: the dumper writes the dump with
 * MINIDUMP_EXCEPTION_INFORMATION (the dump's exception stream, `.lastevent`, `.ecxr`).
 *
 * Usage: overflow.exe DUMPFILE [-] [flags-hex]
 */
#include <windows.h>
#include <dbghelp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static HANDLE g_hit, g_done;
static EXCEPTION_POINTERS *volatile g_ptrs;
static volatile DWORD g_tid;
static volatile ULONG_PTR g_sp;
static volatile int g_depth;

__attribute__((noinline)) static int grow(int n)
{
    volatile char pad[512];
    memset((char *)pad, n, sizeof(pad));
    g_depth = n;
    return grow(n + 1) + pad[n % sizeof(pad)];
}

static LONG CALLBACK on_exception(EXCEPTION_POINTERS *ep)
{
    if (ep->ExceptionRecord->ExceptionCode != STATUS_STACK_OVERFLOW)
        return EXCEPTION_CONTINUE_SEARCH;
    g_ptrs = ep;
    g_tid = GetCurrentThreadId();
    g_sp = (ULONG_PTR)ep->ContextRecord->Rsp;
    SetEvent(g_hit);
    WaitForSingleObject(g_done, INFINITE);
    ExitThread(1);
    return EXCEPTION_CONTINUE_SEARCH;
}

static DWORD WINAPI worker(LPVOID arg)
{
    (void)arg;
    return (DWORD)grow(1);
}

int main(int argc, char **argv)
{
    MINIDUMP_EXCEPTION_INFORMATION info;
    DWORD flags = argc > 3 ? (DWORD)strtoul(argv[3], NULL, 16) : 0x1102;
    HANDLE file;
    BOOL ok = FALSE;
    if (argc < 2) {
        fprintf(stderr, "usage: %s DUMPFILE [-] [flags-hex]\n", argv[0]);
        return 2;
    }
    g_hit = CreateEventA(NULL, TRUE, FALSE, NULL);
    g_done = CreateEventA(NULL, TRUE, FALSE, NULL);
    AddVectoredExceptionHandler(1, on_exception);
    CloseHandle(CreateThread(NULL, 256 * 1024, worker, NULL, STACK_SIZE_PARAM_IS_A_RESERVATION,
                             NULL));
    if (WaitForSingleObject(g_hit, 60000) != WAIT_OBJECT_0) {
        fprintf(stderr, "overflow: no stack overflow seen\n");
        return 1;
    }
    file = CreateFileA(argv[1], GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL,
                       NULL);
    if (file != INVALID_HANDLE_VALUE) {
        info.ThreadId = g_tid;
        info.ExceptionPointers = g_ptrs;
        info.ClientPointers = FALSE;
        ok = MiniDumpWriteDump(GetCurrentProcess(), GetCurrentProcessId(), file,
                               (MINIDUMP_TYPE)flags, &info, NULL, NULL);
        CloseHandle(file);
    }
    printf("overflow: tid=%lu depth=%d sp=0x%llx code=0x%lx ok=%d\n", g_tid, g_depth,
           (unsigned long long)g_sp, g_ptrs->ExceptionRecord->ExceptionCode, ok ? 1 : 0);
    fflush(stdout);
    SetEvent(g_done);
    return ok ? 0 : 1;
}
