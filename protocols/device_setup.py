"""The devices of a recording as data: what a plan file sets and what ``--like`` reuses.

A :class:`DeviceSetup` is stored with every recording made through
:mod:`mimicsync.protocols.protocol_recording` (root attribute ``setup``), so a later session opens
the same devices with the same settings. :func:`open_devices` turns a setup into the
recorder's inputs. With ``simulate`` the amplifier (and, with camera ``sim``, the camera)
run in this process on a fresh :class:`~mimicsync.acquisition.simulators.scenario.Scenario` that the
protocol runner fills through :func:`simulated_participant`, so the simulated face and
sEMG perform exactly what is cued.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mimicsync.acquisition.camera import Camera, CameraStreamer
from mimicsync.acquisition.simulators.participant import ScenarioParticipant
from mimicsync.acquisition.simulators.scenario import Scenario, Trigger
from mimicsync.acquisition.stream_select import StreamSelector, parse_selectors
from mimicsync.dataset.events import Event
from mimicsync.errors import MimicsyncError
from mimicsync.format import DEFAULT_DEPTH, DEFAULT_JPEG_QUALITY, DepthMode
from mimicsync.protocols import listeners as ev
from mimicsync.protocols.listeners import RunListener

CAMERA_KINDS = ("realsense", "sim", "none")
ENCODINGS = ("jpeg", "lossless")
SIM_CLOCK_FIELDS = ("emg_offset_s", "emg_drift_ppm", "emg_jitter_s")
SETUP_FIELDS = ("streams", "require", "camera", "camera_serial", "width", "height", "fps",
                "depth", "color_encoding", "jpeg_quality", "simulate", "sim_clock")
CAMERA_FIELDS = ("camera_serial", "width", "height", "fps", "depth", "color_encoding",
                 "jpeg_quality")


class SetupError(MimicsyncError, ValueError):
    """An invalid device setting; the one-line message names the field and the fix."""


class DeviceMismatch(MimicsyncError, ValueError):
    """The devices differ from the earlier recording a session repeats; names the difference."""


@dataclass(frozen=True)
class DeviceSetup:
    """Streams to record, the camera and its settings, and whether devices are simulated."""

    streams: tuple[str, ...] = ()  # LSL selectors (``type=EMG``, a name, ...), recorded if present
    require: tuple[str, ...] = ()  # selectors that must be present to start
    camera: str = "none"  # realsense | sim | none
    camera_serial: str | None = None
    width: int = 1280
    height: int = 720
    fps: int = 30
    depth: str = DEFAULT_DEPTH  # off | WxH | WxH:MAX_M (see DepthMode)
    color_encoding: str = "jpeg"
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    simulate: bool = False  # run the simulated amplifier in-process, following the protocol
    sim_clock: Mapping[str, float] = field(default_factory=dict)  # emg_offset_s, emg_drift_ppm, ...

    def __post_init__(self) -> None:
        self.check()

    def check(self, where: str = "devices") -> None:
        """Raise :class:`SetupError` naming the first bad field."""
        def fail(name: str, message: str) -> None:
            raise SetupError(f"{where}.{name}: {message}")

        for name in ("streams", "require"):
            try:
                parse_selectors(list(getattr(self, name)))
            except ValueError as e:
                fail(name, str(e).split(": ", 1)[-1])
        if self.camera not in CAMERA_KINDS:
            fail("camera", f"must be one of {', '.join(CAMERA_KINDS)}, got {self.camera!r}")
        for name, low, high in (("width", 16, 8192), ("height", 16, 8192), ("fps", 1, 1000),
                                ("jpeg_quality", 1, 100)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
                fail(name, f"must be a whole number from {low} to {high}, got {v!r}")
        try:
            DepthMode.parse(self.depth)
        except ValueError as e:
            fail("depth", str(e).split(": ", 1)[-1])
        if self.color_encoding not in ENCODINGS:
            fail("color_encoding", f"must be one of {', '.join(ENCODINGS)}, got {self.color_encoding!r}")
        if not isinstance(self.simulate, bool):
            fail("simulate", f"must be true or false, got {self.simulate!r}")
        for k, v in self.sim_clock.items():
            if k not in SIM_CLOCK_FIELDS:
                fail("sim_clock", f"unknown key {k!r}; allowed: {', '.join(SIM_CLOCK_FIELDS)}")
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                fail(f"sim_clock.{k}", f"must be a number, got {v!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML form (``camera_serial`` only when set)."""
        d = dataclasses.asdict(self)
        d["streams"], d["require"] = list(self.streams), list(self.require)
        d["sim_clock"] = dict(self.sim_clock)
        if self.camera_serial is None:
            del d["camera_serial"]
        return d

    def to_attr(self) -> str:
        """The recording's ``setup`` root attribute (docs/format.md); read by :meth:`from_attr`."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_attr(cls, text: str, where: str = "setup") -> "DeviceSetup":
        """Parse a stored ``setup`` attribute; bad JSON is a :class:`SetupError` too."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise SetupError(f"{where}: not JSON ({e})") from None
        return cls.from_dict(d, where=where)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "devices") -> "DeviceSetup":
        """Parse and validate; unknown keys are errors (a misspelt field must not be ignored)."""
        unknown = [k for k in d if k not in SETUP_FIELDS]
        if unknown:
            raise SetupError(f"{where}: unknown field {unknown[0]!r}; allowed: {', '.join(SETUP_FIELDS)}")
        values = dict(d)
        for name in ("streams", "require"):
            if name in values:
                v = values[name]
                if isinstance(v, str):
                    v = [v]
                if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
                    raise SetupError(f"{where}.{name}: must be a list of selectors like [\"type=EMG\"], got {v!r}")
                values[name] = tuple(v)
        if "sim_clock" in values and not isinstance(values["sim_clock"], Mapping):
            raise SetupError(f"{where}.sim_clock: must be a table like {{ emg_offset_s = 0.01 }}")
        try:
            return cls(**values)
        except SetupError as e:
            raise SetupError(str(e).replace("devices.", f"{where}.", 1)) from None

    def replace(self, **changes: Any) -> "DeviceSetup":
        return dataclasses.replace(self, **changes)

    def differences(self, other: "DeviceSetup") -> list[str]:
        """Human-readable fields where ``other`` differs (camera fields only if a camera is used)."""
        return [f"{label} {show_setting(b)} (was {show_setting(a)})"
                for label, a, b in self.changes(other, SETUP_FIELDS)]

    def changes(self, other: "DeviceSetup", names: Sequence[str]) -> list[tuple[str, Any, Any]]:
        """(label, this value, other value) of each of ``names`` that differs; camera
        fields count only when either side has a camera."""
        if self.camera == "none" and other.camera == "none":
            names = [n for n in names if n not in CAMERA_FIELDS]
        out = []
        for n in names:
            a, b = getattr(self, n), getattr(other, n)
            if n == "sim_clock":
                a, b = dict(a), dict(b)
            if a != b:
                out.append((FIELD_LABELS.get(n, n), a, b))
        return out


