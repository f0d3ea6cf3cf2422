# ruff: noqa: E501, B023
"""Probe the real pykd 0.3.4.15 + dbgeng on one minidump; runs under the *Windows* Python.

    wine python.exe probe_engine.py DUMP.dmp SYMBOLPATH [NAME]

Prints one JSON object per line (``{"key": ..., "result": ...}``), flushed as it goes, so a crash
of the engine part-way still leaves everything before it. ``record.py`` (Linux side) collects the
lines into tests/realengine/recorded/<NAME>.json and the text files.

Every probed call is recorded as either
    {"value": <json-able>, "type": "<python type name>"}      or
    {"exception": "<class>", "mro": [...], "message": str(e), "args": repr(e.args)}
Integers are recorded as numbers plus "hex".
"""

import json
import os
import sys
import traceback

# Per dump: the function whose thread we want, the "big frame" function, extra frames of interest.
CONFIG = {
    "seed": {"program": "seed", "thread_fn": "wait_for_dump", "big_fn": "MyStruct_toDebugStr"},
    "seed_mini": {"program": "seed", "thread_fn": "wait_for_dump", "big_fn": "MyStruct_toDebugStr"},
    "recurse": {"program": "recurse", "thread_fn": "wait_for_dump", "big_fn": "recurse_big"},
    "recurse_shallow": {"program": "recurse", "thread_fn": "wait_for_dump", "big_fn": "shallow_leaf"},
    "inline": {"program": "inline", "thread_fn": "wait_for_dump", "big_fn": "outer_dispatch"},
}

# (module, method) calls that kill the process; "*" = every module except the program itself
CRASHERS = {("*", "getVersion")}

MAX_FRAMES_DETAILED = 40  # recursion dumps have ~260 frames: details for the first/last ones


def emit(key, result):
    sys.stdout.write(json.dumps({"key": key, "result": result}, sort_keys=True) + "\n")
    sys.stdout.flush()


def conv(v, depth=0):
    if depth > 4:
        return repr(v)
    if v is None or isinstance(v, (bool, str, float)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, (list, tuple)):
        return [conv(x, depth + 1) for x in v]
    if isinstance(v, dict):
        return {str(k): conv(x, depth + 1) for k, x in v.items()}
    try:
        return int(v)  # pykd numeric wrappers (typedVar, numVariant)
    except Exception:
        return {"str": str(v), "repr": repr(v)}


def typeinfo(v, depth=0):
    if isinstance(v, (list, tuple)) and depth < 2:
        return [type(v).__name__] + [typeinfo(x, depth + 1) for x in v[:6]]
    return type(v).__name__


def call(fn, *a, **kw):
    try:
        v = fn(*a, **kw)
    except BaseException as e:  # noqa: BLE001 - we record everything
        return {"exception": type(e).__name__, "module": type(e).__module__,
                "mro": [c.__name__ for c in type(e).__mro__], "message": str(e), "args": repr(e.args)}
    out = {"value": conv(v), "type": typeinfo(v)}
    if isinstance(v, int) and not isinstance(v, bool):
        out["hex"] = hex(v)
    if not isinstance(v, (int, str, float, bool, type(None), list, tuple, dict, bytes)):
        try:
            out["str"] = str(v)
        except Exception as e:  # noqa: BLE001
            out["str_exception"] = repr(e)
    return out


def probe(key, fn, *a, **kw):
    r = call(fn, *a, **kw)
    emit(key, r)
    return r


