"""Read a recording file: finished, still being written, or left behind by a crash.

Lengths are always the *consistent* lengths: a crash can leave a stream's samples one
block ahead of its timestamps (they are written first), or pixels ahead of frame rows, so
every accessor trims to what is complete.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (registers the Blosc filter used for depth)
import numpy as np

from mimicsync.dataset import depth_codec, ragged
from mimicsync.dataset.events import Event
from mimicsync.dataset.written import RowCount, all_rows, row_counter
from mimicsync.errors import MimicsyncError
from mimicsync.format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    FRAME_BASE_COLUMNS,
    ChannelSpec,
    frame_column,
)


class RecordingError(MimicsyncError, ValueError):
    """A file that is not a readable recording; the message says what to do."""


class UnsyncedWarning(UserWarning):
    """A reader combined video and sEMG of a recording that ``mimicsync sync`` has not
    aligned: frame times still carry the camera's latency (tens of ms)."""


_WARNED_UNSYNCED: set[str] = set()


def warn_unsynced(synced: bool, path: Path, require_synced: bool) -> bool:
    """``synced``, else raise (``require_synced``) or warn once per file and process."""
    if synced:
        return True
    err = RecordingError("file", f"{path.name} is not synchronised (frame times would miss "
                         "the camera's latency)", f"run `mimicsync sync {path}`")
    if require_synced:
        raise err
    key = str(Path(path).resolve())
    if key not in _WARNED_UNSYNCED:
        _WARNED_UNSYNCED.add(key)
        warnings.warn(str(err), UnsyncedWarning, stacklevel=4)
    return False


class WindowReader:
    """Reads ``n``-row windows of a 2-D dataset through h5py's low-level API.

    Reusing one file and one memory dataspace saves the selection set-up that
    ``dataset[a:b]`` repeats on every call: about twice the windows per second.
    """

    def __init__(self, ds: h5py.Dataset, n: int) -> None:
        from h5py import h5s
        self._id = ds.id
        self._cols = ds.shape[1]
        self._dtype = ds.dtype
        self._n = n
        self._fspace = ds.id.get_space()
        self._mspace = h5s.create_simple((n, self._cols))

    def read(self, start: int) -> np.ndarray:
        out = np.empty((self._n, self._cols), self._dtype)
        self._fspace.select_hyperslab((start, 0), (self._n, self._cols))
        self._id.read(self._mspace, self._fspace, out)
        return out


def frame_parts(video: h5py.Group) -> list[h5py.Dataset | h5py.Group]:
    """What ``/video`` holds one row or record of per frame (``frames``, ``color``, ``depth``,
    ``depth_values``): a frame counts once all of them have it."""
    return [video[k] for k in ("frames", "color", "depth", depth_codec.VALUES) if k in video]


def stored_frames(video: h5py.Group, rows: RowCount = all_rows) -> int:
    """Frames complete in every part (:func:`frame_parts`); ``rows`` as in ragged.count."""
    return min(ragged.count(p, rows) if isinstance(p, h5py.Group) else rows(p)
               for p in frame_parts(video))


def recovery_hint(path: str | Path) -> str:
    return f"if a recording crashed, run `mimicsync recover {path}`"


def open_h5(path: str | Path, cache_bytes: int | None = None) -> h5py.File:
    """Open read-only; files still flagged as being written open in SWMR-read mode."""
    path = Path(path)
    if not path.exists():
        raise RecordingError(f"file: {path} does not exist")
    cache = {} if cache_bytes is None else {"rdcc_nbytes": int(cache_bytes), "rdcc_nslots": 10007}
    try:
        return h5py.File(path, "r", **cache)
    except OSError as plain_error:
        try:
            f = h5py.File(path, "r", libver="latest", swmr=True, **cache)
        except OSError:
            raise RecordingError(
                f"file: {path} cannot be opened as HDF5 ({str(plain_error).split('(')[0].strip()}); "
                f"{recovery_hint(path)}") from None
        m = _TRUNCATED.search(str(plain_error))
        if m and not path.name.endswith(".part"):
            # A finished file shorter than HDF5 recorded: damaged in a copy, not a crash
            # (a crashed recording keeps its .part name and is read up to its last flush).
            f.close()
            raise RecordingError(
                f"file: {path} is truncated ({int(m['eof']):,} of {int(m['stored']):,} bytes); "
                f"copy it again from the original; {recovery_hint(path)}")
        return f


_TRUNCATED = re.compile(r"truncated file: eof = (?P<eof>\d+).*stored_eof = (?P<stored>\d+)")


