"""Signal quality grades: known signals give the expected RMS, line ratio and flags."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from mimicsync.acquisition.live.signal_quality import (
    BAD,
    GOOD,
    NONE,
    WARN,
    QualityThresholds,
    assess,
)

FS = 4096.0


def emg_noise(n: int, ch: int, rms: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sos = signal.butter(4, [20, 450], btype="bandpass", fs=FS, output="sos")
    x = signal.sosfilt(sos, rng.standard_normal((n + 4096, ch)), axis=0)[4096:]
    return x / x.std(axis=0) * rms


def hum(n: int, amp: float, f: float = 50.0) -> np.ndarray:
    return amp * np.sin(2 * np.pi * f * np.arange(n) / FS)


def test_rest_rms_and_line_ratio_are_measured_in_microvolts():
    n = int(2 * FS)
    x = emg_noise(n, 3, 0.8)
    x[:, 1] += hum(n, 2.0 * np.sqrt(2))  # 2 µV RMS of hum over 0.8 µV EMG: ratio 2.5
    x[:, 2] *= 10  # 8 µV at rest: a loose electrode
    r = assess(x, FS)
    # 25th percentile of 0.25 s segments: a little below the true RMS, never above
    assert 0.65 < r.rest_rms_uv[0] <= 0.85
    assert r.line_ratio[0] < 0.3
    np.testing.assert_allclose(r.line_ratio[1], 2.5, rtol=0.15)
    assert r.grade == (GOOD, WARN, WARN)
    assert "50 Hz noise 2." in r.reasons[1] and "rest RMS" in r.reasons[2]
    assert 6.5 < r.rest_rms_uv[2] <= 8.5


def test_flat_saturated_and_non_emg_channels():
    n = int(2 * FS)
    x = emg_noise(n, 5, 1.0)
    x[:, 0] = 3.0  # flat (DC offset only)
    x[:, 1] = np.clip(x[:, 1] * 50, -20, 20)  # clipping at the channel's own extremes
    x[:, 3] = 0.0
    r = assess(x, FS, assessable=[True, True, True, True, False])
    assert r.flat[0] and r.grade[0] == BAD and "flat" in r.reasons[0]
    assert r.saturated[1] and r.grade[1] == BAD and "saturated" in r.reasons[1]
    assert not r.saturated[2] and not r.flat[2] and r.grade[2] == GOOD
    assert r.grade[3] == BAD
    assert r.grade[4] == NONE
    assert r.counts() == {GOOD: 1, WARN: 0, BAD: 3, NONE: 1}


def test_known_amplifier_range_flags_rail_samples():
    x = emg_noise(int(FS), 1, 100.0)
    th = QualityThresholds(saturation_uv=150.0, rest_rms_bad_uv=1e9, rest_rms_warn_uv=1e9)
    assert assess(np.clip(x, -150, 150), FS, thresholds=th).saturated[0]
    assert not assess(x * 0.5, FS, thresholds=th).saturated[0]


def test_brief_movement_does_not_hide_rest_level():
    n = int(2 * FS)
    x = emg_noise(n, 1, 0.7)
    x[: n // 4] *= 40  # a 0.5 s contraction of 28 µV
    r = assess(x, FS)
    assert r.rest_rms_uv[0] < 1.0 and r.grade[0] == GOOD


def test_too_little_data_is_not_graded():
    r = assess(np.zeros((100, 4)), FS)
    assert r.grade == (NONE,) * 4
    with pytest.raises(ValueError, match="samples, channels"):
        assess(np.zeros(100), FS)
