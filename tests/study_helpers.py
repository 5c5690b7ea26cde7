"""A small study of recordings that `mimicsync sync` can align (LED pulses and taps),
plus an electrode-free session, written faster than real time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mimicsync.acquisition.simulators.recordings import write_simulated_recording
from mimicsync.acquisition.simulators.sync_recordings import (
    SimulatedRecording,
    sync_scenario,
    write_session,
)
from mimicsync.dataset.layout import RecordingId


def syncable_study(root: Path, participants=("01", "02"), duration_s: float = 12.0) -> Path:
    """One syncable 12 s recording per participant (different clock errors), and an
    electrode-free (video only) session of the first participant."""
    for i, p in enumerate(participants):
        rid = RecordingId(p, "01", "functional", 1, "S")
        path = rid.path(root)
        path.parent.mkdir(parents=True, exist_ok=True)
        sim = SimulatedRecording(duration_s=duration_s, seed=i, emg_offset_s=0.2 - 0.3 * i,
                                 emg_drift_ppm=50.0 * (i + 1), width=160, height=120)
        write_session(path, sync_scenario(1000.0, duration_s, np.random.default_rng(i),
                                          trigger_every_s=1.0), sim)
    write_simulated_recording(root, RecordingId(participants[0], "01", "functional", 1, "N"),
                              duration_s=4.0, width=160, height=120, depth=False, emg=False)
    return root
