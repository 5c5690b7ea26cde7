"""Variable-length records (JPEG frames, marker strings, event JSON) in fixed-dtype datasets.

HDF5 variable-length types live in the global heap, which SWMR does not protect, so a
record is appended as raw bytes to ``<group>/bytes`` (uint8) and located by a row
``[offset, length]`` in ``<group>/index`` (int64). Bytes are written before their index
row, so after a crash every indexed record is complete; bytes past the last index row
are ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import h5py
import numpy as np

BYTES_CHUNK = 1 << 20
INDEX_CHUNK = 4096


def create(group: h5py.Group, name: str, bytes_chunk: int = BYTES_CHUNK) -> h5py.Group:
    g = group.create_group(name)
    g.create_dataset("bytes", (0,), maxshape=(None,), dtype="u1", chunks=(bytes_chunk,))
    g.create_dataset("index", (0, 2), maxshape=(None, 2), dtype="i8", chunks=(INDEX_CHUNK, 2))
    g.attrs["layout"] = "ragged: record i = bytes[index[i,0] : index[i,0] + index[i,1]]"
    return g


def append(g: h5py.Group, records: Sequence[bytes]) -> None:
    """Append records: bytes first, then their index rows (crash-consistent order)."""
    if not records:
        return
    data, index = g["bytes"], g["index"]
    lengths = np.fromiter((len(r) for r in records), dtype=np.int64, count=len(records))
    start = data.shape[0]
    total = int(lengths.sum())
    if total:
        data.resize((start + total,))
        data[start:] = np.frombuffer(b"".join(records), dtype=np.uint8)
    offsets = start + np.concatenate(([0], np.cumsum(lengths)[:-1]))
    n = index.shape[0]
    index.resize((n + len(records), 2))
    index[n:] = np.stack([offsets, lengths], axis=1)


def count(g: h5py.Group, rows: Callable[[h5py.Dataset], int] | None = None) -> int:
    """Number of complete records (index rows whose bytes are all on disk).

    ``rows(dataset)`` says how many rows of a dataset were really written
    (:mod:`mimicsync.dataset.written`); by default all of them.
    """
    index = g["index"]
    n = rows(index) if rows is not None else index.shape[0]
    if n == 0:
        return 0
    nbytes = rows(g["bytes"]) if rows is not None else g["bytes"].shape[0]
    last = index[max(0, n - 64):n]
    ok = last[:, 0] + last[:, 1] <= nbytes
    bad = np.flatnonzero(~ok)
    return n if bad.size == 0 else max(0, n - 64) + int(bad[0])


def read(g: h5py.Group, i: int) -> bytes:
    off, length = (int(v) for v in g["index"][i])
    return g["bytes"][off:off + length].tobytes()


def read_all(g: h5py.Group, rows: Callable[[h5py.Dataset], int] | None = None) -> list[bytes]:
    n = count(g, rows)
    if n == 0:
        return []
    index = g["index"][:n]
    blob = g["bytes"][: int(index[-1, 0] + index[-1, 1])].tobytes()
    return [blob[o:o + ln] for o, ln in index]
