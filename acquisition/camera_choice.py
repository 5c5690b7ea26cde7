"""Make the camera an operator chose ("realsense", "sim" or "none"), for the CLI and the GUI."""

from __future__ import annotations

import pylsl

from mimicsync.acquisition.camera import Camera
from mimicsync.acquisition.scenario import Scenario, demo_scenario

CAMERA_KINDS = ("realsense", "sim", "none")


def make_camera(kind: str, *, width: int = 1280, height: int = 720, fps: float = 30.0,
                serial: str | None = None, scenario: Scenario | None = None,
                depth: bool = True) -> Camera | None:
    """A not-yet-started camera; the simulated one films ``scenario`` (default: the demo)."""
    if kind == "none":
        return None
    if kind == "realsense":
        from mimicsync.acquisition.realsense import RealSenseCamera
        return RealSenseCamera(serial=serial, width=width, height=height, fps=int(fps),
                               depth=depth)
    if kind == "sim":
        from mimicsync.acquisition.camera_simulator import SimulatedCamera
        sc = scenario if scenario is not None else demo_scenario(pylsl.local_clock(), 60.0)
        return SimulatedCamera(sc, width=width, height=height, fps=float(fps), depth=depth)
    raise ValueError(f"camera: unknown kind {kind!r}; use one of {', '.join(CAMERA_KINDS)}")
