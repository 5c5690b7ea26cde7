"""A librealsense ``software_device`` shaped like a D4xx, for the RealSense adapter's tests.

It has an "RGB Camera" and a "Stereo Module" sensor and injects frames with chosen
pixels, frame numbers and timestamps, so :class:`mimicsync.acquisition.realsense.RealSenseCamera`
runs its one code path (pipeline, frame queue, grabber thread) without a USB camera.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mimicsync.acquisition.camera import CameraError

try:
    import pyrealsense2 as rs
except ImportError:  # pragma: no cover
    rs = None


class SoftwareRealSense:
    """A librealsense ``software_device`` that looks like a D4xx, for tests and demos.

    ``modes`` are the (width, height, fps) offered by both sensors; ``intrinsics`` is a
    dict like :func:`_intrinsics` returns (without width/height). :meth:`push` injects
    one depth + colour pair the way the USB backend would deliver it.
    """

    def __init__(self, modes: tuple[tuple[int, int, int], ...] = ((640, 480, 30),),
                 serial: str = "SW-0001", name: str = "Intel RealSense D435 (software)",
                 firmware: str = "5.16.0.1", depth_scale: float = 0.001,
                 intrinsics: dict | None = None, global_time: bool = True) -> None:
        if rs is None:
            raise CameraError("pyrealsense2 is not installed")
        self.device = rs.software_device()
        for field, value in (("name", name), ("serial_number", serial),
                             ("firmware_version", firmware), ("product_line", "D400"),
                             ("usb_type_descriptor", "3.2")):
            self.device.register_info(getattr(rs.camera_info, field), value)
        self.depth_sensor = self.device.add_sensor("Stereo Module")
        self.color_sensor = self.device.add_sensor("RGB Camera")
        self.depth_sensor.add_read_only_option(rs.option.depth_units, depth_scale)
        if global_time:
            for s in (self.depth_sensor, self.color_sensor):
                s.add_option(rs.option.global_time_enabled, rs.option_range(0, 1, 1, 0), True)
        self._intr = intrinsics or {}
        self._profiles: dict[tuple[str, int, int, int], Any] = {}
        uid = 0
        for w, h, fps in modes:
            for kind, sensor, stream, fmt, bpp in (
                    ("depth", self.depth_sensor, rs.stream.depth, rs.format.z16, 2),
                    ("color", self.color_sensor, rs.stream.color, rs.format.rgb8, 3)):
                vs = rs.video_stream()
                vs.type, vs.index, vs.uid = stream, 0, uid
                vs.width, vs.height, vs.fps, vs.bpp, vs.fmt = w, h, fps, bpp, fmt
                vs.intrinsics = self._rs_intrinsics(w, h)
                profile = sensor.add_video_stream(vs, uid < 2)
                self._profiles[(kind, w, h, fps)] = profile.as_video_stream_profile()
                uid += 1

    def _rs_intrinsics(self, w: int, h: int) -> Any:
        i = rs.intrinsics()
        i.width, i.height = w, h
        i.fx, i.fy = self._intr.get("fx", w * 0.75), self._intr.get("fy", w * 0.75)
        i.ppx, i.ppy = self._intr.get("ppx", w / 2), self._intr.get("ppy", h / 2)
        i.model = getattr(rs.distortion, self._intr.get("model", "inverse_brown_conrady"))
        i.coeffs = list(self._intr.get("coeffs", [0.0] * 5))
        return i

    def push(self, color: np.ndarray, depth: np.ndarray | None, frame_number: int,
             timestamp_ms: float, fps: int = 30, color_first: bool = False,
             domain: str = "global_time") -> None:
        """Inject a frame pair; ``color_first`` flips the arrival order the syncer sees."""
        h, w = color.shape[:2]
        items = [("color", self.color_sensor, color, 3)]
        if depth is not None:
            item = ("depth", self.depth_sensor, depth, 2)
            items = items + [item] if color_first else [item] + items
        for kind, sensor, pixels, bpp in items:
            f = rs.software_video_frame()  # a fresh one each time: reuse corrupts the heap
            f.pixels = np.ascontiguousarray(pixels)  # copied by the binding
            f.stride, f.bpp = w * bpp, bpp
            f.timestamp = timestamp_ms
            f.domain = getattr(rs.timestamp_domain, domain)
            f.frame_number = frame_number
            f.profile = self._profiles[(kind, w, h, fps)]
            sensor.on_video_frame(f)
