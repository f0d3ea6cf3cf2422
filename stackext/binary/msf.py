"""The MSF 7.00 container a PDB is: fixed-size blocks, a stream directory, streams as block lists.

Layout (LLVM's "The MSF File Format" documents it): a superblock at offset 0, then the block
map (a list of the directory's blocks) at block `block_map_addr`, then the directory: the stream
count, every stream's size, every stream's block numbers. Reads only what it is asked for.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, List, Optional

from stackext.errors import StackextError

MAGIC = b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\x00\x00\x00"
NIL_SIZE = 0xFFFFFFFF


class Msf:
    """A PDB's streams by number. `stream(i)` returns its bytes (b"" for a nil stream)."""

    def __init__(self, f: BinaryIO, where: str):
        self._f = f
        self.where = where
        head = f.read(len(MAGIC) + 24)
        if len(head) < len(MAGIC) + 24 or head[:len(MAGIC)] != MAGIC:
            raise StackextError("not a PDB (no MSF 7.00 signature)", where)
        (self.block_size, _free_map, self.num_blocks, dir_bytes, _unknown,
         map_addr) = struct.unpack_from("<6I", head, len(MAGIC))
        if self.block_size not in (512, 1024, 2048, 4096, 8192, 16384, 32768):
            raise StackextError("PDB block size %d is not an MSF block size"
                                % self.block_size, where)
        n_dir_blocks = -(-dir_bytes // self.block_size)
        map_data = self._blocks([map_addr], n_dir_blocks * 4)
        dir_blocks = list(struct.unpack_from("<%dI" % n_dir_blocks, map_data))
        directory = self._blocks(dir_blocks, dir_bytes)
        self._parse_directory(directory)

    def _parse_directory(self, d: bytes) -> None:
        try:
            (count,) = struct.unpack_from("<I", d)
            sizes = list(struct.unpack_from("<%dI" % count, d, 4))
            pos = 4 + 4 * count
            self.sizes: List[int] = []
            self._block_lists: List[List[int]] = []
            for size in sizes:
                real = 0 if size == NIL_SIZE else size
                n = -(-real // self.block_size)
                self._block_lists.append(list(struct.unpack_from("<%dI" % n, d, pos)))
                self.sizes.append(real)
                pos += 4 * n
        except struct.error:
            raise StackextError("PDB stream directory is truncated", self.where) from None

    def _blocks(self, blocks: List[int], size: int) -> bytes:
        out = bytearray()
        for b in blocks:
            if b >= self.num_blocks:
                raise StackextError("PDB block %d is past the end of the file (%d blocks)"
                                    % (b, self.num_blocks), self.where)
            self._f.seek(b * self.block_size)
            out += self._f.read(self.block_size)
        if len(out) < size:
            raise StackextError("PDB is truncated (a stream ends past the file)", self.where)
        return bytes(out[:size])

    @property
    def count(self) -> int:
        return len(self.sizes)

    def stream(self, index: Optional[int]) -> bytes:
        if index is None or index >= self.count or index == 0xFFFF:
            return b""
        return self._blocks(self._block_lists[index], self.sizes[index])
