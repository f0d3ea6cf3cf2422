"""A fake `pykd` for tests: pykd 0.3.4.15's names, return types and quirks over a recorded session.

`fake(session)` returns a FakeEngine whose `.pykd` is a module object with pykd's functions and
whose `.dbg` is stackext's adapter over it (`Debugger(engine.pykd)`): tests pass `engine.dbg` to
the code (`usage.main(argv, debugger=engine.dbg)`); nothing is put on sys.modules. The engine
records every call so tests can count round trips and prove that state changes were undone and
nothing was written. Sessions come from `fixtures/sessions/*.json` (see `make_sessions.py`).

Honours pykd 0.3.4.15 (see ../shared/reference/pykd.md): getStack list index = frame number and
no `frameNumber` attribute; at most 1024 frames; findSymbol's three forms (`mod!fn+54`, `mod+1684`,
`12345`: hex without 0x); dbgCommand returns None on empty output; bugCheckData raises on a dump
without a bugcheck; the exception hierarchy and messages seen on the real engine.
"""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from stackext.sources.pykd.adapter import Debugger

SESSIONS = Path(__file__).resolve().parents[2] / "fixtures" / "sessions"

# What each API costs. ROUND_TRIP: the engine asks the target (memory, registers, stack walk,
# version resources); LOCAL: answered from symbols or the module list dbgeng loaded at .reload;
# STATE: changes what the user's next command sees (must be undone); WRITE: must never be called.
ROUND_TRIP = frozenset("""
getStack expr typedVar typedVar.field loadBytes loadWords loadDWords loadQWords loadPtrs ptrPtr
ptrQWord ptrDWord loadCStr loadWStr isValid dbgCommand module.queryVersion bugCheckData reg getSP
getIP getFP getImplicitThread getImplicitProcess getCurrentThread getCurrentProcess getFrameNumber
getFrame getCPUMode getCPUType is64bitSystem ptrSize isKernelDebugging isDumpAnalyzing pageSize
getSystemVersion stackFrame.getLocals stackFrame.getParams
""".split())
LOCAL = frozenset("""
findSymbol findSymbolAndDisp getSourceLine module module.name module.begin module.end module.size
module.image module.um module.symfile stackFrame.findSymbol isWindbgExt
""".split())
STATE = frozenset("""
setImplicitThread setCurrentThread setImplicitProcess setCurrentProcess setFrame resetFrame
stackFrame.switchTo
""".split())
# pykd 0.3 write APIs (setReg/setIP/setSP exist in kdlib's register API; the write* family is
# pykd's memory writers). Any call is a test failure.
WRITE = frozenset("""
setReg setIP setSP setFP writeBytes writeWords writeDWords writeQWords writeSignBytes
writeSignWords writeSignDWords writeSignQWords writeFloats writeDoubles writeCStr writeWStr
writePtrs
""".split())
OUTPUT = frozenset("dprint dprintln".split())
LOCAL = LOCAL | {"typeInfo"}
SETUP = frozenset("loadDump setSymbolPath".split())
CALL_KINDS = {"round-trip": ROUND_TRIP, "local": LOCAL, "state": STATE, "write": WRITE,
              "output": OUTPUT, "setup": SETUP}


class DbgException(Exception):
    pass


class MemoryException(DbgException):
    pass


class SymbolException(DbgException):
    pass


class TypeException(SymbolException):
    pass


class CallException(DbgException):
    pass


class CPUException(DbgException):
    pass


class _Enum(int):
    """pykd.CPUType members are ints (real: I386=0, AMD64=1, ARM64=2, ARM=3) with str() the
    name and repr() 'pykd.pykd.CPUType.AMD64'."""

    def __new__(cls, name: str, value: int):
        obj = int.__new__(cls, value)
        obj.name = name
        return obj

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return "pykd.pykd.CPUType." + self.name


class CPUType:
    I386 = _Enum("I386", 0)
    AMD64 = _Enum("AMD64", 1)
    ARM64 = _Enum("ARM64", 2)
    ARM = _Enum("ARM", 3)


def h(value: Any) -> Optional[int]:
    """`fffff880`0b9c0f10`, `0x1f`, `1f` or an int -> int."""
    if value is None or isinstance(value, int):
        return value
    text = str(value).replace("`", "")
    return int(text[2:] if text.lower().startswith("0x") else text, 16)


def load_session(name: str) -> dict:
    path = SESSIONS / (name if name.endswith(".json") else name + ".json")
    return json.loads(path.read_text(encoding="utf-8"))