FIELD_LABELS = {"streams": "stream selection", "require": "required streams", "camera": "camera",
                "camera_serial": "camera serial", "width": "camera width", "height": "camera height",
                "fps": "camera fps", "depth": "depth", "color_encoding": "colour encoding",
                "jpeg_quality": "JPEG quality",
                "simulate": "simulate", "sim_clock": "simulated clock"}


def describe_setup(setup: DeviceSetup) -> str:
    """The settings that differ from the defaults, e.g. ``required streams [type=EMG], camera realsense``."""
    base = DeviceSetup()
    return ", ".join(f"{FIELD_LABELS[n]} {show_setting(getattr(setup, n))}" for n in SETUP_FIELDS
                     if getattr(setup, n) != getattr(base, n)) or "defaults"


def show_setting(v: Any) -> str:
    """A setting as the operator reads it (selector lists in brackets)."""
    if isinstance(v, tuple):
        return "[" + ", ".join(v) + "]"
    return str(v)


def setup_from_provenance(provenance: Mapping[str, Any]) -> DeviceSetup:
    """The setup of a recording made without a stored ``setup`` (plain ``mimicsync record``)."""
    s = provenance.get("settings", {})
    camera = s.get("camera", "none")
    return DeviceSetup(
        streams=tuple(s.get("selected", [])), require=tuple(s.get("required", [])),
        camera=camera if camera in CAMERA_KINDS else "none",
        width=int(s.get("width", 1280)), height=int(s.get("height", 720)), fps=int(s.get("fps", 30)),
        depth=str(s.get("depth", DEFAULT_DEPTH)), color_encoding=s.get("color_encoding", "jpeg"),
        jpeg_quality=int(s.get("jpeg_quality", DEFAULT_JPEG_QUALITY)))


# -- opening the devices ---------------------------------------------------------------


