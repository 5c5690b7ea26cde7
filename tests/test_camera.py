"""Camera side: the face renderer, the simulated camera, the streamer's frame-index stream
over real LSL, and the RealSense adapter driven through a librealsense software device."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pylsl
import pytest
from lsl_helpers import unique

from mimicsync.acquisition import realsense
from mimicsync.acquisition.camera import CameraError, CameraStreamer, Frame
from mimicsync.acquisition.realsense import RealSenseCamera
from mimicsync.acquisition.simulators.camera import SimulatedCamera
from mimicsync.acquisition.simulators.camera_physics import CameraPhysics
from mimicsync.acquisition.simulators.face_renderer import FaceRenderer
from mimicsync.acquisition.simulators.realsense_software import SoftwareRealSense
from mimicsync.acquisition.simulators.scenario import Movement, Scenario, Tap, Trigger
from mimicsync.errors import MimicsyncError


def read_n(cam, n: int, timeout: float = 2.0) -> list[Frame]:
    frames = []
    while len(frames) < n:
        f = cam.read(timeout)
        assert f is not None, f"camera stalled after {len(frames)} frames"
        frames.append(f)
    return frames


def motion_energy(a: np.ndarray, b: np.ndarray, box: tuple[slice, slice]) -> float:
    """Mean absolute frame difference in a region: the video side of tap sync."""
    return float(np.abs(a[box].astype(np.int16) - b[box].astype(np.int16)).mean())


# -- simulator ---------------------------------------------------------------------------
def test_colour_reaches_the_host_as_through_a_d4xx_yuy2_link():
    """A D4xx sends YUY2, one chroma pair per two pixels, and librealsense unpacks it to
    RGB8: neighbouring pixels share their chroma. Storage codecs are chosen on that."""
    def pair_chroma_difference(rgb: np.ndarray) -> float:
        c = rgb.astype(float)
        cb = -0.1687 * c[..., 0] - 0.3313 * c[..., 1] + 0.5 * c[..., 2]
        cr = 0.5 * c[..., 0] - 0.4187 * c[..., 1] - 0.0813 * c[..., 2]
        return max(np.abs(cb[:, 0::2] - cb[:, 1::2]).mean(), np.abs(cr[:, 0::2] - cr[:, 1::2]).mean())

    scenario = Scenario([Movement(0.0, 1.0, "smile-open")], [Tap(0.3)], [])
    seen = {}
    for transport in ("yuyv", "rgb8"):
        cam = SimulatedCamera(scenario, width=320, height=180, realtime=False,
                              physics=CameraPhysics(transport=transport))
        info = cam.start()
        frames = [cam.read() for _ in range(12)]  # the tap's hand is in some of them
        cam.stop()
        assert info.settings["color_transport"] == transport
        seen[transport] = max(pair_chroma_difference(f.color) for f in frames)
    assert seen["yuyv"] < 0.3 < 1.0 < seen["rgb8"], seen  # rgb8: the sensor's own noise
    with pytest.raises(MimicsyncError, match="camera transport.*'yuv'.*'yuyv'"):
        CameraPhysics(transport="yuv")


def test_simulator_frames_and_ground_truth():
    cam = SimulatedCamera(Scenario(), width=320, height=240, fps=30.0, offset_s=0.25,
                          drift_ppm=80.0, latency_s=0.04, realtime=False, seed=3,
                          device_epoch_s=500.0, device_drift_ppm=-10.0)
    info = cam.start()
    truth = info.settings["simulation"]
    frames = read_n(cam, 12)
    cam.stop()
    assert (info.width, info.height, info.depth_width, info.depth_height) == (320, 240, 320, 240)
    assert info.color_intrinsics["ppx"] == 160.0 and info.color_intrinsics["fx"] > 200
    for k, f in enumerate(frames):
        assert f.color.shape == (240, 320, 3) and f.color.dtype == np.uint8
        assert f.depth.shape == (240, 320) and f.depth.dtype == np.uint16
        assert (f.host_index, f.device_index) == (k, k)
        # the first row starts exposing at s; the frame is complete after exposure + readout
        s = k / 30.0
        e, readout = f.meta["exposure_ms"] / 1e3, truth["physics"]["readout_s"]
        t_n = truth["t_start"] + s + e + readout
        expected = t_n + 0.04 + 0.25 + 80e-6 * (t_n - truth["t_start"])
        assert f.host_time == pytest.approx(expected, abs=1e-9)
        # frame timestamp: start of readout; sensor timestamp: middle of the exposure
        assert f.device_time_ms == pytest.approx((500.0 + (s + e) * (1 - 10e-6)) * 1e3)
        assert f.meta["sensor_time_ms"] == pytest.approx((500.0 + (s + e / 2) * (1 - 10e-6)) * 1e3)
        assert 1.0 <= f.meta["exposure_ms"] <= 32.0 and f.meta["auto_exposure"] == 1.0
        assert f.meta["frame_counter"] == k
    # depth in mm: the face (image centre) is much nearer than the background (corner)
    assert 400 < frames[0].depth[120, 160] < 650 < 1400 < frames[0].depth[5, 5]
    assert frames[0].depth[120, 160] < frames[0].depth[200, 20]


def test_simulator_realtime_rate_matches_fps():
    cam = SimulatedCamera(Scenario(), width=320, height=240, fps=30.0, latency_s=0.02)
    info = cam.start()
    arrivals, frames = [], []
    while pylsl.local_clock() - info.settings["simulation"]["t_start"] < 1.2:
        f = cam.read(1.0)
        arrivals.append(pylsl.local_clock())
        frames.append(f)
    cam.stop()
    assert 31 <= len(frames) <= 37  # 1.2 s at 30 fps, minus latency, exposure and readout
    assert np.median(np.diff(arrivals)) == pytest.approx(1 / 30.0, rel=0.1)
    lateness = np.array(arrivals) - np.array([f.host_time for f in frames])
    assert np.median(lateness) < 0.01  # delivered when its host timestamp says


def test_seeded_drops_and_jitter_are_reproducible_and_recorded():
    def run() -> tuple[list[Frame], dict]:
        cam = SimulatedCamera(Scenario(), width=160, height=120, fps=60.0, jitter_s=0.002,
                              latency_s=0.02, drop_probability=0.2, drop_frames=(1,),
                              realtime=False, seed=11)
        info = cam.start()
        frames = read_n(cam, 150)
        cam.stop()
        return frames, info.settings["simulation"]

    frames, truth = run()
    again, _ = run()
    assert [f.device_index for f in frames] == [f.device_index for f in again]
    idx = [f.device_index for f in frames]
    missing = sorted(set(range(idx[-1])) - set(idx))
    assert 1 in missing and missing == truth["dropped_device_indices"]
    assert 0.1 < len(missing) / idx[-1] < 0.3
    err = [f.host_time - (truth["t_start"] + f.device_index / 60.0) - 0.02 for f in frames]
    assert np.std(err) == pytest.approx(0.002, rel=0.25)
    assert min(err) >= -0.02  # never delivered before it was exposed


class GatedCamera:
    """Holds frames back until the test's inlet is connected; ends after ``limit`` frames."""

    def __init__(self, cam: SimulatedCamera, limit: int) -> None:
        self.cam, self.limit, self.gate, self.delivered = cam, limit, threading.Event(), 0

    def start(self):
        return self.cam.start()

    def read(self, timeout: float = 1.0):
        if not self.gate.wait(timeout) or self.delivered >= self.limit:
            time.sleep(0.02)
            return None
        self.delivered += 1
        return self.cam.read(timeout)

    def stop(self) -> None:
        self.cam.stop()


