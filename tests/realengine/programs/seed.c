/*
 * seed.c - the seed story in user mode.
 *
 * A chain of small frames with distinct names ends in a logging helper,
 * MyStruct_toDebugStr(), that copies a ~2 KB MYSTRUCT into a local before
 * formatting it: one innocent-looking frame that owns > 2 KB of stack.
 * At the bottom the thread waits while another thread writes the minidump.
 *
 * Built at -O0 -g -gcodeview so `dv /V /t` shows the big local `copy`.
 * The interesting thread is the main thread.
 */
#include "dumpself.h"
#include <string.h>

typedef struct MYSTRUCT {
    int id;
    int flags;
    char name[2048];
    int refcount;
    int state;
} MYSTRUCT;

static char g_log[64];

__attribute__((noinline)) void MyStruct_toDebugStr(const MYSTRUCT *s)
{
    MYSTRUCT copy = *s; /* 2 KB struct copy on the stack */
    char line[64];
    snprintf(line, sizeof(line), "MYSTRUCT{id=%d,state=%d,name=%.16s}", copy.id, copy.state,
             copy.name);
    strcpy(g_log, line);
    wait_for_dump();
    g_log[0] = copy.name[0];
}

__attribute__((noinline)) void log_struct(MYSTRUCT *s)                  { s->state++; MyStruct_toDebugStr(s); }
__attribute__((noinline)) void hid_like_complete_request(MYSTRUCT *s)   { s->refcount++; log_struct(s); }
__attribute__((noinline)) void hid_like_read_report(MYSTRUCT *s)        { s->flags |= 1; hid_like_complete_request(s); }
__attribute__((noinline)) void hid_like_dispatch(MYSTRUCT *s)           { s->flags |= 2; hid_like_read_report(s); }
__attribute__((noinline)) void usb_like_completion(MYSTRUCT *s)         { s->flags |= 4; hid_like_dispatch(s); }
__attribute__((noinline)) void usb_like_process_urb(MYSTRUCT *s)        { s->flags |= 8; usb_like_completion(s); }
__attribute__((noinline)) void usb_like_transfer(MYSTRUCT *s)           { s->flags |= 16; usb_like_process_urb(s); }
__attribute__((noinline)) void usb_like_submit(MYSTRUCT *s)             { s->flags |= 32; usb_like_transfer(s); }
__attribute__((noinline)) void bus_like_io_request(MYSTRUCT *s)         { s->flags |= 64; usb_like_submit(s); }
__attribute__((noinline)) void bus_like_dispatch_entry(MYSTRUCT *s)     { s->flags |= 128; bus_like_io_request(s); }

static MYSTRUCT g_obj = { 42, 0, "hid-device-0001", 1, 0 };

int main(int argc, char **argv)
{
    dumpself_init(argc, argv);
    bus_like_dispatch_entry(&g_obj);
    return dumpself_finish();
}
