"""Taps detected live in sEMG and video, and the running offset between them.

During recording the operator should see that the sync taps worked (a tap block with no
detected taps means the session cannot be aligned later) and roughly how far video and
sEMG are apart. This runs the offline sync chain (:mod:`mimicsync.sync`) on the last few
seconds every couple of seconds: EMG tap onsets (Teager-Kaiser + z-score), video tap
onsets (motion energy of small grayscale frames), then robust matching of the two tap
lists gathered so far. The offset is video minus sEMG on the recorder's clock (LSL clock
offsets applied), so it includes the camera latency the offline sync removes.
"""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass

import numpy as np

from mimicsync.acquisition.camera import Frame
from mimicsync.sync.emg_taps import emg_tap_onsets
from mimicsync.sync.match import Match, SyncRefused, match_events
from mimicsync.sync.video_events import motion_energy, small_gray, video_tap_onsets

log = logging.getLogger(__name__)
SAME_TAP_S = 0.15  # onsets closer than this (seen in two overlapping windows) are one tap


class FrameMotion:
    """Camera sink keeping ~160-pixel-wide grayscale frames and their host times.

    Stride-subsamples before averaging, so it costs about a millisecond per 1280x720 frame
    on the camera thread; motion energy does not need more.
    """

    def __init__(self, seconds: float = 6.0, fps: float = 30.0, width: int = 160) -> None:
        self.width = width
        self._frames: collections.deque[tuple[float, np.ndarray]] = collections.deque(
            maxlen=int(seconds * fps))
        self._lock = threading.Lock()

    def __call__(self, frame: Frame) -> None:
        c = frame.color
        step = max(1, c.shape[1] // (2 * self.width))
        small = small_gray(c[::step, ::step], max(1, c.shape[1] // step // self.width))
        with self._lock:
            self._frames.append((frame.host_time, small))

    def latest(self) -> tuple[np.ndarray, np.ndarray]:
        """``(times, frames)`` oldest first; frames ``(n, h, w)`` float32."""
        with self._lock:
            items = list(self._frames)
        if not items:
            return np.zeros(0), np.zeros((0, 1, 1), np.float32)
        return np.array([t for t, _ in items]), np.stack([f for _, f in items])


def _merge(known: list[float], new: np.ndarray) -> int:
    """Add onsets not already known (within SAME_TAP_S); returns how many were added."""
    added = 0
    for t in np.sort(new):
        if not any(abs(t - k) < SAME_TAP_S for k in known):
            known.append(float(t))
            added += 1
    known.sort()
    return added


@dataclass(frozen=True)
class TapStatus:
    emg_taps: tuple[float, ...]  # onsets, recorder clock
    video_taps: tuple[float, ...]
    offset_ms: float | None  # video - sEMG, None until two taps match
    confidence: float
    matched: int


class LiveTapSync:
    """Feed with :meth:`update` (EMG window, timestamps, rate); read :meth:`status`."""

    def __init__(self, motion: FrameMotion) -> None:
        self.motion = motion
        self.emg: list[float] = []
        self.video: list[float] = []
        self.match: Match | None = None
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.emg, self.video, self.match = [], [], None

    def update(self, emg: np.ndarray, timestamps: np.ndarray, srate: float,
               clock_offset: float = 0.0) -> None:
        """Detect taps in the given sEMG window and in the frames kept, then re-match."""
        found_emg = np.empty(0)
        if len(timestamps) > srate:
            found_emg = emg_tap_onsets(emg, timestamps + clock_offset, srate).onsets
        times, frames = self.motion.latest()
        found_video = np.empty(0)
        if len(times) > 10:
            found_video = video_tap_onsets(motion_energy(list(frames), times)).onsets
        with self._lock:
            changed = _merge(self.emg, found_emg) + _merge(self.video, found_video)
            if changed and len(self.emg) >= 2 and len(self.video) >= 2:
                try:
                    self.match = match_events(np.array(self.emg), np.array(self.video),
                                              max_offset_s=1.0, min_confidence=0.0)
                except SyncRefused:
                    self.match = None

    def status(self) -> TapStatus:
        with self._lock:
            m = self.match
            return TapStatus(tuple(self.emg), tuple(self.video),
                             m.offset_s * 1e3 if m is not None and m.n_matched >= 2 else None,
                             m.confidence if m is not None else 0.0,
                             m.n_matched if m is not None else 0)
