"""Synchronise one recording: every stream onto one timeline, checked by events.

The common timeline is the recorder host's LSL clock *as realised by the sEMG stream*:
the sEMG's timestamps, corrected by their stored clock offsets (a robust line per clock
segment) and dejittered, are the reference; its sample clock is the most regular thing
in the lab and it carries the trigger channel. Every other LSL stream gets the clock
level only (offsets, dejitter if regular). The video gets the clock level (device clock
fitted to host arrival times) and then the event level: trigger/LED edges and taps seen
in both modalities give the offset and drift of the video relative to the sEMG, which
removes the camera's transport latency and anything LSL's offsets cannot see. Nothing is
written here (see :mod:`.sync_store`); :func:`synchronize` only reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from mimicsync.dataset.recording import Recording, RecordingError, StreamView, recovery_hint
from mimicsync.dataset.sync_video import exposure_model, video_events
from mimicsync.errors import MimicsyncError
from mimicsync.sync.arrivals import ArrivalParams
from mimicsync.sync.emg_taps import EmgTapParams, emg_tap_onsets
from mimicsync.sync.event_fit import EventFit, EventFitParams, LowConfidence, accuracy_s, fit_events
from mimicsync.sync.onsets import falling_edges, rising_edges
from mimicsync.sync.stream_maps import StreamMap, map_frames_on, map_stream
from mimicsync.sync.video_events import Box, Trace


class SyncError(MimicsyncError, ValueError):
    """The recording cannot be synchronised as it is; the one-line message says why and
    what to do. The file is left unchanged."""


@dataclass(frozen=True)
class SyncParams:
    """All settings of :func:`synchronize` (stored in ``/sync`` with the result)."""

    events: EventFitParams = EventFitParams()
    emg_taps: EmgTapParams = EmgTapParams()
    video_taps: ArrivalParams = ArrivalParams()  # tap contacts: where an approach ends
    emg_stream: str | None = None  # default: the first EMG stream
    led_box: Box | None = None  # full-resolution pixels; default: found automatically
    face_box: Box | None = None  # where taps are looked for; default: the whole frame
    min_led_score: float = 25.0  # below: no LED in the picture
    min_tap_peak: float = 0.5  # weaker video contacts (× the typical one) do not vote
    target_width: int = 160  # decode frames to about this width
    readout_ms: float | None = None  # rolling-shutter readout; None: from the file


@dataclass
class SyncResult:
    """Everything :mod:`.sync_store` writes and :mod:`.report` shows."""

    path: Path
    reference: str  # key of the sEMG stream that defines the timeline
    streams: dict[str, StreamMap]  # clock level, plus the event level for video streams
    video: StreamMap  # frames → common timeline
    frame_times: np.ndarray  # per frame, common timeline
    video_clock: np.ndarray  # per frame, the video's own clock (clock level only)
    events: EventFit
    params: SyncParams
    led: Trace | None = None  # LED brightness per frame (video clock)
    taps_trace: Trace | None = None  # tap motion per frame pair (video clock)
    led_score: float = 0.0
    uncertainty_ms: float = float("nan")  # 95 % bound on any frame's error (accuracy)
    dropped_frames: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def offset_s(self) -> float:
        """Video clock − common timeline, at ``t_ref``."""
        return self.events.fit.offset_s

    @property
    def drift_ppm(self) -> float:
        return self.events.fit.drift_ppm

    @property
    def confidence(self) -> float:
        return self.events.confidence


class _Columns:
    """Row blocks of some columns of an h5py dataset, in physical units (for emg_taps)."""

    def __init__(self, ds: h5py.Dataset, cols: list[int], scale: np.ndarray, n: int) -> None:
        self.ds, self.cols, self.scale = ds, cols, scale[cols]
        self.shape = (n, len(cols))

    def __getitem__(self, rows: slice) -> np.ndarray:
        stop = min(rows.stop if rows.stop is not None else self.shape[0], self.shape[0])
        x = self.ds[rows.start or 0 : stop]
        return x[:, self.cols] * self.scale


def _open(path: Path) -> Recording:
    rec = Recording(path)
    if rec.status == "recording":
        rec.close()
        raise SyncError(f"file: {path.name} is still being recorded or was left by a crash; "
                        f"{recovery_hint(path)} first")
    return rec


EMG_TYPES = ("EMG", "")  # channel types that feed the tap detector ("" = untyped stream)
TRIG_TYPES = ("TRIG", "TRIGGER")


def emg_events(s: StreamView, times: np.ndarray, params: SyncParams
               ) -> tuple[dict, list, list[str]]:
    """Tap onsets (channels typed EMG; untyped only when none is typed) and trigger edges
    (TRIG channels), common timeline; the rejected tap candidates with their reasons; and
    what went wrong (for a refusal: an idle-high trigger, no EMG channel)."""
    types = [c.type.upper() for c in s.channel_specs]
    emg_cols = [i for i, t in enumerate(types) if t == "EMG"] or \
        [i for i, t in enumerate(types) if t == ""]
    trig_cols = [i for i, t in enumerate(types) if t in TRIG_TYPES]
    n = len(times)
    out: dict[str, np.ndarray] = {}
    rejected, causes = [], []
    if emg_cols:
        taps = emg_tap_onsets(_Columns(s.group["data"], emg_cols, s.scale, n), times, s.srate,
                              params.emg_taps)
        out["tap"] = taps.onsets
        rejected = [("emg", "tap", float(t), r) for t, r in
                    zip(taps.rejected_onsets, taps.rejected_reasons)]
    else:
        causes.append(f"the sEMG stream {s.key} has no channel typed EMG")
    if trig_cols:
        trig = np.asarray(s.group["data"][:n, trig_cols[0]], dtype=float)
        lo, hi = np.percentile(trig, [1, 99]) if trig.size else (0.0, 0.0)
        if hi > lo and np.mean(trig > (lo + hi) / 2) > 0.5:
            causes.append(f"the trigger channel {s.channel_specs[trig_cols[0]].label} idles "
                          "high (pulses go low); its edges are used inverted")
            trig = hi + lo - trig
        out["trigger_on"] = rising_edges(trig, times, min_contrast=None)
        out["trigger_off"] = falling_edges(trig, times, min_contrast=None)
    return out, rejected, causes


def synchronize(path: str | Path, params: SyncParams = SyncParams(), *,
                force: bool = False) -> SyncResult:
    """Compute the mapping of every stream of ``path`` onto the common timeline.

    Reads only. Raises :class:`SyncError` for input that cannot be synchronised and
    :class:`~mimicsync.sync.match.SyncRefused` when the evidence is too weak (unless
    ``force``, which accepts a low confidence but never missing events). A low-confidence
    refusal carries the would-be result as ``sync_result`` (for a report).
    """
    t_start = time.monotonic()
    path = Path(path)
    try:
        rec = _open(path)
    except RecordingError as e:
        raise SyncError(str(e)) from None
    with rec:
        return _synchronize(rec, path, params, force, t_start)


def _synchronize(rec: Recording, path: Path, params: SyncParams, force: bool,
                 t_start: float) -> SyncResult:
    try:
        emg = rec.stream(params.emg_stream) if params.emg_stream else rec.emg_stream()
    except (RecordingError, KeyError) as e:
        raise SyncError(str(e).strip("'\"")) from None
    if not rec.has_video or rec.n_frames < 3:
        raise SyncError(f"file: {path.name} has no video (only {', '.join(rec.streams)}); sync "
                        "aligns the sEMG with the camera, so record with a camera")
    if len(emg) < emg.srate:
        raise SyncError(f"file: {path.name}: the sEMG stream {emg.key} has only {len(emg)} "
                        "samples; record at least a few seconds with taps")
    warnings: list[str] = []
    streams: dict[str, StreamMap] = {}
    frame_key = str(rec.video_attrs.get("frame_stream_key", ""))
    for key, s in rec.streams.items():
        if key == frame_key:
            continue
        streams[key] = map_stream(s.time_stamps, s.clock_offsets, s.srate,
                                  bool(s.attrs.get("can_drop_samples", False)))
        if streams[key].clock_resets:
            warnings.append(f"stream {key}: {streams[key].clock_resets} clock reset(s) handled")
    emg_times = streams[emg.key].times(emg.time_stamps)
    if not np.all(np.isfinite(emg_times)):
        raise SyncError(f"file: {path.name}: sEMG timestamps of {emg.key} could not be mapped; "
                        f"{recovery_hint(path)}")
    emg_ev, emg_rejected, causes = emg_events(emg, emg_times, params)

    # one fit of the device clock: the video's map, and the frame-index stream's at the
    # frame timestamps (device_time)
    frames = rec.frames
    (vmap, ft), (idx_map, idx_ft) = map_frames_on(frames, rec.frame_columns,
                                                  (None, "device_time"))
    times = ft.times if ft is not None else frames[:, 3].copy()
    if ft is None:
        warnings.append("video: no usable device clock; frame times from host arrival")
    dropped = ft.dropped if ft is not None else 0
    exp, exp_warn = exposure_model(rec, times, vmap.basis, params.readout_ms)
    warnings += exp_warn
    vid = video_events(rec, exp, led_box=params.led_box, face_box=params.face_box,
                       min_led_score=params.min_led_score,
                       min_tap_strength=params.min_tap_peak, target_width=params.target_width)
    warnings += vid.warnings
    n_pulses = len(emg_ev.get("trigger_on", ()))
    if vid.led is None and n_pulses:
        causes.append(f"the sEMG trigger channel has {n_pulses} pulses but no LED was found "
                      "in the video (keep the LED in view of the camera, or give its box)")
    fps = float(rec.fps) or 1.0 / float(np.median(np.diff(times)))
    refused = None
    try:
        ev = fit_events(emg_ev, vid.events, 1.0 / fps, params.events, vote=vid.vote,
                        causes=causes)
    except LowConfidence as e:
        ev = e.result
        if force:
            warnings.append(f"forced: {e.reason}")
        else:
            refused = e
    ev.rejected.extend(emg_rejected)
    fit = ev.fit
    clock = exp.instant()  # each frame's own instant, video clock
    # video clock → common: invert t_video = t + off + d·(t − t_ref)
    d = fit.drift_ppm * 1e-6
    scale, shift = 1.0 / (1.0 + d), (-fit.offset_s + d * fit.t_ref) / (1.0 + d)
    level = float(np.median(clock - times)) if clock.size else 0.0
    video = vmap.then(1.0, level).then(scale, shift)
    frame_times = fit.to_emg(clock)
    if frame_key and frame_key in rec.streams:
        idx_level = float(np.median(clock - idx_ft.times)) if idx_ft is not None else level
        streams[frame_key] = idx_map.then(1.0, idx_level).then(scale, shift)
    result = SyncResult(path=path, reference=emg.key, streams=streams, video=video,
                        frame_times=frame_times, video_clock=clock, events=ev, params=params,
                        led=vid.led, taps_trace=vid.taps, led_score=vid.led_score,
                        uncertainty_ms=accuracy_s(ev, emg_times[0], emg_times[-1]) * 1e3,
                        dropped_frames=dropped, warnings=warnings,
                        seconds=time.monotonic() - t_start)
    if refused is not None:
        refused.sync_result = result  # for a report of what was found
        raise refused
    return result