def test_streamer_counts_drops_and_publishes_frame_index_over_lsl():
    name = unique("test-camera")
    gated = GatedCamera(SimulatedCamera(Scenario(), width=160, height=120, fps=30.0,
                                        drop_frames=(3, 4, 9), realtime=False), limit=15)
    streamer = CameraStreamer(gated, name=name, source_id=name)
    seen: list[Frame] = []
    streamer.add_sink(seen.append)
    streamer.start()
    try:
        found = pylsl.resolve_byprop("name", name, timeout=5.0)
        assert len(found) == 1
        inlet = pylsl.StreamInlet(found[0])
        inlet.open_stream(timeout=5.0)
        desc = inlet.info(timeout=5.0)
        assert desc.channel_count() == 4 and desc.channel_format() == pylsl.cf_double64
        assert desc.desc().child_value("can_drop_samples") == "true"
        gated.gate.set()
        samples, stamps = [], []
        deadline = time.monotonic() + 10.0
        while len(samples) < 15 and time.monotonic() < deadline:
            chunk, ts = inlet.pull_chunk(timeout=0.2)
            samples += chunk
            stamps += ts
        inlet.close_stream()
    finally:
        streamer.stop()
    assert streamer.frames == 15 and streamer.dropped == 3
    assert [f.device_index for f in seen][:6] == [0, 1, 2, 5, 6, 7]
    expected = [[f.host_index, f.device_index, f.device_time_ms, f.host_time] for f in seen]
    np.testing.assert_array_equal(np.array(samples), np.array(expected))
    np.testing.assert_allclose(stamps, [f.host_time for f in seen], rtol=0, atol=1e-9)


