"""The devices the app itself owns: the simulated lab and the camera shown in the preview.

The app keeps one :class:`CameraStreamer` running from setup on, so the operator sees the
participant before recording; the recorder is handed the same streamer and records it
without restarting it. Starting a RealSense takes seconds, so every change runs off the
UI thread; requests made while one is applied are coalesced into the newest.
"""

from __future__ import annotations

import logging
import os
import uuid

from PySide6.QtCore import QObject, Signal

from mimicsync.acquisition.camera import CameraStreamer
from mimicsync.acquisition.live.monitor import PreviewSink
from mimicsync.acquisition.live.sync_status import LiveTaps
from mimicsync.acquisition.simulators.devices import SimSettings, SimulatedLab
from mimicsync.acquisition.simulators.scenario import Scenario
from mimicsync.format import DEFAULT_DEPTH, DepthMode
from mimicsync.gui.background import run_in_background
from mimicsync.gui.words import render
from mimicsync.protocols.device_setup import DeviceSetup, open_devices

log = logging.getLogger(__name__)

CAMERA_STREAM_NAME = "mimicsync-camera"  # the recorder's default, so GUI and CLI files agree
# The GUI's simulated amplifier hums less than the bare simulator (3 µV), like a well
# prepared lab: the quality view then shows a realistic mix instead of all-red.
SIM_LINE_AMP_UV = 0.7


class PreviewDevices(QObject):
    """``configure(simulated_lab, camera)`` applies a setup; ``changed``/``error`` report back."""

    changed = Signal()
    error = Signal(str)

    def __init__(self, width: int = 1280, height: int = 720, fps: float = 30.0,
                 sim_suffix: str | None = None, preview_width: int = 440,
                 depth: str = DEFAULT_DEPTH) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.depth = DepthMode.parse(depth)
        self.sim_suffix = sim_suffix or f"gui{os.getpid()}"
        self.preview = PreviewSink(max_width=preview_width, bgrx=True)  # about the view's size
        self.taps = LiveTaps()  # live tap detection while recording (camera sink)
        self.lab: SimulatedLab | None = None
        self.streamer: CameraStreamer | None = None
        self.camera_kind = "none"
        self._camera_scenario: Scenario | None = None
        self._busy = False
        self._pending: tuple[bool, str] | None = None
        self._wanted: tuple[bool, str] = (False, "none")

    # -- state ----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._busy or self._pending is not None

    @property
    def scenario(self) -> Scenario | None:
        """What the simulated participant performs (None without simulators)."""
        if self.lab is not None:
            return self.lab.scenario
        return self._camera_scenario

    @property
    def camera_source_id(self) -> str | None:
        return self.streamer.source_id if self.streamer is not None else None

    def own_source_ids(self) -> set[str]:
        """Streams this app publishes itself that the stream list should not offer."""
        return {s for s in [self.camera_source_id] if s}

    # -- changes --------------------------------------------------------------------
    def configure(self, simulated_lab: bool, camera: str) -> None:
        self._wanted = (simulated_lab, camera)
        if self._busy:
            self._pending = self._wanted
            return
        self._busy = True
        want = self._wanted
        run_in_background(lambda: self._apply(*want), self._done, self._failed, name="devices")

    def _done(self, messages: list[str]) -> None:
        self._busy = False
        for m in messages:
            self.error.emit(m)
        self.changed.emit()
        if self._pending is not None:
            nxt, self._pending = self._pending, None
            self.configure(*nxt)

    def _failed(self, e: BaseException) -> None:
        self._done([f"devices: {e}"])

    def _apply(self, lab_on: bool, camera: str) -> list[str]:
        """Runs in a worker thread; returns plain-words problems for the window."""
        messages: list[str] = []
        lab_changes = lab_on != (self.lab is not None)
        if self.streamer is not None and (camera != self.camera_kind or
                                          (lab_changes and camera == "sim")):
            self._stop_camera()
        if lab_changes:
            if lab_on:
                settings = SimSettings(suffix=self.sim_suffix, camera=True, width=self.width,
                                       height=self.height, fps=self.fps,
                                       depth=self.depth.enabled,
                                       depth_size=self.depth.size if self.depth.enabled else None,
                                       emg_kwargs={"line_amp_uv": SIM_LINE_AMP_UV})
                lab = SimulatedLab(settings, scenario=Scenario())
                try:
                    lab.start()
                except Exception as e:  # noqa: BLE001
                    messages.append(f"simulated lab did not start: {e}")
                else:
                    self.lab = lab
            else:
                lab, self.lab = self.lab, None
                lab.stop()
        if self.streamer is None and camera != "none":
            messages += self._start_camera(camera)
        return messages

    def _start_camera(self, kind: str) -> list[str]:
        if kind == "sim" and self.lab is not None and self.lab.camera is not None:
            cam, self._camera_scenario = self.lab.camera, None
        else:
            try:  # the CLI's way of opening a camera (a simulated one films its own scenario)
                opened = open_devices(DeviceSetup(camera=kind, width=self.width,
                                                  height=self.height, fps=int(round(self.fps)),
                                                  depth=str(self.depth)))
            except Exception as e:  # noqa: BLE001 - e.g. pyrealsense2 missing, bad setting
                return [render(e)]
            cam, self._camera_scenario = opened.camera, opened.scenario
        # Unique per app run: parallel apps/tests must not find each other's frame index.
        streamer = CameraStreamer(cam, name=CAMERA_STREAM_NAME,
                                  source_id=f"{CAMERA_STREAM_NAME}-{kind}-{uuid.uuid4().hex[:8]}")
        streamer.add_sink(self.preview)
        streamer.add_sink(self.taps)
        try:
            streamer.start()
        except Exception as e:  # noqa: BLE001 - shown in plain words, app keeps running
            self.camera_kind = "none"
            return [f"camera ({kind}) did not start: {render(e)}"]
        self.streamer, self.camera_kind = streamer, kind
        return []

    def _stop_camera(self) -> None:
        streamer, self.streamer = self.streamer, None
        self.camera_kind = "none"
        if streamer is not None:
            streamer.remove_sink(self.preview)
            streamer.remove_sink(self.taps)
            streamer.stop()

    def shutdown(self) -> None:
        """Stop everything now (blocking; for quitting the app)."""
        self._pending = None
        self._stop_camera()
        if self.lab is not None:
            lab, self.lab = self.lab, None
            lab.stop()
