"""What a function's code calls, from capstone's disassembly (Intel syntax, addresses as RVAs).

Calls and jumps out of the function are edges: `call 0x1510` a call, `jmp 0x1510` (or a
conditional jump) to another function a tail call; `call qword ptr [rip + X]` with X an import
address slot a call to that import, and so is `call rax` after `mov rax, qword ptr [rip + X]`.
Anything else through a register or memory is an indirect call (CFG's
`call qword ptr [rip + __guard_dispatch_icall_fptr]` included). `sub rsp, <register>` after the
prologue is a run-time allocation (alloca). `lea reg, [rip + X]` takes X's address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Set, Tuple

import capstone

CALL, TAIL, IMPORT, INDIRECT, CFG = "call", "tail", "import", "indirect", "cfg"
LEAF_SCAN_LIMIT = 64  # instructions read of a function without unwind data (thunks, leaves)

# "qword ptr [rip + 0x7d7e]", "[rip - 0x10]"
_RIP = re.compile(r"\[rip ([+-]) (0x[0-9a-f]+|\d+)\]")
# "0x1510" (a direct target, already an RVA: code is disassembled at its RVA)
_IMM = re.compile(r"^0x[0-9a-f]+$|^\d+$")
# "rax, qword ptr [rip + 0x1234]" -> rax
_DEST = re.compile(r"^([a-z0-9]+),")
# "rsp, rax" / "rsp, r10" (not "rsp, 0x28")
_SUB_RSP_REG = re.compile(r"^rsp, [a-z][a-z0-9]*$")


@dataclass
class Site:
    kind: str                 # CALL, TAIL, IMPORT, INDIRECT, CFG
    at: int                   # rva of the instruction
    target: Optional[int] = None   # rva (CALL, TAIL)
    name: Optional[str] = None     # dll!name (IMPORT)


@dataclass
class Scan:
    sites: List[Site] = field(default_factory=list)
    dynamic_at: Optional[int] = None      # rva of `sub rsp, reg` after the prologue
    address_taken: Set[int] = field(default_factory=set)
    returns: bool = False


class Disassembler:
    def __init__(self, imports: Dict[int, str], guard_pointers: Set[int],
                 inside: Callable[[int], bool]):
        self._cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        self._imports = imports
        self._guard = guard_pointers
        self._inside = inside     # is an rva in executable code?

    def instructions(self, code: bytes, rva: int):
        """(address, size, mnemonic, op_str), resuming a byte later past undecodable bytes."""
        pos = 0
        while pos < len(code):
            last = None
            for insn in self._cs.disasm_lite(code[pos:], rva + pos):
                last = insn
                yield insn
            pos = (last[0] + last[1] - rva) if last else pos + 1
            if last is not None and pos < len(code):
                pos += 1  # capstone stopped at an undecodable byte

    def scan(self, code: bytes, rva: int, spans: List[Tuple[int, int]], prolog_end: int,
             limit: Optional[int] = None) -> Scan:
        """Edges out of one function whose code is `spans` ([start, end) rvas); `code` starts
        at `rva`. With `limit`, stop after that many instructions or at the first ret/jmp."""
        out, loaded = Scan(), {}  # loaded: register -> import name (mov reg, [rip+IAT])
        for n, (addr, size, mnem, ops) in enumerate(self.instructions(code, rva)):
            if limit is not None and n >= limit:
                break
            is_jump = mnem.startswith("j")
            if mnem == "call" or is_jump:
                rex_w = code[addr - rva] & 0xF8 == 0x48
                self._branch(out, (addr, size, mnem, ops), spans, loaded, rex_w)
                if limit is not None and mnem == "jmp":
                    break
            elif mnem == "mov" or mnem == "lea":
                dest = _DEST.match(ops)
                rip = _RIP.search(ops)
                if dest:
                    loaded.pop(dest.group(1), None)
                if rip and dest:
                    slot = _rip_target(addr, size, rip)
                    if mnem == "mov" and slot in self._imports:
                        loaded[dest.group(1)] = self._imports[slot]
                    elif mnem == "lea" and self._inside(slot):
                        out.address_taken.add(slot)
            elif mnem == "sub" and addr >= prolog_end and _SUB_RSP_REG.match(ops):
                out.dynamic_at = out.dynamic_at if out.dynamic_at is not None else addr
            elif mnem == "ret" or mnem.endswith(" ret"):  # "ret", "ret 8", "repz ret"
                out.returns = True
                if limit is not None:
                    break
        return out

    def _branch(self, out: Scan, insn: Tuple[int, int, str, str],
                spans: List[Tuple[int, int]], loaded: Dict[str, str], rex_w: bool) -> None:
        addr, size, mnem, ops = insn
        call = mnem == "call"
        if _IMM.match(ops):
            target = int(ops, 0)
            if call or not any(a <= target < b for a, b in spans):  # a call may recurse
                out.sites.append(Site(CALL if call else TAIL, addr, target=target))
            return
        if not call and mnem != "jmp":
            return
        rip = _RIP.search(ops)
        slot = _rip_target(addr, size, rip) if rip and ops.startswith("qword ptr") else None
        if slot in self._imports:
            out.sites.append(Site(IMPORT, addr, name=self._imports[slot]))
        elif ops in loaded:
            out.sites.append(Site(IMPORT, addr, name=loaded[ops]))
        elif slot in self._guard:
            out.sites.append(Site(CFG, addr))
        elif call or ops.startswith("qword ptr") or rex_w:
            # `jmp rax` is a switch inside the function; an indirect tail call is a jump
            # through memory or carries a REX.W prefix (48 ff e0), which x64 compilers put on
            # jumps that leave the function so the unwinder knows the epilogue
            out.sites.append(Site(INDIRECT, addr))


def _rip_target(addr: int, size: int, m: "re.Match[str]") -> int:
    disp = int(m.group(2), 0)
    return addr + size + (disp if m.group(1) == "+" else -disp)
