/*
 * Stand-in mscoree.dll for running pykd 0.3.4.15 (kdlib) under Wine.
 *
 * kdlib calls CLRCreateInstance() when it opens a dump (to get the .NET
 * debugging interfaces) and raises "DbgException: CLRCreateInstance failed"
 * if that fails. Wine has no .NET runtime here, so this DLL exports a
 * CLRCreateInstance that succeeds and hands out a dummy COM object:
 * QueryInterface/AddRef/Release behave like a real (static) COM object and
 * every other vtable slot returns E_NOTIMPL. Nothing in stack work uses .NET.
 *
 * Build: x86_64-w64-mingw32-gcc -O2 -shared -o mscoree.dll mscoree_stub.c
 */
#include <windows.h>

#define DUMMY_SLOTS 64

typedef struct DummyObject {
    void **vtbl;
    LONG refs;
} DummyObject;

static HRESULT WINAPI dummy_QueryInterface(DummyObject *self, REFIID riid, void **ppv)
{
    (void)riid;
    if (!ppv)
        return E_POINTER;
    /* Whatever is asked for, hand back the same dummy: all its methods
     * beyond IUnknown fail cleanly with E_NOTIMPL. */
    *ppv = self;
    InterlockedIncrement(&self->refs);
    return S_OK;
}

static ULONG WINAPI dummy_AddRef(DummyObject *self)
{
    return (ULONG)InterlockedIncrement(&self->refs);
}

static ULONG WINAPI dummy_Release(DummyObject *self)
{
    LONG r = InterlockedDecrement(&self->refs);
    return r < 1 ? 1 : (ULONG)r; /* static object: never freed */
}

/* x64 calling convention: the caller cleans the stack, so one function can
 * stand for any method signature. */
static HRESULT WINAPI dummy_NotImpl(void *self)
{
    (void)self;
    return E_NOTIMPL;
}

static void *g_vtbl[DUMMY_SLOTS];
static DummyObject g_obj = { g_vtbl, 1 };

static void init_vtbl(void)
{
    int i;
    g_vtbl[0] = (void *)dummy_QueryInterface;
    g_vtbl[1] = (void *)dummy_AddRef;
    g_vtbl[2] = (void *)dummy_Release;
    for (i = 3; i < DUMMY_SLOTS; i++)
        g_vtbl[i] = (void *)dummy_NotImpl;
}

__declspec(dllexport) HRESULT WINAPI CLRCreateInstance(REFCLSID clsid, REFIID riid, LPVOID *ppInterface)
{
    (void)clsid;
    (void)riid;
    if (!ppInterface)
        return E_POINTER;
    init_vtbl();
    InterlockedIncrement(&g_obj.refs);
    *ppInterface = &g_obj;
    return S_OK;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)inst;
    (void)reason;
    (void)reserved;
    return TRUE;
}
