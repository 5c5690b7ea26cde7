"""Per-video-frame training views of one recording: EMG window, frame, movement label.

BioFace-3D pairs every video frame with a 0.5 s biosignal window starting at the frame's
time; other models centre it or end it there. :class:`WindowSpec` makes length and
anchor parameters. Which samples belong to a frame is decided once, on the common
timeline (:meth:`Recording.timeline`), and kept as plain integer arrays, so a training
loop only slices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mimicsync.dataset.labels import labels_at, movement_intervals
from mimicsync.dataset.processing import ChainParams, process_emg
from mimicsync.dataset.recording import Recording, RecordingError

ANCHORS = ("start", "center", "end")


@dataclass(frozen=True)
class WindowSpec:
    """EMG window per frame: ``length_s`` long, starting / centred / ending at the frame.

    A window that leaves the EMG, or spans a gap (samples further apart than
    ``max_gap_factor`` sample periods), is not valid and its frame is left out.
    """

    length_s: float = 0.5
    anchor: str = "start"
    max_gap_factor: float = 1.5

    def __post_init__(self) -> None:
        if self.anchor not in ANCHORS:
            raise ValueError(f"anchor: '{self.anchor}' is not one of {', '.join(ANCHORS)}")
        if not self.length_s > 0:
            raise ValueError(f"length_s: must be > 0 s, got {self.length_s}")

    def samples(self, srate: float) -> int:
        return max(1, int(round(self.length_s * srate)))


@dataclass(frozen=True)
class FrameWindows:
    """Which EMG samples go with which frames of one recording (valid frames only)."""

    stream_key: str
    n_samples: int  # window length
    frames: np.ndarray  # (k,) int64 frame indices
    starts: np.ndarray  # (k,) int64 first EMG sample of each frame's window
    times: np.ndarray  # (k,) frame times, common timeline
    labels: np.ndarray  # (k,) object: movement held at the frame time


def window_starts(emg_times: np.ndarray, at: np.ndarray, n: int, anchor: str) -> np.ndarray:
    """First sample index of the ``n``-sample window anchored at each time in ``at``."""
    if anchor == "start":
        return np.searchsorted(emg_times, at, side="left")
    if anchor == "end":
        return np.searchsorted(emg_times, at, side="right") - n
    return np.searchsorted(emg_times, at, side="left") - n // 2


def frame_windows(rec: Recording, spec: WindowSpec = WindowSpec(),
                  stream_key: str | None = None) -> FrameWindows:
    """The per-frame EMG windows and labels of ``rec`` (frames with a valid window)."""
    if not rec.has_video:
        raise RecordingError(f"file: {rec.path.name} has no video; per-frame views need "
                             "a recording made with a camera")
    s = rec.stream(stream_key) if stream_key else rec.emg_stream()
    t_emg = rec.timeline(s.key)
    t_frames = rec.frame_times
    n = spec.samples(s.srate)
    starts = window_starts(t_emg, t_frames, n, spec.anchor)
    ok = (starts >= 0) & (starts + n <= len(t_emg))
    idx = np.flatnonzero(ok)
    if idx.size:
        span = t_emg[starts[idx] + n - 1] - t_emg[starts[idx]]
        ok[idx] = span <= (n - 1) / s.srate * spec.max_gap_factor
    frames = np.flatnonzero(ok)
    labels = labels_at(movement_intervals(rec.events), t_frames[frames])
    return FrameWindows(s.key, n, frames.astype(np.int64), starts[frames].astype(np.int64),
                        t_frames[frames], labels)


def frame_features(rec: Recording, params: ChainParams = ChainParams(),
                   stream_key: str | None = None) -> tuple[np.ndarray, list[str]]:
    """The published chain's RMS features, one row per video frame, and their labels.

    The chain resamples to the camera's nominal rate; each frame then takes the feature
    sample nearest to its own time (frames are not perfectly regular, and some drop).
    """
    s = rec.stream(stream_key) if stream_key else rec.emg_stream()
    rate = rec.fps or 30.0
    feats, labels = process_emg(s.physical(), s.srate, s.channel_specs, rate, params)
    t_emg = rec.timeline(s.key)
    t_feat = np.interp(np.arange(len(feats)) * s.srate / rate, np.arange(len(t_emg)), t_emg)
    j = np.clip(np.searchsorted(t_feat, rec.frame_times), 1, len(t_feat) - 1)
    j -= (rec.frame_times - t_feat[j - 1]) < (t_feat[j] - rec.frame_times)
    return feats[j], labels
