"""Which rows of a dataset were really written: the reader's and ``recover``'s one answer.

A full disk (or a crash between HDF5's metadata and data writes) can leave a dataset whose
extent says ``n`` rows while its last chunks never reached the disk; h5py reads those rows
as zeros. A row counts only when the chunk holding it is allocated and lies wholly inside
the file (h5py ``chunk_iter``). Finished files were trimmed when they were closed or
recovered, so only unfinished ones (``status`` ``recording``) need the check.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import h5py

RowCount = Callable[[h5py.Dataset], int]
FINISHED = ("complete", "recovered", "imported")


def stored_rows(ds: h5py.Dataset, file_size: int) -> int:
    """Leading rows of ``ds`` whose chunks are allocated and lie wholly inside the file.

    Parameters
    ----------
    ds : h5py.Dataset
        An appendable (chunked along axis 0) dataset.
    file_size : int
        Bytes really in the file (``os.stat``), not the size HDF5 recorded.

    Returns
    -------
    int
        Rows that read back as written, never more than ``ds.shape[0]``.
    """
    n = ds.shape[0]
    if n == 0 or ds.chunks is None:
        return n
    rows_per_chunk = ds.chunks[0]
    starts: dict[int, bool] = {}

    def visit(info) -> None:
        if info.chunk_offset[1:] == (0,) * (ds.ndim - 1):
            ok = info.byte_offset is not None and info.byte_offset + info.size <= file_size
            starts[info.chunk_offset[0]] = ok

    ds.id.chunk_iter(visit)
    row = 0
    while row < n and starts.get(row, False):
        row += rows_per_chunk
    return min(row, n)


def all_rows(ds: h5py.Dataset) -> int:
    return ds.shape[0]


class WrittenRows:
    """``stored_rows`` for a file that may still grow (SWMR) or was left by a crash."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._cache: dict[tuple[str, int], int] = {}

    def __call__(self, ds: h5py.Dataset) -> int:
        key = (ds.name, ds.shape[0])
        if key not in self._cache:
            self._cache[key] = stored_rows(ds, os.path.getsize(self.path))
        return self._cache[key]


def row_counter(f: h5py.File, path: Path) -> RowCount:
    """How many rows of a dataset of ``f`` to believe: all of them once it is finished."""
    return all_rows if str(f.attrs.get("status", "")) in FINISHED else WrittenRows(path)
