"""The fake engine behind the fake `pykd` module: a recorded session plus a log of every call.

Honours pykd 0.3.4.15 (see ../shared/reference/pykd.md): getStack list index = frame number and
no `frameNumber` attribute; at most 1024 frames; findSymbol's three forms (`mod!fn+54`, `mod+1684`,
`12345`: hex without 0x); dbgCommand returns None on empty output; bugCheckData raises on a dump
without a bugcheck; the exception hierarchy and messages seen on the real engine.
"""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any, Dict, List, Optional

SESSIONS = Path(__file__).resolve().parents[2] / "fixtures" / "sessions"

# What each API costs. ROUND_TRIP: the engine asks the target (memory, registers, stack walk,
# version resources); LOCAL: answered from symbols or the module list dbgeng loaded at .reload;
# STATE: changes what the user's next command sees (must be undone); WRITE: must never be called.
ROUND_TRIP = frozenset("""
getStack typedVar typedVar.field loadBytes loadWords loadDWords loadQWords loadPtrs ptrPtr
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


class _Enum:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return "CPUType." + self.name


class CPUType:
    I386 = _Enum("I386")
    AMD64 = _Enum("AMD64")
    ARM64 = _Enum("ARM64")
    ARM = _Enum("ARM")


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
        self.fail: Dict[str, Exception] = {}  # api name -> exception to raise
        self.threads = {h(t["address"]): t for t in session["threads"]}
        self.thread = h(session["implicit_thread"])
        self.process = h(session.get("implicit_process"))
        self.frame = 0
        self.context_override: Optional[dict] = None  # what .cxr/.trap set, None = thread's own
        self.dump_loaded = session.get("dump", False) and windbg_ext
        self.modules = [dict(m, begin=h(m["begin"]), end=h(m["end"])) for m in session["modules"]]
        self.memory = {}
        for tname, by_addr in session.get("types", {}).items():
            for addr, fields in by_addr.items():
                self.memory[(tname, h(addr))] = fields
        self.symtab = {}
        for t in session["threads"]:
            for f in t["frames"]:
                if not f.get("inline"):
                    self.symtab[h(f["ip"])] = f["symbol"]

    # -- bookkeeping ----------------------------------------------------------------------------
    def record(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if name in WRITE:
            raise AssertionError("stackext called a pykd write API: %s%r" % (name, args))
        if name in self.fail:
            raise self.fail[name]
        if self.interrupt and self.interrupt[0] == name:
            if self.count(name) >= self.interrupt[1]:
                raise SystemExit("CTRL+BREAK")

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

    def current_frames(self) -> list:
        t = self.threads.get(self.thread)
        if t is None:
            raise DbgException("Call IDebugControl4::GetStackTrace failed\nHRESULT 0x80004005")
        return t["frames"]


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
        if self._raw.get("symfile") == "export symbols":
            # Real engine: queryVersion on a module with only export symbols crashed the whole
            # process (page fault inside pykd) - no exception to catch. Never call it there.
            raise AssertionError("queryVersion on an export-symbols module crashes pykd")
        value = self._raw.get("company") if key == "CompanyName" else None
        if value is None:
            raise DbgException("Call IDebugSymbols3::GetModuleVersionInformation failed\n"
                               "HRESULT 0x80004002")
        return value


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
        raise MemoryException("Memory exception at 0x%x target virtual address" % addr)

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
        text = s.get("commands", {}).get(cmd.strip(), "")
        return text or None  # pykd returns None, not "", when the command printed nothing

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
        regs = engine.registers()
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
        engine.context_override = None
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
        engine.frame = frame if isinstance(frame, int) else frame._index

    @api
    def resetFrame():
        engine.frame = 0

    @api
    def getFrame():
        return StackFrame(engine, engine.frame, engine.current_frames()[engine.frame])

    @api
    def dprint(text, dml=False):
        engine.output.append((str(text), bool(dml)))

    @api
    def dprintln(text, dml=False):
        engine.output.append((str(text) + "\n", bool(dml)))

    @api
    def loadDump(path):
        if engine.windbg_ext:
            raise DbgException("a target is already open")
        engine.dump_loaded = True

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
