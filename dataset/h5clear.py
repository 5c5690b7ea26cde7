"""Clear HDF5 file-consistency flags in place, as ``h5clear -s`` does.

A file written in SWMR mode keeps the "open for SWMR write" flags in its superblock
until it is closed. After a crash (kill -9, power loss) the data up to the last flush is
on disk and consistent, but plain ``h5py.File(path)`` refuses to open it. Clearing the
flags makes it an ordinary file again without copying gigabytes of video; the HDF5
tools package is not needed.

Only superblock versions 2 and 3 (``libver='latest'``, which SWMR requires) carry the
flags; the superblock is protected by a Jenkins lookup3 checksum, recomputed here.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MASK = 0xFFFFFFFF


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _MASK


def _mix(a: int, b: int, c: int) -> tuple[int, int, int]:
    a = (a - c) & _MASK; a ^= _rot(c, 4); c = (c + b) & _MASK
    b = (b - a) & _MASK; b ^= _rot(a, 6); a = (a + c) & _MASK
    c = (c - b) & _MASK; c ^= _rot(b, 8); b = (b + a) & _MASK
    a = (a - c) & _MASK; a ^= _rot(c, 16); c = (c + b) & _MASK
    b = (b - a) & _MASK; b ^= _rot(a, 19); a = (a + c) & _MASK
    c = (c - b) & _MASK; c ^= _rot(b, 4); b = (b + a) & _MASK
    return a, b, c


def _final(a: int, b: int, c: int) -> int:
    c ^= b; c = (c - _rot(b, 14)) & _MASK
    a ^= c; a = (a - _rot(c, 11)) & _MASK
    b ^= a; b = (b - _rot(a, 25)) & _MASK
    c ^= b; c = (c - _rot(b, 16)) & _MASK
    a ^= c; a = (a - _rot(c, 4)) & _MASK
    b ^= a; b = (b - _rot(a, 14)) & _MASK
    c ^= b; c = (c - _rot(b, 24)) & _MASK
    return c


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle``, the checksum HDF5 uses for its metadata."""
    n = len(data)
    a = b = c = (0xDEADBEEF + n + initval) & _MASK
    i = 0
    while n - i > 12:
        x, y, z = struct.unpack_from("<III", data, i)
        a, b, c = _mix((a + x) & _MASK, (b + y) & _MASK, (c + z) & _MASK)
        i += 12
    if n - i == 0:
        return c
    tail = data[i:] + b"\x00" * (12 - (n - i))
    x, y, z = struct.unpack("<III", tail)
    return _final((a + x) & _MASK, (b + y) & _MASK, (c + z) & _MASK)


def _find_superblock(fh) -> int:
    """Byte offset of the superblock: 0, 512, 1024, 2048, ... (user blocks)."""
    offset = 0
    size = os.fstat(fh.fileno()).st_size
    while offset < size:
        fh.seek(offset)
        if fh.read(8) == SIGNATURE:
            return offset
        offset = 512 if offset == 0 else offset * 2
    raise ValueError("not an HDF5 file (no superblock signature)")


def status_flags(path: str | Path) -> int:
    """The superblock's file-consistency flags (0 = closed cleanly)."""
    with open(path, "rb") as fh:
        off = _find_superblock(fh)
        fh.seek(off + 8)
        version = fh.read(1)[0]
        if version < 2:
            return 0
        fh.seek(off + 11)
        return fh.read(1)[0]


def stored_eof(path: str | Path) -> int:
    """The end-of-file address the superblock records (0 for superblock v0/v1)."""
    with open(path, "rb") as fh:
        off = _find_superblock(fh)
        fh.seek(off + 8)
        version, size_off = fh.read(2)
        if version < 2:
            return 0
        fh.seek(off + 12 + 2 * size_off)
        return off + int.from_bytes(fh.read(size_off), "little")


def restore_eof(path: str | Path) -> bool:
    """Extend a file cut short by a failed write (disk full) to the size HDF5 recorded.

    HDF5 reserves space before it writes; when the write fails the superblock says the file
    is longer than it is, and HDF5 refuses to open it. The missing tail held no flushed
    data; it is added back as a sparse hole (no disk space needed). True if extended.
    """
    eof = stored_eof(path)
    if eof > os.path.getsize(path):
        os.truncate(path, eof)
        return True
    return False


def cleared_superblock(fh) -> tuple[int, bytes] | None:
    """``(offset, bytes)`` of the superblock with its consistency flags reset (checksum
    recomputed), or None when there is nothing to clear. Reads only."""
    off = _find_superblock(fh)
    fh.seek(off + 8)
    version, size_off, _size_len, flags = fh.read(4)
    if version < 2 or flags == 0:
        return None
    body_len = 12 + 4 * size_off  # signature..flags + 4 addresses
    fh.seek(off)
    body = bytearray(fh.read(body_len))
    stored = struct.unpack("<I", fh.read(4))[0]
    if lookup3(bytes(body)) != stored:
        raise ValueError("HDF5 superblock checksum does not match; the file header is damaged")
    body[11] = 0
    return off, bytes(body) + struct.pack("<I", lookup3(bytes(body)))


def clear_status_flags(path: str | Path) -> bool:
    """Reset the consistency flags to 0; True if they were set. Fsyncs before returning."""
    with open(path, "r+b") as fh:
        patch = cleared_superblock(fh)
        if patch is None:
            return False
        fh.seek(patch[0])
        fh.write(patch[1])
        fh.flush()
        os.fsync(fh.fileno())
        return True


class RepairedView(io.RawIOBase):
    """The file as :func:`clear_status_flags` and :func:`restore_eof` would leave it, read-only.

    ``recover`` opens this first (h5py's ``fileobj`` driver) to learn whether the repair
    would give a readable recording, before it changes a single byte of the real file.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self._fh = open(path, "rb")
        self._size = os.fstat(self._fh.fileno()).st_size
        self._patch = cleared_superblock(self._fh)
        self._end = max(self._size, stored_eof(path))
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._end}[whence]
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, b) -> int:
        n = max(0, min(len(b), self._end - self._pos))
        self._fh.seek(self._pos)
        real = self._fh.read(max(0, min(n, self._size - self._pos)))
        buf = bytearray(real) + bytes(n - len(real))  # the hole restore_eof would add
        if self._patch is not None:
            off, data = self._patch
            lo, hi = max(off, self._pos), min(off + len(data), self._pos + n)
            if lo < hi:
                buf[lo - self._pos:hi - self._pos] = data[lo - off:hi - off]
        b[:n] = buf
        self._pos += n
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()
