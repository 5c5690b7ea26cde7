"""The camera interface shared by the RealSense adapter and the camera simulator.

Video frames never go through LSL (too large, and nobody else needs the pixels); they
reach the recorder in-process through :class:`CameraStreamer` sinks. Their *timing* does
go through LSL: the streamer publishes a frame-index stream (double64: host frame number,
device frame number, device time, host time; ``can_drop_samples=true``) so every
recorder on the network sees when each frame was taken.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np
import pylsl

from mimicsync.acquisition.lsl_meta import add_channels
from mimicsync.errors import ErrorCode, MimicsyncError
from mimicsync.format import FRAME_COLUMNS, FRAME_INDEX_CHANNELS, FRAME_INDEX_TYPE, CameraInfo

log = logging.getLogger(__name__)

class CameraError(MimicsyncError, RuntimeError):
    """A camera failed to start or stopped delivering; the message says what to do."""

    default_code = ErrorCode.DEVICE


@dataclass
class Frame:
    """One captured frame pair (colour + optional aligned-in-time depth)."""

    host_index: int  # 0, 1, 2, ... assigned on the host for every frame it received
    device_index: int  # hardware frame counter; gaps mean frames dropped before the host
    device_time_ms: float  # device timestamp (RealSense global time domain), milliseconds
    host_time: float  # LSL local_clock() time the frame arrived on the host, seconds
    color: np.ndarray  # (H, W, 3) uint8, RGB
    depth: np.ndarray | None = None  # (h, w) uint16 in depth units, or None
    # per-frame metadata the device reports, by FRAME_COLUMNS name (sensor_time_ms,
    # exposure_ms, ...); missing names are stored as NaN
    meta: dict = field(default_factory=dict)

    def row(self) -> tuple[float, ...]:
        """This frame's row of ``/video/frames`` (columns :data:`FRAME_COLUMNS`)."""
        base = (float(self.host_index), float(self.device_index), float(self.device_time_ms),
                float(self.host_time))
        return base + tuple(float(self.meta.get(c, np.nan)) for c in FRAME_COLUMNS[4:])


class Camera(Protocol):
    """What the recorder needs from a camera (RealSense, simulator, or a test double)."""

    def start(self) -> CameraInfo:
        """Open the device and start streaming; raise :class:`CameraError` with a fix."""

    def read(self, timeout: float = 1.0) -> Frame | None:
        """The next frame, or None if none arrived within ``timeout`` seconds."""

    def stop(self) -> None:
        """Stop streaming and release the device. Safe to call twice."""


FrameSink = Callable[[Frame], None]


class CameraStreamer:
    """Runs a camera on its own thread: frame-index LSL outlet + in-process frame sinks.

    Dropped frames are counted from gaps in the hardware counter (``device_index``).
    A camera that stops delivering for ``stall_timeout`` s is reported through
    ``error`` and the thread keeps trying, so the other streams keep recording.
    """

    def __init__(self, camera: Camera, name: str = "mimicsync-camera", source_id: str = "",
                 stall_timeout: float = 2.0) -> None:
        self.camera = camera
        self.name = name
        self.source_id = source_id
        self.stall_timeout = stall_timeout
        self.info: CameraInfo | None = None
        self.outlet: pylsl.StreamOutlet | None = None
        self.frames = 0
        self.dropped = 0
        self.error: str | None = None
        self._sinks: list[FrameSink] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_device_index: int | None = None

    def add_sink(self, sink: FrameSink) -> None:
        self._sinks.append(sink)

    def remove_sink(self, sink: FrameSink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    def start(self) -> CameraInfo:
        self.info = self.camera.start()
        sid = self.source_id or f"{self.name}-{self.info.serial}"
        si = pylsl.StreamInfo(self.name, FRAME_INDEX_TYPE, len(FRAME_INDEX_CHANNELS),
                              self.info.fps, pylsl.cf_double64, sid)
        add_channels(si, FRAME_INDEX_CHANNELS)
        cam = si.desc().append_child("camera")
        for k in ("name", "serial", "width", "height", "fps", "depth_width", "depth_height"):
            cam.append_child_value(k, str(getattr(self.info, k)))
        si.desc().append_child_value("can_drop_samples", "true")
        self.outlet = pylsl.StreamOutlet(si, chunk_size=1, max_buffered=60)
        self._thread = threading.Thread(target=self._run, name=f"camera:{self.name}", daemon=True)
        self._thread.start()
        return self.info

    def _run(self) -> None:
        stalled_since: float | None = None
        while not self._stop.is_set():
            try:
                frame = self.camera.read(timeout=0.5)
            except Exception as e:  # a device error must not kill the thread
                self.error = f"camera read failed: {e}"
                log.warning(self.error)
                frame = None
            if frame is None:
                now = pylsl.local_clock()
                stalled_since = stalled_since or now
                if now - stalled_since > self.stall_timeout and not self.error:
                    self.error = (f"camera '{self.name}' delivered no frame for "
                                  f"{now - stalled_since:.1f} s; check its cable")
                continue
            stalled_since = None
            self.error = None
            if self._last_device_index is not None:
                gap = frame.device_index - self._last_device_index - 1
                if gap > 0:
                    self.dropped += gap
            self._last_device_index = frame.device_index
            self.frames += 1
            self.outlet.push_sample(
                [float(frame.host_index), float(frame.device_index), frame.device_time_ms,
                 frame.host_time], frame.host_time)
            for sink in list(self._sinks):
                try:
                    sink(frame)
                except Exception:  # a broken sink must not stop the camera
                    log.exception("frame sink failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.camera.stop()
        finally:
            self.outlet = None
