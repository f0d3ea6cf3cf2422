"""An x64 PE image as stackext needs it, read with pefile: the .pdata entries with their
prologues (chained entries pointing at the entry they continue), exports, import address slots,
the entry point, the CFG dispatch pointers and the CodeView record naming the PDB.

The only module that names pefile's API.
"""

from __future__ import annotations

import os
import struct
import uuid
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

import pefile

from stackext.binary.unwind import Prologue, of_unwind_info
from stackext.errors import StackextError

AMD64 = 0x8664
RUNTIME_FUNCTION_SIZE = 12
DEBUG_ENTRY = 28  # IMAGE_DEBUG_DIRECTORY
DIRECTORIES = ["IMAGE_DIRECTORY_ENTRY_EXCEPTION", "IMAGE_DIRECTORY_ENTRY_EXPORT",
               "IMAGE_DIRECTORY_ENTRY_IMPORT", "IMAGE_DIRECTORY_ENTRY_DEBUG",
               "IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG"]
EXECUTE = 0x20000000  # IMAGE_SCN_MEM_EXECUTE
DISCARDABLE = 0x02000000  # IMAGE_SCN_MEM_DISCARDABLE


@dataclass
class Entry:
    """One RUNTIME_FUNCTION: [begin, end) with its own prologue; `parent` is the begin of the
    entry it continues (UNW_FLAG_CHAININFO), None for a primary entry."""
    begin: int
    end: int
    prologue: Prologue
    parent: Optional[int] = None


@dataclass
class Image:
    path: str
    module: str
    image_base: int
    entry_point: Optional[int]
    entries: List[Entry] = field(default_factory=list)
    pdata_expected: int = 0
    exports: Dict[int, str] = field(default_factory=dict)      # rva -> name
    imports: Dict[int, str] = field(default_factory=dict)      # IAT slot rva -> dll!name
    guard_pointers: Set[int] = field(default_factory=set)     # rvas of CFG dispatch/check ptrs
    code: List[Tuple[int, int]] = field(default_factory=list)   # executable [start, end) rvas
    data: List[Tuple[int, int]] = field(default_factory=list)   # other sections
    pdb_name: Optional[str] = None
    pdb_guid: Optional[str] = None
    pdb_age: Optional[int] = None
    warnings: List[str] = field(default_factory=list)
    _pe: Optional[pefile.PE] = None

    def read(self, rva: int, size: int) -> bytes:
        assert self._pe is not None
        return self._pe.get_data(rva, size)

    def default_pdb(self) -> Optional[str]:
        """The PDB named in the debug directory, looked for next to the binary."""
        if not self.pdb_name:
            return None
        base = self.pdb_name.replace("\\", "/").rsplit("/", 1)[-1]
        candidate = os.path.join(os.path.dirname(os.path.abspath(self.path)), base)
        return candidate if os.path.isfile(candidate) else None


def load(path: str) -> Image:
    try:
        pe = pefile.PE(path, fast_load=True)
    except OSError as e:
        raise StackextError("cannot read: %s" % (e.strerror or e), path) from None
    except pefile.PEFormatError as e:
        raise StackextError("not a PE image (%s)" % e.value, path) from None
    return _image(pe, path, os.path.splitext(os.path.basename(path))[0].lower())


def _image(pe: pefile.PE, path: str, module: str) -> Image:
    if pe.FILE_HEADER.Machine != AMD64:
        raise StackextError("only x64 images carry the unwind data this reads (machine 0x%x)"
                            % pe.FILE_HEADER.Machine, path)
    pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY[d] for d in DIRECTORIES])
    image = Image(path=path, module=module, image_base=pe.OPTIONAL_HEADER.ImageBase,
                  entry_point=pe.OPTIONAL_HEADER.AddressOfEntryPoint or None, _pe=pe)
    for s in pe.sections:
        span = (s.VirtualAddress, s.VirtualAddress + max(s.Misc_VirtualSize, s.SizeOfRawData))
        if s.Characteristics & EXECUTE:
            image.code.append(span)
        elif not s.Characteristics & DISCARDABLE:  # .reloc, DWARF's /4...: no dispatch tables
            image.data.append(span)
    _entries(pe, image)
    _names(pe, image)
    _debug(pe, image)
    return image


@dataclass
class Section:
    name: str
    rva: int
    size: int        # in memory (VirtualSize)
    raw_size: int    # in the file (SizeOfRawData): what a mapped image file backs
    flags: int


def headers(data: bytes, where: str) -> Tuple[int, List[Section]]:
    """SizeOfHeaders and the section table of an image's first bytes (mapped or file)."""
    try:
        pe = pefile.PE(data=data, fast_load=True)
    except pefile.PEFormatError as e:
        raise StackextError("not a PE image in memory (%s)" % e.value, where) from None
    return pe.OPTIONAL_HEADER.SizeOfHeaders, [
        Section(s.Name.rstrip(b"\0").decode("ascii", "replace"), s.VirtualAddress,
                s.Misc_VirtualSize, s.SizeOfRawData, s.Characteristics) for s in pe.sections]


