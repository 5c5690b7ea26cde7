"""Aligned access for training: per video frame its time, EMG window and EMG features.

The readers in :mod:`mimicsync.dataset` already put everything on the common timeline
(:meth:`Recording.timeline`, which reads ``/sync`` when it is there). This module adds
what only makes sense after sync: it insists on a synchronised file (unless told
otherwise: clock offsets alone leave the camera's latency in), and it evaluates EMG
features *at each frame's own time* instead of resampling them to a nominal frame rate,
so dropped frames and the camera's drift cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mimicsync.dataset.frame_views import FrameWindows, WindowSpec, frame_windows
from mimicsync.dataset.processing import ChainParams, bandpass, bipolar, notch
from mimicsync.dataset.recording import Recording, RecordingError


def is_synced(rec: Recording) -> bool:
    """True when the file holds a complete ``/sync`` result."""
    return rec.is_synced


def _require(rec: Recording, require_sync: bool) -> None:
    if require_sync and not is_synced(rec):
        raise RecordingError(f"file: {rec.path.name} is not synchronised (frame times would "
                             f"miss the camera's latency); run `mimicsync sync {rec.path}`")


def frame_times(rec: Recording, *, require_sync: bool = True) -> np.ndarray:
    """Time of every stored video frame on the common timeline (s)."""
    _require(rec, require_sync)
    return rec.frame_times


def emg_windows(rec: Recording, spec: WindowSpec = WindowSpec(0.5, "start"),
                stream_key: str | None = None, *, require_sync: bool = True) -> FrameWindows:
    """Which EMG samples belong to each frame: ``spec.length_s`` long, starting, centred
    on or ending at the frame's time (BioFace-3D: 0.5 s starting at the frame)."""
    _require(rec, require_sync)
    return frame_windows(rec, spec, stream_key)


@dataclass(frozen=True)
class FrameFeatures:
    """EMG features evaluated at every frame's time (NaN where the window leaves the EMG)."""

    times: np.ndarray  # (n_frames,) common timeline
    values: np.ndarray  # (n_frames, k) float32, the channel units (µV)
    labels: list[str]
    valid: np.ndarray  # (n_frames,) bool


def emg_features(rec: Recording, spec: WindowSpec | None = None,
                 params: ChainParams = ChainParams(), stream_key: str | None = None, *,
                 require_sync: bool = True, block_s: float = 20.0) -> FrameFeatures:
    """RMS of the published chain's filtered EMG over each frame's window.

    Steps 1–4 of the chain (:mod:`mimicsync.dataset.processing`: mean removal, bipolar
    pairs, notch, band-pass), then, instead of a sliding RMS resampled to 30 Hz, the RMS
    over exactly the window of each frame (default: ``rms_samples`` centred on the
    frame, the chain's own window), from running sums with fractional sample bounds.
    Processed in blocks of ``block_s`` with a 1 s margin for the zero-phase filters, so
    memory stays bounded for long recordings.
    """
    _require(rec, require_sync)
    s = rec.stream(stream_key) if stream_key else rec.emg_stream()
    fs = s.srate
    spec = spec or WindowSpec(params.rms_samples / fs, "center")
    t_emg = rec.timeline(s.key)
    t_fr = rec.frame_times
    n = len(t_emg)
    length = spec.length_s
    start_t = {"start": t_fr, "center": t_fr - length / 2, "end": t_fr - length}[spec.anchor]
    pos = np.arange(n, dtype=float)
    inside = (start_t >= t_emg[0]) & (start_t + length <= t_emg[-1])
    i0 = np.interp(start_t, t_emg, pos)
    i1 = np.interp(start_t + length, t_emg, pos)
    # a window across a gap holds far fewer samples than its length says
    inside &= (i1 - i0) >= length * fs / spec.max_gap_factor
    chans = s.channel_specs
    mean = _channel_mean(s, n, block_s)
    margin = int(fs)
    block = max(int(block_s * fs), 4 * margin)
    labels: list[str] = []
    out = None
    for a in range(0, n, block):
        lo, hi = max(0, a - margin), min(n, a + block + margin)
        x = np.nan_to_num(np.asarray(s.physical(lo, hi), dtype=float) - mean, nan=0.0)
        if params.bipolar:
            x, labels = bipolar(x, chans)
        else:
            keep = [i for i, c in enumerate(chans) if c.type.upper() == "EMG"]
            x, labels = x[:, keep], [chans[i].label for i in keep]
        x = bandpass(notch(x, fs, params.notch_hz, params.notch_q), fs, params.band_hz,
                     params.fir_taps, params.fir_window)
        if out is None:
            out = np.full((len(t_fr), x.shape[1]), np.nan, np.float32)
        c = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x * x, axis=0)])
        mine = inside & (i0 >= a) & (i0 < a + block) & (i1 <= hi - 1)
        for j in np.flatnonzero(mine):
            s0 = _running_sum(c, i0[j] - lo)
            s1 = _running_sum(c, i1[j] - lo)
            out[j] = np.sqrt(np.clip(s1 - s0, 0, None) / max(i1[j] - i0[j], 1e-9))
    if out is None:
        out = np.zeros((len(t_fr), 0), np.float32)
    valid = np.all(np.isfinite(out), axis=1) & inside
    return FrameFeatures(t_fr, out, labels, valid)


def _running_sum(c: np.ndarray, x: float) -> np.ndarray:
    """Sum of squares of samples ``[0, x)`` with a fractional end (linear within a sample)."""
    k = int(np.floor(x))
    k = min(max(k, 0), c.shape[0] - 2)
    return c[k] + (x - k) * (c[k + 1] - c[k])


def _channel_mean(s, n: int, block_s: float) -> np.ndarray:
    """Per-channel mean over the whole recording (NaN ignored), read in blocks."""
    block = max(1, int(block_s * s.srate))
    total, count = None, None
    for a in range(0, n, block):
        x = np.asarray(s.physical(a, min(n, a + block)), dtype=float)
        ok = np.isfinite(x)
        t = np.where(ok, x, 0.0).sum(axis=0)
        total = t if total is None else total + t
        count = ok.sum(axis=0) if count is None else count + ok.sum(axis=0)
    return total / np.maximum(count, 1) if total is not None else 0.0