def test_tap_motion_ends_at_contact_and_the_hand_rests():
    """The hand approaches, decelerates and rests on the skin: frames exposed wholly
    before contact differ (motion), frames exposed after it are the same (the hand rests)
    until it withdraws; nothing moves before the approach."""
    sc = Scenario()
    cam = SimulatedCamera(sc, realtime=False, seed=5,  # 1280x720, as recorded
                          physics=CameraPhysics(readout_s=0.0, exposure_s=0.010))
    t_start = cam.start().settings["simulation"]["t_start"]
    tap = t_start + 1.2 + 0.0137  # off the frame grid on purpose
    sc.add_tap(Tap(tap, 45.0, -20.0))  # scenarios are append-only, also while running
    frames = read_n(cam, int((tap + 0.5 - t_start) * 30))
    box = cam.renderer.face_box
    cam.stop()
    energy = np.array([motion_energy(a.color, b.color, box) for a, b in zip(frames, frames[1:])])
    excess = energy - np.median(energy[:20])  # over the sensor-noise floor
    k = math.floor((tap - t_start) * 30.0)  # exposes [k/30, k/30 + 10 ms]: before contact
    peak = excess.max()
    assert excess[k] > 0.1 * peak  # frame k (hand still moving) vs k+1 (resting)
    assert np.abs(excess[k + 1:k + 7]).max() < 0.1 * peak  # resting on the skin
    assert np.argmax(excess) < k  # the motion peaks on the approach, before contact
    rest = excess[1:int((tap - 0.35 - t_start) * 30)]  # before the hand comes into view
    assert np.abs(rest).max() < 0.2 * excess[k]  # (gain steps of the room light only)


