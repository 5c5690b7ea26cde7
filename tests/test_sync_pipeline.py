"""End to end on synthetic data: EMG and video on different clocks, aligned by events.

True time τ is the recorder's clock. The EMG stream's timestamps carry an offset, a
rate error and transport jitter; the camera's frames reach the host late and jittery,
some are dropped, and its device clock runs at its own rate. After the clock level
(dejitter, device-time frame mapping) the event level must recover how EMG time maps
to video time, checked at every true time against the known truth.
"""

import numpy as np
import pytest

from mimicsync.acquisition.simulators.signals import synthetic_emg, synthetic_frames
from mimicsync.sync import (
    dejitter_timestamps,
    emg_tap_onsets,
    frame_times,
    match_events,
    trigger_onsets,
    video_tap_onsets,
)
from mimicsync.sync.video_events import brightness, led_onsets, motion_energy

FS, FPS, DURATION, TAU0 = 4096.0, 30.0, 60.0, 7000.0


@pytest.fixture(scope="module")
def session():
    rng = np.random.default_rng(11)
    taps = np.r_[2.0 + np.arange(3) * 1.5, 52.0 + np.arange(3) * 1.5] + rng.uniform(0, 0.5, 6)
    pulses = np.r_[9.0 + np.arange(3) * 1.1, 45.0 + np.arange(3) * 1.3] + rng.uniform(0, 0.5, 6)
    moves = [(12.0, 14.0), (17.0, 20.0), (30.0, 33.0)]

    # EMG: sample i is taken at true τ0 + i/FS; its LSL timestamps are off by 0.35 s,
    # run 80 ppm fast, and jitter by a few ms (chunked transport).
    emg = synthetic_emg(DURATION, FS, 32, taps, moves, rng=rng, move_uv=60.0, ramp_s=0.01)
    n = emg.shape[0]
    true_t = TAU0 + np.arange(n) / FS
    emg_clock = lambda tau: tau + 0.35 + 80e-6 * (tau - TAU0)  # noqa: E731
    emg_ts_raw = emg_clock(true_t) + rng.exponential(3e-3, n)
    trig = np.zeros(n)
    for p in pulses:
        trig[(true_t >= TAU0 + p) & (true_t < TAU0 + p + 0.1)] = 1.0

    # Video: frame f exposed around true τ0 + 0.0123 + f/FPS·(1 − 50 ppm), device clock in
    # ms on its own origin; host arrival 10 ms + jitter later; 2 % of frames dropped.
    nf = int(DURATION * FPS)
    frame_tau = TAU0 + 0.0123 + np.arange(nf) / FPS * (1 - 50e-6)
    device_ms = 777.0 + np.arange(nf) * 1000.0 / FPS
    host = frame_tau + 0.010 + rng.gamma(2.0, 0.002, nf)
    frames = synthetic_frames(frame_tau - TAU0, taps=taps, leds=pulses, movements=moves, rng=rng)
    keep = np.ones(nf, dtype=bool)
    keep[rng.choice(np.arange(1, nf - 1), nf // 50, replace=False)] = False
    return dict(emg=emg, emg_ts_raw=emg_ts_raw, trig=trig, emg_clock=emg_clock, frames=frames[keep],
                host=host[keep], device_ms=device_ms[keep], counter=np.arange(nf)[keep],
                frame_tau=frame_tau, device_all=device_ms, taps=taps)


def _truth_video_clock(s, ft):
    """The video clock as sync defines it: host ≈ a + b·device time, fitted per frame."""
    seg = ft.segments[0]
    return lambda tau: seg.intercept + seg.slope * np.interp(tau, s["frame_tau"], s["device_all"]) / 1000.0


def _check(s, emg_t, ft, m, limit_s):
    """Map true times to the EMG clock and on to video; compare with the video clock.

    Both clocks are the ones sync builds: the dejittered EMG line and the device-time
    frame mapping (each includes its stream's mean transport latency).
    """
    video_clock = _truth_video_clock(s, ft)
    tau = TAU0 + np.linspace(3.0, 55.0, 27)
    emg_clock = np.interp(tau, TAU0 + np.arange(emg_t.size) / FS, emg_t)
    err = m.to_b(emg_clock) - video_clock(tau)
    assert np.abs(err).max() < limit_s, err
    return err


def test_trigger_and_led_align_within_an_eighth_of_a_frame(session):
    s = session
    emg_t = dejitter_timestamps(s["emg_ts_raw"], FS).times
    ft = frame_times(s["host"], s["device_ms"], s["counter"])
    a = trigger_onsets(s["trig"], emg_t)
    b = led_onsets(brightness(iter(s["frames"]), ft.times))
    assert a.size == b.size == 6
    m = match_events(a, b, names=("EMG trigger", "LED"))
    assert m.n_matched == 6 and m.confidence > 0.6
    assert not m.drift_fitted  # ±3 ms onsets over 40 s cannot pin a drift to 10 ppm
    # Each LED onset is within 0.09 frame (3 ms); the fitted drift spreads that a little.
    _check(s, emg_t, ft, m, 0.12 / FPS)


def test_taps_align_within_a_third_of_a_frame(session):
    s = session
    emg_t = dejitter_timestamps(s["emg_ts_raw"], FS).times
    ft = frame_times(s["host"], s["device_ms"], s["counter"])
    a = emg_tap_onsets(s["emg"], emg_t, FS).onsets
    b = video_tap_onsets(motion_energy(iter(s["frames"]), ft.times)).onsets
    assert a.size == 6 and b.size >= 6
    m = match_events(a, b)
    assert m.n_matched == 6 and m.confidence > 0.5
    _check(s, emg_t, ft, m, 0.33 / FPS)
