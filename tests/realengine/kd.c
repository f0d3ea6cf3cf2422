/* A minimal kd for the real-engine lane: Microsoft's dbgeng as a console debugger, enough to run
 * extension commands (`.load pykd.pyd; !py stackext.usage`) on a dump the way kd.exe does.
 *
 *   kd.exe -z DUMP [-y SYMPATH] [-c "cmd; cmd"] [-logo LOGFILE] [-dml]
 *
 * -z      the dump to open
 * -y      symbol path (before the dump is opened)
 * -c      commands to run once the dump is loaded (one Execute: `;` separates commands, also
 *         after an extension command)
 * -logo   also write everything the engine prints to LOGFILE (the engine's own log, as kd -logo)
 * -dml    be a DML-aware client, as WinDbg is: the output callbacks implement
 *         IDebugOutputCallbacks2 with DEBUG_OUTCBI_ANY_FORMAT and the engine option
 *         DEBUG_ENGOPT_PREFER_DML (= `.prefer_dml 1`) is set; stdout then receives DML output raw,
 *         markup included, where a plain client receives it converted to text.
 *
 * Exit status: 0 when the commands ran, 1 when the dump could not be opened, 2 on a usage error.
 * Output goes to stdout and is flushed on every call: the process may end abruptly after an
 * extension returns (pykd.pyd's `!py` under Wine raises a C++ exception 0xe06d7363 at the end).
 *
 * Built by tests/realengine/setup.sh with mingw: -ldbgeng -luuid -lole32. mingw's dbgeng.h
 * predates DML, so its constants and IDebugOutputCallbacks2 are declared here.
 */
#include <initguid.h>
#include <windows.h>
#include <dbgeng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KD_OUTCBI_TEXT 0x2         /* DEBUG_OUTCBI_TEXT */
#define KD_OUTCBI_DML 0x4          /* DEBUG_OUTCBI_DML */
#define KD_OUTCB_EXPLICIT_FLUSH 2  /* DEBUG_OUTCB_EXPLICIT_FLUSH */
#define KD_ENGOPT_PREFER_DML 0x00040000 /* DEBUG_ENGOPT_PREFER_DML */

/* IID_IDebugOutputCallbacks2 {67721fe9-56d2-4a44-a325-2b65513ce6eb} */
DEFINE_GUID(KD_IID_IDebugOutputCallbacks2, 0x67721fe9, 0x56d2, 0x4a44, 0xa3, 0x25, 0x2b, 0x65,
            0x51, 0x3c, 0xe6, 0xeb);

typedef struct Callbacks Callbacks;
typedef struct CallbacksVtbl {
    HRESULT(STDMETHODCALLTYPE *QueryInterface)(Callbacks *self, REFIID iid, void **out);
    ULONG(STDMETHODCALLTYPE *AddRef)(Callbacks *self);
    ULONG(STDMETHODCALLTYPE *Release)(Callbacks *self);
    HRESULT(STDMETHODCALLTYPE *Output)(Callbacks *self, ULONG mask, PCSTR text);
    /* IDebugOutputCallbacks2 only (-dml) */
    HRESULT(STDMETHODCALLTYPE *GetInterestMask)(Callbacks *self, PULONG mask);
    HRESULT(STDMETHODCALLTYPE *Output2)(Callbacks *self, ULONG which, ULONG flags, ULONG64 arg,
                                        PCWSTR text);
} CallbacksVtbl;
struct Callbacks {
    const CallbacksVtbl *lpVtbl;
    int dml;
};

static void emit(const char *text, size_t n) {
    fwrite(text, 1, n, stdout);
    fflush(stdout);
}

/* Only IUnknown and IDebugOutputCallbacks (and IDebugOutputCallbacks2 with -dml): the engine asks
 * for IDebugOutputCallbacksWide first and would call methods this object does not have. */
