"""A loaded module's image, read from the target through a `read(address, size)` callable
(None when the target cannot give those bytes) in few round trips: the headers, then each
section the analysis reads (code, unwind data, imports/exports, data with dispatch tables).

What is skipped or missing is said: `.rsrc` (never read by the analysis), discardable sections
(`.reloc`, a driver's INIT: freed after DriverEntry, so its bytes may be another allocation's),
and pages the target does not hold (a paged-out PAGE section, a minidump without the image).
A mapped image file (dbgeng serving a minidump's module from the .exe on the image path) backs
only the headers and each section's raw data: a section is tried whole, then its raw part, then
page by page.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

from stackext.binary import pe
from stackext.errors import StackextError

Read = Callable[[int, int], Optional[bytes]]

PAGE = 0x1000
HEADER_MIN = 0x200        # DOS + NT headers and the first section headers
CHUNK = 0x100000          # bytes asked for in one read
DISCARDABLE = pe.DISCARDABLE
SKIPPED = (".rsrc",)      # resources: nothing in them is read


@dataclass
class MappedImage:
    data: bytes
    reads: int = 0                     # round trips to the target
    skipped: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


class _Reader:
    def __init__(self, read: Read, base: int):
        self._read, self.base, self.reads = read, base, 0

    def get(self, rva: int, size: int) -> Optional[bytes]:
        out = bytearray()
        for at in range(rva, rva + size, CHUNK):
            self.reads += 1
            part = self._read(self.base + at, min(CHUNK, rva + size - at))
            if part is None:
                return None
            out += part
        return bytes(out)

    def pages(self, rva: int, size: int) -> Tuple[bytes, int]:
        """Page by page; missing pages are zeros. Returns (bytes, pages missing)."""
        out, missing = bytearray(), 0
        for at in range(rva, rva + size, PAGE):
            n = min(PAGE - at % PAGE, rva + size - at)
            part = self.get(at, n)
            missing += part is None
            out += part if part is not None else bytes(n)
        return bytes(out), missing


def read_image(read: Read, base: int, size: int, where: str) -> MappedImage:
    r = _Reader(read, base)
    head = r.get(0, PAGE)
    if head is None:  # a mapped image file backs only SizeOfHeaders (often 0x400) of it
        first = r.get(0, HEADER_MIN)
        head = r.get(0, _size_of_headers(first)) if first else None
    if head is None:
        raise StackextError("cannot read the image's headers at 0x%x (not in this dump?)"
                            % base, where)
    _header_size, sections = pe.headers(head, where)
    image = bytearray(size)
    image[:len(head)] = head[:size]
    out = MappedImage(b"")
    discarded = []
    for s in sections:
        if s.name in SKIPPED or s.flags & DISCARDABLE:
            out.skipped.append(s.name)
            discarded += [s.name] if s.flags & pe.EXECUTE else []
            continue
        data, missing = _section(r, s)
        image[s.rva:s.rva + len(data)] = data[:max(0, size - s.rva)]
        if missing:
            out.warnings.append("%d page(s) of %s are not in the target (paged out or not "
                                "dumped): read as zeros" % (missing, s.name))
    if discarded:
        out.warnings.append("discardable code %s not read (freed after load): its functions' "
                            "frames are known, their calls are not"
                            % ", ".join(discarded))
    out.data, out.reads = bytes(image), r.reads
    return out


def _size_of_headers(first: bytes) -> int:
    """OptionalHeader.SizeOfHeaders: e_lfanew at 0x3c, then 4 (PE\\0\\0) + 20 (file header)
    + 60 into the optional header (the same offset in PE32 and PE32+)."""
    lfanew = struct.unpack_from("<I", first, 0x3C)[0] if len(first) >= 0x40 else 0
    if lfanew + 88 > len(first):
        return len(first)
    return max(len(first), min(struct.unpack_from("<I", first, lfanew + 84)[0], PAGE))


def _section(r: _Reader, s: pe.Section) -> Tuple[bytes, int]:
    whole = r.get(s.rva, s.size) if s.size else b""
    if whole is not None:
        return whole, 0
    raw = min(s.raw_size, s.size)
    if not raw:  # uninitialized data, not in the target: zeros, as the file has it
        return bytes(s.size), 0
    if raw < s.size:
        part = r.get(s.rva, raw)
        if part is not None:
            return part + bytes(s.size - raw), 0   # past the raw data: zeros, as loaded
    return r.pages(s.rva, raw)
