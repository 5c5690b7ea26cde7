"""Smaller recordings without losing anything: depth bit-exact through the new filter in real
files, files written before it still read, colour above 40 dB on a real photograph, and the
depth/colour flags refused in one line when wrong."""

from __future__ import annotations

import io
import json
import lzma
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import h5py
import numpy as np
import pytest
import simplejpeg

from mimicsync.acquisition.recorder import Recorder
from mimicsync.acquisition.recorder_setup import RecorderConfig
from mimicsync.acquisition.simulators.camera import SimulatedCamera
from mimicsync.acquisition.simulators.camera_physics import CameraPhysics
from mimicsync.acquisition.simulators.depth_noise import D4xxDepthNoise
from mimicsync.acquisition.simulators.scenario import Movement, Scenario, Tap
from mimicsync.acquisition.stream_select import StreamSelector
from mimicsync.dataset import depth_codec
from mimicsync.dataset.layout import RecordingId
from mimicsync.dataset.recording import Recording
from mimicsync.dataset.recording_writer import RecordingWriter
from mimicsync.format import DEFAULT_JPEG_QUALITY, CameraInfo

DATA = Path(__file__).parent / "data"


def _scenario() -> Scenario:
    return Scenario([Movement(0.0, 2.0, "smile-open")], [Tap(0.5)], [])


def _d4xx_frames(n: int, size=(848, 480)) -> list[np.ndarray]:
    cam = SimulatedCamera(_scenario(), width=640, height=360, realtime=False, depth_size=size)
    cam.start()
    frames = [cam.read().depth for _ in range(n)]
    cam.stop()
    return frames


def _adversarial(h: int, w: int) -> list[np.ndarray]:
    """What a filter with an off-by-one or an overflow would get wrong."""
    rng = np.random.default_rng(7)
    checker = np.indices((h, w)).sum(axis=0) % 2 * 65535
    return [np.zeros((h, w), np.uint16), np.full((h, w), 65535, np.uint16),
            checker.astype(np.uint16), rng.integers(0, 65536, (h, w)).astype(np.uint16)]


def _write(tmp_path: Path, depth: list[np.ndarray], name: str = "r",
           depth_filter: str = depth_codec.DEFAULT) -> Path:
    h, w = depth[0].shape
    info = CameraInfo("test", "T-1", 64, 48, 30.0, w, h)
    wr = RecordingWriter(tmp_path / f"{name}.h5.part", tmp_path / f"{name}.h5", {}, {})
    wr.add_video(info, depth_filter=depth_filter)
    wr.start_swmr()
    jpeg = simplejpeg.encode_jpeg(np.zeros((48, 64, 3), np.uint8), colorspace="RGB")
    for i in range(0, len(depth), 3):  # several appends, as the recorder's flushes do
        part = np.stack(depth[i:i + 3])
        rows = np.array([[k, k, 33.3 * k, k / 30] for k in range(i, i + len(part))], float)
        wr.append_video(rows, [jpeg] * len(part), part)
        wr.flush()
    return wr.finalize({})


def test_depth_round_trip_is_bit_exact_through_writer_and_recording(tmp_path):
    d4xx = _d4xx_frames(6)
    frames = d4xx + _adversarial(*d4xx[0].shape)
    path = _write(tmp_path, frames)
    with Recording(path) as rec:
        assert rec.n_frames == len(frames)
        ds = rec.f["video/depth"]
        assert ds.attrs["depth_filter"] == depth_codec.RANK_VDELTA
        assert rec.attrs["format_version"] == 3
        assert ds.chunks == (1, 480, 848)  # one frame = one chunk: random access reads one
        for i in reversed(range(len(frames))):  # random order: no frame needs its neighbour
            np.testing.assert_array_equal(rec.depth(i), frames[i])
        stored = _stored_bytes(rec.f["video"], len(d4xx))
    # and it is what makes files smaller: formats 2 and 1 on the same D4xx frames
    with Recording(_write(tmp_path, d4xx, "v2", depth_codec.VDELTA)) as v2:
        for i in range(len(d4xx)):
            np.testing.assert_array_equal(v2.depth(i), d4xx[i])  # format 2 still reads
        v2_stored = _stored_bytes(v2.f["video"], len(d4xx))
    with h5py.File(tmp_path / "old.h5", "w") as f:
        o = f.create_dataset("depth", data=np.stack(d4xx), chunks=(1, 480, 848),
                             **depth_codec.hdf5_filter(depth_codec.NONE))
        old_stored = sum(o.id.get_chunk_info(i).size for i in range(len(d4xx)))
    assert stored < 0.8 * v2_stored < 0.8 * 0.8 * old_stored


def _stored_bytes(video: h5py.Group, n: int) -> int:
    """Depth bytes on disk for the first n frames, with their value tables."""
    values = video["depth_values/bytes"].shape[0] if "depth_values" in video else 0
    return sum(video["depth"].id.get_chunk_info(i).size for i in range(n)) + values


