"""Writes one recording as a crash-safe HDF5 file (layout in docs/format.md).

Crash safety comes from HDF5's single-writer/multiple-reader (SWMR) mode: once it is on,
the library orders its metadata writes so that the file on disk is consistent after
every flush, and a ``kill -9`` leaves everything up to the last flush readable. The
recorder flushes at least twice a second. Objects cannot be created under SWMR, so a
stream that joins late briefly closes and reopens the file (a clean close, so the window
is not a corruption risk for the data already written).

The file is written as ``<final>.part`` and only a clean :meth:`finalize` gives it its
final name, with ``os.link`` so that an existing recording is never replaced.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np

from mimicsync.dataset import depth_codec, ragged
from mimicsync.dataset.events import Event
from mimicsync.dataset.stream_meta import StreamMeta
from mimicsync.errors import ErrorCode, MimicsyncError
from mimicsync.format import (
    CHANNEL_DTYPE,
    CHANNEL_FIELDS,
    DEFAULT_JPEG_QUALITY,
    FORMAT_NAME,
    FORMAT_VERSION,
    FRAME_COLUMNS,
    CameraInfo,
)

TARGET_CHUNK_BYTES = 1 << 18
# depth for append_video: (n, h, w) uint16, or per frame an array, an encoded frame or None
DepthFrames = np.ndarray | Sequence[depth_codec.EncodedDepth | np.ndarray | None] | None
log = logging.getLogger(__name__)


_FAILED_FILES: list[str] = []


def hdf5_teardown_unsafe() -> bool:
    """True after a write to a recording failed (e.g. disk full).

    HDF5 then crashes at interpreter exit while closing that file (seen with HDF5 2.0),
    although everything flushed before the failure is intact. A command-line program
    should end with ``os._exit`` in that case, after printing its message.
    """
    return bool(_FAILED_FILES)


def mark_failed(path: Path) -> None:
    """A write to ``path`` failed: the process must not let HDF5 close it at exit."""
    _FAILED_FILES.append(str(path))


class RecordingExistsError(MimicsyncError, FileExistsError):
    """The target recording (or an unfinished one) is already there; nothing is replaced."""

    default_code = ErrorCode.EXISTS


def _lossless_color_filter() -> dict:
    return dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.BITSHUFFLE))


def _json(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str, sort_keys=True)


def _rows_per_chunk(row_bytes: int) -> int:
    return int(np.clip(TARGET_CHUNK_BYTES // max(1, row_bytes), 64, 1 << 16))


def _append(ds: h5py.Dataset, values: np.ndarray) -> None:
    n = ds.shape[0]
    ds.resize(n + values.shape[0], axis=0)
    ds[n:] = values


def _append_chunks(ds: h5py.Dataset, chunks: Sequence[bytes]) -> None:
    """Append one-row chunks that are already compressed as the dataset's filter would."""
    n = ds.shape[0]
    ds.resize(n + len(chunks), axis=0)
    zeros = (0,) * (ds.ndim - 1)
    for k, chunk in enumerate(chunks):
        ds.id.write_direct_chunk((n + k, *zeros), chunk)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RecordingWriter:
    """Single-threaded writer of one recording file. Not thread-safe: one owner thread."""

    def __init__(self, part_path: Path, final_path: Path, attrs: dict, provenance: dict) -> None:
        self.part_path = Path(part_path)
        self.final_path = Path(final_path)
        if self.final_path.exists():
            raise RecordingExistsError(
                "run", f"recording exists: {self.final_path}",
                "choose another run (recordings are never overwritten)")
        if self.part_path.exists():
            raise RecordingExistsError(
                "run", f"an unfinished recording exists: {self.part_path}",
                f"recover it (`mimicsync recover {self.part_path}`) or choose another run")
        # Created under a third name and renamed to .part once SWMR is on: a crash before
        # that leaves a file that never held data, which the next start may delete.
        self.creating_path = Path(str(self.part_path) + ".creating")
        self._lock = StartLock(self.creating_path)  # refuses while a live recorder holds it
        try:
            self.f = h5py.File(self.creating_path, "x", libver="latest")
        except BaseException:
            self._lock.release()
            raise
        self.f.attrs["format"] = FORMAT_NAME
        self.f.attrs["format_version"] = FORMAT_VERSION
        self.f.attrs["status"] = "recording"
        for k, v in attrs.items():
            self.f.attrs[k] = v if isinstance(v, (int, float, str)) else _json(v)
        self.f.attrs["provenance"] = _json(provenance)
        self.f.create_group("streams")
        ev = self.f.create_group("events")
        ev.create_dataset("onset", (0,), maxshape=(None,), dtype="f8", chunks=(4096,))
        ev.create_dataset("duration", (0,), maxshape=(None,), dtype="f8", chunks=(4096,))
        ragged.create(ev, "payload", bytes_chunk=1 << 16)
        self.streams: dict[str, h5py.Group] = {}
        self.video: h5py.Group | None = None
        self._depth_filter = depth_codec.NONE
        self._no_depth: depth_codec.EncodedDepth | None = None  # a frame without depth
        self._jpeg_quality = DEFAULT_JPEG_QUALITY  # of /video (add_video)
        self.swmr = False

    # -- structure ------------------------------------------------------------------
    def add_stream(self, meta: StreamMeta, key: str | None = None) -> str:
        """Create a stream's group; returns its key. Works before and during SWMR."""
        key = key or meta.key(set(self.streams))
        if self.swmr:
            self._reopen_for_new_objects(lambda: self._create_stream(key, meta))
        else:
            self._create_stream(key, meta)
        return key

    def _create_stream(self, key: str, meta: StreamMeta) -> None:
        g = self.f["streams"].create_group(key)
        for k in ("name", "type", "source_id", "hostname", "nominal_srate", "channel_format",
                  "channel_count", "uid", "session_id", "created_at", "info_xml"):
            g.attrs[k] = getattr(meta, k)
        g.attrs["can_drop_samples"] = meta.can_drop_samples
        g.create_dataset("channels", data=np.array(
            [tuple(getattr(c, n) for n in CHANNEL_FIELDS) for c in meta.channels],
            dtype=CHANNEL_DTYPE))
        g.create_dataset("time_stamps", (0,), maxshape=(None,), dtype="f8", chunks=(8192,))
        g.create_dataset("clock_offsets", (0, 2), maxshape=(None, 2), dtype="f8", chunks=(256, 2))
        if meta.is_string:
            ragged.create(g, "data", bytes_chunk=1 << 16)
        else:
            c = meta.channel_count
            g.create_dataset("data", (0, c), maxshape=(None, c), dtype=meta.dtype,
                             chunks=(_rows_per_chunk(c * meta.dtype.itemsize), c))
        self.streams[key] = g

    def add_video(self, info: CameraInfo, frame_stream_key: str = "",
                  color_encoding: str = "jpeg", jpeg_quality: int = DEFAULT_JPEG_QUALITY,
                  depth_max_m: float = 0.0, depth_filter: str = depth_codec.DEFAULT) -> None:
        """Create ``/video`` before SWMR starts (the camera is known at start).

        Depth is stored ranked and row-difference filtered
        (:mod:`~mimicsync.dataset.depth_codec`; ``"vdelta-zigzag"`` and ``"none"`` write
        the layouts of formats 2 and 1, for comparisons);
        ``depth_max_m`` > 0 records that the recorder stored depth beyond it as 0.
        """
        if color_encoding not in ("jpeg", "lossless"):
            raise ValueError(f"color_encoding: '{color_encoding}' is not one of jpeg, lossless")
        g = self.f.create_group("video")
        for k, v in asdict(info).items():
            g.attrs[k] = v if isinstance(v, (int, float, str)) else _json(v)
        g.attrs["frame_stream_key"] = frame_stream_key
        g.attrs["color_encoding"] = color_encoding
        g.attrs["jpeg_quality"] = jpeg_quality
        g.attrs["frame_columns"] = _json(FRAME_COLUMNS)
        nc = len(FRAME_COLUMNS)
        g.create_dataset("frames", (0, nc), maxshape=(None, nc), dtype="f8", chunks=(1024, nc))
        if color_encoding == "jpeg":
            ragged.create(g, "color", bytes_chunk=1 << 21)
        else:
            g.create_dataset("color", (0, info.height, info.width, 3),
                             maxshape=(None, info.height, info.width, 3), dtype="u1",
                             chunks=(1, info.height, info.width, 3), **_lossless_color_filter())
        if info.depth_width:
            d = g.create_dataset("depth", (0, info.depth_height, info.depth_width),
                                 maxshape=(None, info.depth_height, info.depth_width), dtype="u2",
                                 chunks=(1, info.depth_height, info.depth_width),
                                 **depth_codec.hdf5_filter(depth_filter))
            d.attrs["depth_filter"] = depth_filter
            if depth_filter == depth_codec.RANK_VDELTA:
                ragged.create(g, depth_codec.VALUES, bytes_chunk=1 << 16)
            g.attrs["depth_max_m"] = float(depth_max_m)
        self.video = g
        self._depth_filter = _stored_depth_filter(g)
        self._jpeg_quality = int(jpeg_quality)

    def encode_color(self, rgb: np.ndarray) -> bytes:
        """One colour frame as this file stores it: JPEG (4:4:4) at the file's quality.
        Touches no file, so the recorder's encoder thread calls it."""
        import simplejpeg
        return simplejpeg.encode_jpeg(np.ascontiguousarray(rgb), self._jpeg_quality,
                                      colorspace="RGB")

    @property
    def depth_filter(self) -> str:
        """How this file stores depth (what :func:`depth_codec.encode_frame` must be given)."""
        return self._depth_filter

    def start_swmr(self) -> None:
        """From here on every flush leaves a crash-consistent file at ``part_path``."""
        self.f.swmr_mode = True
        self.swmr = True
        self.flush()
        os.link(self.creating_path, self.part_path)  # fails rather than replace
        self.creating_path.unlink()
        self._lock.release()
        fsync_dir(self.part_path.parent)

    def _reopen_for_new_objects(self, create) -> None:
        self.f.flush()
        self.f.close()
        self.f = h5py.File(self.part_path, "r+", libver="latest")
        create()
        self._rebind()
        self.f.swmr_mode = True
        self.f.flush()

    def _rebind(self) -> None:
        self.streams = {k: self.f["streams"][k] for k in self.f["streams"]}
        self.video = self.f["video"] if "video" in self.f else None

        self._depth_filter = _stored_depth_filter(self.video)

    # -- data -----------------------------------------------------------------------
    def append_samples(self, key: str, data: np.ndarray | Sequence[str],
                       time_stamps: np.ndarray) -> None:
        """Samples first, then their timestamps: a crash leaves len(ts) <= len(data)."""
        g = self.streams[key]
        ts = np.asarray(time_stamps, dtype="f8")
        if isinstance(g["data"], h5py.Group):
            ragged.append(g["data"], [s.encode("utf-8") if isinstance(s, str) else bytes(s)
                                      for s in data])
        else:
            _append(g["data"], np.asarray(data, dtype=g["data"].dtype).reshape(len(ts), -1))
        _append(g["time_stamps"], ts)

    def append_clock_offsets(self, key: str, rows: np.ndarray) -> None:
        """Rows of [local collection time, offset] as LSL ``time_correction`` gives them."""
        _append(self.streams[key]["clock_offsets"], np.asarray(rows, dtype="f8").reshape(-1, 2))

    def append_video(self, rows: np.ndarray, color: Sequence[bytes] | np.ndarray,
                     depth: DepthFrames = None) -> None:
        """Pixels first, then the timing rows: a frame counts once its row exists.

        ``depth`` is (n, h, w) uint16 frames, or per frame an (h, w) array, a frame the
        caller already encoded with :func:`~mimicsync.dataset.depth_codec.encode_frame`
        (the recorder does that in its encoder thread, so this thread only copies bytes),
        or None. A frame without depth (None, or ``depth=None`` for all) is stored as
        all 0, "no depth", so depth frame i stays the depth of colour frame i.
        Everything is checked before anything is written.
        """
        g = self.video
        rows = np.asarray(rows, dtype="f8")
        rows = rows.reshape(-1, rows.shape[-1] if rows.size else g["frames"].shape[1])
        encoded = self._encoded_depth(depth, rows.shape[0]) if "depth" in g else []
        if isinstance(g["color"], h5py.Group):
            ragged.append(g["color"], list(color))
        else:
            _append(g["color"], np.asarray(color, dtype="u1"))
        if encoded:
            if depth_codec.VALUES in g:  # a frame's values before its pixels, both before its row
                ragged.append(g[depth_codec.VALUES], [e.values for e in encoded])
            _append_chunks(g["depth"], [e.chunk for e in encoded])
        nc = g["frames"].shape[1]
        if rows.shape[1] < nc:  # a camera without metadata: NaN in the metadata columns
            rows = np.hstack([rows, np.full((rows.shape[0], nc - rows.shape[1]), np.nan)])
        _append(g["frames"], rows[:, :nc])

    def _encoded_depth(self, depth: DepthFrames, n: int) -> list[depth_codec.EncodedDepth]:
        """Every frame's depth encoded for this file, or a one-line ValueError."""
        h, w = self.video["depth"].shape[1:]
        frames = [None] * n if depth is None else list(depth)
        if len(frames) != n:
            raise ValueError(f"depth: {len(frames)} depth frames for {n} frame rows")
        out = []
        for d in frames:
            if d is None:  # the camera delivered this frame without depth
                if self._no_depth is None:
                    self._no_depth = depth_codec.encode_frame(np.zeros((h, w), np.uint16),
                                                              self._depth_filter)
                d = self._no_depth
            elif not isinstance(d, depth_codec.EncodedDepth):
                d = depth_codec.encode_frame(np.asarray(d, dtype=np.uint16), self._depth_filter)
            if d.filter_name != self._depth_filter:
                raise ValueError(f"depth: a frame encoded as {d.filter_name}, but this file "
                                 f"stores {self._depth_filter}")
            if d.shape != (h, w):
                raise ValueError(f"depth: a {d.shape[1]}x{d.shape[0]} frame for a file of "
                                 f"{w}x{h} depth")
            out.append(d)
        return out

    def append_events(self, events: Sequence[Event]) -> None:
        if not events:
            return
        ev = self.f["events"]
        ragged.append(ev["payload"], [e.to_json().encode("utf-8") for e in events])
        _append(ev["duration"], np.array([e.duration for e in events], dtype="f8"))
        _append(ev["onset"], np.array([e.onset for e in events], dtype="f8"))

    def flush(self) -> None:
        self.f.flush()

    def mark_failed(self) -> None:
        """A write failed: the file must not be touched again (recover it later)."""
        mark_failed(self.part_path)

    # -- end ------------------------------------------------------------------------
    def finalize(self, attrs: dict, video_attrs: dict | None = None) -> Path:
        """Close, stamp the final attributes, and link the file to its final name.

        ``video_attrs`` updates ``/video`` attributes only known after the start (e.g. the
        RealSense timestamp domain, reported with the first frame).
        """
        self.f.flush()
        self.f.close()
        with h5py.File(self.part_path, "r+", libver="latest") as f:
            for k, v in attrs.items():
                f.attrs[k] = v if isinstance(v, (int, float, str)) else _json(v)
            if video_attrs and "video" in f:
                for k, v in video_attrs.items():
                    f["video"].attrs[k] = v if isinstance(v, (int, float, str)) else _json(v)
            f.attrs["status"] = "complete"
        return publish(self.part_path, self.final_path)

    def abort(self) -> None:
        """Close and delete a file that holds no recording yet (failed start)."""
        try:
            self.f.close()
        finally:
            self.creating_path.unlink(missing_ok=True)
            self._lock.release()


