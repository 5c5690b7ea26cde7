"""Turn a crashed recording (``*.h5.part``) into a finished one, in place.

Steps: clear the SWMR consistency flags (:mod:`h5clear`), restore the end of a file cut
short by a full disk, trim every multi-dataset
record to its consistent length (samples vs timestamps, pixels vs frame rows, event
payloads), mark the file ``status=recovered``, give it its final name without replacing
anything, then write the sidecar and register it in the study tree. No data is copied, so
recovering a multi-GB video recording takes well under a second.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import h5py
import numpy as np

from mimicsync.dataset import ragged
from mimicsync.dataset.h5clear import clear_status_flags, restore_eof
from mimicsync.dataset.layout import PART, RecordingId, root_of
from mimicsync.dataset.recording import Recording, RecordingError
from mimicsync.dataset.recording_writer import publish
from mimicsync.dataset.sidecar import write_sidecar
from mimicsync.dataset.study_tree import register_recording
from mimicsync.format import FORMAT_NAME


def stored_rows(ds: h5py.Dataset, file_size: int) -> int:
    """Leading rows of ``ds`` whose chunks are allocated and lie wholly inside the file.

    A full disk can leave a dataset's extent flushed while its last chunk never reached
    the disk; those rows would read as zeros. Only rows backed by real bytes count.
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


def _trim(ds: h5py.Dataset, n: int) -> None:
    if ds.shape[0] > n:
        ds.resize(n, axis=0)


def _trim_ragged(g: h5py.Group, n: int) -> None:
    _trim(g["index"], n)
    end = int(np.sum(g["index"][n - 1])) if n else 0
    _trim(g["bytes"], end)


def _drop_unstored(f: h5py.File, file_size: int) -> None:
    """Trim every appendable dataset to the rows whose bytes are really in the file."""
    def visit(_name: str, obj) -> None:
        if isinstance(obj, h5py.Dataset) and obj.maxshape and obj.maxshape[0] is None:
            _trim(obj, stored_rows(obj, file_size))
    f.visititems(visit)


def _make_consistent(f: h5py.File) -> float:
    """Trim to consistent lengths; returns the last timestamp seen (LSL clock)."""
    last = float("nan")
    for g in f["streams"].values():
        d = g["data"]
        n = min(g["time_stamps"].shape[0], ragged.count(d) if isinstance(d, h5py.Group) else d.shape[0])
        _trim(g["time_stamps"], n)
        if isinstance(d, h5py.Group):
            _trim_ragged(d, n)
        else:
            _trim(d, n)
        if n:
            last = np.nanmax([last, g["time_stamps"][n - 1]])
    if "video" in f:
        v = f["video"]
        c = v["color"]
        n = min(v["frames"].shape[0], ragged.count(c) if isinstance(c, h5py.Group) else c.shape[0])
        if "depth" in v:
            n = min(n, v["depth"].shape[0])
        _trim(v["frames"], n)
        _trim_ragged(c, n) if isinstance(c, h5py.Group) else _trim(c, n)
        if "depth" in v:
            _trim(v["depth"], n)
    ev = f["events"]
    n = min(ev["onset"].shape[0], ev["duration"].shape[0], ragged.count(ev["payload"]))
    _trim(ev["onset"], n)
    _trim(ev["duration"], n)
    _trim_ragged(ev["payload"], n)
    return last


def recover(path: str | Path) -> Path:
    """Recover ``path`` (the ``.part`` file, or the final name whose ``.part`` exists)."""
    path = Path(path)
    if not path.name.endswith(PART) and Path(str(path) + PART).exists():
        path = Path(str(path) + PART)
    if not path.exists():
        raise RecordingError(f"file: {path} does not exist")
    if not path.name.endswith(PART):
        with Recording(path) as rec:
            status = rec.status
        raise RecordingError(f"file: {path.name} is already finished (status {status}); "
                             "nothing to recover")
    final = path.with_name(path.name[: -len(PART)])
    clear_status_flags(path)
    file_size = path.stat().st_size  # before restore_eof: bytes really written
    restore_eof(path)
    try:
        f = h5py.File(path, "r+")
    except OSError as e:
        raise RecordingError(f"file: {path} is damaged beyond the last flush ({e}); "
                             "keep it and report the problem") from None
    with f:
        if f.attrs.get("format") != FORMAT_NAME:
            raise RecordingError(f"file: {path} is not a mimicsync recording")
        _drop_unstored(f, file_size)
        last = _make_consistent(f)
        f.attrs["status"] = "recovered"
        f.attrs["recovered_utc"] = dt.datetime.now(dt.timezone.utc).isoformat()
        if np.isfinite(last):
            f.attrs["stop_lsl"] = last
            f.attrs["duration_s"] = last - float(f.attrs.get("start_lsl", last))
    publish(path, final)
    write_sidecar(final)
    try:
        rid = RecordingId.from_path(final)
    except ValueError:
        return final  # a file outside a study tree: nothing to register
    with Recording(final) as rec:
        register_recording(root_of(final), rid, str(rec.attrs.get("start_utc", "n/a")), "recovered")
    return final
