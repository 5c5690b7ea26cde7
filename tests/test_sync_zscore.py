"""Smoothed z-score detector: the documented variant, offline = incremental."""

import numpy as np
import pytest

from mimicsync.sync.zscore import ZScoreDetector, ZScoreParams, zscore_peaks


def reference(y, lag, threshold, influence):
    """The algorithm exactly as documented, one sample at a time."""
    n = len(y)
    sig = np.zeros(n, dtype=np.int8)
    mean = np.full(n, np.nan)
    std = np.full(n, np.nan)
    f = np.array(y, dtype=float)
    for i in range(lag, n):
        w = f[i - lag : i]  # the window excludes sample i
        mean[i], std[i] = w.mean(), w.std()  # population std (ddof=0)
        if abs(y[i] - mean[i]) > threshold * std[i]:
            sig[i] = 1 if y[i] > mean[i] else -1
            f[i] = influence * y[i] + (1 - influence) * f[i - 1]
    return sig, mean, std


def _signal(rng, n=12_000):
    y = rng.normal(0, 1, n) + 5.0
    y[3000:3040] += 9.0  # a peak
    y[6000:6010] -= 9.0  # a dip
    y[8000:10_000] += 3.0  # a sustained step
    return y


@pytest.mark.parametrize("influence", [0.0, 0.1, 0.5, 1.0])
def test_offline_matches_reference(influence):
    y = _signal(np.random.default_rng(0))
    res = zscore_peaks(y, 40, 3.5, influence)
    sig, mean, std = reference(y, 40, 3.5, influence)
    assert np.array_equal(res.signals, sig)
    assert np.allclose(res.mean, mean, equal_nan=True, atol=1e-9)
    assert np.allclose(res.std, std, equal_nan=True, atol=1e-9)
    assert res.signals[3000] == 1 and res.signals[6000] == -1
    assert not res.signals[:40].any()


@pytest.mark.parametrize("influence", [0.0, 0.3, 1.0])
def test_incremental_is_identical_for_any_chunking(influence):
    rng = np.random.default_rng(1)
    y = _signal(rng)
    offline = zscore_peaks(y, 40, 3.5, influence)
    for cuts in (np.arange(1, y.size), np.sort(rng.choice(y.size, 300, replace=False))):
        det = ZScoreDetector(ZScoreParams(40, 3.5, influence))
        parts = [det.push(p) for p in np.split(y, cuts)]
        assert np.array_equal(np.concatenate([p.signals for p in parts]), offline.signals)
        assert np.array_equal(np.concatenate([p.mean for p in parts]), offline.mean, equal_nan=True)
        assert np.array_equal(np.concatenate([p.std for p in parts]), offline.std, equal_nan=True)
    assert det.n_seen == y.size


def test_window_excludes_current_sample_and_flat_window_flags_any_change():
    y = np.array([1.0, 1, 1, 1, 1.000001, 1])
    res = zscore_peaks(y, 4, 3.0, 0.0)
    assert res.signals.tolist() == [0, 0, 0, 0, 1, 0]
    assert res.std[4] == 0.0 and res.mean[4] == 1.0


def test_parameters_from_rate():
    assert ZScoreParams.from_rate(4096.0).lag == 164  # 40 ms
    assert ZScoreParams.from_rate(1000.0, lag_s=0.040).lag == 40
    assert ZScoreParams.from_rate(30.0, lag_s=0.040).lag == 2  # never below 2
    with pytest.raises(ValueError):
        ZScoreParams(10, 3.0, 1.5)


def test_long_signal_is_fast():
    import time

    y = np.random.default_rng(2).normal(0, 1, 1_000_000)
    t = time.perf_counter()
    zscore_peaks(y, 164, 4.0, 0.1)
    assert time.perf_counter() - t < 3.0
