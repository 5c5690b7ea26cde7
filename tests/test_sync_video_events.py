"""Video events: LED and tap onsets to a fraction of a frame, regions found automatically."""

import numpy as np
import pytest

from mimicsync.acquisition.simulators.signals import LED_BOX, synthetic_frames
from mimicsync.sync.video_events import (
    brightness,
    led_onsets,
    motion_energy,
    small_gray,
    video_tap_onsets,
)

FPS = 30.0


def _video(seed, duration=40.0, drop=30):
    rng = np.random.default_rng(seed)
    n = int(duration * FPS)
    t = np.arange(n) / FPS + rng.uniform(0, 1 / FPS)
    taps = np.array([2.0, 3.5, 5.0, 32.0, 33.5, 35.0]) + rng.uniform(0, 1, 6)
    leds = np.array([7.0, 12.0, 28.0]) + rng.uniform(0, 1, 3)
    frames = synthetic_frames(t, taps=taps, leds=leds, movements=[(10, 12), (14, 16), (20, 23)], rng=rng)
    keep = np.ones(n, dtype=bool)
    keep[rng.choice(n, drop, replace=False)] = False
    return frames[keep], t[keep], taps, leds


def _overlap(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_led_onsets_subframe(seed):
    frames, t, _, leds = _video(seed)
    light = brightness(iter(frames), t)
    assert _overlap(light.roi, LED_BOX) > 0
    found = led_onsets(light)
    assert found.size == leds.size
    # Exposure = frame interval: the interpolated 50 % crossing is within 0.09 frame.
    assert np.abs(found - leds).max() < 0.1 / FPS
    given = led_onsets(brightness(iter(frames), t, roi=LED_BOX))
    assert np.abs(given - leds).max() < 0.1 / FPS


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tap_onsets_subframe_and_expressions_ignored(seed):
    frames, t, taps, _ = _video(seed)
    me = motion_energy(iter(frames), t)
    h, w = frames.shape[1:3]
    assert _overlap(me.roi, (int(0.2 * w), int(0.1 * h), int(0.8 * w), int(0.9 * h))) > 0
    found = video_tap_onsets(me)
    assert found.onsets.size == taps.size
    err = np.abs(found.onsets - taps)
    # A fraction of a frame; the decay of the jolt within the exposure biases it early.
    assert err.max() < 0.5 / FPS and np.median(err) < 0.25 / FPS
    streamed = motion_energy(iter(frames), t, roi=me.roi)
    assert np.abs(streamed.values - me.values).max() < 0.5  # uint8 rounding of the stack


def test_small_gray_block_means():
    frame = np.zeros((8, 8, 3), dtype=np.uint8)
    frame[:4, :4] = 200
    g = small_gray(frame, 4)
    assert g.shape == (2, 2) and g[0, 0] == pytest.approx(200, abs=0.1) and g[1, 1] == 0
