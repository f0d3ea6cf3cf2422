/*
 * recurse.c - run a thread's stack close to its limit.
 *
 * A worker thread created with a 256 KB stack *reservation* recurses through
 * recurse_big() (a ~4 KB local each) until less than STOP_REMAINING bytes of
 * the reservation remain below the stack pointer, then waits for the dump.
 *
 * Mode "shallow": the worker first recurses deep the same way, returns all the
 * way up, and then waits for the dump from a shallow point (a few frames):
 * the committed part of the stack stays at its deepest extent (high-water
 * mark) although the current stack pointer is near the top.
 *
 * Usage: recurse.exe DUMPFILE [deep|shallow] [flags-hex]
 */
#include "dumpself.h"
#include <string.h>

#define WORKER_RESERVE (256 * 1024)
#define STOP_REMAINING (20 * 1024)

static int g_shallow;
static volatile int g_max_depth;
static ULONG_PTR g_low, g_high;

static __attribute__((noinline)) ULONG_PTR current_sp(void)
{
    return (ULONG_PTR)__builtin_frame_address(0);
}

__attribute__((noinline)) static int recurse_big(int depth, int dump_at_bottom)
{
    volatile char buf[4000];
    int r;
    memset((char *)buf, (char)depth, sizeof(buf));
    if (current_sp() - g_low < STOP_REMAINING) {
        g_max_depth = depth;
        if (dump_at_bottom)
            wait_for_dump();
        return buf[depth % sizeof(buf)];
    }
    r = recurse_big(depth + 1, dump_at_bottom);
    return r + buf[(depth * 7) % sizeof(buf)];
}

__attribute__((noinline)) static void shallow_leaf(void)  { wait_for_dump(); }
__attribute__((noinline)) static void shallow_mid(void)   { shallow_leaf(); }

static DWORD WINAPI worker(LPVOID arg)
{
    (void)arg;
    GetCurrentThreadStackLimits(&g_low, &g_high);
    if (g_shallow) {
        recurse_big(1, 0);
        shallow_mid();
    } else {
        recurse_big(1, 1);
    }
    return 0;
}

int main(int argc, char **argv)
{
    HANDLE t;
    dumpself_init(argc, argv);
    g_shallow = argc > 2 && strcmp(argv[2], "shallow") == 0;
    t = CreateThread(NULL, WORKER_RESERVE, worker, NULL, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    WaitForSingleObject(t, INFINITE);
    printf("recurse: mode=%s low=0x%llx high=0x%llx max_depth=%d\n",
           g_shallow ? "shallow" : "deep", (unsigned long long)g_low,
           (unsigned long long)g_high, g_max_depth);
    return dumpself_finish();
}