static HRESULT STDMETHODCALLTYPE cb_query(Callbacks *self, REFIID iid, void **out) {
    if (IsEqualIID(iid, &IID_IUnknown) || IsEqualIID(iid, &IID_IDebugOutputCallbacks) ||
        (self->dml && IsEqualIID(iid, &KD_IID_IDebugOutputCallbacks2))) {
        *out = self;
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}
static ULONG STDMETHODCALLTYPE cb_addref(Callbacks *self) { (void)self; return 1; }
static ULONG STDMETHODCALLTYPE cb_release(Callbacks *self) { (void)self; return 0; }

static HRESULT STDMETHODCALLTYPE cb_output(Callbacks *self, ULONG mask, PCSTR text) {
    (void)self;
    (void)mask;
    if (text)
        emit(text, strlen(text));
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE cb_interest(Callbacks *self, PULONG mask) {
    (void)self;
    *mask = KD_OUTCBI_TEXT | KD_OUTCBI_DML;
    return S_OK;
}

/* Text (which 0) and DML (which 1) arrive as UTF-16: written as UTF-8, DML markup as received. */
static HRESULT STDMETHODCALLTYPE cb_output2(Callbacks *self, ULONG which, ULONG flags,
                                            ULONG64 arg, PCWSTR text) {
    char small[4096];
    char *buf = small;
    int n;
    (void)self;
    (void)flags;
    (void)arg;
    if (which == KD_OUTCB_EXPLICIT_FLUSH || !text || !*text)
        return S_OK;
    n = WideCharToMultiByte(CP_UTF8, 0, text, -1, NULL, 0, NULL, NULL);
    if (n <= 0)
        return S_OK;
    if (n > (int)sizeof(small) && !(buf = (char *)malloc(n)))
        return E_OUTOFMEMORY;
    WideCharToMultiByte(CP_UTF8, 0, text, -1, buf, n, NULL, NULL);
    emit(buf, (size_t)n - 1);
    if (buf != small)
        free(buf);
    return S_OK;
}

static const CallbacksVtbl callbacks_vtbl = {cb_query,  cb_addref,   cb_release,
                                             cb_output, cb_interest, cb_output2};

static int usage(const char *why) {
    fprintf(stderr, "kd: %s\nusage: kd -z DUMP [-y SYMPATH] [-c \"cmds\"] [-logo LOG] [-dml]\n",
            why);
    return 2;
}

static int fail(const char *what, HRESULT hr) {
    fprintf(stderr, "kd: %s failed (0x%08lx)\n", what, (unsigned long)hr);
    return 1;
}

int main(int argc, char **argv) {
    const char *dump = NULL, *sympath = NULL, *cmds = NULL, *logfile = NULL;
    Callbacks callbacks = {&callbacks_vtbl, 0};
    IDebugClient *client = NULL;
    IDebugControl *control = NULL;
    IDebugSymbols *symbols = NULL;
    HRESULT hr;
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "-z") && more)
            dump = argv[++i];
        else if (!strcmp(a, "-y") && more)
            sympath = argv[++i];
        else if (!strcmp(a, "-c") && more)
            cmds = argv[++i];
        else if (!strcmp(a, "-logo") && more)
            logfile = argv[++i];
        else if (!strcmp(a, "-dml"))
            callbacks.dml = 1;
        else
            return usage(a);
    }
    if (!dump)
        return usage("no dump (-z DUMP)");

    if (FAILED(hr = DebugCreate(&IID_IDebugClient, (void **)&client)))
        return fail("DebugCreate", hr);
    if (FAILED(hr = client->lpVtbl->QueryInterface(client, &IID_IDebugControl, (void **)&control)))
        return fail("QueryInterface(IDebugControl)", hr);
    if (FAILED(hr = client->lpVtbl->QueryInterface(client, &IID_IDebugSymbols, (void **)&symbols)))
        return fail("QueryInterface(IDebugSymbols)", hr);
    if (FAILED(hr = client->lpVtbl->SetOutputCallbacks(client,
                                                         (PDEBUG_OUTPUT_CALLBACKS)&callbacks)))
        return fail("SetOutputCallbacks", hr);
    if (callbacks.dml && FAILED(hr = control->lpVtbl->AddEngineOptions(control,
                                                                       KD_ENGOPT_PREFER_DML)))
        return fail("AddEngineOptions(DEBUG_ENGOPT_PREFER_DML)", hr);
    if (logfile && FAILED(hr = control->lpVtbl->OpenLogFile(control, logfile, FALSE)))
        return fail("OpenLogFile", hr);
    if (sympath && FAILED(hr = symbols->lpVtbl->SetSymbolPath(symbols, sympath)))
        return fail("SetSymbolPath", hr);
    if (FAILED(hr = client->lpVtbl->OpenDumpFile(client, dump)))
        return fail("OpenDumpFile", hr);
    if (FAILED(hr = control->lpVtbl->WaitForEvent(control, 0, INFINITE)))
        return fail("WaitForEvent", hr);
    if (cmds) {
        control->lpVtbl->OutputPrompt(control, DEBUG_OUTCTL_ALL_CLIENTS, NULL); /* "0:000> " */
        hr = control->lpVtbl->Execute(control, DEBUG_OUTCTL_ALL_CLIENTS, cmds,
                                      DEBUG_EXECUTE_ECHO);
        if (FAILED(hr))
            fprintf(stderr, "kd: Execute returned 0x%08lx\n", (unsigned long)hr);
    }
    client->lpVtbl->EndSession(client, DEBUG_END_PASSIVE);
    if (logfile)
        control->lpVtbl->CloseLogFile(control);
    symbols->lpVtbl->Release(symbols);
    control->lpVtbl->Release(control);
    client->lpVtbl->Release(client);
    return 0;
}
