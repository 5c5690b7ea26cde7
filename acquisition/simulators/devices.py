"""The simulated lab: an sEMG amplifier, a camera and a scenario marker stream.

One place that starts the simulators with consistent names, so ``mimicsync demo``,
``mimicsync simulate``, the GUI and the tests all see the same devices. Names get a
suffix when several simulated labs must coexist on one network (tests run in parallel).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import pylsl

from mimicsync.acquisition.simulators.emg import EmgSimulator
from mimicsync.acquisition.simulators.scenario import Scenario, demo_scenario

EMG_NAME = "mimicsync-emg-sim"
CAMERA_NAME = "mimicsync-camera-sim"
MARKER_NAME = "mimicsync-scenario-markers"


@dataclass
class SimSettings:
    """Clock distortions and options of the simulated devices (the sync ground truth)."""

    suffix: str = ""
    emg_offset_s: float = 0.0
    emg_drift_ppm: float = 0.0
    emg_jitter_s: float = 0.0
    camera: bool = True
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    depth: bool = True
    depth_size: tuple[int, int] | None = None  # None: the colour size
    footage: str = "cartoon"  # or "photo" (SimulatedCamera: a real photograph as texture)
    color_transport: str = "rgb8"  # or "yuyv": colour through a D4xx's YUY2 link (CameraPhysics)
    camera_offset_s: float = 0.0
    camera_drift_ppm: float = 0.0
    drop_frames: tuple[int, ...] = ()
    seed: int = 0
    markers: bool = True
    emg_kwargs: dict = field(default_factory=dict)

    def name(self, base: str) -> str:
        return f"{base}-{self.suffix}" if self.suffix else base


class ScenarioMarkers:
    """Publishes the scenario's movements, taps and triggers as JSON markers when they happen."""

    def __init__(self, scenario: Scenario, name: str) -> None:
        self.scenario = scenario
        info = pylsl.StreamInfo(name, "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string,
                                f"{name}-{pylsl.local_clock():.0f}")
        self.outlet = pylsl.StreamOutlet(info)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scenario-markers", daemon=True)

    def _schedule(self) -> list[tuple[float, dict]]:
        sc = self.scenario
        items = [(m.start, {"event": "movement_start", "movement": m.movement}) for m in sc.movements]
        items += [(m.end, {"event": "movement_end", "movement": m.movement}) for m in sc.movements]
        items += [(t.time, {"event": "tap"}) for t in sc.taps]
        items += [(t.time, {"event": "trigger"}) for t in sc.triggers]
        return sorted(items, key=lambda x: x[0])

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        for t, payload in self._schedule():
            wait = t - pylsl.local_clock()
            if wait > 0 and self._stop.wait(wait):
                return
            if self._stop.is_set():
                return
            self.outlet.push_sample([json.dumps(payload)], t)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


class SimulatedLab:
    """Starts/stops the simulated devices; ``camera`` is the in-process camera for a recorder."""

    def __init__(self, settings: SimSettings | None = None, scenario: Scenario | None = None,
                 duration: float = 60.0, lead_in: float = 0.0) -> None:
        self.settings = s = settings or SimSettings()
        t0 = pylsl.local_clock() + lead_in
        self.scenario = scenario or demo_scenario(t0, duration)
        self.emg = EmgSimulator(self.scenario, name=s.name(EMG_NAME),
                                source_id=s.name(EMG_NAME), offset_s=s.emg_offset_s,
                                drift_ppm=s.emg_drift_ppm, jitter_s=s.emg_jitter_s,
                                seed=s.seed, **s.emg_kwargs)
        self.camera = None
        if s.camera:
            from mimicsync.acquisition.simulators.camera import SimulatedCamera
            from mimicsync.acquisition.simulators.camera_physics import CameraPhysics
            self.camera = SimulatedCamera(
                self.scenario, width=s.width, height=s.height, fps=s.fps, depth=s.depth,
                depth_size=s.depth_size, footage=s.footage,
                physics=CameraPhysics(transport=s.color_transport),
                offset_s=s.camera_offset_s, drift_ppm=s.camera_drift_ppm,
                drop_frames=s.drop_frames, seed=s.seed, serial=f"SIM-CAM-{s.seed:04d}")
        self.markers = ScenarioMarkers(self.scenario, s.name(MARKER_NAME)) if s.markers else None

    def start(self) -> "SimulatedLab":
        """Start the LSL devices (the camera is started by whoever records it)."""
        self.emg.start()
        if self.markers:
            self.markers.start()
        return self

    def stop(self) -> None:
        self.emg.stop()
        if self.markers:
            self.markers.stop()

    def __enter__(self) -> "SimulatedLab":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
