"""EMG↔video alignment error of `mimicsync sync` over a grid of cameras and protocols.

Each run is a simulated recording from the real simulators (sEMG amplifier, camera
filming the same scenario through :mod:`mimicsync.acquisition.simulators.camera_physics`
at 320×240, JPEG q85), with a random clock:

- sEMG: device-side offset within ±1 s and drift within ±200 ppm (invisible to LSL's
  clock offsets, so only events can find them), timestamp jitter 0.2–2 ms;
- camera: latency 20–60 ms, host-stamp jitter 1–5 ms, drift ±50 ppm, 0–3 % of frames
  dropped at random.

Cameras (``--cameras``): ``ideal`` (global shutter, 1 ms, steady light: what the old
renderer drew), ``global-10`` (a D455-like global shutter, 10 ms), ``rolling-2`` /
``rolling-10`` / ``rolling-30`` (25 ms readout, fixed exposure, 100 Hz flicker),
``d435`` (rolling, auto exposure, flicker, room light: the default), ``d435-steady``
(the same without flicker). Protocols (``--protocols``): ``taps`` (6 + 6 taps, no LED),
``led1`` / ``led2`` (LED/trigger pulse about every 1 / 2 s + 3 + 3 taps), ``sparse``
(3 + 3 taps and two pulses).

Per cell: runs, refused, accepted-but-wrong (the true error of some frame exceeds the
stated 95 % accuracy; goal 0), and the median / 95th percentile / maximum of the
per-frame error over the accepted runs. The error of a frame is its time on the common
timeline minus that of the sEMG sample taken at the same true instant.

    python bench/sync_accuracy.py [--runs 2] [--duration 30] [--cameras d435,ideal]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from mimicsync.acquisition.simulators.camera_physics import CameraPhysics
from mimicsync.acquisition.simulators.sync_recordings import (
    SimulatedRecording,
    alignment_error,
    read_truth,
    sync_scenario,
    write_session,
)
from mimicsync.dataset.recording import Recording
from mimicsync.dataset.sync_recording import synchronize
from mimicsync.sync.match import SyncRefused

CAMERAS = {
    "ideal": CameraPhysics.ideal(),
    "global-10": CameraPhysics(readout_s=0.0, exposure_s=0.010),
    "rolling-2": CameraPhysics(exposure_s=0.002),
    "rolling-10": CameraPhysics(exposure_s=0.010),
    "rolling-30": CameraPhysics(exposure_s=0.030),
    "d435": CameraPhysics(),
    "d435-steady": CameraPhysics(flicker=0.0),
}
PROTOCOLS = {
    "taps": dict(taps_per_block=6, triggers=0),
    "led1": dict(trigger_every_s=1.0),
    "led2": dict(trigger_every_s=2.0),
    "sparse": dict(triggers=2),
}


def random_session(i: int, seed: int, duration: float, physics: CameraPhysics) -> SimulatedRecording:
    rng = np.random.default_rng([seed, i])
    return SimulatedRecording(
        duration_s=duration, seed=seed * 1000 + i, t0=rng.uniform(1e3, 1e5),
        emg_offset_s=rng.uniform(-1, 1), emg_drift_ppm=rng.uniform(-200, 200),
        emg_jitter_s=rng.uniform(0.2e-3, 2e-3), latency_s=rng.uniform(0.02, 0.06),
        camera_jitter_s=rng.uniform(1e-3, 5e-3), camera_drift_ppm=rng.uniform(-50, 50),
        drop_probability=rng.uniform(0, 0.03), physics=physics)


def run_one(path: Path, s: SimulatedRecording, protocol: str) -> dict:
    rng = np.random.default_rng(s.seed)
    write_session(path, sync_scenario(s.t0, s.duration_s, rng, **PROTOCOLS[protocol]), s)
    t = time.perf_counter()
    try:
        r = synchronize(path)
    except SyncRefused as e:
        return {"refused": e.reason}
    t_sync = time.perf_counter() - t
    with Recording(path) as rec:
        truth = read_truth(rec)
        emg_t = r.streams[r.reference].times(rec.stream(r.reference).time_stamps)
    err = np.abs(alignment_error(emg_t, r.frame_times, truth)) * 1e3
    return {"err": err, "unc": r.uncertainty_ms, "n": r.events.n_used, "sync_s": t_sync,
            "wrong": bool(err.max() > r.uncertainty_ms)}


def cell(camera: str, protocol: str, runs: int, seed: int, duration: float, tmp: str) -> str:
    rows, refused = [], []
    for i in range(runs):
        s = random_session(i, seed, duration, CAMERAS[camera])
        path = Path(tmp) / f"{camera}-{protocol}-{i}.h5"
        try:
            out = run_one(path, s, protocol)
        finally:
            path.unlink(missing_ok=True)
        (refused.append(out["refused"]) if "refused" in out else rows.append(out))
    wrong = sum(r["wrong"] for r in rows)
    if rows:
        e = np.concatenate([r["err"] for r in rows])
        unc = np.median([r["unc"] for r in rows])
        fig = (f"{np.median(e):6.2f} {np.percentile(e, 95):6.2f} {e.max():6.2f}   "
               f"±{unc:5.2f}")
    else:
        fig = "     —      —      —        —"
    why = f"  refused: {refused[0][:70]}" if refused else ""
    return f"{camera:12s} {protocol:7s} {runs:4d} {len(refused):7d} {wrong:6d}   {fig}{why}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2, help="recordings per cell (default 2)")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds each (default 30)")
    ap.add_argument("--cameras", default=",".join(CAMERAS))
    ap.add_argument("--protocols", default=",".join(PROTOCOLS))
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} (shared machine)")
    print(f"{'camera':12s} {'protocol':7s} {'runs':>4s} {'refused':>7s} {'wrong':>6s}   "
          f"median    p95    max   stated (ms)")
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        for camera in args.cameras.split(","):
            for protocol in args.protocols.split(","):
                print(cell(camera, protocol, args.runs, args.seed, args.duration, tmp),
                      flush=True)


if __name__ == "__main__":
    main()
