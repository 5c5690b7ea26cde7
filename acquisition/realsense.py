"""Intel RealSense adapter: colour (rgb8) + depth (z16) through pyrealsense2.

One code path serves a USB camera and librealsense's ``software_device``: the device
(found by serial, or passed in) is handed to a ``pipeline`` with ``set_device`` and the
pipeline's synced framesets go into an ``rs.frame_queue``. A grabber thread blocks on
that queue with the GIL released and stamps ``pylsl.local_clock()`` the moment a frame
arrives, so host times do not depend on how quickly the recorder calls :meth:`read`
(and no Python callback runs on a librealsense thread, which can deadlock ``stop()``).

:class:`mimicsync.acquisition.simulators.realsense_software.SoftwareRealSense` builds a
software device shaped like a D4xx, so this adapter's tests run without a camera.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pylsl

from mimicsync.acquisition.camera import CameraError, Frame
from mimicsync.acquisition.throttled_log import CountedWarning
from mimicsync.format import CameraInfo

try:
    import pyrealsense2 as rs
except ImportError:  # pragma: no cover - the simulator still works without it
    rs = None

log = logging.getLogger(__name__)

SIM_CAMERA = (("camera", "sim"),)  # the setting that always works: the simulated camera


def no_camera_error() -> CameraError:
    """No RealSense is connected: the one message for it."""
    return CameraError("camera", "no RealSense camera found (USB 3 cable?)",
                       "connect one or use the simulated camera", options=SIM_CAMERA)


COLOR_OPTIONS = ("enable_auto_exposure", "exposure", "gain", "enable_auto_white_balance",
                 "white_balance", "brightness", "contrast", "power_line_frequency")
DEPTH_OPTIONS = ("visual_preset", "emitter_enabled", "laser_power", "exposure",
                 "enable_auto_exposure", "depth_units")


def _enum_name(value: Any) -> str:
    return str(value).rsplit(".", 1)[-1]


def _device_info(dev: Any, field: str) -> str:
    key = getattr(rs.camera_info, field)
    return dev.get_info(key) if dev.supports(key) else ""


# librealsense frame metadata (rs.frame_metadata_value names) → frame-table columns.
# Sensor and frame timestamps are µs on the camera's hardware clock; the sensor timestamp
# (middle of exposure) is stored on the clock of device_time_ms (get_timestamp(), which may
# be the global time domain) by its distance from the frame timestamp (start of readout).
META_NAMES = ("frame_timestamp", "sensor_timestamp", "actual_exposure", "time_of_arrival",
              "frame_counter", "auto_exposure", "gain_level")


def frame_meta(color: Any) -> dict[str, float]:
    """The per-frame metadata this device and firmware report (absent ones are left out)."""
    raw: dict[str, float] = {}
    for name in META_NAMES:
        key = getattr(rs.frame_metadata_value, name, None)
        try:
            if key is not None and color.supports_frame_metadata(key):
                raw[name] = float(color.get_frame_metadata(key))
        except RuntimeError:  # metadata not available in this USB mode / firmware
            continue
    return meta_columns(raw, float(color.get_timestamp()))


def meta_columns(raw: dict[str, float], device_time_ms: float) -> dict[str, float]:
    """Frame-table columns from raw librealsense metadata values (units converted)."""
    out: dict[str, float] = {}
    if "sensor_timestamp" in raw and "frame_timestamp" in raw:
        out["sensor_time_ms"] = device_time_ms - (raw["frame_timestamp"]
                                                  - raw["sensor_timestamp"]) / 1000.0
    if "actual_exposure" in raw:
        out["exposure_ms"] = raw["actual_exposure"] / 1000.0
    for src, dst in (("time_of_arrival", "arrival_ms"), ("frame_counter", "frame_counter"),
                     ("auto_exposure", "auto_exposure"), ("gain_level", "gain")):
        if src in raw:
            out[dst] = raw[src]
    return out


def readout_ms(name: str) -> float:
    """Top-to-bottom readout of the colour sensor: 0 for a global shutter (D455), NaN when
    only known to be rolling (D415/D435 colour: sync then assumes a typical value)."""
    return 0.0 if "D455" in name or "D457" in name else float("nan")


def _intrinsics(profile: Any) -> dict:
    i = profile.as_video_stream_profile().get_intrinsics()
    return {"width": i.width, "height": i.height, "fx": i.fx, "fy": i.fy, "ppx": i.ppx,
            "ppy": i.ppy, "model": _enum_name(i.model), "coeffs": list(i.coeffs)}


def _options(sensor: Any, names: tuple[str, ...]) -> dict:
    out = {}
    for name in names:
        opt = getattr(rs.option, name, None)
        if opt is not None and sensor.supports(opt):
            try:
                out[name] = sensor.get_option(opt)
            except RuntimeError:  # some options are unreadable while idle
                pass
    return out


def _modes(dev: Any, stream: Any, fmt: Any) -> set[tuple[int, int, int]]:
    """All (width, height, fps) the device offers for ``stream`` in format ``fmt``."""
    found = set()
    for sensor in dev.query_sensors():
        for p in sensor.get_stream_profiles():
            if p.stream_type() == stream and p.format() == fmt:
                v = p.as_video_stream_profile()
                found.add((v.width(), v.height(), p.fps()))
    return found


def _describe_modes(modes: set[tuple[int, int, int]]) -> str:
    """'1280x720@6/15/30, 640x480@30/60': short enough for a one-line error."""
    by_size: dict[tuple[int, int], list[int]] = {}
    for w, h, f in modes:
        by_size.setdefault((w, h), []).append(f)
    sizes = sorted(by_size, key=lambda s: (-s[0] * s[1], -s[0]))
    return ", ".join(f"{w}x{h}@{'/'.join(map(str, sorted(by_size[(w, h)])))}"
                     for w, h in sizes) or "none"


@dataclass
class _Pending:
    color: Any  # rs.video_frame
    depth: Any  # rs.depth_frame or None
    host_time: float


class _FramePairer:
    """One (colour, depth) pair per colour frame out of the syncer's framesets.

    The syncer may hand out a colour frame twice, first with the previous depth frame
    and then with its own. The first arrival fixes the host time; only a depth frame
    within half a frame period (device time) of the colour frame belongs to it. The pair
    is released as soon as it has its depth, else without depth when the next colour
    frame arrives or (via :meth:`flush`) when it is stale.
    """

    def __init__(self, fps: float, want_depth: bool) -> None:
        self.tolerance_ms = 500.0 / fps
        self.want_depth = want_depth
        self.pending: _Pending | None = None
        self.released: int | None = None  # frame number of the last colour frame let go

    def offer(self, color: Any, depth: Any, host_time: float) -> list[_Pending]:
        number = color.get_frame_number()
        if number == self.released:  # a late repeat of a frame already delivered
            return []
        done = []
        p = self.pending
        if p is None or p.color.get_frame_number() != number:
            if p is not None:
                done.append(p)
            p = self.pending = _Pending(color, None, host_time)
        if depth and self._gap(depth, color) <= self.tolerance_ms and (
                not p.depth or self._gap(depth, color) < self._gap(p.depth, color)):
            p.depth = depth
        if not self.want_depth or p.depth:
            done.append(p)
            self.pending = None
        if done:
            self.released = done[-1].color.get_frame_number()
        return done

    def flush(self, now: float, max_age: float) -> list[_Pending]:
        p = self.pending
        if p is None or now - p.host_time < max_age:
            return []
        self.pending = None
        self.released = p.color.get_frame_number()
        return [p]

    @staticmethod
    def _gap(a: Any, b: Any) -> float:
        return abs(a.get_timestamp() - b.get_timestamp())


class RealSenseCamera:
    """Implements the :class:`~mimicsync.acquisition.camera.Camera` protocol for a D4xx.

    ``device`` bypasses discovery (a ``software_device`` in tests); otherwise the camera
    with ``serial`` (or the first one found) is used. ``queue_size`` frames (about two
    seconds) are buffered for a slow reader; beyond that the oldest are discarded and
    show up as gaps in ``device_index``, like any other drop.
    """

    def __init__(self, serial: str | None = None, width: int = 1280, height: int = 720,
                 fps: int = 30, depth: bool = True, depth_width: int = 1280,
                 depth_height: int = 720, device: Any = None, queue_size: int = 60) -> None:
        self.serial, self.width, self.height, self.fps = serial, width, height, int(fps)
        self.depth, self.depth_width, self.depth_height = depth, depth_width, depth_height
        self.queue_size = queue_size
        self.timestamp_domain: str | None = None
        self.discarded = 0  # frames thrown away because the reader fell behind
        self._discard_warning = CountedWarning(
            log, "RealSense reader is behind; oldest frames discarded")
        self._device = device
        self._ctx: Any = None
        self._pipe: Any = None
        self._info: CameraInfo | None = None
        self._frames: queue.Queue[_Pending] = queue.Queue(maxsize=queue_size)
        self._pairer = _FramePairer(self.fps, depth)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._host_index = 0

    # -- Camera protocol --------------------------------------------------------------
    def start(self) -> CameraInfo:
        if rs is None:
            raise CameraError("camera", "pyrealsense2 is not installed",
                              "pip install pyrealsense2 or use the simulated camera",
                              options=SIM_CAMERA)
        if self._pipe is not None:
            return self._info
        dev = self._device if self._device is not None else self._find_device()
        serial = _device_info(dev, "serial_number")
        self._check_modes(dev, serial)
        global_time = self._enable_global_time(dev)
        self._pipe = rs.pipeline(self._ctx) if self._ctx is not None else rs.pipeline()
        cfg = rs.config()
        if hasattr(self._pipe, "set_device"):  # pyrealsense2 >= 2.56: any device, software too
            self._pipe.set_device(dev)
        else:
            cfg.enable_device(serial)
        cfg.enable_stream(rs.stream.color, self.width, self.height, rs.format.rgb8, self.fps)
        if self.depth:
            cfg.enable_stream(rs.stream.depth, self.depth_width, self.depth_height,
                              rs.format.z16, self.fps)
        rs_queue = rs.frame_queue(8, True)
        try:
            profile = self._pipe.start(cfg, rs_queue)
        except RuntimeError as e:
            self._pipe = None
            raise CameraError(f"RealSense {serial} did not start {self._mode_text()}: {e}; "
                              "replug it into a USB 3 port") from e
        self._info = self._describe(dev, profile, global_time)
        self._stop.clear()
        self._thread = threading.Thread(target=self._grab, args=(rs_queue,),
                                        name=f"realsense:{serial}", daemon=True)
        self._thread.start()
        return self._info

    def read(self, timeout: float = 1.0) -> Frame | None:
        deadline = pylsl.local_clock() + timeout
        period = 1.0 / self.fps
        while True:
            remaining = deadline - pylsl.local_clock()
            try:
                pending = self._frames.get(timeout=max(0.0, min(remaining, 1.5 * period)))
            except queue.Empty:
                with self._lock:
                    stale = self._pairer.flush(pylsl.local_clock(), 1.5 * period)
                if stale:
                    return self._to_frame(stale[0])
                if remaining <= 0:
                    return None
                continue
            return self._to_frame(pending)

    def stop(self) -> None:
        self._stop.set()
        self._discard_warning.flush()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._pipe is not None:
            try:
                self._pipe.stop()
            except RuntimeError as e:
                log.warning("RealSense stop: %s", e)
            self._pipe = None
        self._pairer.pending = None

    # -- frames -----------------------------------------------------------------------
    def _grab(self, rs_queue: Any) -> None:
        """Stamp arrivals and pair colour with depth; runs until stop()."""
        while not self._stop.is_set():
            ok, frame = rs_queue.try_wait_for_frame(100)
            if not ok:
                continue
            now = pylsl.local_clock()
            fs = frame.as_frameset() if frame.is_frameset() else None
            color = fs.get_color_frame() if fs else frame.as_video_frame()
            if not color or color.get_profile().stream_type() != rs.stream.color:
                continue
            depth = fs.get_depth_frame() if fs and self.depth else None
            with self._lock:
                done = self._pairer.offer(color, depth, now)
            for p in done:
                self._enqueue(p)

    def _enqueue(self, p: _Pending) -> None:
        try:
            self._frames.put_nowait(p)
        except queue.Full:
            try:
                self._frames.get_nowait()
            except queue.Empty:
                pass
            self.discarded += 1
            self._discard_warning.add()
            self._frames.put_nowait(p)

    def _to_frame(self, p: _Pending) -> Frame:
        if self.timestamp_domain is None:
            self.timestamp_domain = _enum_name(p.color.get_frame_timestamp_domain())
            if self._info is not None:
                self._info.settings["timestamp_domain"] = self.timestamp_domain
        color = np.array(p.color.get_data(), copy=True)
        depth = np.array(p.depth.get_data(), copy=True) if p.depth else None
        frame = Frame(host_index=self._host_index, device_index=p.color.get_frame_number(),
                      device_time_ms=p.color.get_timestamp(), host_time=p.host_time,
                      color=color, depth=depth, meta=frame_meta(p.color))
        self._host_index += 1
        return frame

    # -- setup ------------------------------------------------------------------------
    def _find_device(self) -> Any:
        self._ctx = rs.context()
        devices = list(self._ctx.query_devices())
        if not devices:
            raise no_camera_error()
        if self.serial is None:
            return devices[0]
        for dev in devices:
            if _device_info(dev, "serial_number") == self.serial:
                return dev
        found = ", ".join(_device_info(d, "serial_number") for d in devices)
        raise CameraError("camera serial", f"RealSense {self.serial} not found (connected: {found})",
                          "check the serial or use the simulated camera", options=SIM_CAMERA)

    def _mode_text(self) -> str:
        text = f"colour {self.width}x{self.height}@{self.fps} rgb8"
        if self.depth:
            text += f" + depth {self.depth_width}x{self.depth_height}@{self.fps} z16"
        return text

    def _check_modes(self, dev: Any, serial: str) -> None:
        wanted = [("colour", rs.stream.color, rs.format.rgb8, self.width, self.height)]
        if self.depth:
            wanted.append(("depth", rs.stream.depth, rs.format.z16, self.depth_width,
                           self.depth_height))
        for label, stream, fmt, w, h in wanted:
            modes = _modes(dev, stream, fmt)
            if (w, h, self.fps) not in modes:
                raise CameraError(
                    f"RealSense {serial} has no {label} mode {w}x{h}@{self.fps} "
                    f"{_enum_name(fmt)}; supported: {_describe_modes(modes)}")

    @staticmethod
    def _enable_global_time(dev: Any) -> dict[str, bool]:
        """Ask every sensor for host-aligned (global) timestamps where it can give them."""
        enabled = {}
        for sensor in dev.query_sensors():
            name = sensor.get_info(rs.camera_info.name)
            if sensor.supports(rs.option.global_time_enabled):
                try:
                    sensor.set_option(rs.option.global_time_enabled, 1.0)
                    enabled[name] = True
                except RuntimeError as e:
                    log.warning("global time on %s: %s", name, e)
                    enabled[name] = False
            else:
                enabled[name] = False
        return enabled

    def _describe(self, dev: Any, profile: Any, global_time: dict[str, bool]) -> CameraInfo:
        settings: dict[str, Any] = {
            "color_format": "rgb8", "global_time_enabled": global_time,
            "timestamp_domain": None,  # set when the first frame arrives
            "usb_type": _device_info(dev, "usb_type_descriptor"),
            "product_line": _device_info(dev, "product_line"),
            "readout_ms": readout_ms(_device_info(dev, "name")),
        }
        color_sensor = next((s for s in dev.query_sensors() if s.is_color_sensor()), None)
        # rgb8 is unpacked by librealsense from what the sensor sends: YUY2 on every D4xx
        settings["color_transport"] = ("yuyv" if (self.width, self.height, self.fps)
                                       in _modes(dev, rs.stream.color, rs.format.yuyv)
                                       else "rgb8")
        if color_sensor is not None:
            settings["color_options"] = _options(color_sensor, COLOR_OPTIONS)
        depth_scale, depth_intr = 0.001, {}
        if self.depth:
            depth_sensor = dev.first_depth_sensor()
            depth_scale = float(depth_sensor.get_depth_scale())
            settings["depth_format"] = "z16"
            settings["depth_options"] = _options(depth_sensor, DEPTH_OPTIONS)
            depth_intr = _intrinsics(profile.get_stream(rs.stream.depth))
        return CameraInfo(
            name=_device_info(dev, "name") or "Intel RealSense",
            serial=_device_info(dev, "serial_number"), width=self.width, height=self.height,
            fps=float(self.fps),
            depth_width=self.depth_width if self.depth else 0,
            depth_height=self.depth_height if self.depth else 0,
            depth_scale_m=depth_scale,
            color_intrinsics=_intrinsics(profile.get_stream(rs.stream.color)),
            depth_intrinsics=depth_intr, settings=settings,
            firmware=_device_info(dev, "firmware_version"),
        )
