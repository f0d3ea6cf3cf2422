/*
 * handmade.c - a thread parked on a stack of its own (a coroutine's hand-made stack).
 *
 * A worker thread moves its stack pointer onto a 64 KB VirtualAlloc'd block (not its thread
 * stack: the TEB's StackBase/StackLimit still describe the thread stack) and waits for the dump
 * there, three calls deep.
 *
 * Usage: handmade.exe DUMPFILE [-] [flags-hex]
 */
#include "dumpself.h"

#define OWN_STACK (64 * 1024)

static char *g_block;

__attribute__((noinline)) static void parked_leaf(void) { wait_for_dump(); }
__attribute__((noinline)) static void parked_mid(void)  { volatile char pad[256]; pad[0] = 1; parked_leaf(); (void)pad[0]; }
__attribute__((noinline)) static void parked_top(void)  { parked_mid(); }

static DWORD WINAPI worker(LPVOID arg)
{
    char *top;
    (void)arg;
    g_block = VirtualAlloc(NULL, OWN_STACK, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    top = g_block + OWN_STACK - 64;
    __asm__ volatile("mov %%rsp, %%rbx\n\t"
                     "mov %0, %%rsp\n\t"
                     "sub $32, %%rsp\n\t"
                     "call *%1\n\t"
                     "mov %%rbx, %%rsp\n\t"
                     :
                     : "r"(top), "r"(parked_top)
                     : "rbx", "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "memory");
    return 0;
}

int main(int argc, char **argv)
{
    dumpself_init(argc, argv);
    CloseHandle(CreateThread(NULL, 0, worker, NULL, 0, NULL));
    WaitForSingleObject(g_done, INFINITE);
    printf("handmade: block=%p..%p\n", (void *)g_block, (void *)(g_block + OWN_STACK));
    return dumpself_finish();
}
