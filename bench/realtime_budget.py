"""Do the simulators and the live sync fit their real-time budgets on this machine?

    python bench/realtime_budget.py

Prints, as figures and as a share of the real-time budget measured in the same run:
- the face renderer at 1280x720 colour + depth (budget: one frame interval at 30 fps);
- the live sync (sync.live.LiveSync) per second of 64-channel sEMG at 4096 Hz and per
  frame, on a simulated recording with ground truth.
These were timed asserts in the test suite; timing belongs here, where load is visible.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mimicsync.acquisition.simulators.face_renderer import FaceRenderer  # noqa: E402
from mimicsync.acquisition.simulators.scenario import Movement, Scenario, Tap, Trigger  # noqa: E402

FPS = 30.0


def render_cost(width: int = 1280, height: int = 720, n: int = 60) -> float:
    r = FaceRenderer(width, height)
    sc = Scenario([Movement(0.0, 4.0, "happiness")], [Tap(1.0)], [Trigger(0.5)])
    for i in range(5):
        r.render(sc, 0.9 + i / FPS, i)  # warm up
    t = time.perf_counter()
    for i in range(n):
        r.render(sc, 0.5 + i / FPS, i)
    return (time.perf_counter() - t) / n


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    per_frame = render_cost()
    print(f"face renderer 1280x720 colour+depth: {per_frame * 1e3:.2f} ms/frame = "
          f"{per_frame * FPS:.0%} of the 30 fps budget")
    from sync_helpers import play_live, recording  # the tests' simulated recordings
    with tempfile.TemporaryDirectory() as tmp:
        path = recording(Path(tmp), "dense")
        from mimicsync.dataset.sync_recording import synchronize
        offline = synchronize(path)
        _, emg_cost, frame_cost = play_live(path, led_box=offline.led.roi if offline.led else None)
    print(f"live sync sEMG: {emg_cost * 1e3:.1f} ms CPU per s of 64 ch at 4096 Hz = "
          f"{emg_cost:.1%} of real time")
    print(f"live sync video: {frame_cost * 1e3:.2f} ms per frame = {frame_cost * FPS:.0%} "
          "of the 30 fps budget")


if __name__ == "__main__":
    main()
