/*
 * deep.c - a recursion of more than 1,024 frames (pykd's getStack stops at 1,024).
 *
 * A worker thread with a 1 MB stack reservation recurses DEPTH times through deep_a/deep_b
 * (two functions of different frame sizes, so a wrong pairing shows), then waits for the dump.
 *
 * Usage: deep.exe DUMPFILE [-] [flags-hex]
 */
#include "dumpself.h"
#include <string.h>

#define DEPTH 2100

__attribute__((noinline)) static int deep_b(int n);

__attribute__((noinline)) static int deep_a(int n)
{
    volatile char pad[48];
    memset((char *)pad, n, sizeof(pad));
    if (n <= 0) {
        wait_for_dump();
        return pad[0];
    }
    return deep_b(n - 1) + pad[n % sizeof(pad)];
}

__attribute__((noinline)) static int deep_b(int n)
{
    volatile char pad[112];
    memset((char *)pad, n, sizeof(pad));
    if (n <= 0) {
        wait_for_dump();
        return pad[0];
    }
    return deep_a(n - 1) + pad[n % sizeof(pad)];
}

static DWORD WINAPI worker(LPVOID arg)
{
    (void)arg;
    return (DWORD)deep_a(DEPTH);
}

int main(int argc, char **argv)
{
    HANDLE t;
    dumpself_init(argc, argv);
    t = CreateThread(NULL, 1024 * 1024, worker, NULL, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    WaitForSingleObject(g_done, INFINITE);
    (void)t;
    printf("deep: depth=%d\n", DEPTH);
    return dumpself_finish();
}
