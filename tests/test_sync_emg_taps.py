"""EMG tap onsets: found to a fraction of a millisecond, facial movements ignored."""

import numpy as np
import pytest

from mimicsync.acquisition.simulators.signals import synthetic_emg
from mimicsync.sync.emg_taps import EmgTapParams, emg_tap_onsets, trigger_onsets

FS = 4096.0


@pytest.mark.parametrize("seed, move_uv, ramp_s", [(0, 30.0, 0.15), (1, 60.0, 0.005), (2, 100.0, 0.002)])
def test_taps_found_and_movements_rejected(seed, move_uv, ramp_s):
    rng = np.random.default_rng(seed)
    taps = np.array([2.0, 3.5, 5.0, 24.0, 25.5, 27.0]) + rng.uniform(0, 1 / FS, 6)
    moves = [(7.0, 10.0), (11.3, 11.5), (14.0, 17.0), (19.0, 21.5)]
    emg = synthetic_emg(30.0, FS, 64, taps, moves, rng=rng, move_uv=move_uv, ramp_s=ramp_s)
    # Timestamps on some stream clock: offset and a 100 ppm rate error.
    ts = 1000.0 + np.arange(emg.shape[0]) / FS * (1 + 100e-6)
    found = emg_tap_onsets(emg, ts, FS)
    truth = 1000.0 + taps * (1 + 100e-6)
    assert found.onsets.size == 6, found.rejected_reasons
    assert np.abs(found.onsets - truth).max() < 0.5e-3
    assert (found.snr > 30).all() and (found.peak_uv > 200).all()
    if ramp_s < 0.01:  # sudden movements were detected, judged, and rejected
        for start, _ in moves:
            assert np.abs(found.rejected_onsets - (1000.0 + start)).min() < 0.05


def test_movement_only_gives_no_taps():
    rng = np.random.default_rng(3)
    emg = synthetic_emg(12.0, FS, 32, [], [(2.0, 4.0), (6.0, 6.3), (8.0, 11.0)], rng=rng,
                        move_uv=80.0, ramp_s=0.003)
    found = emg_tap_onsets(emg, np.arange(emg.shape[0]) / FS, FS)
    assert found.onsets.size == 0
    assert any("not transient" in r for r in found.rejected_reasons)


def test_single_channel_and_median_combination():
    rng = np.random.default_rng(4)
    taps = np.array([1.0, 2.2])
    emg = synthetic_emg(4.0, FS, 1, taps, rng=rng)[:, 0]
    found = emg_tap_onsets(emg, np.arange(emg.size) / FS, FS, EmgTapParams(combine="median"))
    assert np.abs(found.onsets - taps).max() < 0.5e-3


def test_trigger_onsets_subsample():
    fs = 4096.0
    edges = np.array([0.5, 1.7003, 2.90011])
    t = np.arange(int(4 * fs)) / fs
    trig = np.zeros(t.size)
    for e in edges:
        trig[(t >= e) & (t < e + 0.1)] = 1.0
    trig[(t >= 1.72) & (t < 1.7201)] = 0.0  # a bounce inside the pulse
    found = trigger_onsets(trig, t)
    assert found.size == 3
    assert np.abs(found - edges).max() <= 0.5 / fs + 1e-9
    assert trigger_onsets(np.zeros(100), np.arange(100.0)).size == 0
