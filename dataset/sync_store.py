"""``/sync`` in the recording file: write a result atomically enough, read times back.

Writing never touches anything outside ``/sync``. The new result is built in a group
with a unique temporary name, its ``complete`` attribute is set last, and only then is
it swapped in (old ``/sync`` renamed away, new one renamed to ``/sync``, old deleted).
A crash leaves either the old complete ``/sync``, no ``/sync`` (readers fall back to
the clock offsets), or a stray temporary group that nobody reads and the next run
removes. Readers trust ``/sync`` only when ``complete`` is true. The layout is
documented in ``docs/format.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import uuid
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np

from mimicsync import __version__
from mimicsync.sync.stream_maps import evaluate

if TYPE_CHECKING:
    from mimicsync.dataset.recording import Recording
    from mimicsync.dataset.sync_recording import SyncResult

GROUP = "sync"
FORMAT = "mimicsync-sync"
VERSION = 1
TIMELINE = ("recorder host LSL clock (s) as realised by the reference sEMG stream "
            "(clock offsets + dejitter); video mapped onto it by matched trigger/LED and tap "
            "events")
EVENT_DTYPE = np.dtype([("kind", "S12"), ("emg_time", "f8"), ("video_time", "f8"),
                        ("video_lo", "f8"), ("video_hi", "f8"), ("subframe", "u1"),
                        ("residual_ms", "f8"), ("used", "u1")])
REJECTED_DTYPE = np.dtype([("modality", "S8"), ("kind", "S12"), ("time", "f8"),
                           ("reason", "S120")])


def _jsonable(obj):
    if is_dataclass(obj):
        return {k: _jsonable(v) for k, v in asdict(obj).items()}
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def software() -> dict[str, str]:
    import scipy
    return {"mimicsync": __version__, "python": sys.version.split()[0], "numpy": np.__version__,
            "scipy": scipy.__version__, "h5py": h5py.__version__,
            "hdf5": h5py.version.hdf5_version}


def _write_map(g: h5py.Group, m) -> None:
    g.attrs["basis"] = m.basis
    g.attrs["n"] = m.n
    g.attrs["method"] = m.method
    g.attrs["clock_drift_ppm"] = json.dumps(list(m.clock_drift_ppm))
    g.attrs["clock_resets"] = m.clock_resets
    g.create_dataset("pieces", data=np.asarray(m.pieces, dtype="f8").reshape(-1, 4))


def _fill(g: h5py.Group, r: "SyncResult", forced: bool) -> None:
    ev, fit = r.events, r.events.fit
    streams = g.create_group("streams")
    for key, m in r.streams.items():
        _write_map(streams.create_group(key), m)
    v = g.create_group("video")
    _write_map(v, r.video)
    v.create_dataset("times", data=np.asarray(r.frame_times, "f8"))
    v.create_dataset("video_clock", data=np.asarray(r.video_clock, "f8"))
    if r.led is not None:
        v.attrs["led_box"] = json.dumps([int(x) for x in r.led.roi])
    rows = np.array([(p.kind.encode(), p.emg, p.video, p.lo, p.hi, p.subframe, p.residual_ms,
                      p.consistent) for p in ev.pairs], dtype=EVENT_DTYPE)
    g.create_dataset("events", data=rows)
    rej = np.array([(m.encode(), k.encode(), t, reason.encode("utf-8")[:120])
                    for m, k, t, reason in ev.rejected], dtype=REJECTED_DTYPE)
    g.create_dataset("rejected", data=rej)
    a = g.attrs
    a["format"], a["version"] = FORMAT, VERSION
    a["software"] = json.dumps(software())
    a["created_utc"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    a["timeline"] = TIMELINE
    a["reference"] = r.reference
    a["offset_s"], a["drift_ppm"], a["t_ref"] = fit.offset_s, fit.drift_ppm, fit.t_ref
    a["offset_sd_ms"], a["drift_sd_ppm"] = fit.sd_offset_s * 1e3, fit.sd_drift_ppm
    a["uncertainty_ms"] = r.uncertainty_ms  # 95 % bound on any frame's error
    a["tap_bias_ms"] = fit.bias_s * 1e3 if fit.fitted_bias else np.nan
    a["residual_rms_ms"] = ev.rms_ms
    a["confidence"] = ev.confidence
    a["events_used"] = ev.n_used
    a["events_inconsistent"] = len(ev.pairs) - ev.n_used
    a["events_rejected"] = len(ev.rejected)
    a["counts"] = json.dumps(ev.counts)
    a["dropped_frames"] = r.dropped_frames
    a["forced"] = bool(forced)
    a["params"] = json.dumps(_jsonable(r.params))
    a["warnings"] = json.dumps(r.warnings)


def write_sync(path: str | Path, result: "SyncResult", *, forced: bool = False) -> None:
    """Replace ``/sync`` of ``path`` with ``result``, atomically.

    The new group is written under a temporary name with ``complete`` set last, then
    swapped in; a crash at any point leaves the old result or the new one, never a mix.

    Parameters
    ----------
    path : str | Path
        A finished recording.
    result : SyncResult
        What :func:`mimicsync.dataset.sync_recording.synchronize` returned.
    forced : bool
        The result was accepted despite a low confidence (stored with it).
    """
    tmp = f"{GROUP}.new-{uuid.uuid4().hex[:12]}"
    with h5py.File(path, "r+") as f:
        for stray in [k for k in f.keys() if k.startswith(f"{GROUP}.new-")
                      or k.startswith(f"{GROUP}.old-")]:
            del f[stray]
        g = f.create_group(tmp)
        _fill(g, result, forced)
        g.attrs["complete"] = False
        f.flush()
        g.attrs["complete"] = True
        f.flush()
        old = None
        if GROUP in f:
            old = f"{GROUP}.old-{uuid.uuid4().hex[:12]}"
            f.move(GROUP, old)
        f.move(tmp, GROUP)
        if old:
            del f[old]
        f.flush()
    sidecar = Path(path).with_suffix(".json")
    if sidecar.exists():  # a recording in a study tree: keep its summary current
        from mimicsync.dataset.sidecar import write_sidecar
        write_sidecar(Path(path))
        _scans_row(Path(path), result)


def _scans_row(path: Path, r: "SyncResult") -> None:
    """The recording's ``scans.tsv`` row gets its sync offset and accuracy (95 %, ms)."""
    from mimicsync.dataset.layout import root_of
    from mimicsync.dataset.study_tree import study_lock, upsert_tsv
    scans = list(path.parent.glob("*_scans.tsv"))
    if not scans:
        return
    with study_lock(root_of(path)):
        upsert_tsv(scans[0], "filename", {"filename": path.name,
                                          "sync_offset_ms": f"{r.offset_s * 1e3:.3f}",
                                          "sync_accuracy_ms": f"{r.uncertainty_ms:.2f}"})


