"""Camera faults during recording: a USB camera cannot run here, so a test double stands in
for the device; everything behind it (streamer, LSL frame-index stream, encoder, writer) is real."""

from __future__ import annotations

import time

import numpy as np
import pylsl
import pytest

from mimicsync.acquisition.camera import CameraError, Frame
from mimicsync.acquisition.recorder import Recorder
from mimicsync.acquisition.recorder_setup import RecorderConfig, RecorderError
from mimicsync.acquisition.stream_select import StreamSelector
from mimicsync.dataset.layout import RecordingId
from mimicsync.dataset.recording import Recording
from mimicsync.format import CameraInfo


class FakeCamera:
    """30 fps 64x48 frames whose pixels encode the frame number; can stall or skip frames."""

    def __init__(self, stall_after: int | None = None, skip: tuple[int, ...] = (),
                 fail_start: bool = False) -> None:
        self.stall_after, self.skip, self.fail_start = stall_after, set(skip), fail_start
        self.n = 0
        self.host = 0

    def start(self) -> CameraInfo:
        if self.fail_start:
            raise CameraError("camera", "no RealSense camera found (USB 3 cable?)",
                              "connect one or use the simulated camera",
                              options=(("camera", "sim"),))
        self.t0 = pylsl.local_clock()
        return CameraInfo("fake", "FAKE-1", 64, 48, 30.0, 64, 48)

    def read(self, timeout: float = 1.0) -> Frame | None:
        if self.stall_after is not None and self.host >= self.stall_after:
            time.sleep(timeout)
            return None
        while self.n in self.skip:
            self.n += 1
        due = self.t0 + self.n / 30.0
        time.sleep(max(0.0, due - pylsl.local_clock()))
        color = np.full((48, 64, 3), self.n % 256, np.uint8)
        depth = np.full((48, 64), self.n, np.uint16)
        f = Frame(self.host, self.n, 1000.0 * self.n / 30.0, pylsl.local_clock(), color, depth)
        self.n += 1
        self.host += 1
        return f

    def stop(self) -> None:
        pass


def _cfg(root, emg, camera) -> RecorderConfig:
    return RecorderConfig(root=root, rid=RecordingId("01", "01", "cam"), camera=camera,
                          require=[StreamSelector("name", emg.name)], resolve_wait=3.0)


def test_camera_that_fails_to_start_gives_one_line_and_writes_nothing(tmp_path, outlet_factory):
    emg = outlet_factory()
    with pytest.raises(RecorderError, match=r"^camera: no RealSense camera found.*simulated camera$"):
        Recorder(_cfg(tmp_path / "s", emg, FakeCamera(fail_start=True))).start()
    assert not (tmp_path / "s").exists()


def test_video_frames_are_stored_with_timing_and_skips_are_counted(tmp_path, outlet_factory):
    emg = outlet_factory()
    rec = Recorder(_cfg(tmp_path, emg, FakeCamera(skip=(100, 101, 130))))
    rec.start()
    time.sleep(5.0)  # the camera starts ~1 s before the file: skips fall inside the recording
    path = rec.stop()
    with Recording(path) as r:
        fr = r.frames
        dev = fr[:, 1].astype(int)
        assert dev[0] < 99 and dev[-1] > 131, "the skipped frames must fall inside the recording"
        assert {100, 101, 130}.isdisjoint(dev) and r.summary()["video"]["dropped"] == 3
        for i in (0, 15, r.n_frames - 1):  # pixels and depth belong to their timing row
            assert abs(int(r.color(i).mean()) - dev[i] % 256) <= 2  # JPEG is lossy
            assert int(r.depth(i)[0, 0]) == dev[i]
        # the frame-index LSL stream carries the same timing as /video/frames
        key = r.f["video"].attrs["frame_stream_key"]
        s = r.stream(key)
        idx = {int(h): t for h, t in zip(s.data[:, 0], s.data[:, 3])}
        common = [i for i in range(r.n_frames) if int(fr[i, 0]) in idx]
        assert len(common) > 0.9 * r.n_frames
        assert all(idx[int(fr[i, 0])] == fr[i, 3] for i in common)
        assert s.attrs["can_drop_samples"]