def main():
    import pykd

    dump, sympath = sys.argv[1], sys.argv[2]
    name = sys.argv[3] if len(sys.argv) > 3 else os.path.splitext(os.path.basename(dump))[0]
    cfg = CONFIG.get(name, {"program": name, "thread_fn": "wait_for_dump", "big_fn": None})
    prog = cfg["program"]

    emit("meta", {"python": sys.version, "pykd_version": getattr(pykd, "__version__", None),
                  "pykd_version_attr": str(getattr(pykd, "version", None)), "dump": dump,
                  "sympath": sympath, "name": name, "config": cfg,
                  "pykd_dir": sorted(n for n in dir(pykd) if not n.startswith("__"))})

    # ---- before a dump is loaded
    probe("pre.isDumpAnalyzing", pykd.isDumpAnalyzing)
    probe("pre.getStack", pykd.getStack)

    probe("loadDump", pykd.loadDump, dump)
    probe("setSymbolPath", pykd.setSymbolPath, sympath)
    probe("getSymbolPath", pykd.getSymbolPath)
    probe("dbgCommand(.reload)", pykd.dbgCommand, ".reload")
    probe("dbgCommand(.reload /f)", pykd.dbgCommand, ".reload /f")
    probe("dbgCommand(lm)", pykd.dbgCommand, "lm")
    threads_txt = probe("dbgCommand(~)", pykd.dbgCommand, "~").get("value") or ""

    # ---- globals
    for fn in ("getCPUMode", "getCPUType", "is64bitSystem", "isKernelDebugging", "isDumpAnalyzing",
               "isLocalKernelDebuggerEnabled", "bugCheckData", "getImplicitThread", "getCurrentThread",
               "getImplicitProcess", "getCurrentProcess", "getCurrentProcessId", "getCurrentThreadId",
               "getProcessSystemID", "getThreadSystemID", "getNumberThreads", "getNumberProcesses",
               "getSystemVersion", "pageSize", "ptrSize", "getSP", "getIP", "getFP",
               "getFrameNumber", "getFrame", "isWindbgExt", "getLastEvent", "getLastException",
               "getDumpFileName", "getProcessorType", "getPageSize"):
        if hasattr(pykd, fn):
            probe("global." + fn, getattr(pykd, fn))
        else:
            emit("global." + fn, {"missing": True})
    probe("str(getCPUMode())", lambda: str(pykd.getCPUMode()))
    probe("repr(getCPUMode())", lambda: repr(pykd.getCPUMode()))
    probe("getCPUMode() == CPUType.AMD64", lambda: pykd.getCPUMode() == pykd.CPUType.AMD64)
    probe("CPUType members", lambda: {n: int(getattr(pykd.CPUType, n)) for n in dir(pykd.CPUType)
                                      if n.isupper() or n in ("I386", "AMD64", "ARM64", "ARM")})
    probe("pykd.version", lambda: str(pykd.version))
    sv = call(pykd.getSystemVersion)
    try:
        s = pykd.getSystemVersion()
        emit("global.getSystemVersion.fields",
             {a: conv(getattr(s, a)) for a in dir(s) if not a.startswith("_")})
    except Exception as e:  # noqa: BLE001
        emit("global.getSystemVersion.fields", {"exception": repr(e), "call": sv})

    # ---- pick the thread that waits at the deepest point
    nthreads = threads_txt.count(" Id: ") or 2
    chosen = None
    per_thread = []
    for i in range(nthreads):
        sel = call(pykd.dbgCommand, "~%ds" % i)
        names = []
        try:
            names = [pykd.findSymbol(f.ip) for f in pykd.getStack()]
        except Exception as e:  # noqa: BLE001
            names = ["<getStack: %r>" % e]
        per_thread.append({"thread": i, "select": sel, "frames": names,
                           "implicitThread": call(pykd.getImplicitThread),
                           "getCurrentThread": call(pykd.getCurrentThread)})
        if chosen is None and any(cfg["thread_fn"] in n for n in names):
            chosen = i
    emit("threads", per_thread)
    if chosen is None:
        chosen = 0
    emit("chosen_thread", chosen)
    probe("dbgCommand(~Ns)", pykd.dbgCommand, "~%ds" % chosen)
    probe("dbgCommand(~Ns) again", pykd.dbgCommand, "~%ds" % chosen)

    # ---- stack listings as text
    for cmd in ("knf", "kv", "kf", "kn", "k", "kP", "knf 1000", ".frame", "r", "!teb", "~"):
        probe("dbgCommand(%s)" % cmd, pykd.dbgCommand, cmd)

    # ---- getStack with and without inline frames
    for inline in (True, False):
        key = "getStack(True)" if inline else "getStack()"
        try:
            stack = pykd.getStack(True) if inline else pykd.getStack()
        except Exception as exc:  # noqa: BLE001
            emit(key, {"exception": type(exc).__name__, "message": str(exc), "args": repr(exc.args)})
            continue
        emit(key + ".len", len(stack))
        emit(key + ".type", typeinfo(stack))
        idx = list(range(len(stack)))
        if len(idx) > MAX_FRAMES_DETAILED:
            idx = idx[:MAX_FRAMES_DETAILED - 8] + idx[-8:]
        frames = []
        for n in idx:
            f = stack[n]
            d = {"n": n}
            for attr in ("ip", "ret", "fp", "sp", "instructionOffset", "returnOffset",
                         "frameOffset", "stackOffset", "frameNumber"):
                d[attr] = call(getattr, f, attr)
            d["isInline"] = call(f.isInline) if hasattr(f, "isInline") else {"missing": True}
            d["str"] = call(str, f)
            d["repr"] = call(repr, f)
            ip = getattr(f, "ip", 0)
            d["findSymbol(ip)"] = call(pykd.findSymbol, ip)
            d["findSymbol(ip,False)"] = call(pykd.findSymbol, ip, False)
            d["findSymbolAndDisp(ip)"] = call(pykd.findSymbolAndDisp, ip)
            d["frame.findSymbol()"] = call(f.findSymbol) if hasattr(f, "findSymbol") else {"missing": True}
            d["getSourceLine()"] = call(f.getSourceLine) if hasattr(f, "getSourceLine") else {"missing": True}
            d["pykd.getSourceLine(ip)"] = call(pykd.getSourceLine, ip) if hasattr(pykd, "getSourceLine") else {"missing": True}
            try:
                m = pykd.module(ip)
                d["module"] = {"name": call(m.name), "begin": call(m.begin), "end": call(m.end),
                               "size": call(m.size), "image": call(m.image), "str_len": len(str(m))}
            except Exception as e:  # noqa: BLE001
                d["module"] = {"exception": type(e).__name__, "message": str(e)}
            sym = d["findSymbol(ip,False)"].get("value") or ""
            if n < 8 or sym.endswith("!" + str(cfg.get("big_fn"))) or "outer_dispatch" in sym or "helper" in sym:
                d["getParams()"] = call(lambda: [(a, str(b)) for a, b in f.getParams()])
                d["getLocals()"] = call(lambda: [(a, str(b)) for a, b in f.getLocals()])
                d["params.type"] = call(lambda: type(f.params).__name__)
                d["locals.type"] = call(lambda: type(f.locals).__name__)
                d["params.keys"] = call(lambda: sorted(f.params.keys()))
                d["locals.keys"] = call(lambda: sorted(f.locals.keys()))
            frames.append(d)
        emit(key + ".frames", frames)
        if inline:
            emit("frame.dir", sorted(a for a in dir(stack[0]) if not a.startswith("__")))

    # ---- the big frame: .frame /c N; dv /V /t; .fnent
    stack_t = pykd.getStack(True)
    stack_f = pykd.getStack()
    big = cfg.get("big_fn")
    big_n_inline = next((i for i, f in enumerate(stack_t) if big and pykd.findSymbol(f.ip, False).endswith("!" + big)), None)
    big_n = next((i for i, f in enumerate(stack_f) if big and pykd.findSymbol(f.ip, False).endswith("!" + big)), None)
    emit("big_frame", {"fn": big, "index_in_getStack(True)": big_n_inline, "index_in_getStack()": big_n})
    if big_n is not None:
        bf = stack_f[big_n]
        # (A) pykd's own scope functions, before any .frame command
        probe("A.getFrameNumber() initial", pykd.getFrameNumber)
        probe("A.getFrame() initial", lambda: str(pykd.getFrame()))
        probe("A.setFrame(N)", pykd.setFrame, big_n)
        probe("A.getFrameNumber() after setFrame(N)", pykd.getFrameNumber)
        probe("A.getFrame() after setFrame(N)", lambda: str(pykd.getFrame()))
        probe("A.str(getStack()[N])", lambda: str(pykd.getStack()[big_n]))
        probe("A.getSP() after setFrame(N)", pykd.getSP)
        probe("A.getIP() after setFrame(N)", pykd.getIP)
        probe("A.reg(rsp) after setFrame(N)", pykd.reg, "rsp")
        probe("A.reg(rip) after setFrame(N)", pykd.reg, "rip")
        probe("A.getStack() len after setFrame(N)", lambda: len(pykd.getStack()))
        probe("A.dbgCommand(.frame) after setFrame(N)", pykd.dbgCommand, ".frame")
        probe("A.dbgCommand(dv /V /t) after setFrame(N)", pykd.dbgCommand, "dv /V /t")
        probe("A.getFrame().getLocals() after setFrame(N)", lambda: [(a, str(b)) for a, b in pykd.getFrame().getLocals()])
        probe("A.getStack()[N].getLocals()", lambda: [(a, str(b)) for a, b in pykd.getStack()[big_n].getLocals()])
        probe("A.getStack()[N].getParams()", lambda: [(a, str(b)) for a, b in pykd.getStack()[big_n].getParams()])
        probe("A.getStack()[N].getLocal(copy)", lambda: str(pykd.getStack()[big_n].getLocal("copy")))
        probe("A.getStack()[N].getParam(s)", lambda: str(pykd.getStack()[big_n].getParam("s")))
        probe("A.resetFrame()", pykd.resetFrame)
        probe("A.getFrameNumber() after resetFrame", pykd.getFrameNumber)
        probe("A.getFrame() after resetFrame", lambda: str(pykd.getFrame()))
        probe("A.reg(rsp) after resetFrame", pykd.reg, "rsp")
        probe("A.setFrame(frameobj)", pykd.setFrame, bf)
        probe("A.getFrameNumber() after setFrame(frameobj)", pykd.getFrameNumber)
        probe("A.resetFrame() 2", pykd.resetFrame)
        probe("A.frame.switchTo()", bf.switchTo)
        probe("A.getFrameNumber() after switchTo", pykd.getFrameNumber)
        probe("A.reg(rsp) after switchTo", pykd.reg, "rsp")
        probe("A.resetFrame() 3", pykd.resetFrame)
        probe("A.setFrame(9999)", pykd.setFrame, 9999)
        probe("A.setFrame(-1)", pykd.setFrame, -1)
        probe("A.getFrameNumber() after bad setFrame", pykd.getFrameNumber)
        probe("A.resetFrame() 4", pykd.resetFrame)
        # (B) the debugger's .frame commands
        probe("B.dbgCommand(.frame N)", pykd.dbgCommand, ".frame %x" % big_n)
        probe("B.getFrameNumber() after .frame N", pykd.getFrameNumber)
        probe("B.dbgCommand(dv /V /t) after .frame N", pykd.dbgCommand, "dv /V /t")
        probe("B.dbgCommand(.frame 0)", pykd.dbgCommand, ".frame 0")
        probe("B.getFrameNumber() after .frame 0", pykd.getFrameNumber)
        probe("B.dbgCommand(.frame /c N; dv /V /t)", pykd.dbgCommand, ".frame /c %x; dv /V /t" % big_n)
        probe("B.getFrameNumber() after .frame /c N", pykd.getFrameNumber)
        probe("B.reg(rsp) after .frame /c N", pykd.reg, "rsp")
        probe("B.getSP() after .frame /c N", pykd.getSP)
        probe("B.getStack() after .frame /c N", lambda: [str(f) for f in pykd.getStack()[:3]] + [len(pykd.getStack())])
        probe("B.dbgCommand(knf) after .frame /c N", pykd.dbgCommand, "knf")
        probe("B.dbgCommand(.cxr)", pykd.dbgCommand, ".cxr")
        probe("B.getStack() after .cxr", lambda: [str(f) for f in pykd.getStack()[:3]] + [len(pykd.getStack())])
        probe("B.getFrameNumber() after .cxr", pykd.getFrameNumber)
        probe("B.dbgCommand(.frame 0) 2", pykd.dbgCommand, ".frame 0")
        probe("B.dbgCommand(~Ns) reselect", pykd.dbgCommand, "~%ds" % chosen)
        probe("B.getStack() after reselect", lambda: [str(f) for f in pykd.getStack()[:3]] + [len(pykd.getStack())])
        probe("B.dbgCommand(.fnent ip)", pykd.dbgCommand, ".fnent %x" % bf.ip)
        probe("B.dbgCommand(.fnent ret-of-child)", pykd.dbgCommand, ".fnent %x" % stack_f[big_n - 1].ret if big_n else ".fnent %x" % bf.ip)
        probe("B.dbgCommand(uf /c ip)", pykd.dbgCommand, "uf /c %x" % bf.ip)
        probe("B.dbgCommand(u ip-start)", pykd.dbgCommand, "u %s L8" % pykd.findSymbol(bf.ip, False))
        probe("B.dbgCommand(.frame /r N)", pykd.dbgCommand, ".frame /r %x" % big_n)
        probe("B.dbgCommand(.frame 0) 3", pykd.dbgCommand, ".frame 0")
    if big_n_inline is not None and big_n_inline != big_n:
        probe("dbgCommand(.frame /c Ninline; dv /V /t)", pykd.dbgCommand, ".frame /c %x; dv /V /t" % big_n_inline)
    # inline-specific: .frame for each frame listed with inline=True
    if name == "inline":
        # each .frame /c N after a .cxr: chained ".frame /c" without .cxr renumbers frames relative
        # to the context the previous one set
        for i in range(min(len(stack_t), 10)):
            call(pykd.dbgCommand, ".cxr")
            probe("dbgCommand(.frame /c %x; dv /V /t) after .cxr [inline dump]" % i, pykd.dbgCommand, ".frame /c %x; dv /V /t" % i)
            probe("dbgCommand(.frame %x) [inline dump]" % i, pykd.dbgCommand, ".frame %x" % i)
            probe("getFrameNumber() after .frame %x [inline dump]" % i, pykd.getFrameNumber)
        call(pykd.dbgCommand, ".cxr")
        for i in range(min(len(stack_t), 10)):
            probe("setFrame(%d) [inline dump]" % i, pykd.setFrame, i)
            probe("getFrame() after setFrame(%d) [inline dump]" % i, lambda: str(pykd.getFrame()))
            probe("dbgCommand(.frame) after setFrame(%d) [inline dump]" % i, pykd.dbgCommand, ".frame")
        probe("resetFrame() [inline dump]", pykd.resetFrame)
        probe("dbgCommand(.frame 0) [inline]", pykd.dbgCommand, ".frame 0")

    # ---- registers
    for r in ("rsp", "rip", "rbp", "esp", "sp", "ip"):
        probe("reg(%s)" % r, pykd.reg, r)
    probe("reg(nosuch)", pykd.reg, "nosuch")
    probe("getSP", pykd.getSP)
    probe("getIP", pykd.getIP)
    probe("cpu()", lambda: str(pykd.cpu()) if hasattr(pykd, "cpu") else "missing")

    # ---- TEB
    teb = None
    try:
        teb = int(pykd.getImplicitThread())
    except Exception:  # noqa: BLE001
        pass
    emit("teb_address", teb)
    if teb:
        for tname in ("ntdll!_TEB", "_TEB", "ntdll!_NT_TIB", "%s!_NT_TIB" % prog, "%s!NT_TIB" % prog):
            r = call(pykd.typedVar, tname, teb)
            emit("typedVar(%s, teb)" % tname, r)
            try:
                tv = pykd.typedVar(tname, teb)
            except Exception:  # noqa: BLE001
                continue
            emit("typedVar(%s, teb).str" % tname, call(str, tv))
            for fld in ("NtTib", "StackBase", "StackLimit", "DeallocationStack"):
                emit("typedVar(%s, teb).%s" % (tname, fld), call(lambda: int(getattr(tv, fld))))
            emit("typedVar(%s, teb).NtTib.StackBase" % tname, call(lambda: int(tv.NtTib.StackBase)))
            emit("typedVar(%s, teb).NtTib.StackLimit" % tname, call(lambda: int(tv.NtTib.StackLimit)))
            emit("typedVar(%s, teb).sizeof" % tname, call(tv.sizeof))
            emit("typedVar(%s, teb).getAddress" % tname, call(tv.getAddress))
            emit("typedVar(%s, teb).getLocation" % tname, call(lambda: str(tv.getLocation())))
            emit("typedVar(%s, teb).type" % tname, call(lambda: str(tv.type())))
            emit("typedVar(%s, teb).StackBase.type" % tname, call(lambda: type(tv.StackBase).__name__))
        probe("loadQWords(teb, 3) [ExceptionList, StackBase, StackLimit]", pykd.loadQWords, teb, 3)
        probe("loadQWords(teb+0x30, 1) [Self]", pykd.loadQWords, teb + 0x30, 1)
        probe("loadQWords(teb+0x1478, 1) [DeallocationStack]", pykd.loadQWords, teb + 0x1478, 1)
        probe("isValid(teb)", pykd.isValid, teb)
        probe("isValid(teb+0x1478)", pykd.isValid, teb + 0x1478)
    if teb:
        # stack bounds from raw TEB memory (x64 offsets: NtTib.StackBase +8, NtTib.StackLimit +0x10,
        # DeallocationStack +0x1478) and a scan for the deepest touched page (high-water mark)
        try:
            base, limit = pykd.loadQWords(teb + 8, 2)
            dealloc = pykd.loadQWords(teb + 0x1478, 1)[0]
            sp0 = int(pykd.reg("rsp"))
            page = pykd.pageSize()
            valid_pages = 0
            lowest_touched = None
            lowest_valid = None
            a = dealloc
            while a < base:
                if pykd.isValid(a):
                    valid_pages += 1
                    if lowest_valid is None:
                        lowest_valid = a
                    if lowest_touched is None and any(pykd.loadBytes(a, page)):
                        lowest_touched = a
                a += page
            lowest_nonzero = None
            if lowest_touched is not None:
                data = pykd.loadBytes(lowest_touched, page)
                lowest_nonzero = lowest_touched + next(i for i, b in enumerate(data) if b)
            emit("stack_scan", {"StackBase": base, "StackLimit": limit, "DeallocationStack": dealloc,
                                "rsp": sp0, "page": page, "valid_pages": valid_pages,
                                "lowest_valid_page": lowest_valid, "lowest_touched_page": lowest_touched,
                                "lowest_nonzero_byte": lowest_nonzero,
                                "used_now": base - sp0,
                                "high_water_used": (base - lowest_nonzero) if lowest_nonzero else None,
                                "remaining_to_dealloc": sp0 - dealloc, "remaining_to_limit": sp0 - limit,
                                "hex": {k: hex(v) for k, v in (("StackBase", base), ("StackLimit", limit),
                                                               ("DeallocationStack", dealloc), ("rsp", sp0))}})
        except Exception as e:  # noqa: BLE001
            emit("stack_scan", {"exception": type(e).__name__, "message": str(e)})
    probe("typedVar(nt!_KTHREAD, 0)", pykd.typedVar, "nt!_KTHREAD", 0)
    probe("typeInfo(%s!_NT_TIB)" % prog, lambda: str(pykd.typeInfo("%s!_NT_TIB" % prog)))
    for g in ("g_target_tib", "g_target_stack_base", "g_target_stack_limit", "g_target_tid"):
        probe("typedVar(%s!%s)" % (prog, g), lambda: int(pykd.typedVar("%s!%s" % (prog, g))))

    # ---- memory
    sp = int(pykd.getSP())
    probe("loadBytes(sp, 16)", pykd.loadBytes, sp, 16)
    probe("loadQWords(sp, 4)", pykd.loadQWords, sp, 4)
    probe("loadDWords(sp, 4)", pykd.loadDWords, sp, 4)
    probe("loadPtrs(sp, 4)", pykd.loadPtrs, sp, 4)
    probe("ptrPtr(sp)", pykd.ptrPtr, sp)
    probe("isValid(sp)", pykd.isValid, sp)
    probe("isValid(0x10)", pykd.isValid, 0x10)
    probe("loadBytes(0x10, 4)", pykd.loadBytes, 0x10, 4)
    probe("loadQWords(0x10, 1)", pykd.loadQWords, 0x10, 1)
    probe("loadBytes(sp-0x1000, 16) [below sp]", pykd.loadBytes, sp - 0x1000, 16)
    probe("isValid(sp-0x1000)", pykd.isValid, sp - 0x1000)
    probe("isValid(sp-0x100)", pykd.isValid, sp - 0x100)
    probe("dbgCommand(!address sp)", pykd.dbgCommand, "!address %x" % sp)
    probe("dbgCommand(!address)", pykd.dbgCommand, "!address -summary")
    if teb:
        try:
            base, limit = pykd.loadQWords(teb + 8, 2)
            probe("isValid(StackLimit)", pykd.isValid, limit)
            probe("loadBytes(StackLimit, 16)", pykd.loadBytes, limit, 16)
            probe("isValid(StackBase-8)", pykd.isValid, base - 8)
        except Exception as e:  # noqa: BLE001
            emit("stack bounds from teb", {"exception": repr(e)})

    # ---- modules and symbols
    probe("module(0x12345)", pykd.module, 0x12345)
    probe("module(nt)", pykd.module, "nt")
    probe("module(nosuchmod)", pykd.module, "nosuchmod")
    probe("findSymbol(0x12345)", pykd.findSymbol, 0x12345)
    probe("findSymbol(0x12345, False)", pykd.findSymbol, 0x12345, False)
    probe("findSymbolAndDisp(0x12345)", pykd.findSymbolAndDisp, 0x12345)
    probe("getOffset(%s!main)" % prog, pykd.getOffset, "%s!main" % prog)
    probe("getOffset(nosuch!sym)", pykd.getOffset, "nosuch!sym")
    for mname in (prog, "kernel32", "ntdll", "kernelbase"):
        try:
            m = pykd.module(mname)
        except Exception as e:  # noqa: BLE001
            emit("module(%s)" % mname, {"exception": type(e).__name__, "message": str(e)})
            continue
        for meth in ("name", "begin", "end", "size", "image", "imageName", "getVersion", "timestamp",
                     "checksum", "um", "isSymbolLoaded", "symfile"):
            if (mname, meth) in CRASHERS or (mname != prog and ("*", meth) in CRASHERS):
                emit("module(%s).%s()" % (mname, meth), {"not_called": "crashes the Windows process "
                     "(Wine page fault at 0x10 inside pykd) when the module has only export symbols"})
            elif hasattr(m, meth):
                probe("module(%s).%s()" % (mname, meth), getattr(m, meth))
        for vk in ("CompanyName", "FileVersion"):
            if mname != prog and ("*", "queryVersion") in CRASHERS:
                emit("module(%s).queryVersion(%s)" % (mname, vk), {"not_called": "crashes the Windows "
                     "process (Wine page fault at 0x10 inside pykd) when the module has only export symbols"})
                continue
            probe("module(%s).queryVersion(%s)" % (mname, vk), m.queryVersion, vk)
        probe("module(%s).str" % mname, str, m)
        if mname == prog:
            probe("module(%s).findSymbol(main)" % mname, lambda: m.findSymbol(m.offset("main") + 3))
            probe("module(%s).typedVar(_NT_TIB, teb)" % mname, lambda: str(m.typedVar("_NT_TIB", teb)))
        probe("module(begin of %s)" % mname, lambda: pykd.module(m.begin()).name())

    # ---- dbgCommand with (likely) empty output and odd commands
    for cmd in ("r $t0 = 1", ".echo", "$$ comment", ".frame 0", "~%ds" % chosen, "nosuchcommand",
                ".cxr", "!nosuchext"):
        probe("dbgCommand(%r)" % cmd, pykd.dbgCommand, cmd)
    probe("dbgCommand(r $t0=1, suppressOutput=False)", pykd.dbgCommand, "r $t0 = 1", False)

    probe("getStack() after all", lambda: len(pykd.getStack()))
    emit("done", True)


if __name__ == "__main__":
    try:
        main()
    except BaseException as e:  # noqa: BLE001
        emit("fatal", {"exception": type(e).__name__, "message": str(e), "traceback": traceback.format_exc()})
        raise
