"""Turn a crashed recording (``*.h5.part``) into a finished one, in place.

Steps: check read-only that the repair would give a readable recording (and that there is
room to write), clear the SWMR consistency flags (:mod:`h5clear`), restore the end of a
file cut short by a full disk, trim every dataset to the rows really written and every
multi-dataset record to its consistent length (samples vs timestamps, pixels vs frame
rows, event payloads), read it back, and only then mark it ``status=recovered``, give it
its final name without replacing anything, write the sidecar and register it. No data is copied, so
recovering a multi-GB video recording takes well under a second.
"""

from __future__ import annotations

import datetime as dt
import resource
import shutil
from pathlib import Path

import h5py
import numpy as np

from mimicsync.dataset import ragged
from mimicsync.dataset.h5clear import RepairedView, clear_status_flags, restore_eof, stored_eof
from mimicsync.dataset.layout import PART, RecordingId, root_of
from mimicsync.dataset.recording import Recording, RecordingError, frame_parts, stored_frames
from mimicsync.dataset.recording_writer import mark_failed, publish
from mimicsync.dataset.sidecar import write_sidecar
from mimicsync.dataset.study_tree import register_recording
from mimicsync.dataset.written import stored_rows
from mimicsync.errors import ErrorCode
from mimicsync.format import FORMAT_NAME


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
        n = stored_frames(f["video"])
        for part in frame_parts(f["video"]):
            _trim_ragged(part, n) if isinstance(part, h5py.Group) else _trim(part, n)
    ev = f["events"]
    n = min(ev["onset"].shape[0], ev["duration"].shape[0], ragged.count(ev["payload"]))
    _trim(ev["onset"], n)
    _trim(ev["duration"], n)
    _trim_ragged(ev["payload"], n)
    return last


MIN_FREE_BYTES = 4 << 20  # HDF5 rewrites metadata while trimming: never start without room
_UNFINISHED: list[h5py.File] = []  # a write failed: never closed (HDF5 can crash closing it)


class RecoverError(RecordingError):
    """The file cannot be recovered now; it is left exactly as it was (or re-runnable)."""


def _refuse(path: Path, problem: str, fix: str) -> RecoverError:
    return RecoverError("file", f"{path.name} {problem}", fix)


def _resolve(path: Path) -> Path:
    """The ``.part`` to recover, or a one-line refusal for anything else."""
    if not path.name.endswith(PART) and Path(str(path) + PART).exists():
        path = Path(str(path) + PART)
    if not path.exists():
        raise RecordingError(f"file: {path} does not exist")
    if path.is_dir():
        raise _refuse(path, "is a folder", "give the recording's .h5.part file")
    if not path.name.endswith(PART):
        with Recording(path) as rec:
            status = rec.status
        raise RecordingError(f"file: {path.name} is already finished (status {status}); "
                             "nothing to recover")
    return path


def _inspect(path: Path) -> None:
    """Read-only: would clearing the flags and restoring the end give a readable recording?"""
    size = path.stat().st_size
    if size == 0:
        raise _refuse(path, "is empty (0 bytes): it holds no recording", "delete it or keep it aside")
    try:
        view = RepairedView(path)
    except ValueError as e:
        raise _refuse(path, f"is not a recording ({e})", "give a mimicsync .h5.part file") from None
    try:
        with view, h5py.File(view, "r") as f:
            if f.attrs.get("format") != FORMAT_NAME:
                if size < stored_eof(path):  # its header promises more than is there
                    raise _refuse(path, f"is damaged beyond its last flush (only {size:,} of "
                                  f"{stored_eof(path):,} bytes)", "keep it and report the "
                                  "problem (nothing was changed)")
                raise _refuse(path, "is HDF5 but not a mimicsync recording", "give a mimicsync .h5.part file")
            dict(f.attrs)  # provenance and friends live in the global heap: read them all

            def visit(_name: str, obj) -> None:
                dict(obj.attrs)
                if isinstance(obj, h5py.Dataset) and obj.shape and obj.shape[0]:
                    n = stored_rows(obj, size) if obj.maxshape[0] is None else obj.shape[0]
                    if n:
                        obj[n - 1]  # the last row that would be kept reads back
            f.visititems(visit)
    except RecoverError:
        raise
    except Exception as e:  # noqa: BLE001 - any HDF5 failure means: not recoverable as is
        raise _refuse(path, f"is damaged beyond its last flush ({short_reason(e)})",
                      "keep it and report the problem (nothing was changed)") from None


def short_reason(e: BaseException) -> str:
    return str(e).split(" (")[0].split("\n")[0][:120]


def _check_room(path: Path) -> None:
    free = shutil.disk_usage(path.parent).free
    if free < MIN_FREE_BYTES:
        raise RecoverError("file", f"only {free / 1e6:.1f} MB free on the disk of {path.name}",
                           "free some space, then run recover again (nothing was changed)",
                           code=ErrorCode.IO)
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY and limit < stored_eof(path) + MIN_FREE_BYTES:
        raise RecoverError("file", f"the file-size limit ({limit:,} bytes, ulimit -f) is below "
                           f"the size of {path.name}", "raise the limit, then run recover again "
                           "(nothing was changed)", code=ErrorCode.IO)


def _repair(path: Path) -> float:
    """In place: flags, end of file, trims. Returns the last timestamp (LSL clock)."""
    clear_status_flags(path)
    file_size = path.stat().st_size  # before restore_eof: bytes really written
    restore_eof(path)
    f = h5py.File(path, "r+")
    try:
        _drop_unstored(f, file_size)
        last = _make_consistent(f)
        f.flush()
    except Exception as e:  # noqa: BLE001 - e.g. the disk filled up again
        _UNFINISHED.append(f)
        mark_failed(path)
        raise RecoverError("file", f"recovering {path.name} failed ({short_reason(e)})",
                           "free disk space, then run recover again", code=ErrorCode.IO) from None
    f.close()
    return last


def _stamp(path: Path, last: float) -> None:
    """Only once the file reads back as a recording: ``status=recovered`` and its end."""
    with h5py.File(path, "r+") as f:
        if np.isfinite(last):
            f.attrs["stop_lsl"] = last
            f.attrs["duration_s"] = last - float(f.attrs.get("start_lsl", last))
        f.attrs["recovered_utc"] = dt.datetime.now(dt.timezone.utc).isoformat()
        f.attrs["status"] = "recovered"


def recover(path: str | Path) -> Path:
    """Recover ``path`` (the ``.part`` file, or the final name whose ``.part`` exists).

    Never makes a file worse: every refusal (not a recording, damaged, no disk space) comes
    before the first byte is changed, the status is written last, and a run cut short by a
    full disk can simply be repeated once there is space again.

    Raises
    ------
    RecordingError
        One line naming the file, what is wrong and what to do.
    """
    path = _resolve(Path(path))
    final = path.with_name(path.name[: -len(PART)])
    _inspect(path)
    _check_room(path)
    last = _repair(path)
    try:
        with Recording(path) as rec:
            rec.summary()  # everything a user will read back
    except Exception as e:  # noqa: BLE001
        raise _refuse(path, f"does not read back after the repair ({short_reason(e)})",
                      "keep it and report the problem") from None
    _stamp(path, last)
    publish(path, final)
    write_sidecar(final)
    try:
        rid = RecordingId.from_path(final)
    except ValueError:
        return final  # a file outside a study tree: nothing to register
    with Recording(final) as rec:
        register_recording(root_of(final), rid, str(rec.attrs.get("start_utc", "n/a")), "recovered")
    return final
