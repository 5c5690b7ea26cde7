"""Clock level: offset/drift fit, reset segments and dejitter, checked against pyxdf."""

from types import SimpleNamespace

import numpy as np
import pytest
from pyxdf import pyxdf

from mimicsync.sync.clock import detect_clock_resets, fit_clock_offsets
from mimicsync.sync.dejitter import dejitter_timestamps, stream_can_drop_samples
from mimicsync.sync.robust import huber_line

T0 = 52_000.0  # LSL clocks are seconds since boot: large values


def _offsets(rng, duration=1200.0, drift_ppm=150.0, offset=0.8, every=5.0):
    t = T0 + np.arange(0, duration, every) + rng.normal(0, 0.01, int(duration / every))
    v = offset + drift_ppm * 1e-6 * (t - T0) + rng.normal(0, 50e-6, t.size)
    v[[20, 100, t.size - 5]] += [0.004, 0.012, -0.006]  # late time_correction replies
    return t, v


def _pyxdf_sync(ts, clock_t, clock_v):
    stream = SimpleNamespace(time_stamps=np.array(ts, dtype=float), clock_times=list(clock_t),
                             clock_values=list(clock_v), clock_segments=[])
    pyxdf._clock_sync({1: stream})
    return stream.time_stamps, stream.clock_segments


@pytest.mark.parametrize("reset", [False, True])
def test_clock_fit_agrees_with_pyxdf(reset):
    rng = np.random.default_rng(1)
    t, v = _offsets(rng)
    ts = T0 + np.arange(0, 1200, 0.01) + rng.normal(0, 1e-3, 120_000)
    if reset:  # the source's clock jumps forward by 1000 s at the 150th measurement
        jump_at = t[150] - 2.5
        t[150:] += 1000.0
        v[150:] -= 1000.0 - 0.3
        ts[ts >= jump_at] += 1000.0
    raw = ts.copy()
    fit = fit_clock_offsets(t, v)
    mine, segments = fit.correct(ts)
    theirs, their_segments = _pyxdf_sync(ts, t, v)
    assert np.array_equal(ts, raw)  # raw timestamps untouched
    assert len(fit.segments) == (2 if reset else 1)
    assert segments == their_segments
    assert np.abs(mine - theirs).max() < 1e-6
    assert fit.drift_ppm == pytest.approx(np.full(len(fit.segments), 150.0), abs=1.0)


def test_reset_detection_matches_pyxdf_on_glitches():
    rng = np.random.default_rng(4)
    t, v = _offsets(rng, duration=600)
    t[60:] -= 200.0  # clock went backwards
    v[60:] += 200.0
    t[90:] += 50.0  # and jumped forward later
    v[90:] -= 50.0
    stream = SimpleNamespace(clock_times=list(t), clock_values=list(v))
    theirs = pyxdf._detect_clock_resets(stream, 5, 5, 10, 1)
    assert detect_clock_resets(t, v) == theirs == [(0, 59), (60, 89), (90, t.size - 1)]


def test_backward_reset_splits_samples_at_the_jump():
    """pyxdf hands every sample to the later segment here; the jump is the boundary."""
    rng = np.random.default_rng(2)
    t, v = _offsets(rng)
    true_ts = T0 + np.arange(0, 1200, 0.01)
    ts = true_ts.copy()
    back = ts >= t[150] - 2.5
    t[150:] -= 500.0
    v[150:] += 500.0
    ts[back] -= 500.0
    corrected, segments = fit_clock_offsets(t, v).correct(ts)
    assert segments == [(0, int(np.argmax(back)) - 1), (int(np.argmax(back)), ts.size - 1)]
    truth = true_ts + 0.8 + 150e-6 * (true_ts - T0)
    assert np.abs(corrected - truth).max() < 100e-6


def test_huber_line_ignores_outliers():
    x = np.arange(100.0)
    y = 2.0 + 1e-4 * x
    y[[10, 50]] += 1.0
    a, b = huber_line(x, y, 1e-4)
    assert a == pytest.approx(2.0, abs=1e-5) and b == pytest.approx(1e-4, abs=1e-7)


def test_dejitter_agrees_with_pyxdf_and_keeps_gaps():
    rng = np.random.default_rng(3)
    fs = 4096.0
    ts = T0 + np.concatenate([np.arange(0, 20, 1 / fs), 25 + np.arange(0, 10, 1 / fs)])
    ts = ts * (1 + 30e-6)
    jittered = ts + rng.exponential(2e-3, ts.size)
    raw = jittered.copy()
    out = dejitter_timestamps(jittered, fs)
    stream = SimpleNamespace(time_stamps=jittered.copy(), srate=fs, tdiff=1 / fs, segments=[])
    pyxdf._jitter_removal({1: stream})
    assert np.array_equal(jittered, raw)
    assert out.segments == stream.segments == [(0, 81919), (81920, ts.size - 1)]
    assert np.abs(out.times - stream.time_stamps).max() < 1e-9
    assert out.effective_srate == pytest.approx(stream.effective_srate, rel=1e-9)
    # The jitter is gone: what is left is the constant mean latency (2 ms).
    assert np.abs(out.times - ts - 2e-3).max() < 0.2e-3


def test_streams_that_drop_samples_are_not_dejittered():
    ts = np.array([0.0, 0.034, 0.066, 0.166, 0.2])  # frames 3 and 4 dropped
    out = dejitter_timestamps(ts, 30.0, can_drop_samples=True)
    assert np.array_equal(out.times, ts) and out.times is not ts
    xdf_style = "<info><desc><synchronization><can_drop_samples>true</can_drop_samples></synchronization></desc></info>"
    camera_style = "<info><desc><can_drop_samples>true</can_drop_samples></desc></info>"
    assert stream_can_drop_samples(xdf_style) and stream_can_drop_samples(camera_style)
    assert not stream_can_drop_samples("<info><desc/></info>")
