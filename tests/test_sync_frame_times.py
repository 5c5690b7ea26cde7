"""Video frame times from device time and counter: jitter removed, drops kept."""

import numpy as np
import pytest

from mimicsync.sync.frame_times import frame_times


def _camera(rng, n=3000, fps=30.0, drift_ppm=120.0, offset=1234.5, drop=60):
    counter = np.arange(n, dtype=float)
    true_t = offset + counter / fps * (1 + drift_ppm * 1e-6)  # capture, host clock
    device_ms = 5_000.0 + counter * 1000.0 / fps  # device clock
    latency = 0.008 + rng.gamma(2.0, 0.002, n)  # USB: always late, heavy tail
    latency[rng.choice(n, n // 150, replace=False)] += 0.05  # a few stuck frames
    keep = np.ones(n, dtype=bool)
    keep[rng.choice(np.arange(1, n - 1), drop, replace=False)] = False
    return true_t[keep], true_t[keep] + latency[keep], device_ms[keep], counter[keep]


def test_frame_times_remove_jitter_and_keep_dropped_frames():
    rng = np.random.default_rng(0)
    true_t, host, dev, cnt = _camera(rng)
    host_raw = host.copy()
    ft = frame_times(host, dev, cnt)
    assert np.array_equal(host, host_raw)
    assert ft.dropped == 60 and ft.dropped_after.size <= 60
    err = ft.times - true_t
    # One constant (the typical latency) remains; frame to frame it is sub-millisecond.
    assert np.ptp(err) < 0.5e-3
    assert np.median(err) == pytest.approx(0.012, abs=0.003)
    assert ft.segments[0].drift_ppm == pytest.approx(120.0, abs=3.0)
    # A straight line over frame *indices* would squeeze the dropped frames out.
    idx_line = np.polyval(np.polyfit(np.arange(host.size), host, 1), np.arange(host.size))
    assert np.ptp(idx_line - true_t) > 0.1


def test_device_restart_starts_a_new_segment_and_missing_device_times_are_filled():
    rng = np.random.default_rng(1)
    t1, h1, d1, c1 = _camera(rng, n=600, drop=5)
    t2, h2, d2, c2 = _camera(rng, n=600, drop=5, offset=1234.5 + 30.0)
    d1 = d1.copy()
    d1[100:110] = np.nan
    ft = frame_times(np.r_[h1, h2], np.r_[d1, d2], np.r_[c1, c2])
    assert [(s.start, s.end) for s in ft.segments] == [(0, t1.size - 1), (t1.size, t1.size + t2.size - 1)]
    assert np.ptp(ft.times - np.r_[t1, t2]) < 1e-3
    assert ft.dropped == 10


def test_short_segment_borrows_slope():
    rng = np.random.default_rng(2)
    t1, h1, d1, c1 = _camera(rng, n=900, drop=0)
    t2, h2, d2, c2 = _camera(rng, n=10, drop=0, offset=1300.0)
    ft = frame_times(np.r_[h1, h2], np.r_[d1, d2], np.r_[c1, c2])
    assert ft.segments[1].slope == ft.segments[0].slope
    assert np.abs(ft.times[900:] - t2 - 0.012).max() < 4e-3
