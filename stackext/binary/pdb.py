"""Function names from a PDB: public symbols (S_PUB32) and procedure records (S_GPROC32,
S_LPROC32 and their _ID forms) with their frame records (S_FRAMEPROC: HasAlloca).

Microsoft's public PDBs carry publics only; a private PDB (ours, lld's) carries procedures too.
Streams (LLVM's PDB docs): 1 = PDB info (GUID, age), 3 = DBI (module list, the symbol record
stream's number, the optional debug header with the section header stream's number).
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Tuple

from stackext.binary.msf import Msf
from stackext.errors import StackextError

S_END = 0x0006
S_FRAMEPROC = 0x1012
S_PUB32 = 0x110E
S_LPROC32, S_GPROC32 = 0x110F, 0x1110
S_LPROC32_ID, S_GPROC32_ID = 0x1146, 0x1147
PROC_KINDS = (S_LPROC32, S_GPROC32, S_LPROC32_ID, S_GPROC32_ID)
FRAME_HAS_ALLOCA = 0x1
PUB_CODE = 0x1 | 0x2  # cvpsfCode | cvpsfFunction

DBI_HEADER = struct.Struct("<iIIHHHHHHiiiiiIiiHHI")  # 64 bytes
MODI_FIXED = 64  # ModInfo record before its two names
SECTION_HEADER_SLOT = 5  # in the optional debug header: the section header stream


@dataclass
class Proc:
    name: str
    rva: int
    length: int
    has_alloca: bool = False
    frame_bytes: Optional[int] = None


@dataclass
class PdbSymbols:
    guid: str
    age: int
    publics: Dict[int, str] = field(default_factory=dict)   # rva -> name (code publics)
    procs: Dict[int, Proc] = field(default_factory=dict)    # rva -> Proc

    def name(self, rva: int) -> Optional[str]:
        proc = self.procs.get(rva)
        return proc.name if proc else self.publics.get(rva)


def records(data: bytes, start: int = 0) -> Iterator[Tuple[int, bytes]]:
    """(kind, body) of every CodeView symbol record: u16 length (after itself), u16 kind."""
    pos, end = start, len(data)
    while pos + 4 <= end:
        length, kind = struct.unpack_from("<HH", data, pos)
        if length < 2:
            break
        yield kind, data[pos + 4:pos + 2 + length]
        pos += 2 + length


def _cstr(data: bytes, pos: int) -> str:
    end = data.find(b"\0", pos)
    return data[pos:end if end >= 0 else len(data)].decode("utf-8", "replace")


def _rva(sections: List[int], segment: int, offset: int) -> Optional[int]:
    if 1 <= segment <= len(sections):
        return sections[segment - 1] + offset
    return None


def _modules(dbi: bytes, size: int) -> Iterator[Tuple[int, int]]:
    """(symbol stream, symbol bytes) of every module in the DBI ModInfo substream."""
    pos, end = DBI_HEADER.size, DBI_HEADER.size + size
    while pos + MODI_FIXED <= end:
        stream, sym_bytes = struct.unpack_from("<HI", dbi, pos + 34)
        pos = dbi.find(b"\0", pos + MODI_FIXED) + 1      # module name
        pos = dbi.find(b"\0", pos) + 1                   # object file name
        pos = (pos + 3) & ~3
        if pos <= 0:
            break
        yield stream, sym_bytes


def _procs(data: bytes, sections: List[int]) -> Iterator[Proc]:
    """Procedures of one module symbol stream (after its 4-byte signature)."""
    current: Optional[Proc] = None
    for kind, body in records(data, 4):
        if kind in PROC_KINDS and len(body) >= 35:
            length, = struct.unpack_from("<I", body, 12)
            offset, segment = struct.unpack_from("<IH", body, 28)
            rva = _rva(sections, segment, offset)
            if current is not None:
                yield current
            current = Proc(_cstr(body, 35), rva, length) if rva is not None else None
        elif kind == S_FRAMEPROC and current is not None and len(body) >= 26:
            current.frame_bytes, = struct.unpack_from("<I", body, 0)
            flags, = struct.unpack_from("<I", body, 22)
            current.has_alloca = bool(flags & FRAME_HAS_ALLOCA)
    if current is not None:
        yield current


def _sections(msf: Msf, dbi: bytes, header: tuple) -> List[int]:
    """Virtual addresses of the image's sections, from the section header stream."""
    mod, contrib, secmap, files, tsm, _mfc, dbg_size, ec = header[9:17]
    pos = DBI_HEADER.size + mod + contrib + secmap + files + tsm + ec
    slots = struct.unpack_from("<%dH" % (dbg_size // 2), dbi, pos) if dbg_size >= 2 else ()
    if len(slots) <= SECTION_HEADER_SLOT:
        raise StackextError("PDB has no section headers (cannot place symbols)", msf.where)
    raw = msf.stream(slots[SECTION_HEADER_SLOT])
    return [struct.unpack_from("<I", raw, off + 12)[0] for off in range(0, len(raw) - 39, 40)]


def read_pdb(path: str) -> PdbSymbols:
    try:
        with open(path, "rb") as f:
            return _read(Msf(f, path))
    except OSError as e:
        raise StackextError("cannot read PDB: %s" % (e.strerror or e), path) from None
    except struct.error:
        raise StackextError("PDB is truncated or damaged", path) from None


def _read(msf: Msf) -> PdbSymbols:
    info = msf.stream(1)
    if len(info) < 28:
        raise StackextError("PDB has no info stream", msf.where)
    age, = struct.unpack_from("<I", info, 8)
    guid = str(uuid.UUID(bytes_le=info[12:28])).upper()
    dbi = msf.stream(3)
    if len(dbi) < DBI_HEADER.size:
        raise StackextError("PDB has no DBI stream (no symbols)", msf.where)
    header = DBI_HEADER.unpack_from(dbi)
    sections = _sections(msf, dbi, header)
    out = PdbSymbols(guid=guid, age=struct.unpack_from("<I", dbi, 8)[0] or age)
    for kind, body in records(msf.stream(header[7])):
        if kind == S_PUB32 and len(body) >= 10:
            flags, offset, segment = struct.unpack_from("<IIH", body)
            rva = _rva(sections, segment, offset)
            if flags & PUB_CODE and rva is not None:
                out.publics.setdefault(rva, _cstr(body, 10))
    for stream, sym_bytes in _modules(dbi, header[9]):
        if stream != 0xFFFF and sym_bytes > 4:
            for proc in _procs(msf.stream(stream)[:sym_bytes], sections):
                out.procs.setdefault(proc.rva, proc)
    return out
