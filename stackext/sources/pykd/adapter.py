"""The only module that names pykd's API. `Debugger(pykd_module)` wraps the module object
(the real pykd from `Debugger.load()`, a fake or a recording wrapper in tests) and answers in
plain Python values; every pykd exception becomes a DebuggerError (SymbolError when symbols or
types are missing) here, so nothing outside this module catches pykd's exceptions.

Ctrl+Break arrives inside a pykd call as SystemExit("CTRL+BREAK"): it passes through untouched.
Never calls anything that writes target memory or registers.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from stackext.errors import StackextError
from stackext.sources.pykd import scrape
from stackext.sources.pykd.failures import (
    DebuggerError,
    RawFrame,
    SymbolError,
    boundary,
    first_line,
)

# pykd.CPUType member -> stackext's architecture name
_ARCH_OF_CPU = (("I386", "x86"), ("AMD64", "x64"), ("ARM64", "arm64"))


class Debugger:
    """pykd's calls in stackext's words. Construct with the pykd module object."""

    def __init__(self, pykd: Any):
        self.pykd = pykd
        self._lm: Optional[str] = None

    @classmethod
    def load(cls) -> "Debugger":
        try:
            import pykd  # noqa: PLC0415 - the one function-level import: only this backend needs it
        except ImportError:
            raise StackextError(
                "pykd is not available: run this inside WinDbg after `.load pykd` "
                "(pip install \"stackext[pykd]\": Windows, Python 3.8 or 3.9)") from None
        return cls(pykd)

    def _call(self, fn: Callable[..., Any], *args: Any, also: tuple = ()) -> Any:
        """fn(*args) with pykd's exceptions (and `also`) turned into DebuggerError."""
        p = self.pykd
        try:
            return fn(*args)
        except p.SymbolException as exc:
            raise SymbolError(first_line(exc)) from None
        except p.DbgException as exc:
            raise DebuggerError(first_line(exc)) from None
        except also as exc:
            raise DebuggerError(first_line(exc)) from None

    # -- the target ---------------------------------------------------------------------------
    def in_windbg(self) -> bool:
        return bool(self._call(self.pykd.isWindbgExt))

    def is_kernel(self) -> bool:
        return bool(self._call(self.pykd.isKernelDebugging))

    def is_dump(self) -> bool:
        return bool(self._call(self.pykd.isDumpAnalyzing))

    def is_64bit(self) -> bool:
        return bool(self._call(self.pykd.is64bitSystem))

    def arch(self) -> Tuple[Optional[str], str]:
        """(x86 / x64 / arm64, or None when stackext does not know it; the mode's name)."""
        mode = self._call(self.pykd.getCPUMode)
        for name, arch in _ARCH_OF_CPU:
            if mode == getattr(self.pykd.CPUType, name, None):
                return arch, name
        return None, str(mode)

    def page_size(self) -> Optional[int]:
        try:
            return int(self._call(self.pykd.pageSize)) or None
        except (DebuggerError, AttributeError):
            return None

    # -- register context and scope (state: the caller puts back what it changes) -------------
    def implicit_thread(self) -> int:
        return int(self._call(self.pykd.getImplicitThread))

    def implicit_process(self) -> int:
        return int(self._call(self.pykd.getImplicitProcess))

    def frame_number(self) -> int:
        return int(self._call(self.pykd.getFrameNumber))

    def sp(self) -> int:
        return int(self._call(self.pykd.getSP))

    def reg(self, name: str) -> int:
        return int(self._call(self.pykd.reg, name))

    def context_is_set(self, sp_register: str) -> bool:
        """A .cxr/.trap (or .frame /c) context is in place: reg() reads the scope's registers
        while getSP() stays the thread's own (real engine, tests/realengine/FINDINGS.md)."""
        return self.reg(sp_register) != self.sp()

    def set_context(self, command: str, addr: Optional[int]) -> None:
        """`.cxr ADDR` or `.trap ADDR`, or `.ecxr` (the exception's context, no address): the
        scope's register context (target state unchanged)."""
        if command == ".ecxr" and addr is None:
            self.command(command)
            return
        if command not in (".cxr", ".trap") or addr is None:
            raise ValueError(command)
        self.command("%s %x" % (command, addr))

    def reset_context(self) -> None:
        """`.cxr` without an address: back to the thread's own registers, frame 0."""
        self.command(".cxr")

    def set_implicit_thread(self, addr: int) -> None:
        self._call(self.pykd.setImplicitThread, addr)

    def set_implicit_process(self, addr: int) -> None:
        self._call(self.pykd.setImplicitProcess, addr)

    def set_frame(self, number: int) -> None:
        self._call(self.pykd.setFrame, number)

    # -- stack and symbols ----------------------------------------------------------------------
    def stack(self, x86: bool) -> List[RawFrame]:
        """getStack(inlineFrames=True), each frame with its findSymbol text."""
        p = self.pykd
        try:
            raw = self._call(p.getStack, True)
        except TypeError:  # an older pykd without the inlineFrames argument
            raw = self._call(p.getStack)
        return [self._raw_frame(sf, x86) for sf in raw]

    def _raw_frame(self, sf: Any, x86: bool) -> RawFrame:
        ip = int(sf.instructionOffset)
        inline = bool(sf.isInline())
        try:
            if inline:
                # findSymbol(ip) names the function the code was inlined into; the frame knows
                # its own.
                mod, func, disp = self._call(sf.findSymbol)
                symbol = "%s!%s%s%x" % (mod, func, "-" if disp < 0 else "+", abs(disp))
            else:
                symbol = self._call(self.pykd.findSymbol, ip)
        except DebuggerError:
            symbol = "%x" % ip
        # An inline frame has no stack of its own: no sp and no return address.
        sp = None if inline else int(sf.frameOffset if x86 else sf.stackOffset)
        ret = None if inline else int(sf.returnOffset)
        return RawFrame(ip=ip, sp=sp, ret=ret, inline=inline, symbol=symbol)

    def symbol(self, addr: int) -> str:
        return str(self._call(self.pykd.findSymbol, addr))

    def symbol_address(self, name: str) -> int:
        return int(self._call(self.pykd.getOffset, name))

    def module(self, addr: int) -> "Module":
        mod = self._call(self.pykd.module, addr)
        return Module(self, mod, int(self._call(mod.begin)), int(self._call(mod.end)))

    def module_named(self, name: str) -> "Module":
        """A loaded module by its name (`irp`, `amdppm`): module(name), answered locally."""
        mod = self._call(self.pykd.module, name)
        return Module(self, mod, int(self._call(mod.begin)), int(self._call(mod.end)))

    def modules(self) -> Optional[List[Tuple[int, int, str]]]:
        """Every loaded module's [begin, end) and name in one call (getModulesList); None when
        this pykd cannot answer it."""
        try:
            mods = self._call(self.pykd.getModulesList, also=(AttributeError, TypeError))
            return [(int(self._call(m.begin)), int(self._call(m.end)), str(self._call(m.name)))
                    for m in mods]
        except (DebuggerError, AttributeError, TypeError):
            return None

    # -- types and memory -----------------------------------------------------------------------
    def typed(self, tname: str, addr: int) -> "Var":
        """typedVar(tname, addr); its fields are read one by one through Var.field."""
        return Var(self, self._call(self.pykd.typedVar, tname, addr))

    def field_layout(self, tname: str, fields: Sequence[str]) -> Dict[str, Tuple[int, int]]:
        """Offset and size of each field of `tname` that the symbols have (typeInfo: local)."""
        ti = self._call(self.pykd.typeInfo, tname)
        out: Dict[str, Tuple[int, int]] = {}
        for name in fields:
            try:
                out[name] = (int(self._call(ti.fieldOffset, name, also=(AttributeError,))),
                             int(self._call(lambda n=name: ti.field(n).size(),
                                            also=(AttributeError,))))
            except DebuggerError:
                continue
        return out

    def type_size(self, name: str) -> int:
        return int(self._call(lambda: self.pykd.typeInfo(name).size(),
                              also=(AttributeError, TypeError, ValueError)))

    def list_entries(self, head: int, tname: str, entry: str) -> List[int]:
        """The records of a LIST_ENTRY list (one typedVarList call: the engine follows links)."""
        return [int(tv.getAddress())
                for tv in self._call(self.pykd.typedVarList, head, tname, entry)]

    def read_bytes(self, addr: int, count: int) -> bytes:
        # loadBytes returns a list of ints on the real engine (tests/realengine/FINDINGS.md)
        return bytes(self._call(self.pykd.loadBytes, addr, count))

    def read_pointers(self, addr: int, count: int) -> List[int]:
        return [int(w) for w in self._call(self.pykd.loadPtrs, addr, count)]

    def read_dwords(self, addr: int, count: int) -> List[int]:
        return [int(w) for w in self._call(self.pykd.loadDWords, addr, count)]

    def bugcheck(self) -> Optional[List[int]]:
        """Code and four arguments; None on a dump without a bugcheck or a live target."""
        try:
            data = self._call(self.pykd.bugCheckData)
        except DebuggerError:
            return None
        if hasattr(data, "code"):
            return [int(v) for v in (data.code, data.arg1, data.arg2, data.arg3, data.arg4)]
        return [int(v) for v in data]

    # -- commands without an API, dumps, output ---------------------------------------------------
    def command(self, cmd: str) -> str:
        """dbgCommand's output; "" when the command prints nothing (pykd gives None)."""
        return self._call(self.pykd.dbgCommand, cmd) or ""

    def command_or_empty(self, cmd: str) -> str:
        """The same, "" when the engine refuses the command (an older engine, no target)."""
        try:
            return self.command(cmd)
        except DebuggerError:
            return ""

    def lm_text(self) -> str:
        """`lm`, asked once (module.symfile() would load each module's symbols and print a
        7-line "Symbol Loading Error Summary" per module without a PDB)."""
        if self._lm is None:
            self._lm = self.command_or_empty("lm")
        return self._lm

    def evaluate(self, expression: str) -> int:
        """The engine's own evaluator (MASM: bare numbers hex, 0n decimal, @$thread, @$teb)."""
        return int(self._call(self.pykd.expr, expression))

    def load_dump(self, path: str) -> None:
        self._call(self.pykd.loadDump, path)

    def set_symbol_path(self, path: str) -> None:
        self._call(self.pykd.setSymbolPath, path)

    def output(self, text: str, dml: bool = False) -> None:
        """Print through the debugger (dprintln), so DML reaches WinDbg's output window."""
        self.pykd.dprintln(text, dml)


