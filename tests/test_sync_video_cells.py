"""Cell scans of the simulated camera: JPEG and raw frames agree, the LED is found, a tap's
contact (the end of the hand's approach) is bracketed, not its approach or withdrawal."""

from __future__ import annotations

import numpy as np
import pytest
import simplejpeg

from mimicsync.acquisition.simulators.camera import SimulatedCamera
from mimicsync.acquisition.simulators.scenario import Movement, Scenario, Tap, Trigger
from mimicsync.sync.arrivals import contacts
from mimicsync.sync.exposure import Exposure
from mimicsync.sync.video_cells import led_trace, scan

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
    got = [cam.read() for _ in range(int(5 * FPS))]
    frames = [g.color for g in got]
    e = np.array([g.meta["exposure_ms"] for g in got]) / 1e3
    t = T0 + np.arange(len(frames)) / FPS + e / 2  # middle of the first row's exposure
    exp = Exposure(t, e, cam.physics.readout_s, 240, True)
    return frames, exp, cam.renderer.led_box


def test_jpeg_and_raw_frames_give_the_same_cells(video):
    frames, _, _ = video
    jpegs = [simplejpeg.encode_jpeg(np.ascontiguousarray(f), 90, colorspace="RGB")
             for f in frames[:20]]
    a = scan(jpegs, 320, 240)
    b = scan(frames[:20], 320, 240)
    assert a.light.shape == b.light.shape == (20, 30, 40) and a.scale == b.scale == 2.0
    assert np.abs(a.light - b.light).mean() < 2.0  # JPEG noise only


def test_led_found_and_contact_bracketed(video):
    frames, exp, (rows, cols) = video
    t = exp.clock
    cells = scan(frames, 320, 240)
    led, score = led_trace(cells, t)
    x0, y0, x1, y1 = led.roi
    assert x0 <= cols.stop and x1 >= cols.start and y0 <= rows.stop and y1 >= rows.start
    assert score > 25
    on = np.flatnonzero(np.diff(led.values) > 50)
    assert t[on[0] + 1] - T0 == pytest.approx(3.0, abs=1 / FPS)
    found = contacts(cells, exp, exclude=led.roi)
    v = found.onsets
    k = int(np.argmax(found.strength))
    # the strongest arrival is the hand resting on the cheek, its bracket holds the contact
    assert v.lo[k] <= T0 + 1.5 <= v.hi[k]
    assert v.hi[k] - v.lo[k] < 1.5 / FPS
    # the withdrawal (the hand leaves) is no contact; the smile's onset is weaker
    others = np.delete(np.arange(v.times.size), k)
    assert not np.any(np.abs(v.times[others] - (T0 + 1.5)) < 1.0)
    assert np.all(found.strength[others] < 0.8 * found.strength[k])