def test_camera_that_stalls_is_reported_and_emg_keeps_recording(tmp_path, outlet_factory):
    emg = outlet_factory(srate=500.0)
    rec = Recorder(_cfg(tmp_path, emg, FakeCamera(stall_after=90)))
    rec.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any("delivered no frame" in e
                                                  for e in rec.status().errors):
        time.sleep(0.2)
    assert any("delivered no frame" in e for e in rec.status().errors)
    time.sleep(0.5)
    path = rec.stop()
    with Recording(path) as r:
        assert r.n_frames > 0 and int(r.frames[-1, 0]) == 89  # every delivered frame stored
        ts = r.stream(emg.name).time_stamps
        assert ts[-1] - ts[0] > 2.5 and np.diff(ts).max() < 0.2


def test_shared_camera_keeps_streaming_after_the_recording(tmp_path, outlet_factory):
    """The GUI previews a camera before, during and after a recording of it."""
    from mimicsync.acquisition.camera import CameraStreamer
    emg = outlet_factory()
    streamer = CameraStreamer(FakeCamera(), name="shared-fake")
    streamer.start()
    try:
        seen = []
        streamer.add_sink(lambda f: seen.append(f.host_index))
        cfg = _cfg(tmp_path, emg, None)
        cfg.camera_streamer = streamer
        rec = Recorder(cfg)
        rec.start()
        time.sleep(1.5)
        path = rec.stop()
        n_at_stop = len(seen)
        time.sleep(0.5)
        assert len(seen) > n_at_stop + 5  # preview still running
        with Recording(path) as r:
            hosts = r.frames[:, 0].astype(int)
            assert r.n_frames > 30 and set(hosts) <= set(seen)
            assert np.all(np.diff(hosts) == 1)  # no frame missing while recording
    finally:
        streamer.stop()


def test_clean_stop_does_not_report_the_frame_index_stream_as_lost(tmp_path, outlet_factory):
    emg = outlet_factory()
    rec = Recorder(_cfg(tmp_path, emg, FakeCamera()))
    rec.start()
    time.sleep(1.0)
    path = rec.stop()
    with Recording(path) as r:
        assert not [e for e in r.events if e.trial_type in ("stream_lost", "stream_error")]
        assert all(s["disconnects"] == 0 for s in r.summary()["streams"].values())
        # every frame the camera delivered before stopping was encoded and stored
        assert np.all(np.diff(r.frames[:, 0]) == 1)


def test_dropped_frames_are_counted_per_recording_like_the_file(tmp_path, outlet_factory):
    """A shared camera (the GUI's preview) drops frames before, during and between
    recordings: each recording reports only its own, the number its file holds."""
    from mimicsync.acquisition.camera import CameraStreamer
    emg = outlet_factory()
    cam = FakeCamera(skip=tuple(range(5, 15)))  # 10 lost before any recording
    streamer = CameraStreamer(cam, name="shared-fake-drops")
    streamer.start()
    try:
        deadline = time.monotonic() + 5
        while streamer.frames < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert streamer.dropped == 10
        counts = []
        for run, lost in ((1, (20, 21, 22, 40)), (2, ())):
            cfg = _cfg(tmp_path, emg, None)
            cfg.camera_streamer = streamer
            cfg.rid = RecordingId("01", "01", "cam", run)
            rec = Recorder(cfg)
            rec.start()
            time.sleep(0.3)
            cam.skip.update(cam.n + k for k in lost)
            time.sleep(2.5)  # the lost frames are behind us
            shown = rec.status().dropped_frames
            path = rec.stop()
            with Recording(path) as r:
                counts.append((shown, r.summary()["video"]["dropped"]))
        assert counts == [(4, 4), (0, 0)]
        assert streamer.dropped == 14  # the camera's own count still runs from its start
    finally:
        streamer.stop()