@dataclass
class StreamView:
    key: str
    group: h5py.Group
    rows: RowCount = all_rows  # rows really written (a crashed .part: fewer than its extent)

    @property
    def attrs(self) -> dict:
        return dict(self.group.attrs)

    @property
    def name(self) -> str:
        return str(self.group.attrs["name"])

    @property
    def is_string(self) -> bool:
        return isinstance(self.group["data"], h5py.Group)

    def __len__(self) -> int:
        n_ts = self.rows(self.group["time_stamps"])
        d = self.group["data"]
        n_data = ragged.count(d, self.rows) if self.is_string else self.rows(d)
        return min(n_ts, n_data)

    @property
    def time_stamps(self) -> np.ndarray:
        return self.group["time_stamps"][: len(self)]

    @property
    def data(self) -> np.ndarray | list[str]:
        n = len(self)
        if self.is_string:
            return [b.decode("utf-8", "replace")
                    for b in ragged.read_all(self.group["data"], self.rows)[:n]]
        return self.group["data"][:n]

    @property
    def clock_offsets(self) -> np.ndarray:
        ds = self.group["clock_offsets"]
        return ds[: self.rows(ds)]

    @property
    def channels(self) -> np.ndarray:
        return self.group["channels"][:]

    @property
    def channel_labels(self) -> list[str]:
        return [b.decode() for b in self.group["channels"]["label"]]

    @property
    def sites(self) -> list[str | None]:
        """Per channel, the community's site number (Fridlund ``F1``-``F22``, Kuramoto
        ``K1``-``K24``; :func:`~mimicsync.dataset.electrodes.site_label`), None for others."""
        from mimicsync.dataset.electrodes import site_label
        return [site_label(lab) for lab in self.channel_labels]

    @property
    def channel_specs(self) -> list[ChannelSpec]:
        """The channel table as :class:`ChannelSpec` (what ``electrodes`` functions take)."""
        return [ChannelSpec(*(v.decode() if isinstance(v, bytes) else float(v) for v in row))
                for row in self.channels.tolist()]

    @property
    def srate(self) -> float:
        return float(self.group.attrs["nominal_srate"])

    @property
    def scale(self) -> np.ndarray:
        """Per-channel factor from stored values to the channel's unit."""
        return np.asarray(self.group["channels"]["scale"], dtype=float)

    def physical(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples ``start:stop`` in the channel units (float32 for float streams)."""
        stop = len(self) if stop is None else min(stop, len(self))
        x = self.group["data"][start:stop]
        scale = self.scale
        if x.dtype.kind == "f" and np.all(scale == 1.0):
            return x
        return x * scale.astype(np.float32 if x.dtype.itemsize <= 4 else np.float64)


class Recording:
    """A lazily read recording (finished, being written, or left by a crash).

    Use as a context manager or call :meth:`close`. Reading needs h5py and numpy only.

    Parameters
    ----------
    path : str | Path
        A ``*_recording.h5`` file, or its ``.part`` while recording or after a crash.
    cache_bytes : int, optional
        HDF5's per-dataset chunk cache; random-access readers raise it so neighbouring
        windows come from memory. None keeps h5py's default.

    Raises
    ------
    RecordingError
        The file is not HDF5, or not a mimicsync recording.

    Examples
    --------
    >>> with Recording("sub-07_ses-01_task-functional_run-01_recording.h5") as rec:
    ...     emg = rec.emg_stream()
    ...     t = rec.timeline(emg.key)        # sample times, common timeline (s)
    ...     x = emg.physical(0, 4096)        # first second, physical units
    ...     frame0 = rec.color(0)            # (H, W, 3) uint8
    """

    def __init__(self, path: str | Path, *, cache_bytes: int | None = None) -> None:
        self.path = Path(path)
        self.f = open_h5(self.path, cache_bytes)
        if self.f.attrs.get("format") != FORMAT_NAME:
            self.f.close()
            raise RecordingError(f"file: {self.path} is HDF5 but not a mimicsync recording")
        version = int(self.f.attrs.get("format_version", 1))
        if version > FORMAT_VERSION:
            self.f.close()
            raise RecordingError(f"file: {self.path} is format version {version}, this mimicsync "
                                 f"reads up to {FORMAT_VERSION}; update mimicsync")
        self.rows = row_counter(self.f, self.path)  # only written rows of an unfinished file
        self._timelines: dict[str, np.ndarray] = {}

    def __enter__(self) -> "Recording":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.f.close()

    @property
    def attrs(self) -> dict:
        return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in self.f.attrs.items()}

    @property
    def status(self) -> str:
        return str(self.f.attrs.get("status", ""))

    @property
    def provenance(self) -> dict:
        return json.loads(self.f.attrs.get("provenance", "{}"))

    @property
    def streams(self) -> dict[str, StreamView]:
        return {k: StreamView(k, g, self.rows) for k, g in self.f["streams"].items()}

    def emg_stream(self) -> StreamView:
        """The sEMG stream: the first of type EMG, else the first with EMG channels."""
        streams = self.streams
        for s in streams.values():
            if str(s.group.attrs.get("type", "")).upper() == "EMG" and not s.is_string:
                return s
        for s in streams.values():
            if not s.is_string and b"EMG" in set(s.group["channels"]["type"].tolist()):
                return s
        raise RecordingError("file", f"{self.path.name} has no EMG stream (streams: "
                             f"{', '.join(streams) or 'none'})",
                             "record one by requiring a stream of type EMG",
                             options=(("require", "type=EMG"),))

    def timeline(self, stream_key: str) -> np.ndarray:
        """Times on the common timeline of a stream's samples, or of frames for ``"video"``.

        Computed once per open recording (:func:`mimicsync.dataset.timeline.timeline`).

        Parameters
        ----------
        stream_key : str
            A key of :attr:`streams`, or ``"video"``.

        Returns
        -------
        numpy.ndarray
            float64 seconds, one per consistent sample (or frame).
        """
        from mimicsync.dataset.timeline import timeline
        if stream_key not in self._timelines:
            self._timelines[stream_key] = timeline(self, stream_key)
        return self._timelines[stream_key]

    def check_synced(self, require_synced: bool = False) -> bool:
        """Before pairing video with sEMG: raise if ``require_synced`` and the file is not
        synchronised, else warn (once per recording and process) and go on.

        Raises
        ------
        RecordingError
            ``require_synced`` and no complete ``/sync`` result in the file.
        """
        return warn_unsynced(self.is_synced, self.path, require_synced)

    def window_reader(self, stream_key: str, n: int) -> "WindowReader":
        """Reads ``n``-sample windows of a stream (raw stored values) by first sample."""
        return WindowReader(self.stream(stream_key).group["data"], n)

    @property
    def frame_times(self) -> np.ndarray:
        """Per-frame times on the common timeline."""
        from mimicsync.format import VIDEO
        return self.timeline(VIDEO)

    def stream(self, name_or_key: str) -> StreamView:
        streams = self.streams
        if name_or_key in streams:
            return streams[name_or_key]
        for s in streams.values():
            if s.name == name_or_key:
                return s
        raise KeyError(f"no stream '{name_or_key}' in {self.path.name}; "
                       f"streams: {', '.join(streams)}")

    # -- video ----------------------------------------------------------------------
    @property
    def has_video(self) -> bool:
        return "video" in self.f

    @property
    def n_frames(self) -> int:
        if not self.has_video:
            return 0
        return stored_frames(self.f["video"], self.rows)

    @property
    def frames(self) -> np.ndarray:
        """(n, k) float64 frame table: host_index, device_index, device_time_ms, host_time,
        then (newer files) the metadata columns named by :attr:`frame_columns`."""
        return self.f["video"]["frames"][: self.n_frames] if self.has_video else np.zeros((0, 4))

    @property
    def frame_columns(self) -> tuple[str, ...]:
        """Names of the :attr:`frames` columns (from ``/video`` ``frame_columns``)."""
        if not self.has_video:
            return FRAME_BASE_COLUMNS
        raw = self.f["video"].attrs.get("frame_columns")
        names = tuple(json.loads(raw)) if raw else FRAME_BASE_COLUMNS
        return names[: self.f["video"]["frames"].shape[1]]

    def frame_column(self, name: str) -> np.ndarray:
        """One column of the frame table by name; NaN for a column older files lack."""
        return frame_column(self.frames, self.frame_columns, name)

    def color(self, i: int) -> np.ndarray:
        """Decoded RGB frame ``i`` (H, W, 3) uint8."""
        c = self.f["video"]["color"]
        if isinstance(c, h5py.Group):
            import simplejpeg
            return simplejpeg.decode_jpeg(ragged.read(c, i), colorspace="RGB")
        return c[i]

    def depth(self, i: int) -> np.ndarray:
        """Depth frame ``i`` (h, w) uint16 in depth units (× ``depth_scale_m`` = metres);
        0 = no depth (or beyond ``/video`` ``depth_max_m`` when that is > 0)."""
        v = self.f["video"]
        ds = v["depth"]
        name = str(ds.attrs.get("depth_filter", depth_codec.NONE))
        values = ragged.read(v[depth_codec.VALUES], i) if depth_codec.VALUES in v else None
        return depth_codec.decode(ds[i], name, values)

    @property
    def has_depth(self) -> bool:
        return self.has_video and "depth" in self.f["video"]

    @property
    def fps(self) -> float:
        return float(self.f["video"].attrs["fps"]) if self.has_video else 0.0

    def jpeg(self, i: int) -> bytes | None:
        """The stored JPEG bytes of frame ``i`` (None for lossless colour)."""
        c = self.f["video"]["color"]
        return ragged.read(c, i) if isinstance(c, h5py.Group) else None

    def iter_stored_color(self, block: int = 256) -> Iterator[bytes | np.ndarray]:
        """Every colour frame in order as stored: JPEG bytes, or RGB arrays for lossless
        colour. Reads ``block`` frames per file access, so a whole video streams quickly
        (sync's scan) without decoding what the caller does not need."""
        c = self.f["video"]["color"]
        n = self.n_frames
        if isinstance(c, h5py.Dataset):
            for a in range(0, n, block):
                yield from c[a : a + block]
            return
        index = c["index"]
        for a in range(0, n, block):
            rows = index[a : min(n, a + block)]
            start, stop = int(rows[0, 0]), int(rows[-1, 0] + rows[-1, 1])
            blob = c["bytes"][start:stop].tobytes()
            for off, ln in rows:
                yield blob[off - start : off - start + ln]

    @property
    def video_attrs(self) -> dict:
        """The ``/video`` group's attributes (width, height, fps, camera, settings JSON,
        frame_stream_key ...; docs/format.md), or {} without video."""
        return dict(self.f["video"].attrs) if self.has_video else {}

    @property
    def is_synced(self) -> bool:
        """True once ``mimicsync sync`` stored a complete ``/sync`` result."""
        from mimicsync.dataset.sync_store import sync_group
        return sync_group(self.f) is not None

    # -- events ---------------------------------------------------------------------
    @property
    def events(self) -> list[Event]:
        ev = self.f["events"]
        rows = self.rows
        n = min(rows(ev["onset"]), rows(ev["duration"]), ragged.count(ev["payload"], rows))
        payloads = ragged.read_all(ev["payload"], rows)[:n]
        return [Event.from_json(o, d, p.decode("utf-8"))
                for o, d, p in zip(ev["onset"][:n], ev["duration"][:n], payloads)]

    @property
    def movements(self) -> list:
        """Held movements (:class:`~mimicsync.dataset.labels.Interval`), common timeline."""
        from mimicsync.dataset.labels import movement_intervals
        return movement_intervals(self.events)

    def to_mne_raw(self, stream_key: str | None = None, **kw):
        """The sEMG as ``mne.io.RawArray`` (see :func:`mimicsync.dataset.mne_raw.to_mne_raw`)."""
        from mimicsync.dataset.mne_raw import to_mne_raw
        return to_mne_raw(self, stream_key, **kw)

    # -- summary --------------------------------------------------------------------
    def summary(self) -> dict:
        """Per-stream counts, effective rates and gaps (on the common timeline, so a sender's
        clock reset is no gap); video frames and drops."""
        out: dict = {"path": str(self.path), "status": self.status,
                     "size_bytes": self.path.stat().st_size, "streams": {}}
        lost = [e for e in self.events if e.trial_type == "stream_lost"]
        for key, s in self.streams.items():
            # On the common timeline: raw sender stamps jump when its clock is reset (the
            # clock offsets see the reset), which gave negative durations and 0 Hz.
            ts = self.timeline(key)
            srate = float(s.group.attrs["nominal_srate"])
            n = len(ts)
            span = float(ts[-1] - ts[0]) if n > 1 else 0.0
            gaps = 0
            if srate > 0 and n > 1:
                gaps = int(np.count_nonzero(np.diff(ts) > max(0.25, 20.0 / srate)))
            out["streams"][key] = {
                "name": s.name, "type": str(s.group.attrs["type"]), "samples": n,
                "nominal_srate": srate,
                "effective_srate": (n - 1) / span if span > 0 else 0.0,
                "duration_s": span, "gaps": gaps,
                "disconnects": sum(1 for e in lost if e.extra.get("stream") == key),
                "clock_offsets": int(s.group["clock_offsets"].shape[0]),
            }
        if self.has_video:
            fr = self.frames
            dev = fr[:, 1]
            dropped = int(np.sum(np.clip(np.diff(dev) - 1, 0, None))) if len(dev) > 1 else 0
            span = float(fr[-1, 3] - fr[0, 3]) if len(fr) > 1 else 0.0
            out["video"] = {"frames": len(fr), "dropped": dropped,
                            "effective_fps": (len(fr) - 1) / span if span > 0 else 0.0,
                            "width": int(self.f["video"].attrs["width"]),
                            "height": int(self.f["video"].attrs["height"])}
        out["events"] = len(self.events)
        from mimicsync.dataset.sync_store import summary as sync_summary
        out["sync"] = sync_summary(self.f)  # None until `mimicsync sync` has run
        return out
