"""Per-item training views of one recording: EMG window, frame, movement label, features.

BioFace-3D resamples the video to 20 fps and pairs every frame with a 0.5 s biosignal
window starting at the frame's time; other models centre it or end it there, or use the
recorded frame times. :class:`WindowSpec` makes length, anchor and rate parameters.

Items are *times*: the recorded frame times, or a uniform grid at ``WindowSpec.fps``
over the video. Windows and features are placed at the item's exact time on the common
timeline (:meth:`Recording.timeline`); only the picture is the nearest recorded frame
(its own time is kept beside it), so a 20 fps grid costs no 16.7 ms window error.
Which samples belong to an item is decided once and kept as plain integer arrays, so a
training loop only slices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mimicsync.dataset.labels import item_labels
from mimicsync.dataset.processing import ChainParams, bandpass, bipolar, notch
from mimicsync.dataset.recording import Recording, RecordingError

ANCHORS = ("start", "center", "end")


@dataclass(frozen=True)
class WindowSpec:
    """EMG window per item: ``length_s`` long, starting / centred / ending at the item time.

    ``fps``: None = one item per recorded frame; a rate (e.g. 20.0) = items on a uniform
    grid at that rate from the first frame's time, each with the nearest frame's picture.
    A window that leaves the EMG, or spans a gap (samples further apart than
    ``max_gap_factor`` sample periods), is not valid and its item is left out.
    """

    length_s: float = 0.5
    anchor: str = "start"
    max_gap_factor: float = 1.5
    fps: float | None = None

    def __post_init__(self) -> None:
        if self.anchor not in ANCHORS:
            raise ValueError(f"anchor: '{self.anchor}' is not one of {', '.join(ANCHORS)}")
        if not self.length_s > 0:
            raise ValueError(f"length_s: must be > 0 s, got {self.length_s}")
        if self.fps is not None and not self.fps > 0:
            raise ValueError(f"fps: must be > 0 frames/s or None, got {self.fps}")

    def samples(self, srate: float) -> int:
        return max(1, int(round(self.length_s * srate)))

    def window_start(self, t: np.ndarray) -> np.ndarray:
        """Start time of the window anchored at each item time ``t``."""
        return t - {"start": 0.0, "center": self.length_s / 2, "end": self.length_s}[self.anchor]


@dataclass(frozen=True)
class FrameWindows:
    """Which EMG samples go with which items of one recording (valid items only)."""

    stream_key: str
    n_samples: int  # window length
    frames: np.ndarray  # (k,) int64 index of the item's picture (nearest recorded frame)
    starts: np.ndarray  # (k,) int64 first EMG sample of each item's window
    times: np.ndarray  # (k,) item times, common timeline (exact: window anchor)
    labels: np.ndarray  # (k,) object: movement (or tap / annotation) at the item time


def item_times(rec: Recording, spec: WindowSpec) -> tuple[np.ndarray, np.ndarray]:
    """``(times, frame index)`` of every item: the recorded frames, or the ``spec.fps``
    grid with the nearest recorded frame of each grid time."""
    t_fr = rec.frame_times
    if spec.fps is None or len(t_fr) < 2:
        return t_fr, np.arange(len(t_fr), dtype=np.int64)
    n = int(np.floor((t_fr[-1] - t_fr[0]) * spec.fps + 1e-9)) + 1
    grid = t_fr[0] + np.arange(n) / spec.fps
    j = np.clip(np.searchsorted(t_fr, grid), 1, len(t_fr) - 1)
    j -= (grid - t_fr[j - 1]) < (t_fr[j] - grid)
    return grid, j.astype(np.int64)


def window_starts(emg_times: np.ndarray, at: np.ndarray, n: int, anchor: str) -> np.ndarray:
    """First sample index of the ``n``-sample window anchored at each time in ``at``."""
    if anchor == "start":
        return np.searchsorted(emg_times, at, side="left")
    if anchor == "end":
        return np.searchsorted(emg_times, at, side="right") - n
    return np.searchsorted(emg_times, at, side="left") - n // 2


def per_frame_stream(rec: Recording, stream_key: str | None = None):
    """The sEMG stream to pair with frames (refused without video)."""
    if not rec.has_video:
        raise RecordingError(f"file: {rec.path.name} has no video; per-frame views need "
                             "a recording made with a camera")
    return rec.stream(stream_key) if stream_key else rec.emg_stream()


def frame_windows(rec: Recording, spec: WindowSpec = WindowSpec(),
                  stream_key: str | None = None, *, require_synced: bool = False
                  ) -> FrameWindows:
    """The per-item EMG windows and labels of ``rec`` (items with a valid window).

    Raises
    ------
    RecordingError
        No video, or ``require_synced`` and the file is not synchronised (otherwise an
        unsynchronised file gives a :class:`~mimicsync.dataset.recording.UnsyncedWarning`).
    """
    s = per_frame_stream(rec, stream_key)
    rec.check_synced(require_synced)
    t_emg = rec.timeline(s.key)
    times, frames = item_times(rec, spec)
    n = spec.samples(s.srate)
    starts = window_starts(t_emg, times, n, spec.anchor)
    ok = (starts >= 0) & (starts + n <= len(t_emg))
    idx = np.flatnonzero(ok)
    if idx.size:
        span = t_emg[starts[idx] + n - 1] - t_emg[starts[idx]]
        ok[idx] = span <= (n - 1) / s.srate * spec.max_gap_factor
    keep = np.flatnonzero(ok)
    labels = item_labels(rec.events, times[keep])
    return FrameWindows(s.key, n, frames[keep], starts[keep].astype(np.int64), times[keep],
                        labels)


@dataclass(frozen=True)
class FrameFeatures:
    """EMG features at every item's exact time (NaN rows where the window is not valid)."""

    times: np.ndarray  # (n_items,) common timeline
    frames: np.ndarray  # (n_items,) nearest recorded frame
    values: np.ndarray  # (n_items, k) float32 RMS in the channel units (µV)
    channels: list[str]  # k feature names: Fridlund bipolar sites (medFront_L, ...) in order
    valid: np.ndarray  # (n_items,) bool


