"""Taps detected live in sEMG and video, and the running offset between them.

During recording the operator should see that the sync taps worked (a tap block without
detected taps cannot be aligned later) and how far video and sEMG are apart. The
detection is the sync module's own incremental detector (:class:`mimicsync.sync.live.LiveSync`,
the offline chain's steps chunk by chunk); this module only feeds it from where the app
gets its data: sEMG chunks as the live monitor's inlet receives them, frames as the
camera delivers them (reduced to ~160-pixel grayscale on the camera thread, about a
millisecond at 1280x720). Both arrive on different threads, hence the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from mimicsync.acquisition.camera import Frame
from mimicsync.format import ChannelSpec
from mimicsync.sync.live import EmgTapStream, LiveStatus, LiveSync, VideoTapStream
from mimicsync.sync.video_events import small_gray


def small_frame(color: np.ndarray, width: int = 160) -> tuple[np.ndarray, float]:
    """Grayscale block means about ``width`` pixels across, and full pixels per small pixel.

    Strides by half the factor before averaging: a quarter of the work of full-resolution
    block means, and motion energy does not need more.
    """
    step = max(1, color.shape[1] // (2 * width))
    factor = max(1, color.shape[1] // step // width)
    return small_gray(color[::step, ::step], factor), float(step * factor)


class LiveTaps:
    """Camera sink and sEMG chunk sink for one recording's live tap detection."""

    def __init__(self, width: int = 160) -> None:
        self.width = width
        self._lock = threading.Lock()
        self._live: LiveSync | None = None
        self._fps = 30.0
        self._last: LiveStatus | None = None

    @property
    def running(self) -> bool:
        return self._live is not None

    def start(self, srate: float, channels: Sequence[ChannelSpec], fps: float = 30.0) -> None:
        """Start fresh for a recording: sEMG channels are those of type EMG, the trigger TRIG."""
        types = [c.type.upper() for c in channels]
        emg_cols = [i for i, t in enumerate(types) if t == "EMG"] or \
            [i for i, t in enumerate(types) if t == ""]  # as offline: never MISC or TRIG
        emg = EmgTapStream(srate, len(channels), emg_channels=emg_cols,
                           trigger_channel=types.index("TRIG") if "TRIG" in types else None)
        with self._lock:
            self._fps = fps
            self._live = LiveSync(emg, VideoTapStream(fps))
            self._last = None

    def stop(self) -> None:
        """Stop feeding; the last status stays readable."""
        with self._lock:
            if self._live is not None:
                self._last = self._live.final_status()
            self._live = None

    def push_emg(self, data: np.ndarray, timestamps: np.ndarray) -> None:
        with self._lock:
            if self._live is not None:
                self._live.push_emg(data, timestamps)

    def __call__(self, frame: Frame) -> None:
        if self._live is None:  # cheap check first: no work on the camera thread when off
            return
        small, scale = small_frame(frame.color, self.width)
        with self._lock:
            if self._live is not None:
                video = self._live.video
                video.scale, video.height = scale, frame.color.shape[0]
                self._live.push_frame(frame.host_time, small)

    def status(self, final: bool = False) -> LiveStatus | None:
        """What offline sync would decide so far (``final``: refit now, unthrottled)."""
        with self._lock:
            if self._live is None:
                return self._last
            return self._live.final_status() if final else self._live.status()