def test_led_is_bright_exactly_while_the_trigger_is_high():
    sc = Scenario()
    cam = SimulatedCamera(sc, width=640, height=360, realtime=False)
    t_start = cam.start().settings["simulation"]["t_start"]
    for trigger in (Trigger(t_start + 0.3, 0.1), Trigger(t_start + 0.7 + 0.0071, 0.25)):
        sc.add_trigger(trigger)
    frames = read_n(cam, 36)
    led = cam.renderer.led_box
    cam.stop()
    # each row of the LED integrates its own window [start + readout·row/H, + exposure]:
    # the patch is as bright as the fraction of that window the pulse was on
    rows = np.arange(led[0].start, led[0].stop)
    readout = cam.physics.readout_s
    level = np.array([float(f.color[led].mean()) for f in frames])
    frac = []
    for f in frames:
        e = f.meta["exposure_ms"] / 1e3
        u0 = t_start + f.device_index / 30.0 + readout * rows / 360
        on = sum(np.clip(np.minimum(u0 + e, t.time + t.duration) - np.maximum(u0, t.time), 0, None)
                 for t in sc.triggers)
        frac.append(float(np.mean(on / e)))
    frac = np.array(frac)
    dark, lit = level[frac < 1e-6], level[frac > 1 - 1e-6]
    assert dark.max() < 120 < 200 < lit.min() and 8 <= lit.size <= 12
    partial = (frac > 0.1) & (frac < 0.9)
    assert partial.sum() >= 1  # the second pulse starts and ends mid-exposure
    expected = dark.mean() + frac[partial] * (lit.mean() - dark.mean())
    assert np.abs(level[partial] - expected).max() < 0.15 * (lit.mean() - dark.mean())


def test_expressions_change_the_right_region():
    r = FaceRenderer(640, 360, noise=0.0)
    sc = Scenario([Movement(10.0, 13.0, "eyes-tight"), Movement(20.0, 23.0, "smile-open")])
    rest, _ = r.render(sc, 5.0)
    eyes, _ = r.render(sc, 11.5)
    smile, _ = r.render(sc, 21.5)
    eye_box = r.box_mm(14.0, 50.0, 8.0, 28.0)  # the participant's left eye
    mouth_box = r.box_mm(-32.0, 32.0, -70.0, -38.0)
    assert motion_energy(eyes, rest, eye_box) > 15
    assert motion_energy(eyes, rest, mouth_box) < 2
    assert motion_energy(smile, rest, mouth_box) > 15
    assert motion_energy(smile, rest, mouth_box) > 4 * motion_energy(smile, rest, eye_box)
    assert np.array_equal(r.render(sc, 13.5)[0], rest)  # back to rest after the ramp


# -- RealSense adapter through a software device ----------------------------------------
INTR = dict(fx=612.5, fy=611.25, ppx=318.75, ppy=241.5, model="inverse_brown_conrady",
            coeffs=[0.125, -0.25, 0.0, 0.0, 0.0625])


@pytest.fixture
def soft_rs():
    return SoftwareRealSense(modes=((640, 480, 30), (640, 480, 15), (320, 240, 30)),
                             serial="SW-TEST-17", firmware="5.16.0.1", intrinsics=INTR)


def started(sw: SoftwareRealSense, **kw) -> tuple[RealSenseCamera, object]:
    cam = RealSenseCamera(width=640, height=480, fps=30, depth_width=640, depth_height=480,
                          device=sw.device, **kw)
    return cam, cam.start()


def test_realsense_frames_counters_and_timestamps_read_back_exactly(soft_rs):
    cam, info = started(soft_rs)
    rng = np.random.default_rng(0)
    numbers = [100, 101, 102, 106, 107, 108]  # frames 103..105 lost before the host
    got = []
    try:
        for k, n in enumerate(numbers):
            color = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
            depth = rng.integers(300, 2000, (480, 640), dtype=np.uint16)
            ts = 1.7e12 + n * 33.25
            before = pylsl.local_clock()
            soft_rs.push(color, depth, n, ts, color_first=bool(k % 2))
            f = cam.read(2.0)
            assert f is not None
            assert before <= f.host_time <= pylsl.local_clock()
            np.testing.assert_array_equal(f.color, color)
            np.testing.assert_array_equal(f.depth, depth)
            got.append((f.host_index, f.device_index, f.device_time_ms))
        assert cam.read(0.2) is None  # each frame exactly once
    finally:
        cam.stop()
        cam.stop()  # safe twice
    assert got == [(k, n, 1.7e12 + n * 33.25) for k, n in enumerate(numbers)]
    assert info.settings["timestamp_domain"] == "global_time"
    assert info.settings["global_time_enabled"] == {"Stereo Module": True, "RGB Camera": True}
    assert soft_rs.color_sensor.get_option(realsense.rs.option.global_time_enabled) == 1.0