def frame_features(rec: Recording, spec: WindowSpec | None = None,
                   params: ChainParams = ChainParams(), stream_key: str | None = None, *,
                   require_synced: bool = False, block_s: float = 20.0) -> FrameFeatures:
    """RMS of the published chain's filtered EMG over exactly each item's window.

    Steps 1–4 of the chain (:mod:`mimicsync.dataset.processing`: mean removal, bipolar
    pairs, notch, band-pass), then the RMS over each item's own window (default:
    ``rms_samples`` centred on the frame, the chain's window) from running sums with
    fractional sample bounds, instead of a sliding RMS resampled to a nominal rate, so
    dropped frames, camera drift and a target grid cost nothing. Processed in blocks of
    ``block_s`` with a 1 s margin for the zero-phase filters (bounded memory).

    Returns
    -------
    FrameFeatures
        ``values`` is ``(n_items, 22)`` for the Fridlund bipolar sites in
        :data:`~mimicsync.dataset.electrodes.MUSCLE_SITES` order (or the monopolar EMG
        channels with ``params.bipolar=False``); items: every recorded frame, or the
        ``spec.fps`` grid.
    """
    s = per_frame_stream(rec, stream_key)
    rec.check_synced(require_synced)
    fs = s.srate
    spec = spec or WindowSpec(params.rms_samples / fs, "center")
    t_emg = rec.timeline(s.key)
    times, frames = item_times(rec, spec)
    n, length = len(t_emg), spec.length_s
    start_t = spec.window_start(times)
    pos = np.arange(n, dtype=float)
    inside = (start_t >= t_emg[0]) & (start_t + length <= t_emg[-1])
    i0 = np.interp(start_t, t_emg, pos)
    i1 = np.interp(start_t + length, t_emg, pos)
    inside &= (i1 - i0) >= length * fs / spec.max_gap_factor  # a gap: too few samples
    chans = s.channel_specs
    mean = channel_mean(s, n, block_s)
    margin = int(fs)
    block = max(int(block_s * fs), 4 * margin)
    names: list[str] = []
    out = None
    for a in range(0, n, block):
        lo, hi = max(0, a - margin), min(n, a + block + margin)
        x = np.nan_to_num(np.asarray(s.physical(lo, hi), dtype=float) - mean, nan=0.0)
        if params.bipolar:
            x, names = bipolar(x, chans)
        else:
            keep = [i for i, c in enumerate(chans) if c.type.upper() == "EMG"]
            x, names = x[:, keep], [chans[i].label for i in keep]
        x = bandpass(notch(x, fs, params.notch_hz, params.notch_q), fs, params.band_hz,
                     params.fir_taps, params.fir_window)
        if out is None:
            out = np.full((len(times), x.shape[1]), np.nan, np.float32)
        c = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x * x, axis=0)])
        mine = np.flatnonzero(inside & (i0 >= a) & (i0 < a + block) & (i1 <= hi - 1))
        power = _running_sum(c, i1[mine] - lo) - _running_sum(c, i0[mine] - lo)
        out[mine] = np.sqrt(np.clip(power, 0, None) / np.maximum(i1[mine] - i0[mine], 1e-9)[:, None])
    if out is None:
        out = np.zeros((len(times), 0), np.float32)
    valid = np.all(np.isfinite(out), axis=1) & inside
    return FrameFeatures(times, frames, out, names, valid)


def _running_sum(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Sums of squares of samples ``[0, x)`` with fractional ends (linear within a sample)."""
    k = np.clip(np.floor(x).astype(np.int64), 0, c.shape[0] - 2)
    return c[k] + (x - k)[:, None] * (c[k + 1] - c[k])


def channel_mean(s, n: int, block_s: float = 20.0) -> np.ndarray:
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