def sync_group(f: h5py.File) -> h5py.Group | None:
    """The complete ``/sync`` group, or None (absent, or left half-written by a crash)."""
    g = f.get(GROUP)
    if not isinstance(g, h5py.Group) or not bool(g.attrs.get("complete", False)):
        return None
    if g.attrs.get("format") != FORMAT:
        return None
    return g


def stored_times(rec: "Recording", stream_key: str) -> np.ndarray | None:
    """Times on the common timeline from ``/sync`` for a stream key, or ``"video"`` for
    the frames; None when ``/sync`` has nothing complete for it (the caller falls back)."""
    g = sync_group(rec.f)
    if g is None:
        return None
    if stream_key == "video":
        n = rec.n_frames
        t = g["video"]["times"]
        return np.asarray(t[:n], dtype=float) if t.shape[0] >= n else None
    s = g["streams"].get(stream_key)
    if s is None:
        return None
    stream = rec.stream(stream_key)
    n = len(stream)
    basis = str(s.attrs["basis"])
    if int(s.attrs["n"]) < n:
        return None  # the stream grew after sync (should not happen): do not guess
    frame_key = str(rec.f["video"].attrs.get("frame_stream_key", "")) if rec.has_video else ""
    if stream_key == frame_key and n == rec.n_frames:  # one sample per stored frame
        return stored_times(rec, "video")
    if basis == "index":
        x = np.zeros(0)
    elif basis == "device_time":  # the channel labelled device_time, wherever it is
        labels = [c.label for c in stream.channel_specs]
        if "device_time" not in labels:
            return None
        x = np.asarray(stream.group["data"][:n, labels.index("device_time")], float) / 1000.0
    else:
        x = stream.time_stamps
    out = evaluate(s["pieces"][:], basis, x, n)
    return out if np.all(np.isfinite(out)) else None


def summary(f: h5py.File) -> dict | None:
    """The headline numbers of a stored result (for ``mimicsync info`` and the GUI)."""
    g = sync_group(f)
    if g is None:
        return None
    keys = ("reference", "offset_s", "drift_ppm", "offset_sd_ms", "uncertainty_ms",
            "residual_rms_ms",
            "confidence", "events_used", "events_rejected", "created_utc", "forced")
    return {k: (v.item() if isinstance(v, np.generic) else v)
            for k, v in ((k, g.attrs[k]) for k in keys if k in g.attrs)}