def test_depth_of_another_filter_or_size_is_refused_and_missing_depth_is_no_depth(tmp_path):
    frame = _adversarial(48, 64)[3]
    info = CameraInfo("test", "T-1", 64, 48, 30.0, 64, 48)
    wr = RecordingWriter(tmp_path / "r.h5.part", tmp_path / "r.h5", {}, {})
    wr.add_video(info)
    wr.start_swmr()
    wrong = depth_codec.encode_frame(frame, depth_codec.VDELTA)
    with pytest.raises(ValueError, match="depth: a frame encoded as vdelta-zigzag, but this file stores rank-vdelta-zigzag"):
        wr.append_video(np.zeros((1, 4)), [b"x"], [wrong])
    other_size = depth_codec.encode_frame(np.zeros((24, 32), np.uint16), wr.depth_filter)
    with pytest.raises(ValueError, match="depth: a 32x24 frame for a file of 64x48 depth"):
        wr.append_video(np.zeros((1, 4)), [b"x"], [other_size])
    right = depth_codec.encode_frame(frame, wr.depth_filter)
    # a frame the camera sent without depth keeps depth i = colour i: stored as "no depth"
    wr.append_video(np.arange(8.0).reshape(2, 4), [b"x", b"y"], [None, right])
    with Recording(wr.finalize({})) as rec:
        assert rec.n_frames == 2 and rec.jpeg(1) == b"y"  # nothing of the refused calls
        assert not rec.depth(0).any()
        np.testing.assert_array_equal(rec.depth(1), frame)


def test_recording_written_before_the_depth_filter_still_reads(tmp_path):
    """A file written by the writer before issue 14 (the layout commit: LZ4 depth, no
    depth_filter attribute, format_version 1)."""
    path = tmp_path / "old.h5"
    path.write_bytes(lzma.decompress((DATA / "format1-lz4-depth.h5.xz").read_bytes()))
    expected = np.load(io.BytesIO(lzma.decompress((DATA / "format1-lz4-depth.npy.xz")
                                                  .read_bytes())))  # the camera's frames
    with Recording(path) as rec:
        assert "depth_filter" not in rec.f["video/depth"].attrs
        assert rec.attrs["format_version"] == 1
        assert rec.n_frames == 3 and rec.has_depth
        for i in range(3):
            np.testing.assert_array_equal(rec.depth(i), expected[i])
            assert rec.color(i).shape == (120, 160, 3)


class KeepingCamera:
    """A simulated camera that keeps a copy of every frame it hands to the recorder."""

    def __init__(self, camera: SimulatedCamera) -> None:
        self.camera, self.kept = camera, {}
        self._lock = threading.Lock()

    def start(self):
        return self.camera.start()

    def read(self, timeout: float = 1.0):
        f = self.camera.read(timeout)
        if f is not None:
            with self._lock:
                self.kept[f.device_index] = (f.color.copy(), f.depth.copy())
        return f

    def stop(self) -> None:
        self.camera.stop()


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


def _record(tmp_path, outlet_factory, run: int, **cfg) -> tuple[Path, KeepingCamera, str, list]:
    emg = outlet_factory(channels=2, srate=500.0)
    cam = KeepingCamera(SimulatedCamera(_scenario(), width=1280, height=720, footage="photo",
                                        depth_size=(424, 240),  # colour as a D4xx sends it
                                        physics=CameraPhysics(transport="yuyv")))
    rec = Recorder(RecorderConfig(root=tmp_path, rid=RecordingId("01", "01", "photo", run),
                                  camera=cam, require=[StreamSelector("name", emg.name)],
                                  resolve_wait=3.0, **cfg))
    rec.start()
    rec.wait(2.5)
    left = rec.status().time_left
    return rec.stop(), cam, left, rec.warnings


def test_recorded_photo_footage_keeps_colour_above_40_db_and_depth_exact(tmp_path,
                                                                         outlet_factory):
    pytest.importorskip("skimage")
    # warn_minutes beyond any disk: the start-up warning always comes, saying the time left
    path, cam, left, warnings = _record(tmp_path, outlet_factory, 1, warn_minutes=1e12)
    assert "left at" in left and "MB/min" in left
    assert any(w.startswith("disk: ") and " min left at " in w for w in warnings), warnings
    with Recording(path) as rec:
        assert int(rec.f["video"].attrs["jpeg_quality"]) == DEFAULT_JPEG_QUALITY
        assert json.loads(rec.f["video"].attrs["settings"])["color_transport"] == "yuyv"
        dev = rec.frames[:, 1].astype(int)
        assert rec.n_frames >= 30
        max_m = float(rec.f["video"].attrs["depth_max_m"])
        assert max_m == 1.5  # the default: the participant's space
        for i in range(0, rec.n_frames, 7):
            color, depth = cam.kept[dev[i]]
            assert _psnr(rec.color(i), color) >= 40.0
            near = depth_codec.within_range(depth, max_m, 0.001)
            assert (near > 0).mean() > 0.1  # the face (about a fifth of the frame), bit-exact
            np.testing.assert_array_equal(rec.depth(i), near)


