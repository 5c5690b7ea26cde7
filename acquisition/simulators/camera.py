"""A simulated RGB-D camera that films the shared :class:`Scenario`, with known clock errors.

Sync code is only testable against a ground truth, and no real camera gives one. This
camera does: the first row of frame ``n`` starts exposing at true time
``s_n = t_start + n / fps`` (host LSL clock) for ``exposure_n`` (auto exposure by
default), row ``y`` at ``s_n + readout·y/H``; the picture integrates the scenario over
those windows (:mod:`.camera_physics`: motion blur, partly lit LED, flicker, noise). The
frame's instant (what sync should recover) is the middle of the middle row's exposure,
``s_n + readout/2 + exposure_n/2``. Each frame carries the timestamps and metadata a
RealSense colour stream gives, each distorted in a known way:

* ``device_time_ms`` (frame timestamp): device clock at the start of readout,
  ``s_n + exposure_n``; a free-running clock with its own epoch and drift;
* ``sensor_time_ms``: device clock at the middle of the first row's exposure;
  ``exposure_ms``, ``auto_exposure``, ``gain``, ``frame_counter`` (= ``n``),
  ``arrival_ms`` (host arrival, ms);
* ``host_time``: arrival = end of readout + ``latency_s + offset_s +
  drift_ppm * 1e-6 * (t_n - t_start) + jitter`` (jitter ~ N(0, jitter_s), never
  earlier than the readout);
* ``device_index``: ``n``; dropped frames never reach the host, leaving gaps.

Depth is what a D4xx delivers (:mod:`.depth_noise`: error growing with distance², speckle,
holes, 1 mm steps), at the colour resolution or at ``depth_size`` (e.g. the D4xx's
optimal 848x480). ``footage="photo"`` paints the face over a real photograph with fresh
sensor noise per frame (:mod:`.photo_texture`, needs scikit-image): what storage figures
are measured on.

Everything needed to undo these distortions is written to
``CameraInfo.settings["simulation"]``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Iterable

import numpy as np
import pylsl

from mimicsync.acquisition.camera import CameraError, Frame
from mimicsync.acquisition.simulators.camera_physics import CameraPhysics, SensorModel
from mimicsync.acquisition.simulators.depth_noise import D4xxDepthNoise, resample_nearest
from mimicsync.acquisition.simulators.face_renderer import FaceRenderer, pinhole_fx
from mimicsync.acquisition.simulators.scenario import Scenario
from mimicsync.acquisition.throttled_log import CountedWarning
from mimicsync.format import CameraInfo

log = logging.getLogger(__name__)

FOOTAGE = ("cartoon", "photo")
# A real camera's SDK queue holds about this much; a host further behind loses frames.
MAX_LAG_S = 1.0
REALTIME_SUBSAMPLES = 2  # hand renders per exposure when frames must come on time


def pinhole_intrinsics(width: int, height: int) -> dict:
    """Plausible D4xx-like colour intrinsics for a resolution (distortion-free)."""
    fx = pinhole_fx(width)
    return {"width": width, "height": height, "fx": fx, "fy": fx, "ppx": width / 2.0,
            "ppy": height / 2.0, "model": "inverse_brown_conrady", "coeffs": [0.0] * 5}


class SimulatedCamera:
    """Implements the :class:`~mimicsync.acquisition.camera.Camera` protocol.

    With ``realtime=True`` each frame is delivered when it would arrive (exposure +
    latency + jitter; ``offset_s`` and ``drift_ppm`` only distort the host *timestamps*).
    With ``realtime=False`` frames come as fast as they render, with the same synthetic
    times, for tests and benchmarks. ``device_epoch_s`` / ``device_drift_ppm`` set the
    device clock; by default they are drawn from ``seed``.
    """

    def __init__(self, scenario: Scenario, width: int = 1280, height: int = 720,
                 fps: float = 30.0, depth: bool = True, offset_s: float = 0.0,
                 drift_ppm: float = 0.0, jitter_s: float = 0.0, latency_s: float = 0.03,
                 drop_frames: Iterable[int] = (), drop_probability: float = 0.0, seed: int = 0,
                 serial: str = "SIM-0001", realtime: bool = True,
                 device_epoch_s: float | None = None,
                 device_drift_ppm: float | None = None,
                 depth_size: tuple[int, int] | None = None, footage: str = "cartoon",
                 physics: CameraPhysics | None = None) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        if footage not in FOOTAGE:
            raise ValueError(f"footage: '{footage}' is not one of {', '.join(FOOTAGE)}")
        self.footage = footage
        self.depth_size = (int(depth_size[0]), int(depth_size[1])) if depth_size else (
            int(width), int(height))
        self.scenario = scenario
        self.width, self.height, self.fps, self.depth = int(width), int(height), float(fps), depth
        self.offset_s, self.drift_ppm = float(offset_s), float(drift_ppm)
        self.jitter_s, self.latency_s = float(jitter_s), float(latency_s)
        self.drop_frames = frozenset(int(n) for n in drop_frames)
        self.drop_probability = float(drop_probability)
        self.seed, self.serial, self.realtime = int(seed), serial, realtime
        clock_rng = np.random.default_rng([self.seed, 0])
        self.device_epoch_s = (float(device_epoch_s) if device_epoch_s is not None
                               else float(clock_rng.uniform(100.0, 100_000.0)))
        self.device_drift_ppm = (float(device_drift_ppm) if device_drift_ppm is not None
                                 else float(clock_rng.uniform(-20.0, 20.0)))
        self.physics = physics if physics is not None else CameraPhysics()
        self.t_start: float | None = None
        self.dropped: list[int] = []  # device indices the host never saw (grows while running)
        self._lag_warning = CountedWarning(
            log, f"simulated camera: host more than {MAX_LAG_S:g} s behind, frames lost")
        self._renderer: FaceRenderer | None = None
        self._sensor: SensorModel | None = None
        # (n, arrival, host_time, exposure)
        self._pending: tuple[int, float, float, float] | None = None
        self._next_n = 0
        self._host_index = 0

    @property
    def renderer(self) -> FaceRenderer | None:
        """The renderer while started: its ``face_box`` / ``led_box`` locate what sync watches."""
        return self._renderer

    # -- the true timeline ------------------------------------------------------------
    def exposure_time(self, device_index: int) -> float:
        """True LSL time at which the first row of frame ``device_index`` starts exposing."""
        if self.t_start is None:
            raise CameraError("the simulated camera is not started; call start() first")
        return self.t_start + device_index / self.fps

    def frame_instant(self, device_index: int, exposure_s: float) -> float:
        """True time a frame stands for: the middle of its middle row's exposure."""
        return self.exposure_time(device_index) + self.physics.readout_s / 2 + exposure_s / 2

    def device_time_ms(self, device_index: int) -> float:
        """Device clock (ms) when frame ``device_index`` starts exposing."""
        return self._device_ms(device_index / self.fps)

    def _device_ms(self, elapsed_true_s: float) -> float:
        elapsed = elapsed_true_s * (1.0 + self.device_drift_ppm * 1e-6)
        return (self.device_epoch_s + elapsed) * 1000.0

    def _host_time(self, t_n: float, jitter: float) -> float:
        assert self.t_start is not None
        return (t_n + self.latency_s + self.offset_s
                + self.drift_ppm * 1e-6 * (t_n - self.t_start) + jitter)

    # -- Camera protocol --------------------------------------------------------------
    def start(self) -> CameraInfo:
        intr = pinhole_intrinsics(self.width, self.height)
        renderer, extra = FaceRenderer, {"noise_patterns": 8}
        if self.footage == "photo":  # fresh noise in every frame when there is time for it
            from mimicsync.acquisition.simulators.photo_texture import PhotoFaceRenderer
            renderer, extra = PhotoFaceRenderer, {"fresh_noise": not self.realtime}
        self._renderer = renderer(self.width, self.height, depth=self.depth, fx=intr["fx"],
                                  seed=self.seed, depth_noise=False, noise=self.physics.noise,
                                  **extra)
        if self.realtime and self.physics.subsamples > REALTIME_SUBSAMPLES:
            # on time at 1280x720 on two cores: the hand integrated at fewer instants
            # (motion blur coarser; LED, flicker, exposure and readout stay exact)
            self.physics = replace(self.physics, subsamples=REALTIME_SUBSAMPLES)
        self._sensor = SensorModel(self._renderer, self.physics, self.fps, self.seed)
        dw, dh = self.depth_size
        self._depth_noise = D4xxDepthNoise(dw, dh, seed=self.seed) if self.depth else None
        depth_intr = dict(intr, width=dw, height=dh, fx=intr["fx"] * dw / self.width,
                          fy=intr["fy"] * dh / self.height, ppx=dw / 2.0, ppy=dh / 2.0)
        self._drop_rng = np.random.default_rng([self.seed, 1])
        self._jitter_rng = np.random.default_rng([self.seed, 2])
        self.dropped.clear()
        self._next_n, self._host_index, self._pending = 0, 0, None
        self.t_start = pylsl.local_clock()
        truth = {
            "t_start": self.t_start, "fps": self.fps, "latency_s": self.latency_s,
            "offset_s": self.offset_s, "drift_ppm": self.drift_ppm,
            "jitter_s": self.jitter_s, "seed": self.seed,
            "drop_frames": sorted(self.drop_frames),
            "drop_probability": self.drop_probability,
            "dropped_device_indices": self.dropped,  # the live list: complete after stop()
            "device_epoch_s": self.device_epoch_s, "device_drift_ppm": self.device_drift_ppm,
            "realtime": self.realtime,
            "exposure_time": "t_start + device_index / fps + readout_s / 2 + exposure_ms / 2000",
            "physics": self.physics.describe(),
        }
        return CameraInfo(
            name="mimicsync camera simulator", serial=self.serial, width=self.width,
            height=self.height, fps=self.fps,
            depth_width=dw if self.depth else 0,
            depth_height=dh if self.depth else 0, depth_scale_m=0.001,
            color_intrinsics=intr, depth_intrinsics=depth_intr if self.depth else {},
            settings={"simulation": truth, "depth_aligned_to_color": self.depth,
                      "footage": self.footage, "depth_model": "d4xx" if self.depth else "",
                      "color_transport": self.physics.transport,
                      "timestamp_domain": "simulated_device_clock",
                      "readout_ms": self.physics.readout_s * 1e3},
            firmware="sim",
        )

    def read(self, timeout: float = 1.0) -> Frame | None:
        renderer = self._renderer  # stop() may clear it from another thread
        if renderer is None:
            return None
        n, arrival, host_time, e = self._next_delivery()
        if self.realtime:
            wait = arrival - pylsl.local_clock()
            if wait > timeout:
                time.sleep(max(0.0, timeout))
                return None
        start = self.exposure_time(n)
        color, depth = self._sensor.render(self.scenario, start, e, n, self.depth)
        if depth is not None and self._depth_noise is not None:
            depth = self._depth_noise.apply(resample_nearest(depth, *self.depth_size))
        if self.realtime:  # render first, then hand over on time
            wait = arrival - pylsl.local_clock()
            if wait > 0:
                time.sleep(wait)
        self._pending = None
        dev = lambda t: self._device_ms(t - self.t_start)  # noqa: E731
        meta = {"sensor_time_ms": dev(start + e / 2), "exposure_ms": e * 1e3,
                "arrival_ms": host_time * 1e3, "frame_counter": float(n),
                "auto_exposure": float(self.physics.exposure_s is None),
                "gain": self._sensor.gain}
        frame = Frame(host_index=self._host_index, device_index=n,
                      device_time_ms=dev(start + e), host_time=host_time,
                      color=color, depth=depth, meta=meta)
        self._host_index += 1
        return frame

    def stop(self) -> None:
        self._renderer = None
        self._pending = None
        self._lag_warning.flush()

    # -- internals --------------------------------------------------------------------
    def _next_delivery(self) -> tuple[int, float, float]:
        """The next frame that reaches the host: (device index, arrival, host timestamp)."""
        while self._pending is None:
            n = self._next_n
            self._next_n += 1
            # one draw of each per frame, so the sequences depend on the seed alone
            lost = self._drop_rng.random() < self.drop_probability or n in self.drop_frames
            jitter = max(float(self._jitter_rng.normal(0.0, self.jitter_s))
                         if self.jitter_s > 0 else 0.0, -self.latency_s)
            t_n = self.exposure_time(n)
            e = self._sensor.next_exposure(t_n)  # the sensor exposes lost frames too
            t_n += e + self.physics.readout_s  # the frame is complete after its readout
            arrival = t_n + self.latency_s + jitter
            if self.realtime and not lost and pylsl.local_clock() - arrival > MAX_LAG_S:
                lost = True
                self._lag_warning.add()
            if lost:
                self.dropped.append(n)
                continue
            self._pending = (n, arrival, self._host_time(t_n, jitter), e)
        return self._pending
