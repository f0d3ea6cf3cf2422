"""Kernel-shaped targets for the fake pykd: memory pages, nt!PsActiveProcessHead and each
process's thread list, built from the real `!process`/`!thread` logs in fixtures/.

Extends fakes.pykd.FakeEngine with byte-addressed memory. Copied exactly as WinDbg
printed them: thread, process and image, state and wait reason, Stack Init/Current, Base/Limit,
Child-SP, RetAddr, call sites. Made up, and said so: frame 0's ip, module ranges, the _KTHREAD/
_EPROCESS/_ETHREAD field offsets (a Windows 10 x64 shape, reached only through typeInfo, as
stackext must), where PsActiveProcessHead lies, and the stack contents: zero below a
high-water mark, a filler word above it, each return address at Child-SP(caller) - 8.
Does not use stackext's own log reader.
"""

from __future__ import annotations

import re
import struct
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from .pykd import (
    LOCAL,
    ROUND_TRIP,
    DbgException,
    FakeEngine,
    MemoryException,
    Module,
    SymbolException,
    TypedVar,
    TypeException,
    h,
    make_module,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PAGE = 0x1000
FILLER = 0x4141414141414141  # a written word that points nowhere
PS_ACTIVE_PROCESS_HEAD = 0xFFFFF8074F4F0280  # synthesized: a page of nt's data
KERNEL_ROUND_TRIP = ROUND_TRIP | {"typedVarList", "containingRecord", "getModulesList"}
KERNEL_LOCAL = LOCAL | {"getOffset", "typeInfo.fieldOffset", "typeInfo.field"}

# Field offsets and sizes (the Windows 10 2004 x64 shape; only ever read through typeInfo).
TYPES = {
    "nt!_KTHREAD": (0x430, {"InitialStack": (0x28, 8), "StackLimit": (0x30, 8),
                            "StackBase": (0x38, 8), "KernelStack": (0x58, 8),
                            "State": (0x184, 1), "WaitReason": (0x283, 1),
                            "Process": (0x220, 8)}),
    "nt!_ETHREAD": (0x898, {"Tcb": (0, 0x430), "ThreadListEntry": (0x4E8, 16)}),
    "nt!_EPROCESS": (0xA40, {"Pcb": (0, 0x438), "ActiveProcessLinks": (0x448, 16),
                             "ImageFileName": (0x5A8, 15), "ThreadListHead": (0x5E0, 16)}),
    # Windows 10 20H2 x64's _KPRCB (public symbol dumps): DpcStack +0x3110, IsrStack +0x85d8
    "nt!_KPRCB": (0xAF00, {"DpcStack": (0x3110, 8), "IsrStack": (0x85D8, 8)}),
}
STATES = {"INITIALIZED": 0, "READY": 1, "RUNNING": 2, "STANDBY": 3, "TERMINATED": 4, "WAIT": 5,
          "TRANSITION": 6, "DEFERREDREADY": 7}
WAIT_REASONS = {"Executive": 0, "DelayExecution": 4, "UserRequest": 6, "WrUserRequest": 13,
                "WrQueue": 15}

# THREAD ffff8a071d5a3040  Cid 2f38.0bd4  Teb: 0000006d28977000 Win32Thread: 0000000000000000 WAIT: (WrQueue) UserMode Alertable  # noqa: E501
THREAD = re.compile(r"^\s*THREAD (?P<t>[0-9a-f]{8,16})\s+Cid \S+\s+Teb: \S+ Win32Thread: \S+ "
                    r"(?P<state>[A-Z]+)(?::\s*\((?P<reason>\w+)\))?")
# Owning Process            ffff8a07222e60c0       Image:         ioctlapp.exe
OWNER = re.compile(r"^\s*Owning Process\s+(?P<p>[0-9a-f]{8,16})\s+Image:\s+(?P<image>\S+)")
# Stack Init ffff808de0a8f650 Current ffff808de0a8ee20
INIT = re.compile(r"^\s*Stack Init (?P<init>[0-9a-f]+) Current (?P<cur>[0-9a-f]+)")
# Base ffff808de0a90000 Limit ffff808de0a89000 Call 0000000000000000
BASE = re.compile(r"^\s*Base (?P<base>[0-9a-f]+) Limit (?P<limit>[0-9a-f]+)")
# ffff808d`e0a8ee60 fffff807`4e63c77d nt!KiSwapContext+0x76
# ffffa681`165966c0 fffff805`3903f405     : ffff9481`48911180 ... : nt!KiSwapContext+0x76 [...]
# (Inline Function) --------`--------     : --------`-------- ... : nt!PerfIsGroupOnInGroupMask+0x25 (Inline Function @ fffff805`39578307) [...]  # noqa: E501
ROW = re.compile(r"^\s*(?:(?P<sp>[0-9a-f]{8}`[0-9a-f]{8}) (?P<ret>[0-9a-f]{8}`[0-9a-f]{8})|"
                 r"\(Inline Function\) --------`--------)\s*"
                 r"(?::(?:\s+[0-9a-f-]{8}`[0-9a-f-]{8})+\s+:)?\s*(?P<site>\S.*?)\s*$")
INLINE_AT = re.compile(r"\s*\(Inline Function @ (?P<a>[0-9a-f`]+)\)")
NOISE = re.compile(r"\s*\(TrapFrame @ [0-9a-f`]+\)|\s*\[[^\]]* @ \d+\]|\*\*")
SITE = re.compile(r"^(?P<name>.*?)(?:\+0x(?P<disp>[0-9a-f]+))?$")


def num(text: str) -> int:
    return int(text.replace("`", ""), 16)


@dataclass
class FakeThread:
    address: int
    process: int
    state: str  # "RUNNING", "WAIT", ...
    reason: Optional[str]
    init: int
    current: int
    base: int
    limit: int
    rows: List[dict] = field(default_factory=list)  # sp, ret, site, inline, inline_at
    mark: Optional[int] = None  # deepest written address (None: KernelStack - 0x800)
    resident: bool = True
    source: str = ""
    walk_stops_after: Optional[int] = None  # getStack gives only this many rows (memory: all)


@dataclass
class FakeProcess:
    address: int
    image: str
    threads: List[FakeThread] = field(default_factory=list)


def parse_log(path: Path) -> List[Tuple[str, FakeThread]]:
    """(image, thread) for every THREAD block of a real !process/!thread log."""
    out: List[Tuple[str, FakeThread]] = []
    t: Optional[FakeThread] = None
    in_rows = False
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = THREAD.match(line)
        if m:
            t = FakeThread(num(m.group("t")), 0, m.group("state"), m.group("reason"), 0, 0, 0, 0,
                           source="%s:%d" % (path.name, lineno))
            out.append(("", t))
            in_rows = False
            continue
        if t is None:
            continue
        if line.strip() == "Kernel stack not resident.":
            t.resident = False
        m = OWNER.match(line)
        if m:
            t.process = num(m.group("p"))
            out[-1] = (m.group("image"), t)
        m = INIT.match(line)
        if m:
            t.init, t.current = num(m.group("init")), num(m.group("cur"))
        m = BASE.match(line)
        if m:
            t.base, t.limit = num(m.group("base")), num(m.group("limit"))
        if "Child-SP" in line and "Call Site" in line:
            in_rows = True
            continue
        m = ROW.match(line) if in_rows else None
        if m:
            site = m.group("site")
            at = INLINE_AT.search(site)
            site = NOISE.sub("", INLINE_AT.sub("", site)).strip()
            t.rows.append({"sp": num(m.group("sp")) if m.group("sp") else None,
                           "ret": num(m.group("ret")) if m.group("ret") else None,
                           "inline": m.group("sp") is None, "site": site,
                           "inline_at": num(at.group("a")) if at else None})
        elif in_rows and not line.strip():
            in_rows = False
    return out


def symbol(site: str) -> list:
    """nt!KiSwapContext+0x76 -> ["nt", "KiSwapContext", "0x76"]; 0x00007ff9`7909c1b4: none."""
    if re.match(r"^0x[0-9a-f`]+$", site):
        return [None, None, hex(num(site[2:]))]
    m = SITE.match(site)
    mod, bang, func = m.group("name").partition("!")
    return [mod, func if bang else None, hex(int(m.group("disp") or "0", 16))]


class KernelEngine(FakeEngine):
    """FakeEngine plus byte-addressed memory (pages) and a count of list links followed."""

    def __init__(self, session: dict, windbg_ext: bool = True):
        super().__init__(session, windbg_ext)
        self.pages: Dict[int, bytearray] = {}
        self.link_reads = 0  # LIST_ENTRY links typedVarList followed inside the engine

    def write(self, addr: int, data: bytes) -> None:
        at, end = addr, addr + len(data)
        while at < end:
            page = at & ~(PAGE - 1)
            take = min(end, page + PAGE) - at
            self.pages.setdefault(page, bytearray(PAGE))[at - page:at - page + take] = \
                data[at - addr:at - addr + take]
            at += take

    def map(self, low: int, high: int) -> None:
        """Committed zero pages over [low, high)."""
        for page in range(low & ~(PAGE - 1), high, PAGE):
            self.pages.setdefault(page, bytearray(PAGE))

    def read(self, addr: int, count: int) -> bytes:
        out = bytearray()
        at = addr
        while at < addr + count:
            page = at & ~(PAGE - 1)
            if page not in self.pages:
                raise MemoryException("Memory exception at 0x%x target virtual address" % at)
            take = min(addr + count, page + PAGE) - at
            out += self.pages[page][at - page:at - page + take]
            at += take
        return bytes(out)

    def qword(self, addr: int) -> int:
        return struct.unpack("<Q", self.read(addr, 8))[0]

    def round_trips(self) -> int:
        return sum(1 for c in self.calls if c[0] in KERNEL_ROUND_TRIP)


class FakeTypeInfo:
    def __init__(self, engine: KernelEngine, name: str, size: int, fields: Optional[dict] = None):
        self._engine, self._name, self._size, self._fields = engine, name, size, fields or {}

    def size(self) -> int:
        return self._size

    def name(self) -> str:
        return self._name.partition("!")[2] or self._name

    def fieldOffset(self, name: str) -> int:  # noqa: N802 - pykd's name
        self._engine.record("typeInfo.fieldOffset", self._name, name)
        if name not in self._fields:
            raise TypeException("'%s' - field not found" % name)
        return self._fields[name][0]

    def field(self, name: str) -> "FakeTypeInfo":
        self._engine.record("typeInfo.field", self._name, name)
        if name not in self._fields:
            raise TypeException("'%s' - field not found" % name)
        return FakeTypeInfo(self._engine, name, self._fields[name][1])


def make_kernel_module(engine: KernelEngine):
    """The fake `pykd` module with kernel memory and lists on top of engine.make_module's."""
    m = make_module(engine)
    s = engine.session

    def api(fn):
        def wrapper(*args):
            engine.record(fn.__name__, *args)
            return fn(*args)
        wrapper.__name__ = fn.__name__
        setattr(m, fn.__name__, wrapper)
        return wrapper

    @api
    def loadBytes(addr, count):  # noqa: N802 - pykd's names from here on
        return list(engine.read(addr, count))  # a list of ints, as the real engine returns

    def words(addr, count, size):
        data = engine.read(addr, count * size)
        return list(struct.unpack("<%d%s" % (count, "Q" if size == 8 else "I"), data))

    for name, size in (("loadQWords", 8), ("loadDWords", 4), ("loadPtrs", None)):
        def reader(addr, count, _size=size):
            return words(addr, count, _size or (4 if s["cpu"] == "I386" else 8))
        reader.__name__ = name
        api(reader)

    @api
    def ptrPtr(addr):
        return words(addr, 1, 4 if s["cpu"] == "I386" else 8)[0]

    @api
    def typeInfo(name):
        if name not in TYPES:
            raise SymbolException("'%s' - symbol not found" % (name.partition("!")[2] or name))
        if name.startswith("nt!") and "nt" not in s.get("symbols", []):
            raise SymbolException("'%s' - symbol not found" % name.partition("!")[2])
        size, fields = TYPES[name]
        return FakeTypeInfo(engine, name, size, fields)

    @api
    def expr(text):
        """The engine's MASM evaluator for what stackext asks of a kernel target: @$prcb (the
        current processor's KPRCB, session "prcb"), @$thread/@$proc, poi()/dwo() of memory, a
        `+` of terms, nt! symbols (session "variables") and hex. Real: anything it cannot
        resolve or read raises "Evaluate failed"."""
        return _evaluate(engine, text.strip().lower())

    @api
    def getOffset(name):
        if name == "nt!PsActiveProcessHead" and "nt" in s.get("symbols", []):
            return PS_ACTIVE_PROCESS_HEAD
        raise SymbolException("'%s' - symbol not found" % name.partition("!")[2])

    @api
    def typedVarList(head, tname, entry):
        if tname not in TYPES:
            raise SymbolException("'%s' - symbol not found" % tname.partition("!")[2])
        off = TYPES[tname][1][entry][0]
        out, link = [], engine.qword(head)
        engine.link_reads += 1
        while link != head:
            out.append(TypedVar(engine, tname, link - off, {}))
            link = engine.qword(link)
            engine.link_reads += 1
            if len(out) > 100000:
                raise DbgException("list too long")
        return out

    @api
    def containingRecord(addr, tname, entry):
        return TypedVar(engine, tname, addr - TYPES[tname][1][entry][0], {})

    @api
    def getModulesList():
        return [Module(engine, raw) for raw in engine.modules]

    return m


EVALUATE_FAILED = "Call IDebugControl::Evaluate failed\nHRESULT 0x80040205"


def _evaluate(engine: KernelEngine, t: str) -> int:
    s = engine.session
    for fn, size in (("poi(", 4 if s["cpu"] == "I386" else 8), ("dwo(", 4)):
        if t.startswith(fn) and t.endswith(")"):
            addr = _evaluate(engine, t[len(fn):-1])
            try:
                return int.from_bytes(engine.read(addr, size), "little")
            except MemoryException:
                raise DbgException(EVALUATE_FAILED) from None
    if "+" in t:
        return sum(_evaluate(engine, part.strip()) for part in t.split("+"))
    pseudo = {"@$thread": engine.thread, "@$proc": engine.process,
              "@$prcb": h(s.get("prcb"))}
    if t in pseudo:
        if pseudo[t] is None:
            raise DbgException(EVALUATE_FAILED)
        return pseudo[t]
    if t.startswith("nt!"):
        address = {k.lower(): h(v) for k, v in s.get("variables", {}).items()}.get(t)
        if address is None or "nt" not in s.get("symbols", []):
            raise DbgException(EVALUATE_FAILED)
        return address
    try:
        if t.startswith("0n"):
            return int(t[2:], 10)
        return int(t[2:] if t.startswith("0x") else t.replace("`", ""), 16)
    except ValueError:
        raise DbgException(EVALUATE_FAILED) from None


# -- building a system ----------------------------------------------------------------------

class KernelSystem:
    """Processes and threads, turned into a fake session plus memory by engine()."""

    def __init__(self) -> None:
        self.processes: "OrderedDict[int, FakeProcess]" = OrderedDict()
        self.current: Optional[int] = None
        self.extra_modules: List[dict] = []

    def add(self, image: str, t: FakeThread) -> FakeThread:
        p = self.processes.setdefault(t.process, FakeProcess(t.process, image))
        p.threads.append(t)
        return t

    def add_log(self, path, current_running: bool = False) -> List[FakeThread]:
        got = [self.add(image, t) for image, t in parse_log(Path(path))]
        if current_running and self.current is None:
            self.current = next((t.address for t in got if t.state == "RUNNING"), None)
        return got

    def threads(self) -> List[FakeThread]:
        return [t for p in self.processes.values() for t in p.threads]

    def thread(self, addr: int) -> FakeThread:
        return next(t for t in self.threads() if t.address == addr)

    # -- the session the base engine reads, and the memory ------------------------------------
    def _frames(self, t: FakeThread) -> List[dict]:
        frames, prev_ret = [], None
        for r in t.rows:
            sym = symbol(r["site"])
            ip = r["inline_at"] if r["inline"] else prev_ret
            frames.append({"ip": ip, "ret": r["ret"], "sp": r["sp"], "fp": None,
                           "inline": r["inline"], "symbol": sym})
            if not r["inline"]:
                prev_ret = r["ret"]
        for i, f in enumerate(frames):
            if f["inline"]:
                holder = next((g for g in frames[i:] if not g["inline"]), f)
                f["sp"], f["ret"] = holder["sp"], holder["ret"]
        return frames

    def session(self) -> Tuple[dict, Dict[int, List[dict]]]:
        frames_of = {t.address: self._frames(t) for t in self.threads()}
        by_mod: Dict[str, List[int]] = {}
        for frames in frames_of.values():
            for f in frames:
                if f["symbol"][0] is not None and f["ip"] is not None:
                    by_mod.setdefault(f["symbol"][0], []).append(f["ip"])
        spare = 0xFFFFF80770000000
        lowest: Dict[str, int] = {}
        for frames in frames_of.values():  # frame 0's ip: just below its module's known code
            for f in frames:
                mod = f["symbol"][0]
                if f["ip"] is None:
                    if mod is None:
                        f["ip"] = 0x10000
                        continue
                    if mod not in lowest:
                        known = by_mod.get(mod)
                        if not known:
                            known = by_mod.setdefault(mod, [spare + 0x2000])
                            spare += 0x100000
                        lowest[mod] = (min(known) & ~0xF) - 0x400
                        known.append(lowest[mod])
                    f["ip"] = lowest[mod]
        modules = self.extra_modules or _place(by_mod)
        threads = []
        for t in self.threads():
            frames = frames_of[t.address][:t.walk_stops_after]
            sp0 = frames[0]["sp"] if frames else t.current
            threads.append({"address": hex(t.address), "process": hex(t.process),
                            "regs": {"rsp": hex(sp0 or t.current),
                                     "rip": hex(frames[0]["ip"] if frames else 0)},
                            "frames": [_hexed(f) for f in frames]})
        kthreads = {hex(t.address): {"StackBase": hex(t.base), "StackLimit": hex(t.limit),
                                     "InitialStack": hex(t.init), "KernelStack": hex(t.current)}
                    for t in self.threads()}
        current = self.current or (self.threads()[0].address if self.threads() else 0)
        s = {"name": "kernel", "cpu": "AMD64", "kernel": True, "dump": True, "symbols": ["nt"],
             "implicit_thread": hex(current),
             "implicit_process": hex(self.thread(current).process) if self.threads() else None,
             "bugcheck": None, "modules": modules, "threads": threads,
             "types": {"nt!_KTHREAD": kthreads}}
        return s, frames_of

    def engine(self, windbg_ext: bool = True) -> KernelEngine:
        s, frames_of = self.session()
        e = KernelEngine(s, windbg_ext)
        for frames in frames_of.values():  # symbols of the frames a cut-short walk misses too
            for f in frames:
                if not f["inline"]:
                    e.symtab.setdefault(f["ip"], f["symbol"])
        self._lists(e)
        for t in self.threads():
            self._stack(e, t, frames_of[t.address])
        make_kernel_module(e)
        return e

    def _lists(self, e: KernelEngine) -> None:
        kt, et, ep = (TYPES[n][1] for n in ("nt!_KTHREAD", "nt!_ETHREAD", "nt!_EPROCESS"))
        procs = list(self.processes.values())
        links = [p.address + ep["ActiveProcessLinks"][0] for p in procs]
        _ring(e, PS_ACTIVE_PROCESS_HEAD, links)
        for p in procs:
            e.write(p.address + ep["ImageFileName"][0], p.image.encode("latin-1")[:14] + b"\0")
            _ring(e, p.address + ep["ThreadListHead"][0],
                  [t.address + et["ThreadListEntry"][0] for t in p.threads])
            for t in p.threads:
                for name, value in (("InitialStack", t.init), ("StackLimit", t.limit),
                                    ("StackBase", t.base), ("KernelStack", t.current),
                                    ("Process", t.process)):
                    e.write(t.address + kt[name][0], struct.pack("<Q", value))
                e.write(t.address + kt["State"][0], bytes([STATES.get(t.state, 5)]))
                e.write(t.address + kt["WaitReason"][0],
                        bytes([WAIT_REASONS.get(t.reason or "", 0)]))

    def _stack(self, e: KernelEngine, t: FakeThread, frames: List[dict]) -> None:
        """[Limit, Base): zero below the mark, FILLER above, return addresses where the calls
        pushed them. A stack the log calls not resident is left out of memory."""
        if not t.resident or not t.base or not t.limit:
            return
        e.map(t.limit, t.base)
        mark = t.mark if t.mark is not None else t.current - 0x800
        mark = max(mark, t.limit)
        e.write(mark, struct.pack("<Q", FILLER) * ((t.base - mark) // 8))
        phys = [f for f in frames if not f["inline"]]
        for callee, caller in zip(phys, phys[1:]):
            slot = caller["sp"] - 8
            if t.limit <= slot < t.base and callee["ret"]:
                e.write(slot, struct.pack("<Q", callee["ret"]))


def _ring(e: KernelEngine, head: int, entries: Sequence[int]) -> None:
    """A circular LIST_ENTRY list: head <-> entries... <-> head (Flink, Blink)."""
    chain = [head] + list(entries)
    for i, at in enumerate(chain):
        e.write(at, struct.pack("<QQ", chain[(i + 1) % len(chain)], chain[i - 1]))


def _hexed(f: dict) -> dict:
    return dict(f, **{k: hex(f[k]) for k in ("ip", "ret", "sp") if f.get(k) is not None})


def _place(by_mod: Dict[str, List[int]]) -> List[dict]:
    """Module ranges around the code addresses seen. A name seen on several machines (nt in
    every log) gets one range per cluster of addresses, so ranges never overlap."""
    ranges: List[dict] = []
    for mod, ips in by_mod.items():
        ips = sorted(ips)
        cluster = [ips[0]]
        for ip in ips[1:] + [None]:
            if ip is not None and ip - cluster[-1] < 0x2000000:
                cluster.append(ip)
                continue
            ranges.append({"name": mod, "image": mod + ".sys", "begin": (cluster[0] & ~0xFFF) -
                           0x1000, "end": (cluster[-1] | 0xFFF) + 1, "company": None,
                           "symfile": mod + ".pdb"})
            if ip is not None:
                cluster = [ip]
    ranges.sort(key=lambda r: r["begin"])
    for a, b in zip(ranges, ranges[1:]):
        assert a["end"] <= b["begin"], (a, b)
    return [dict(r, begin=hex(r["begin"]), end=hex(r["end"])) for r in ranges]


LOGS = ("116", "101", "102", "104", "106", "107", "117", "122")


def fixture_system() -> KernelSystem:
    """Every thread of the real logs: 116 (3 threads of ioctlapp.exe, the first RUNNING and the
    debugger's current thread), 101/102/104/106/107/117/122 (one thread each)."""
    sysm = KernelSystem()
    for prefix in LOGS:
        path = next(FIXTURES.glob(prefix + "_*.txt"))
        sysm.add_log(path, current_running=prefix == "116")
    return sysm


def synthetic_system(n_threads: int, frames_per_thread: int = 12, per_process: int = 25,
                     driver_every: int = 10) -> KernelSystem:
    """`n_threads` waiting threads in processes of `per_process`, each with a walkable stack of
    `frames_per_thread` frames (every `driver_every`-th one through drv0.sys), for counting."""
    sysm = KernelSystem()
    nt, drv = 0xFFFFF80530000000, 0xFFFFF80540000000
    sysm.extra_modules = [
        {"name": "nt", "image": "ntoskrnl.exe", "begin": hex(nt), "end": hex(nt + 0x1000000),
         "company": "Microsoft Corporation", "symfile": "nt.pdb"},
        {"name": "drv0", "image": "drv0.sys", "begin": hex(drv), "end": hex(drv + 0x10000),
         "company": "Contoso Ltd.", "symfile": "drv0.pdb"}]
    code: Dict[str, int] = {}  # one address per call site, in its module
    used = {"nt": 0, "drv0": 0}

    def ret_into(site: str) -> int:
        if site not in code:
            mod = site.split("!")[0]
            code[site] = (drv if mod == "drv0" else nt) + 0x1000 + 0x40 * used[mod]
            used[mod] += 1
        return code[site]

    for i in range(n_threads):
        addr = 0xFFFF900000000080 + i * 0x1000
        proc = 0xFFFF800000000080 + (i // per_process) * 0x2000
        base = 0xFFFFA00000000000 + i * 0x10000
        current = base - 0x200 - frames_per_thread * 0x60 - (i * 0x40) % 0x3000
        t = FakeThread(addr, proc, "WAIT", "Executive", base - 0x230, current, base,
                       base - 0x7000, source="synthetic %d" % i)
        sites = ["%s!Func%d+0x%x" % ("drv0" if driver_every and i % driver_every == 0 and k == 3
                                     else "nt", k, 0x10 + k) for k in range(frames_per_thread)]
        if sites:
            sites[-1] = "nt!KiStartSystemThread+0x34"
        sp = current + 0x40
        for k, site in enumerate(sites):
            ret = ret_into(sites[k + 1]) if k + 1 < len(sites) else 0
            t.rows.append({"sp": sp, "ret": ret, "inline": False, "inline_at": None,
                           "site": site})
            sp += 0x60
        sysm.add("proc%d.exe" % (i // per_process), t)
    sysm.current = sysm.threads()[0].address if n_threads else None
    return sysm