def _symbol_text(sym: list, show_disp: bool = True) -> str:
    """findSymbol's text as the real engine prints it: hex displacement without 0x, `-102` for a
    negative one (real: seed!WinMainCRTStartup-102), none when zero, bare hex without a module."""
    mod, func, disp = sym[0], sym[1], sdisp(sym[2])
    if mod is None:
        return "%x" % disp
    text = "%s!%s" % (mod, func) if func else mod
    if not disp or not show_disp:
        return text
    return text + ("+%x" % disp if disp > 0 else "-%x" % -disp)


def sdisp(value: Any) -> int:
    """A displacement: hex string, "-0x102" or int."""
    if isinstance(value, str) and value.startswith("-"):
        return -h(value[1:])
    return h(value) or 0


class FakeEngine:
    """State of one fake debugger session. `calls` lists (name, args) in order."""

    def __init__(self, session: dict, windbg_ext: bool = True):
        self.session = session
        self.windbg_ext = windbg_ext
        self.calls: List[tuple] = []
        self.output: List[tuple] = []
        self.interrupt: Optional[tuple] = None  # (api name, nth call) -> SystemExit("CTRL+BREAK")
        self.interrupt_once = False  # True: only the nth call raises (the break is reported once)
        self.fail: Dict[str, Exception] = {}  # api name -> exception to raise
        self.threads = {h(t["address"]): t for t in session["threads"]}
        self.thread = h(session["implicit_thread"])
        self.process = h(session.get("implicit_process"))
        self.frame = 0
        self.context_override: Optional[dict] = None  # what .cxr/.trap set, None = thread's own
        self.context_frame = 0  # `.frame /c N` sets the context to frame N (getStack starts there)
        # `.cxr ADDR` / `.trap ADDR`: the session's "contexts" entry (its registers and frames)
        self.contexts = session.get("contexts", {})
        self.context_frames: Optional[list] = None
        self.natvis_noise = False  # True: prefix the next dbgCommand output as the real engine did
        self.dump_loaded = session.get("dump", False) and windbg_ext
        self.modules = [dict(m, begin=h(m["begin"]), end=h(m["end"])) for m in session["modules"]]
        self.memory = {}
        for tname, by_addr in session.get("types", {}).items():
            for addr, fields in by_addr.items():
                self.memory[(tname, h(addr))] = fields
        self.images: List[tuple] = []  # (start, bytes): what map_image made readable
        self.symtab = {}
        for t in list(session["threads"]) + list(self.contexts.values()):
            for f in t["frames"]:
                if not f.get("inline"):
                    self.symtab[h(f["ip"])] = f["symbol"]

    def map_image(self, name: str, base: int, image: bytes, ranges: List[tuple],
                  listing: str) -> None:
        """A loaded module `name` at `base` whose memory is `image` (as mapped, relocated),
        readable only in `ranges` ([start, end) rvas: what dbgeng serves of a minidump's module
        from the image file, the headers and each section's raw data; the rest raises as on
        the real engine); `listing` is what `x name!*` prints."""
        self.modules.append({"name": name, "image": name + ".sys", "begin": base,
                             "end": base + len(image), "company": None, "symfile": name})
        self.images += [(base + a, image[a:b]) for a, b in ranges]
        self.session.setdefault("commands", {})["x %s!*" % name] = listing

    def image_bytes(self, addr: int, count: int) -> Optional[list]:
        for start, data in self.images:
            if start <= addr and addr + count <= start + len(data):
                return list(data[addr - start:addr - start + count])
        if any(start <= addr < start + len(data) for start, data in self.images):
            raise MemoryException("Memory exception at 0x%x target virtual address" % addr)
        return None

    # -- bookkeeping ----------------------------------------------------------------------------
    def record(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if name in WRITE:
            raise AssertionError("stackext called a pykd write API: %s%r" % (name, args))
        if name in self.fail:
            raise self.fail[name]
        if self.interrupt and self.interrupt[0] == name:
            if self.count(name) >= self.interrupt[1]:
                if self.interrupt_once:
                    self.interrupt = None
                raise SystemExit("CTRL+BREAK")

    @property
    def dbg(self) -> Debugger:
        """stackext's adapter over this engine's pykd module."""
        return Debugger(self.pykd)

    def count(self, name: str) -> int:
        return sum(1 for c in self.calls if c[0] == name)

    def cost(self, kind: str) -> int:
        names = CALL_KINDS[kind]
        return sum(1 for c in self.calls if c[0] in names)

    def snapshot(self) -> tuple:
        """What the user's next command would see: thread, process, frame, register context."""
        return (self.thread, self.process, self.frame, json.dumps(self.registers(), sort_keys=True))

    def registers(self) -> dict:
        if self.context_override is not None:
            return self.context_override
        t = self.threads.get(self.thread)
        return dict(t.get("regs", {})) if t else {}

    def module_at(self, addr: int) -> Optional[dict]:
        for m in self.modules:
            if m["begin"] <= addr < m["end"]:
                return m
        return None

    def own_registers(self) -> dict:
        """The thread's own registers: getSP/getIP stay these under .cxr/.trap (real engine)."""
        if self.context_frames is not None:
            t = self.threads.get(self.thread)
            return dict(t.get("regs", {})) if t else {}
        return self.registers()

    def current_frames(self) -> list:
        if self.context_frames is not None:
            return self.context_frames[self.context_frame:]
        t = self.threads.get(self.thread)
        if t is None:
            raise DbgException("Call IDebugControl4::GetStackTrace failed\nHRESULT 0x80004005")
        return t["frames"][self.context_frame:]


class StackFrame:
    """pykd.stackFrame: read-only offsets, isInline(), switchTo(), findSymbol(). No frameNumber."""

    def __init__(self, engine: FakeEngine, index: int, raw: dict):
        self._engine, self._index, self._raw = engine, index, raw

    instructionOffset = ip = property(lambda self: h(self._raw["ip"]))
    returnOffset = ret = property(lambda self: h(self._raw["ret"]))
    frameOffset = fp = property(lambda self: h(self._raw["fp"]))
    stackOffset = sp = property(lambda self: h(self._raw["sp"]))

    def isInline(self) -> bool:
        return bool(self._raw.get("inline"))

    def switchTo(self) -> None:
        self._engine.record("stackFrame.switchTo", self._index)
        self._engine.frame = self._index

    def findSymbol(self) -> tuple:
        self._engine.record("stackFrame.findSymbol", self._index)
        mod, func, disp = self._raw["symbol"]
        if mod is None or func is None:
            raise SymbolException("failed to find symbol")
        return (mod, func, sdisp(disp))

    def getLocals(self) -> list:
        self._engine.record("stackFrame.getLocals", self._index)
        return []

    def getParams(self) -> list:
        self._engine.record("stackFrame.getParams", self._index)
        return []

    def __str__(self) -> str:
        return "Frame: IP=%x  Return=%x  Frame Offset=%x  Stack Offset=%x" % (
            self.ip, self.ret or 0, self.fp or 0, self.sp or 0)


class Module:
    def __init__(self, engine: FakeEngine, raw: dict):
        self._engine, self._raw = engine, raw

    def _get(self, what: str) -> Any:
        self._engine.record("module." + what, self._raw["name"])
        return self._raw[what]

    def name(self) -> str:
        return self._get("name")

    def begin(self) -> int:
        return self._get("begin")

    def end(self) -> int:
        return self._get("end")

    def size(self) -> int:
        return self._get("end") - self._raw["begin"]

    def image(self) -> str:
        return self._get("image")

    def um(self) -> bool:
        self._engine.record("module.um", self._raw["name"])
        return not self._engine.session["kernel"] or self._raw["begin"] < (1 << 47)

    def symfile(self) -> str:
        self._engine.record("module.symfile", self._raw["name"])
        return self._raw.get("symfile", self._raw["name"] + ".pdb")

    def queryVersion(self, key: str) -> str:
        self._engine.record("module.queryVersion", self._raw["name"], key)
        # Real engine: queryVersion works on export-symbols modules too (Wine's kernel32 and
        # ntdll answer 'Microsoft Corporation'); it is getVersion() that kills the process.
        value = self._raw.get("company") if key == "CompanyName" else None
        if value is None:
            raise DbgException("Call IDebugSymbol2::GetModuleVersionInformation failed\n"
                               "HRESULT 0x80004002")
        return value

    def getVersion(self) -> tuple:
        self._engine.record("module.getVersion", self._raw["name"])
        if self._raw.get("symfile") == "export symbols":
            # Real engine: getVersion() on an export-symbols module crashed the whole process
            # (a page fault inside pykd, exit code 5): nothing to catch. Never call it.
            raise AssertionError("module.getVersion() on an export-symbols module crashes pykd")
        raise DbgException("Call IDebugSymbols::GetModuleVersionInformation failed\n"
                           "HRESULT 0x80004002")


class _Field(int):
    """An integer field of a typedVar: int() works, as on pykd's typedVar of a base type."""


class TypedVar:
    def __init__(self, engine: FakeEngine, tname: str, addr: int, fields: dict):
        self._engine, self._tname, self._addr, self._fields = engine, tname, addr, fields

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        self._engine.record("typedVar.field", self._tname, name)
        if name not in self._fields:
            raise AttributeError("typed var has no field '%s'" % name)
        value = self._fields[name]
        if isinstance(value, dict):
            return TypedVar(self._engine, self._tname + "." + name, self._addr, value)
        return _Field(h(value))

    def getAddress(self) -> int:
        return self._addr

    def __int__(self) -> int:
        return self._addr


def make_module(engine: FakeEngine) -> types.ModuleType:
    """A module object named `pykd` whose functions act on `engine`."""
    m = types.ModuleType("pykd")
    m.__file__ = "<fakepykd>"
    m._engine = engine
    engine.pykd = m
    for exc in (DbgException, MemoryException, SymbolException, TypeException, CallException,
                CPUException):
        setattr(m, exc.__name__, exc)
    m.CPUType = CPUType
    m.stackFrame, m.module_class, m.typedVarClass = StackFrame, Module, TypedVar
    s = engine.session

    def api(fn):
        def wrapper(*args, **kwargs):
            engine.record(fn.__name__, *args, *kwargs.values())
            return fn(*args, **kwargs)
        wrapper.__name__ = fn.__name__
        setattr(m, fn.__name__, wrapper)
        return wrapper

    @api
    def getStack(inlineFrames=False):
        frames = [f for f in engine.current_frames() if inlineFrames or not f.get("inline")]
        return [StackFrame(engine, i, f) for i, f in enumerate(frames[:1024])]

    @api
    def findSymbol(offset, showDisplacement=True):
        sym = engine.symtab.get(offset)
        if sym is not None:
            return _symbol_text(sym, showDisplacement)
        mod = engine.module_at(offset)
        if mod is None:
            return "%x" % offset
        return _symbol_text([mod["name"], None, offset - mod["begin"]], showDisplacement)

    @api
    def findSymbolAndDisp(offset):
        sym = engine.symtab.get(offset)
        if sym is None or sym[0] is None:
            raise SymbolException("failed to find symbol at %x" % offset)
        return (sym[0], sym[1] or "", sdisp(sym[2]))

    @api
    def module(key):
        if isinstance(key, int):
            raw = engine.module_at(key)
            if raw is None:
                raise DbgException("Failed to find module by offset %x" % key)
        else:
            raw = next((x for x in engine.modules if x["name"].lower() == key.lower()), None)
            if raw is None:
                raise DbgException("Failed to find module '%s'" % key)
        return Module(engine, raw)

    @api
    def typedVar(tname, addr):
        mod, _, name = tname.partition("!")
        if mod == "nt" and not s["kernel"]:
            raise DbgException("Failed to find module 'nt'")
        if mod not in s.get("symbols", []):
            raise SymbolException("'%s' - symbol not found" % name)  # as the real engine says
        fields = engine.memory.get((tname, addr))
        if fields is None:
            raise MemoryException("Memory exception at 0x%x target virtual address" % addr)
        return TypedVar(engine, tname, addr, fields)

    @api
    def loadBytes(addr, count):
        """Bytes (a list of ints, as the real engine returns) from the session's recorded stack
        pages ({"0xaddr": "zero" | hex}); MemoryException at the first byte not in the dump."""
        mapped = engine.image_bytes(addr, count)
        if mapped is not None:
            return mapped
        pages = s.get("pages", {})
        out = []
        at = addr
        while at < addr + count:
            page = at & ~0xFFF
            data = pages.get(hex(page))
            if data is None:
                raise MemoryException("Memory exception at 0x%x target virtual address" % at)
            raw = bytes(0x1000) if data == "zero" else bytes.fromhex(data)
            take = min(addr + count, page + 0x1000) - at
            out.extend(raw[at - page: at - page + take])
            at += take
        return out

    def words(addr, count, size):
        """Pointer-sized reads from the session's "memory" map ({"0xaddr": value})."""
        mem = {h(k): h(v) for k, v in s.get("memory", {}).items()}
        out = []
        for i in range(count):
            at = addr + i * size
            if at not in mem:
                raise MemoryException("Memory exception at 0x%x target virtual address" % at)
            out.append(mem[at])
        return out

    simple_words = (("loadPtrs", None), ("loadQWords", 8), ("loadDWords", 4))
    for name, size in simple_words:
        def reader(addr, count, _size=size):
            return words(addr, count, _size or (4 if s["cpu"] == "I386" else 8))
        reader.__name__ = name
        api(reader)

    @api
    def dbgCommand(cmd, suppressOutput=True):
        # Several commands joined with ";" run in order and their outputs are concatenated (as
        # on the real engine); None, not "", when nothing was printed.
        text = "".join(commands.run(part.strip()) or "" for part in cmd.split(";")
                       if part.strip())
        if engine.natvis_noise:  # the real engine's first visualizer-loading command
            engine.natvis_noise = False
            text = NATVIS_NOISE + text
        return text or None

    commands = Commands(engine)

    @api
    def expr(text):
        """The engine's evaluator, for what stackext asks: pseudo-registers and numbers (bare
        hex, 0n decimal, 0x hex). Real: an unknown name raises Evaluate failed."""
        t = text.strip().lower()
        pseudo = {"@$thread": engine.thread, "@$teb": engine.thread, "@$proc": engine.process}
        if t in pseudo and pseudo[t] is not None:
            return pseudo[t]
        try:
            return int(t[2:], 10) if t.startswith("0n") else int(t.replace("`", ""), 16)
        except ValueError:
            raise DbgException("Call IDebugControl::Evaluate failed\nHRESULT 0x80040205") \
                from None

    @api
    def typeInfo(name):
        size = s.get("type_sizes", {}).get(name)
        if size is None:
            raise SymbolException("'%s' - symbol not found" % (name.partition("!")[2] or name))
        return TypeInfo(name, size)

    @api
    def bugCheckData():
        if not (s.get("dump") and s.get("bugcheck")):
            raise DbgException("Call IDebugControl::ReadBugCheckData failed\nHRESULT 0x8000ffff")
        return tuple(h(x) for x in s["bugcheck"])

    @api
    def reg(name):
        regs = engine.registers()
        if name.lower() not in regs:
            raise DbgException("invalid register name: %s" % name)
        return h(regs[name.lower()])

    def simple(name, fn):
        fn.__name__ = name
        api(fn)

    def first_reg(*names):
        regs = engine.own_registers()
        return next(h(regs[r]) for r in names if r in regs)

    simple("getSP", lambda: first_reg("rsp", "esp", "sp"))
    simple("getIP", lambda: first_reg("rip", "eip", "pc"))
    simple("getFP", lambda: first_reg("rbp", "ebp", "fp"))

    simple("getImplicitThread", lambda: engine.thread)
    simple("getCurrentThread", lambda: engine.thread)
    def implicit_process():
        if engine.process is None:  # as seen on real minidumps
            raise DbgException("Call IDebugSystemObjects::GetImplicitProcessDataOffset failed\n"
                               "HRESULT 0x8007001e")
        return engine.process

    simple("getImplicitProcess", implicit_process)
    simple("getCurrentProcess", implicit_process)
    simple("getFrameNumber", lambda: engine.frame)
    simple("getCPUMode", lambda: getattr(CPUType, s["cpu"]))
    simple("getCPUType", lambda: getattr(CPUType, s["cpu"]))
    simple("is64bitSystem", lambda: s["cpu"] != "I386")
    simple("ptrSize", lambda: 4 if s["cpu"] == "I386" else 8)
    simple("isKernelDebugging", lambda: bool(s["kernel"]))
    simple("isDumpAnalyzing", lambda: bool(s.get("dump")))
    simple("pageSize", lambda: 0x1000)
    simple("isWindbgExt", lambda: engine.windbg_ext)

    @api
    def setImplicitThread(addr):
        # Like .thread: the register context becomes that thread's; dbgeng resets the scope to
        # frame 0. Worst case for a caller: the fake also moves the implicit process.
        engine.thread = addr
        engine.context_override, engine.context_frames = None, None
        engine.frame = 0
        t = engine.threads.get(addr)
        if t is not None and t.get("process"):
            engine.process = h(t["process"])

    m.setCurrentThread = setImplicitThread

    @api
    def setImplicitProcess(addr):
        engine.process = addr

    @api
    def setFrame(frame):
        # Real pykd: setFrame(i) counts *physical* frames (setFrame(4) on the inline dump gives
        # `.frame` = 06 outer_dispatch); engine.frame is the inline-aware `.frame` number.
        i = frame if isinstance(frame, int) else frame._index
        if i < 0:
            raise OverflowError("can't convert negative value to unsigned int")
        phys = [n for n, f in enumerate(engine.current_frames()) if not f.get("inline")]
        if i >= len(phys):
            raise DbgException("Call IDebugSymbols::SetScopeFrameByIndex failed\n"
                               "HRESULT 0x80070057")
        engine.frame = phys[i]

    @api
    def resetFrame():
        engine.frame = 0

    @api
    def getFrame():
        return StackFrame(engine, engine.frame, engine.current_frames()[engine.frame])

    @api
    def dprint(text, dml=False):
        engine.output.append((str(text)[:OUTPUT_LIMIT], bool(dml)))

    @api
    def dprintln(text, dml=False):
        engine.output.append(((str(text) + "\n")[:OUTPUT_LIMIT], bool(dml)))

    @api
    def loadDump(path):
        if engine.windbg_ext:
            raise DbgException("a target is already open")
        engine.dump_loaded = True
        return 0  # real pykd: loadDump returns 0 (an int), setSymbolPath None

    @api
    def setSymbolPath(path):
        pass

    for name in WRITE:
        def writer(*args, _name=name):
            engine.record(_name, *args)
        writer.__name__ = name
        setattr(m, name, writer)
    return m


def synthetic_session(n_frames: int, n_modules: int = 4, kernel: bool = True) -> dict:
    """A deep x64 stack of `n_frames` frames spread over `n_modules` driver modules, in the shape
    of fixture 005's rosempio recursion (0x60-byte frames), for round-trip counting."""
    base_sp = 0xFFFFF8800B9C0000
    mods = [{"name": "drv%d" % i, "image": "drv%d.sys" % i, "begin": hex(0xFFFFF88000000000 +
             i * 0x100000), "end": hex(0xFFFFF88000000000 + i * 0x100000 + 0x80000),
             "company": None if i % 2 else "Contoso Ltd."} for i in range(n_modules)]
    frames = []
    for i in range(n_frames):
        mod = i * n_modules // max(n_frames, 1)
        ip = 0xFFFFF88000000000 + mod * 0x100000 + 0x1000 + (i % 7) * 0x40
        func = "Func%d" % (i % 7) if mod % 3 else None
        frames.append({"ip": hex(ip), "ret": None, "fp": hex(base_sp + (i + 1) * 0x60),
                       "sp": hex(base_sp + i * 0x60), "inline": False,
                       "symbol": ["drv%d" % mod, func,
                                  hex(0x40 if func else ip - (ip & ~0xFFFFF))]})
    for i in range(n_frames - 1):
        frames[i]["ret"] = frames[i + 1]["ip"]
    frames[-1]["ret"] = "0x0"
    thread = "0xffffe00012345080"
    top = base_sp + n_frames * 0x60 + 0x1000
    limit = base_sp - 0x1000
    return {
        "name": "synthetic_%d" % n_frames, "cpu": "AMD64", "kernel": kernel, "dump": True,
        "symbols": ["nt"], "implicit_thread": thread, "implicit_process": "0xffffe00000001000",
        "bugcheck": None, "modules": mods,
        "threads": [{"address": thread, "regs": {"rsp": frames[0]["sp"], "rip": frames[0]["ip"]},
                     "frames": frames}],
        "types": {"nt!_KTHREAD": {thread: {"StackBase": hex(top), "StackLimit": hex(limit),
                                           "InitialStack": hex(top - 0x230),
                                           "KernelStack": hex(base_sp)}}},
    }


# -- dbgCommand: the commands stackext sends, with the real engine's state and text ------------

# The real engine passes at most 16,383 characters of one dprint/dprintln, newline included
# (tests/realengine/test_kd.py measures it through kd); the rest is dropped.
OUTPUT_LIMIT = 16383
EXECUTE_FAILED = "Call IDebugControl::ExecuteWide failed\nHRESULT 0x80040205"
NATVIS_NOISE = ("No .natvis files found at Z:\\pykd\\Visualizers.\n"
                "No .natvis files found at C:\\users\\root\\AppData\\Local\\Dbg\\Visualizers.\n")
# First words the engine knows; anything else raises EXECUTE_FAILED (real: `nosuchcommand`).
KNOWN_COMMANDS = frozenset("""
k kb kc kd kf kn knf kp kP kv r dv dt dx lm ln u uf db dd dq dp dps dqs x .frame .cxr .thread
.process .trap .reload .fnent .echo .symfix .sympath .opendump ? ~ ! .prefer_dml
""".split())


class TypeInfo:
    def __init__(self, name: str, size: int):
        self._name, self._size = name, size

    def size(self) -> int:
        return self._size

    def name(self) -> str:
        return self._name.partition("!")[2] or self._name


def _call_site(raw: dict, ptr64: bool) -> str:
    """A frame's call site as knf/.frame print it (a negative displacement as kf prints it:
    +0xffffffff`fffffefe)."""
    mod, func, disp = raw["symbol"][0], raw["symbol"][1], sdisp(raw["symbol"][2])
    if mod is None:
        return "0x%x" % disp
    name = "%s!%s" % (mod, func) if func else mod
    if not disp:
        return name
    if disp < 0:
        return name + "+0x" + _addr((1 << (64 if ptr64 else 32)) + disp, ptr64)
    return name + "+0x%x" % disp


def _addr(value: int, ptr64: bool) -> str:
    if not ptr64:
        return "%08x" % value
    text = "%016x" % value
    return text[:8] + "`" + text[8:]


class Commands:
    """The state behind `.frame`, `.frame /c`, `.cxr`, `dv`, `.fnent`, `~`: scope frame numbers
    count inline frames (like `.frame`, unlike pykd's setFrame); out-of-range `.frame N` keeps
    the current frame and prints it (real engine)."""

    def __init__(self, engine: FakeEngine):
        self.e = engine
        self.ptr64 = engine.session["cpu"] != "I386"
        self.scoped = False  # a `.frame N` after `.frame /c K`
        # Real (`.ecxr` on the lane's overflow dump): right after a .cxr/.ecxr/.trap the
        # context frame's row shows a zero RetAddr, until a `.frame N`
        self.fresh = False

    def frames(self) -> list:
        return self.e.current_frames()

    def row(self, n: int) -> str:
        raw = self.frames()[n]
        number = n + self.e.context_frame
        if raw.get("inline"):
            cols = "(Inline Function) " + ("--------`--------" if self.ptr64 else "--------")
        else:
            sp = h(raw["fp"] if not self.ptr64 else raw["sp"])
            # Real: right after `.frame /c K` the context frame's row shows a zero RetAddr.
            fresh = self.e.context_frame and not self.scoped or self.fresh
            ret = 0 if fresh and not self.e.frame else raw["ret"]
            cols = "%s %s" % (_addr(sp, self.ptr64), _addr(h(ret) or 0, self.ptr64))
        return "%02x %s %s\n" % (number, cols, _call_site(raw, self.ptr64))

    def run(self, cmd: str) -> Optional[str]:
        e, s = self.e, self.e.session
        recorded = s.get("commands", {})
        if cmd in recorded:
            return recorded[cmd]
        word = cmd.split()[0] if cmd.split() else ""
        if word == ".frame":
            return self.frame(cmd.split()[1:])
        if cmd == ".lastevent":
            return self.last_event()
        if cmd == ".ecxr":
            # the exception's context (the session's "contexts" entry "ecxr"); nothing printed
            # and nothing changed on a dump without one (real engine)
            return self.context(".cxr", "ecxr") if "ecxr" in e.contexts else None
        if word in (".cxr", ".trap") and cmd == word:
            if e.context_override is None and not e.context_frame:
                return None
            e.context_override, e.context_frame, e.frame = None, 0, 0
            e.context_frames, self.fresh = None, False
            return "Resetting default scope\n"
        if word in (".cxr", ".trap"):
            return self.context(word, cmd.split()[1])
        if word == "knf" and self.ptr64:
            return self.knf(int(cmd.split()[1], 16) if len(cmd.split()) > 1 else 0x14)
        if cmd in ("dv /V /t", "dv", "dv /t /v"):
            frames = self.frames()
            return frames[e.frame].get("dv") if e.frame < len(frames) else None
        if word == ".fnent":
            ip = int(cmd.split()[1], 16)
            f = next((f for f in self.frames() if not f.get("inline") and h(f["ip"]) == ip), None)
            return None if f is None else f.get("fnent")
        if word.startswith("~"):
            return self.thread(cmd)
        if cmd == "||" and s.get("dump"):  # as the real engine prints it (test_kd.py checks)
            kind = "64-bit Kernel triage dump" if s.get("kernel") else "Full memory user mini dump"
            path = s.get("dump_file") or "Z:\\dumps\\%s.dmp" % s.get("name", "fake")
            return ".  0 %s: %s\n" % (kind, path)
        if cmd == "lm":
            return self.lm()
        if word == ".prefer_dml":
            if cmd.split()[1:]:
                s["prefer_dml"] = cmd.split()[1] == "1"
            # real dbgeng's text (tests/realengine, `.prefer_dml` with no argument)
            return "DML versions of commands %s by default\n" % (
                "on" if s.get("prefer_dml") else "off")
        if word == ".reload":
            return "." * len(e.modules) + "\n"
        if word.startswith("!") or word.startswith("$$") or word == "r" and "=" in cmd:
            return None  # no extension DLLs in the wheel: !anything prints nothing
        if word not in KNOWN_COMMANDS and not word.startswith("!"):
            raise DbgException(EXECUTE_FAILED)
        return None

    def lm(self) -> str:
        """`lm` as the real engine prints it: no symbols loaded, so a module with a PDB is
        `(deferred)` and one without is `(export symbols)`."""
        rows = ["start             end                 module name\n"]
        for m in sorted(self.e.modules, key=lambda m: m["begin"]):
            state = "export symbols" if m.get("symfile") == "export symbols" else "deferred"
            rows.append("%s %s   %-8s (%s)\n" % (_addr(m["begin"], self.ptr64),
                                                _addr(m["end"], self.ptr64), m["name"], state))
        return "".join(rows)

    def knf(self, count: int) -> str:
        """`knf N` as dbgeng prints it (x64): not limited to 1,024 frames like getStack."""
        out = [" #   Memory  Child-SP          RetAddr           Call Site\n"]
        prev = None
        for n, raw in enumerate(self.frames()[:count]):
            if raw.get("inline"):
                cols = "(Inline Function) --------`--------"
                mem = ""
            else:
                sp = h(raw["sp"])
                mem = "" if prev is None else "%x" % (sp - prev)
                prev = sp
                cols = "%s %s" % (_addr(sp, True), _addr(h(raw["ret"]) or 0, True))
            out.append("%02x %8s %s %s\n" % (n, mem, cols, _call_site(raw, True)))
        return "".join(out)

    def last_event(self) -> Optional[str]:
        """`.lastevent` as the real engine prints it on a dump: the session's "last_event"
        ({"pid", "tid", "code", "what"}), else the break-in dbgeng reports for a dump written
        without exception information (thread 0's ids)."""
        s = self.e.session
        if not s.get("dump"):
            return None
        ev = s.get("last_event") or {}
        first = s["threads"][0] if s["threads"] else {}
        return ("Last event: %x.%x: %s - code %08x (first/second chance not available)\n"
                "  debugger time: Wed Dec  2 16:50:25.777 2026 (UTC + 0:00)\n" % (
                    ev.get("pid", first.get("pid", 0x20)), ev.get("tid", first.get("tid", 0x24)),
                    ev.get("what", "Break instruction exception"), ev.get("code", 0x80000003)))

    def context(self, word: str, arg: str) -> str:
        """`.cxr ADDR` / `.trap ADDR` from the session's "contexts"; any other address fails as
        an unreadable record does on the real engine."""
        e = self.e
        if arg == "ecxr":
            ctx = e.contexts["ecxr"]
            e.context_override, e.context_frames = dict(ctx["regs"]), list(ctx["frames"])
            e.context_frame, e.frame, self.fresh = 0, 0, True
            return "".join("%s=%s " % kv for kv in sorted(ctx["regs"].items())) + "\n"
        addr = int(arg.replace("`", ""), 16)
        ctx = e.contexts.get(hex(addr))
        if ctx is None or ctx.get("command", word) != word:
            raise DbgException(EXECUTE_FAILED)
        e.context_override, e.context_frames = dict(ctx["regs"]), list(ctx["frames"])
        e.context_frame, e.frame, self.fresh = 0, 0, True
        return "".join("%s=%s " % kv for kv in sorted(ctx["regs"].items())) + "\n"

    def frame(self, args: list) -> str:
        e = self.e
        n_frames = len(self.frames())
        if args and args[0] == "/c":
            n = int(args[1], 16) - e.context_frame
            if 0 <= n < n_frames and not e.context_frame:
                raw = self.frames()[n]
                e.context_frame, e.frame = n, 0
                e.context_override = dict(e.registers(), rsp=raw["sp"], rip=raw["ip"])
                self.scoped = False
            return self.row(e.frame)
        if args:
            n = int(args[0], 16) - e.context_frame
            self.scoped = self.scoped or bool(e.context_frame)
            self.fresh = False
            # Real: in a `.frame /c` context other numbers do nothing; out of range does nothing.
            if 0 <= n < n_frames and not (e.context_frame and n):
                e.frame = n
        return self.row(e.frame)

    def thread(self, cmd: str) -> Optional[str]:
        e = self.e
        threads = list(e.threads.values())
        if cmd in ("~", "~."):
            rows = []
            for i, t in enumerate(threads):
                if cmd == "~." and h(t["address"]) != e.thread:
                    continue
                mark = "." if h(t["address"]) == e.thread else " "
                rows.append("%s %2d  Id: %x.%x Suspend: 0 Teb: %s Unfrozen\n" % (
                    mark, i, t.get("pid", 0x20), t.get("tid", 0x24 + 4 * i),
                    _addr(h(t["address"]), self.ptr64)))
                if cmd == "~.":
                    rows.append("      Priority: 0\n")  # as the real engine prints `~.`
            return "".join(rows) or None
        pick = None
        if cmd.startswith("~~[") and cmd.endswith("]s"):
            tid = int(cmd[3:-2], 16)
            pick = next((t for i, t in enumerate(threads)
                         if t.get("tid", 0x24 + 4 * i) == tid), None)
        elif cmd.endswith("s") and cmd[1:-1].isdigit():
            i = int(cmd[1:-1])
            pick = threads[i] if i < len(threads) else None
        if pick is None:
            raise DbgException(EXECUTE_FAILED)
        e.thread, e.context_override, e.context_frame, e.frame = h(pick["address"]), None, 0, 0
        e.context_frames, self.fresh = None, False
        return "%s:\n" % _call_site(pick["frames"][0], self.ptr64)


def fake(session: Union[str, dict], windbg_ext: bool = True) -> FakeEngine:
    """A fresh fake debugger over `session` (a name in fixtures/sessions or a dict)."""
    if isinstance(session, str):
        session = load_session(session)
    engine = FakeEngine(session, windbg_ext=windbg_ext)
    make_module(engine)
    return engine


def output_text(engine: FakeEngine) -> str:
    return "".join(text for text, _ in engine.output)