def _stored_depth_filter(video: h5py.Group | None) -> str:
    if video is None or "depth" not in video:
        return depth_codec.NONE
    return str(video["depth"].attrs.get("depth_filter", depth_codec.NONE))


class StartLock:
    """Who is creating a recording: an exclusive ``flock`` on ``<creating>.lock`` + its PID.

    The kernel drops the lock when its process dies (kill -9 included), so a ``.creating``
    file whose lock can be taken was left by a crash and holds no data: it is removed at
    once. While the owner lives, a second recorder of the same run is refused.
    """

    def __init__(self, creating: Path) -> None:
        self.path = Path(str(creating) + ".lock")
        self.fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(self.fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(self.fd)
            self.fd = None
            raise RecordingExistsError(
                "run", f"another recorder (process {owner}) is starting this run "
                f"({creating})", "choose another run") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)
        if creating.exists():
            log.warning("removing %s: left by a recorder that crashed while starting (no data)",
                        creating)
            creating.unlink(missing_ok=True)

    def release(self) -> None:
        if self.fd is None:
            return
        self.path.unlink(missing_ok=True)  # while still held: nobody can take a stale one
        os.close(self.fd)
        self.fd = None


def publish(part: Path, final: Path) -> Path:
    """Give ``part`` its final name atomically, never replacing an existing file."""
    with open(part, "rb+") as fh:
        os.fsync(fh.fileno())
    try:
        os.link(part, final)
    except FileExistsError:
        raise RecordingExistsError(
            f"recording exists: {final}; the new data stays in {part} (nothing was overwritten)"
        ) from None
    part.unlink()
    fsync_dir(final.parent)
    return final
