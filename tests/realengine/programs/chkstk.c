/*
 * chkstk.c - frames a static reading must get right or flag, for `stackext frames` (-O2):
 * big_frame() has an 8 KB local array, so its prologue probes the stack (`___chkstk_ms`)
 * before `sub rsp, rax` -- still a fixed frame; with_alloca() allocates at run time
 * (`__builtin_alloca`), so its frame is dynamic: bigger in the dump than in the unwind data.
 */
#include "dumpself.h"
#include <string.h>

volatile int g_sink;
int g_size = 600; /* not static: the alloca size is not a constant */

__attribute__((noinline)) int with_alloca(int n)
{
    char *p = __builtin_alloca(n);
    memset(p, n & 0x7f, n);
    g_sink = p[n / 2];
    wait_for_dump();
    return p[n - 1];
}

__attribute__((noinline)) int big_frame(int n)
{
    volatile char buf[8192];
    buf[n & 8191] = (char)n;
    int r = with_alloca(n);
    return r + buf[(n * 7) & 8191];
}

int main(int argc, char **argv)
{
    dumpself_init(argc, argv);
    g_sink = big_frame(g_size);
    return dumpself_finish();
}