class SimulatedTriggerBox(RunListener):
    """The lab's trigger box: pulses on the amplifier trigger channel and the LED in the video.

    One pulse at the start of every tap block, plus a pulse train at irregular intervals
    (``mean_interval_s`` × 0.7–1.3, so no whole-period shift fits as well) through the
    run: video events are only known to a frame (33 ms), and many of them at random frame
    phases are what brings the alignment to about a millisecond (docs/sync.md).
    ``mean_interval_s=0`` keeps the tap-block pulses only.
    """

    LOOKAHEAD_S = 3.0
    MIN_GAP_S = 0.4

    def __init__(self, scenario: Scenario, mean_interval_s: float = 1.0, seed: int = 0) -> None:
        self.scenario = scenario
        self.mean_interval_s = mean_interval_s
        self._rng = np.random.default_rng(seed)
        self._next: float | None = None
        self._ended = False

    def on_event(self, event: Event) -> None:
        if event.trial_type == ev.TAP_INSTRUCTION:
            self._pulse(event.onset + 0.2, 0.1)
        if event.trial_type == ev.RUN_END:
            self._ended = True
        if self.mean_interval_s > 0 and not self._ended:
            self._extend_train(event.onset + self.LOOKAHEAD_S)

    def _extend_train(self, until: float) -> None:
        if self._next is None:
            self._next = until - self.LOOKAHEAD_S + self._rng.uniform(0.5, 1.5)
        while self._next < until:
            self._pulse(self._next, float(self._rng.uniform(0.08, 0.15)))
            self._next += self.mean_interval_s * float(self._rng.uniform(0.7, 1.3))

    def _pulse(self, t: float, width: float) -> None:
        """Pulses closer than MIN_GAP_S would merge on the trigger line: keep them apart."""
        if not self.scenario.triggers_between(t - self.MIN_GAP_S, t + width + self.MIN_GAP_S):
            self.scenario.add_trigger(Trigger(t, width))


def simulated_participant(scenario: Scenario) -> list[RunListener]:
    """Listeners that make the simulators perform each cued movement and tap."""
    return [ScenarioParticipant(scenario), SimulatedTriggerBox(scenario)]


@dataclass
class OpenDevices:
    """What a recorder needs from a setup; ``start``/``stop`` run the in-process simulators."""

    setup: DeviceSetup
    streams: list[StreamSelector]
    require: list[StreamSelector]
    camera: Camera | None
    scenario: Scenario | None = None  # set when a simulator films/records the participant
    lab: Any = None  # SimulatedLab when setup.simulate and opened here (started/stopped here)
    camera_streamer: CameraStreamer | None = None  # a camera already streaming (the app's preview)

    def start(self) -> "OpenDevices":
        if self.lab is not None:
            self.lab.start()
        return self

    def stop(self) -> None:
        if self.lab is not None:
            self.lab.stop()

    def listeners(self) -> list[RunListener]:
        return simulated_participant(self.scenario) if self.scenario is not None else []

    def settings(self) -> dict[str, Any]:
        """What goes into the recording's provenance settings."""
        d = {"camera": self.setup.camera, "width": self.setup.width, "height": self.setup.height,
             "fps": self.setup.fps, "depth": self.setup.depth}
        if self.setup.simulate:
            d["simulation"] = "in-process simulated lab following the protocol"
        return d


def open_devices(setup: DeviceSetup, suffix: str | None = None, script: Scenario | None = None) -> OpenDevices:
    """Build (not start) the devices of ``setup``; simulators get a unique ``suffix``.

    Simulators act out ``script`` if given (a plain recording), else an empty scenario that
    a protocol run fills through :meth:`OpenDevices.listeners`.
    """
    streams, require = parse_selectors(list(setup.streams)), parse_selectors(list(setup.require))
    depth = DepthMode.parse(setup.depth)
    scenario = (script or Scenario()) if setup.simulate or setup.camera == "sim" else None
    camera: Camera | None = None
    lab = None
    if setup.simulate:
        from mimicsync.acquisition.simulators.devices import SimSettings, SimulatedLab
        sim = SimSettings(suffix=suffix or uuid.uuid4().hex[:8], camera=setup.camera == "sim",
                          width=setup.width, height=setup.height, fps=float(setup.fps),
                          depth=depth.enabled, depth_size=depth.size if depth.enabled else None,
                          markers=False, **dict(setup.sim_clock))
        lab = SimulatedLab(sim, scenario=scenario)
        require.append(StreamSelector("source_id", lab.emg.source_id))
        camera = lab.camera
    elif setup.camera == "sim":
        from mimicsync.acquisition.simulators.camera import SimulatedCamera
        camera = SimulatedCamera(scenario, width=setup.width, height=setup.height, fps=float(setup.fps),
                                 depth=depth.enabled, depth_size=depth.size if depth.enabled else None)
    elif setup.camera == "realsense":
        from mimicsync.acquisition.realsense import RealSenseCamera
        camera = RealSenseCamera(serial=setup.camera_serial, width=setup.width, height=setup.height,
                                 fps=setup.fps, depth=depth.enabled,
                                 **(dict(zip(("depth_width", "depth_height"), depth.size))
                                    if depth.enabled else {}))
    return OpenDevices(setup, streams, require, camera, scenario, lab)
