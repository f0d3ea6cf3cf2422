/*
 * irp.c - the seed story as a driver would have it, for `stackext frames` (built -O2).
 *
 * An IRP goes down an IoCallDriver-style call through a dispatch table (function pointers),
 * the read handler tail-calls its completion routine, which tail-calls a recursive walk; at
 * the bottom, log_request() copies a 2 KB struct into a local. The thread waits there while
 * the dumper thread writes the minidump, so the engine's `knf` shows the real frames.
 *
 * Built at -O2 -g -gcodeview: tail calls are jumps, so dispatch_read and complete_request are
 * not on the stack; walk_stack recurses depth+1 times (g_depth = 3 -> 4 frames).
 */
#include "dumpself.h"

typedef struct MYSTRUCT {
    int id;
    int flags;
    char name[2048];
    int refcount;
    int state;
} MYSTRUCT;

typedef struct IRP {
    int major;
    int depth;
    int status;
    MYSTRUCT *obj;
} IRP;

typedef struct DEVICE_OBJECT DEVICE_OBJECT;
typedef int DRIVER_DISPATCH(DEVICE_OBJECT *dev, IRP *irp);
struct DEVICE_OBJECT {
    DRIVER_DISPATCH *MajorFunction[4];
    int calls;
};

volatile int g_sink;
int g_depth = 3; /* not static: the compiler cannot fold the recursion depth */

__attribute__((noinline)) void format_struct(const MYSTRUCT *s)
{
    g_sink = s->id + s->name[5] + s->state;
}

__attribute__((noinline)) int log_request(IRP *irp)
{
    MYSTRUCT copy = *irp->obj; /* the 2 KB struct copy */
    format_struct(&copy);
    wait_for_dump();
    return copy.state + copy.name[1];
}

__attribute__((noinline)) int walk_stack(IRP *irp, int depth)
{
    volatile int local[8];
    local[depth & 7] = depth;
    if (depth > 0) {
        /* a volatile store after the call: not a tail call, not a loop */
        local[0] = walk_stack(irp, depth - 1);
        return local[depth & 7];
    }
    return log_request(irp) + local[0];
}

__attribute__((noinline)) int complete_request(IRP *irp)
{
    irp->status = 1;
    return walk_stack(irp, irp->depth); /* tail call */
}

__attribute__((noinline)) int dispatch_read(DEVICE_OBJECT *dev, IRP *irp)
{
    dev->calls++;
    return complete_request(irp); /* tail call */
}

__attribute__((noinline)) int dispatch_write(DEVICE_OBJECT *dev, IRP *irp)
{
    dev->calls += 2;
    irp->status = 2;
    return 0;
}

__attribute__((noinline)) int dispatch_invalid(DEVICE_OBJECT *dev, IRP *irp)
{
    (void)dev;
    irp->status = -1;
    return -1;
}

/* IoCallDriver: the lower driver's handler runs on this thread's stack */
__attribute__((noinline)) int call_driver(DEVICE_OBJECT *dev, IRP *irp)
{
    int r = dev->MajorFunction[irp->major & 3](dev, irp);
    g_sink = r;
    return r;
}

__attribute__((noinline)) int read_report(DEVICE_OBJECT *dev, IRP *irp)
{
    irp->major = 1;
    return call_driver(dev, irp) + 1;
}

DEVICE_OBJECT g_dev = {{dispatch_invalid, dispatch_read, dispatch_write, dispatch_invalid}, 0};
MYSTRUCT g_obj = {42, 0, "hid-device-0001", 1, 0};

int main(int argc, char **argv)
{
    IRP irp = {0, 0, 0, &g_obj};
    irp.depth = g_depth;
    dumpself_init(argc, argv);
    g_sink = read_report(&g_dev, &irp);
    return dumpself_finish();
}