def test_depth_range_stores_far_depth_as_no_depth(tmp_path, outlet_factory):
    path, cam, _, _ = _record(tmp_path, outlet_factory, 2, depth_max_m=1.0)
    with Recording(path) as rec:
        assert rec.f["video"].attrs["depth_max_m"] == 1.0
        dev = rec.frames[:, 1].astype(int)
        _, depth = cam.kept[dev[5]]
        assert (depth > 1000).mean() > 0.5  # the wall is most of the frame
        np.testing.assert_array_equal(rec.depth(5), np.where(depth > 1000, 0, depth))


def test_d4xx_depth_error_grows_with_distance_squared_and_has_occlusion_holes():
    noise = D4xxDepthNoise(848, 480, seed=3)
    clean = np.full((480, 848), 1600, np.uint16)
    clean[:, 424:] = 500  # a near surface in the right half, the wall on the left
    a, b = noise.apply(clean), noise.apply(clean)
    near = (a[:, 500:800] > 0) & (b[:, 500:800] > 0)
    far = (a[:, 50:300] > 0) & (b[:, 50:300] > 0)
    sd_near = np.std((a[:, 500:800].astype(int) - b[:, 500:800])[near]) / np.sqrt(2)
    sd_far = np.std((a[:, 50:300].astype(int) - b[:, 50:300])[far]) / np.sqrt(2)
    assert sd_near == pytest.approx(noise.sigma_mm(500), rel=0.25)
    assert sd_far / sd_near == pytest.approx((1600 / 500) ** 2, rel=0.25)
    band = noise.fxb * (1 / 500 - 1 / 1600)  # px the right imager cannot see, left of the edge
    assert (a[:, 424 - int(band) + 2:422] == 0).all()
    assert (a[:, 300:424 - int(band) - 3] > 0).mean() > 0.95


def test_d4xx_depth_sits_on_disparity_steps_of_one_32nd_pixel():
    """The wall far away takes only the depths of whole 1/32 px disparity steps (~4 mm
    apart at 1.6 m); a face at 0.5 m, where a step is under 1 mm, keeps every millimetre."""
    noise = D4xxDepthNoise(848, 480, seed=4)
    clean = np.full((480, 848), 1600, np.uint16)
    clean[:, 424:] = 500
    frames = np.stack([noise.apply(clean) for _ in range(5)])
    wall = np.unique(frames[:, :, 50:300])
    wall = wall[wall > 0]
    steps = 32 * noise.fxb / wall  # disparity in 1/32 px: whole numbers, up to the 0.5 mm
    off = np.abs(steps - np.rint(steps))  # rounding to millimetres moves a step by this much:
    assert (off <= 0.5 * 32 * noise.fxb / wall.astype(float) ** 2 + 1e-6).all()
    gaps = np.diff(wall[(wall > 1550) & (wall < 1650)])
    assert gaps.min() >= 3 and np.median(gaps) == pytest.approx(1600 ** 2 / (32 * noise.fxb),
                                                                abs=1)
    face = np.unique(frames[:, :, 500:800])
    face = face[(face > 495) & (face < 505)]
    assert np.array_equal(face, np.arange(face[0], face[-1] + 1))  # every millimetre


def test_d4xx_depth_far_beyond_range_saturates_instead_of_wrapping():
    noise = D4xxDepthNoise(848, 480, seed=5)
    far = noise.apply(np.full((480, 848), 60000, np.uint16)).astype(float)
    far = far[far > 0]  # 60 m: σ ≈ 13 m; wrapped, a quarter of the pixels would read < 30 m
    assert (far == 65535).mean() > 0.1 and (far < 30000).mean() < 0.05  # clipped, not wrapped


MIMICSYNC = [sys.executable, "-m", "mimicsync.cli.main"]


@pytest.mark.parametrize("args,needle", [
    (["demo", "--depth", "1000x500"], "--depth: '1000x500' is not off or a D4xx depth mode"),
    (["demo", "--depth", "848x480:far"], "--depth: range 'far'"),
    (["demo", "--color-quality", "0"], "--color-quality: must be a whole number from 1 to 100"),
    (["record", "--participant", "01", "--session", "01", "--task", "rest", "--stream", "x",
      "--depth", "640x480:0.01"], "--depth: range '0.01'"),
])
def test_depth_and_colour_flags_are_checked_in_one_line(tmp_path, args, needle):
    root = tmp_path / "study"
    out = subprocess.run(MIMICSYNC + args + ["--root", str(root)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("mimicsync: error: "), out.stderr
    assert needle in lines[0]
    assert not root.exists()  # nothing half-written
    shutil.rmtree(root, ignore_errors=True)
