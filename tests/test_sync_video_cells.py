"""Cell scans of the simulated camera: JPEG and raw frames agree, the LED is found, a tap's
strike stands out from the hand's approach and from expressions."""

from __future__ import annotations

import numpy as np
import pytest
import simplejpeg

from mimicsync.acquisition.simulators.camera import SimulatedCamera
from mimicsync.acquisition.simulators.scenario import Movement, Scenario, Tap, Trigger
from mimicsync.sync.video_cells import led_trace, scan, spikiness, tap_trace

T0, FPS = 500.0, 30.0


@pytest.fixture(scope="module")
def video():
    sc = Scenario()
    sc.add_tap(Tap(T0 + 1.5))
    sc.add_trigger(Trigger(T0 + 3.0, 0.1))
    sc.add_movement(Movement(T0 + 3.5, T0 + 4.5, "smile-open"))
    cam = SimulatedCamera(sc, width=320, height=240, depth=False, realtime=False, seed=3)
    cam.start()
    cam.t_start = T0
    frames = [cam.read().color for _ in range(int(5 * FPS))]
    t = T0 + np.arange(len(frames)) / FPS
    return frames, t, cam.renderer.led_box


def test_jpeg_and_raw_frames_give_the_same_cells(video):
    frames, _, _ = video
    jpegs = [simplejpeg.encode_jpeg(np.ascontiguousarray(f), 90, colorspace="RGB")
             for f in frames[:20]]
    a = scan(jpegs, 320, 240)
    b = scan(frames[:20], 320, 240)
    assert a.light.shape == b.light.shape == (20, 30, 40) and a.scale == b.scale == 2.0
    assert np.abs(a.light - b.light).mean() < 2.0  # JPEG noise only


def test_led_found_and_strike_stands_out(video):
    frames, t, (rows, cols) = video
    cells = scan(frames, 320, 240)
    led, score = led_trace(cells, t)
    x0, y0, x1, y1 = led.roi
    assert x0 <= cols.stop and x1 >= cols.start and y0 <= rows.stop and y1 >= rows.start
    assert score > 25
    on = np.flatnonzero(np.diff(led.values) > 50)
    assert t[on[0] + 1] - T0 == pytest.approx(3.0, abs=1 / FPS)
    taps = tap_trace(cells, t, exclude=led.roi)
    k = int(np.argmax(taps.values))
    assert taps.times[k] - T0 == pytest.approx(1.5, abs=1 / FPS)  # the strike, not the approach
    others = np.delete(taps.values, range(k - 2, k + 3))
    assert taps.values[k] > 2.5 * others.max()  # approach, withdrawal, smile, LED all lower


def test_spikiness_of_a_burst_and_of_a_ramp():
    burst = np.r_[np.zeros(10), 5.0, np.zeros(10)][:, None]
    ramp = np.r_[np.zeros(10), np.full(8, 5.0), np.zeros(10)][:, None]
    assert spikiness(burst)[10, 0] == 5.0
    assert spikiness(ramp).max() == 0.0  # still moving on one side: not a strike