class Var:
    """A typed variable in target memory: each field read is one round trip (as in pykd)."""

    def __init__(self, dbg: Debugger, tv: Any):
        self._dbg, self._tv = dbg, tv

    def field(self, name: str) -> "Var":
        """A field (a nested struct stays a Var); a missing one is a DebuggerError."""
        return Var(self._dbg, self._dbg._call(getattr, self._tv, name, also=(AttributeError,)))

    def __getitem__(self, name: str) -> int:
        return int(self.field(name))

    def __int__(self) -> int:
        return int(self._tv)


class Module:
    """One loaded module: its range, and the facts read on demand."""

    def __init__(self, dbg: Debugger, mod: Any, begin: int, end: int):
        self._dbg, self._mod = dbg, mod
        self.begin, self.end = begin, end

    def export_only(self) -> bool:
        """Does `lm` list this module with export symbols only? (no symbol load)"""
        return self.begin in scrape.export_only_starts(self._dbg.lm_text())

    def company(self) -> str:
        """The version resource's CompanyName (queryVersion; absent from most minidumps)."""
        return str(self._dbg._call(self._mod.queryVersion, "CompanyName"))


__all__ = ["Debugger", "DebuggerError", "SymbolError", "RawFrame", "Module", "Var", "boundary",
           "first_line"]
