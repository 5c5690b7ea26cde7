"""Simulated recordings for the sync tests, built once per test session (a few s each).

Each case is a :class:`SimulatedRecording` + scenario options; :func:`recording` writes it under
the given folder the first time it is asked for and returns the path afterwards.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mimicsync.acquisition.simulators.sync_recordings import (
    SimulatedRecording,
    alignment_error,
    read_truth,
    sync_scenario,
    write_session,
)
from mimicsync.dataset.recording import Recording

FPS = 30.0


def _sparse_drops(seed: int) -> tuple[int, ...]:
    """The camera stalls for 2.5 s over the second tap of the sparse case (hand approach,
    strike and withdrawal): the video misses that tap."""
    sc = sync_scenario(1000.0, 30.0, np.random.default_rng(seed), weak_taps=2)
    strong = [t.time for t in sc.taps if t.strength > 0.5]
    n = int(round((strong[1] - 1000.0) * FPS))
    return tuple(range(n - 30, n + 45))


CASES: dict[str, tuple[SimulatedRecording, dict]] = {
    # LED pulse train (both edges) + taps; clock errors only the events can see
    "dense": (SimulatedRecording(duration_s=30, seed=1, emg_offset_s=0.37, emg_drift_ppm=120,
                         emg_jitter_s=0.001, camera_jitter_s=0.003, drop_probability=0.02),
              {"trigger_every_s": 0.5}),
    # protocol-like: 2 tap blocks, 2 trigger pulses, 2 soft taps the sEMG misses,
    # expressions in between, and the frames of one tap dropped
    "sparse": (SimulatedRecording(duration_s=30, seed=2, emg_offset_s=-0.52, emg_drift_ppm=-60,
                          emg_jitter_s=0.001, drop_probability=0.01,
                          drop_frames=_sparse_drops(2)),
               {"weak_taps": 2}),
    # the sEMG sender restarts mid-recording (6 s silent, clock jumps); its host clock
    # differs from the recorder's by 2.5 s and 40 ppm, which LSL measures
    "reset": (SimulatedRecording(duration_s=40, seed=1, emg_offset_s=-0.6, host_offset_s=2.5,
                         host_drift_ppm=40, reset_at_s=15, reset_jump_s=123.4,
                         emg_jitter_s=0.0005, drop_probability=0.01),
              {"trigger_every_s": 1.0}),
    # no trigger LED: taps only
    "taps": (SimulatedRecording(duration_s=30, seed=3, emg_offset_s=0.2, emg_drift_ppm=30),
             {"triggers": 0}),
    # nothing to align on
    "no_events": (SimulatedRecording(duration_s=12, seed=4), {"tap_blocks": 0, "triggers": 0}),
    # sEMG only
    "no_camera": (SimulatedRecording(duration_s=8, seed=5, camera=False), {}),
}


def shared_folder(tmp_path_factory) -> Path:
    """One folder per test session, so every test module reuses the same recordings."""
    folder = Path(tmp_path_factory.getbasetemp()) / "sync-sims"
    folder.mkdir(exist_ok=True)
    return folder


def recording(folder: Path, name: str) -> Path:
    """The recording of case ``name`` in ``folder`` (written on first use)."""
    path = Path(folder) / f"{name}.h5"
    if not path.exists():
        s, kw = CASES[name]
        write_session(path, sync_scenario(s.t0, s.duration_s, np.random.default_rng(s.seed),
                                          **kw), s)
    return path


def errors(path: Path, result) -> np.ndarray:
    """|EMG↔video alignment error| per frame (s) of a sync result against the truth."""
    with Recording(path) as rec:
        truth = read_truth(rec)
        emg_t = result.streams[result.reference].times(rec.stream(result.reference).time_stamps)
        return np.abs(alignment_error(emg_t, result.frame_times, truth))


def play_live(path: Path, led_box=None):
    """A recording pushed through :class:`~mimicsync.sync.live.LiveSync` as the recorder
    would (LSL-sized sEMG chunks, frames one by one at their host arrival time); returns
    the live object and the CPU seconds per second of sEMG and per frame."""
    import time

    from mimicsync.sync.live import EmgTapStream, LiveSync, VideoTapStream
    from mimicsync.sync.video_cells import decode_small
    with Recording(path) as rec:
        s = rec.emg_stream()
        x, ts, fs = s.physical(), s.time_stamps, s.srate
        types = [c.type for c in s.channel_specs]
        emg = EmgTapStream(fs, x.shape[1], trigger_channel=types.index("TRIG"),
                           emg_channels=[i for i, t in enumerate(types) if t == "EMG"])
        w, h = int(rec.video_attrs["width"]), int(rec.video_attrs["height"])
        frames = [decode_small(j, w, h) for j in rec.iter_stored_color()]
        host = rec.frames[:, 3]
    live = LiveSync(emg, VideoTapStream(FPS, scale=w / frames[0].shape[1], led_box=led_box,
                                        height=h))
    t = time.perf_counter()
    chunk = 64  # 1/64 s, the simulated amplifier's LSL chunk
    for a in range(0, len(ts), chunk):
        live.push_emg(x[a:a + chunk], ts[a:a + chunk])
    emg_s = time.perf_counter() - t
    t = time.perf_counter()
    for when, g in zip(host, frames):
        live.push_frame(when, g)
    video_s = time.perf_counter() - t
    return live, emg_s / (len(ts) / fs), video_s / len(frames)

