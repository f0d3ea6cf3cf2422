/*
 * inline.c - inline frames. Built with -O2 -g -gcodeview: the always_inline
 * helpers vanish into their callers, and the PDB's inline-site records let
 * dbgeng show them as "(Inline Function)" rows (getStack(True) inline frames).
 *
 * Chain: main -> outer_dispatch (noinline) -> [inline] middle_helper
 *        -> [inline] inner_helper -> leaf_wait (noinline) -> wait_for_dump
 */
#include "dumpself.h"

static volatile int g_sink;

__attribute__((noinline)) void leaf_wait(int v)
{
    g_sink += v;
    wait_for_dump();
    g_sink += 1;
}

static inline __attribute__((always_inline)) void inner_helper(int v)
{
    g_sink += v * 3;
    leaf_wait(v + 1);
    g_sink -= v;
}

static inline __attribute__((always_inline)) void middle_helper(int v)
{
    g_sink ^= v;
    inner_helper(v * 2);
    g_sink += 5;
}

__attribute__((noinline)) void outer_dispatch(int v)
{
    volatile char pad[512];
    pad[v & 511] = (char)v;
    middle_helper(v + pad[(v * 3) & 511]);
    g_sink += pad[0];
}

int main(int argc, char **argv)
{
    dumpself_init(argc, argv);
    outer_dispatch(argc);
    return dumpself_finish();
}