def test_realsense_colour_without_depth_is_still_delivered(soft_rs):
    """A lost depth frame must not take the colour frame with it, nor borrow a neighbour's."""
    cam, _ = started(soft_rs)
    color, depth = np.zeros((480, 640, 3), np.uint8), np.ones((480, 640), np.uint16)
    try:
        soft_rs.push(color, None, 7, 1000.0)
        soft_rs.push(color, depth, 8, 1033.25)
        frames = [cam.read(1.0), cam.read(1.0)]
    finally:
        cam.stop()
    assert [(f.device_index, f.depth is None) for f in frames] == [(7, True), (8, False)]


def test_realsense_info_intrinsics_serial_firmware(soft_rs):
    cam, info = started(soft_rs)
    cam.stop()
    assert (info.serial, info.firmware) == ("SW-TEST-17", "5.16.0.1")
    assert info.name == "Intel RealSense D435 (software)"
    assert (info.width, info.height, info.fps, info.depth_width) == (640, 480, 30.0, 640)
    assert info.depth_scale_m == pytest.approx(0.001, rel=1e-6)
    for intr in (info.color_intrinsics, info.depth_intrinsics):
        assert {k: intr[k] for k in INTR} == INTR
        assert (intr["width"], intr["height"]) == (640, 480)


def test_realsense_wrong_mode_names_the_supported_ones(soft_rs):
    with pytest.raises(CameraError) as e:
        RealSenseCamera(width=1280, height=720, fps=30, device=soft_rs.device).start()
    assert "1280x720@30" in str(e.value) and "640x480@15/30, 320x240@30" in str(e.value)
    with pytest.raises(CameraError, match="depth mode 1280x720@30"):
        RealSenseCamera(width=640, height=480, fps=30, device=soft_rs.device).start()


class FakeContext:
    def __init__(self, devices=()) -> None:
        self.devices = list(devices)

    def query_devices(self):
        return self.devices


def test_missing_camera_gives_one_line_fix(monkeypatch):
    monkeypatch.setattr(realsense.rs, "context", lambda: FakeContext())
    with pytest.raises(CameraError) as e:
        RealSenseCamera().start()
    assert str(e.value) == ("camera: no RealSense camera found (USB 3 cable?); "
                            "connect one or use the simulated camera")
    assert e.value.options == (("camera", "sim"),)  # shown as --camera sim / "Simulated"


def test_unknown_serial_lists_connected_cameras(monkeypatch, soft_rs):
    monkeypatch.setattr(realsense.rs, "context", lambda: FakeContext([soft_rs.device]))
    with pytest.raises(CameraError, match=r"RealSense 123 not found \(connected: SW-TEST-17\)"):
        RealSenseCamera(serial="123").start()


def test_lost_frames_are_logged_in_one_line_per_interval(caplog):
    """A camera losing frames one by one writes one line per interval, not one per frame."""
    import logging

    from mimicsync.acquisition.throttled_log import CountedWarning
    log = logging.getLogger("test.lost")
    warn = CountedWarning(log, "camera: frames lost", interval=0.2)
    with caplog.at_level(logging.WARNING, logger="test.lost"):
        for _ in range(1000):
            warn.add()
        time.sleep(0.25)
        warn.add(5)
        warn.add()
        warn.flush()
    import re
    lines = [re.sub(r"last [\d.]+ s", "last T s", r.getMessage()) for r in caplog.records]
    assert lines == ["camera: frames lost: 1 now (1 in total)",
                     "camera: frames lost: 1004 in the last T s (1005 in total)",
                     "camera: frames lost: 1 in the last T s (1006 in total)"]