def load_mapped(data: bytes, module: str, where: str, base: int) -> Image:
    """An image as the loader mapped it at `base` (`data[rva]` is the byte at base + rva, holes
    zero): its section headers and debug directory are pointed at their RVAs, then read as a
    file. Pointers the loader relocated (load config, data) are taken against `base`."""
    buf = bytearray(data)
    try:
        pe = pefile.PE(data=bytes(buf), fast_load=True)
    except pefile.PEFormatError as e:
        raise StackextError("not a PE image in memory (%s)" % e.value, where) from None
    for s in pe.sections:
        at = s.get_file_offset()
        size = max(0, min(max(s.Misc_VirtualSize, s.SizeOfRawData), len(buf) - s.VirtualAddress))
        struct.pack_into("<II", buf, at + 16, size, s.VirtualAddress)  # SizeOfRawData, Pointer..
    debug = pe.OPTIONAL_HEADER.DATA_DIRECTORY[pefile.DIRECTORY_ENTRY[DIRECTORIES[3]]]
    for at in range(debug.VirtualAddress, debug.VirtualAddress + debug.Size - 27, DEBUG_ENTRY):
        if at + DEBUG_ENTRY <= len(buf):  # AddressOfRawData -> PointerToRawData
            struct.pack_into("<I", buf, at + 24, struct.unpack_from("<I", buf, at + 20)[0])
    image = _image(pefile.PE(data=bytes(buf), fast_load=True), where, module)
    image.guard_pointers = {rva + image.image_base - base for rva in image.guard_pointers}
    image.image_base = base
    return image


def _entries(pe: pefile.PE, image: Image) -> None:
    directory = pe.OPTIONAL_HEADER.DATA_DIRECTORY[pefile.DIRECTORY_ENTRY[DIRECTORIES[0]]]
    image.pdata_expected = directory.Size // RUNTIME_FUNCTION_SIZE
    for rf in getattr(pe, "DIRECTORY_ENTRY_EXCEPTION", None) or []:
        ui = rf.unwindinfo
        parent = getattr(ui, "FunctionEntry", None) if ui is not None else None
        if ui is None and rf.struct.UnwindData & 1:   # an entry pointing at another entry
            parent = _begin_at(pe, rf.struct.UnwindData & ~1)
        image.entries.append(Entry(rf.struct.BeginAddress, rf.struct.EndAddress,
                                   of_unwind_info(ui), parent))
    parsed = len(image.entries)
    if parsed < image.pdata_expected:
        after = ("after RVA 0x%x" % image.entries[-1].begin) if image.entries else "at the start"
        image.warnings.append(
            "pefile decoded %d of the %d .pdata entries (it stops at the first unwind record "
            "it cannot decode, %s); functions past that are not listed"
            % (parsed, image.pdata_expected, after))


def _begin_at(pe: pefile.PE, rva: int) -> Optional[int]:
    data = pe.get_data(rva, 4)
    return int.from_bytes(data, "little") if len(data) == 4 else None


def _names(pe: pefile.PE, image: Image) -> None:
    exports = getattr(pe, "DIRECTORY_ENTRY_EXPORT", None)
    for sym in exports.symbols if exports else []:
        if sym.address and not sym.forwarder:
            name = sym.name.decode("ascii", "replace") if sym.name else "#%d" % sym.ordinal
            image.exports.setdefault(sym.address, name)
    for dll in getattr(pe, "DIRECTORY_ENTRY_IMPORT", None) or []:
        lib = os.path.splitext(dll.dll.decode("ascii", "replace"))[0].lower()
        for imp in dll.imports:
            name = imp.name.decode("ascii", "replace") if imp.name else "#%d" % imp.ordinal
            image.imports[imp.address - image.image_base] = "%s!%s" % (lib, name)
    config = getattr(pe, "DIRECTORY_ENTRY_LOAD_CONFIG", None)
    for key in ("GuardCFDispatchFunctionPointer", "GuardCFCheckFunctionPointer"):
        va = getattr(config.struct, key, 0) if config else 0
        if va:
            image.guard_pointers.add(va - image.image_base)


def _debug(pe: pefile.PE, image: Image) -> None:
    for d in getattr(pe, "DIRECTORY_ENTRY_DEBUG", None) or []:
        cv = d.entry
        if cv is not None and getattr(cv, "CvSignature", b"") == b"RSDS":
            image.pdb_name = cv.PdbFileName.rstrip(b"\0").decode("utf-8", "replace")
            raw = cv.__pack__()[4:20]
            image.pdb_guid = str(uuid.UUID(bytes_le=bytes(raw))).upper()
            image.pdb_age = cv.Age
            return
