"""The storage figures checked in real files: bench/storage.py's last section.

Writes the same realistic footage (photo texture, D4xx depth) twice through h5py into real
HDF5 files, per-frame chunks as the recorder makes them: the new defaults through
``RecordingWriter`` (format.DEFAULT_JPEG_QUALITY and DEFAULT_DEPTH, ranked depth), and the old
defaults (JPEG q90, 1280x720 depth, Blosc-LZ4) with the old writer's dataset settings; then
prints MB per minute of each file, plus the 64 ch sEMG a recording also holds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import simplejpeg

from mimicsync.dataset import depth_codec, ragged
from mimicsync.dataset.recording import Recording
from mimicsync.dataset.recording_writer import RecordingWriter
from mimicsync.format import DEFAULT_DEPTH, DEFAULT_JPEG_QUALITY, CameraInfo, DepthMode

FPS = 30.0
EMG_MB_MIN = (64 * 4 + 8) * 4096 * 60 / 1e6


BEFORE_JPEG_QUALITY = 90  # the default before colour was measured through a YUY2 link


def jpeg_before(rgb: np.ndarray) -> bytes:
    """A colour frame as the old defaults stored it."""
    return simplejpeg.encode_jpeg(np.ascontiguousarray(rgb), BEFORE_JPEG_QUALITY, colorspace="RGB")


def _jpegs(colors: list[np.ndarray]) -> list[bytes]:
    return [jpeg_before(c) for c in colors]


def _new_file(root: Path, colors: list, depth: list) -> Path:
    h, w = depth[0].shape
    info = CameraInfo("bench", "B-1", colors[0].shape[1], colors[0].shape[0], FPS, w, h,
                      settings={"color_transport": "yuyv"})  # as a D4xx (and the footage)
    wr = RecordingWriter(root / "new.h5.part", root / "new.h5", {}, {})
    mode = DepthMode.parse(DEFAULT_DEPTH)
    wr.add_video(info, depth_max_m=mode.max_m)
    wr.start_swmr()
    rows = np.array([[i, i, 33.3 * i, i / FPS] for i in range(len(colors))])
    depth = [depth_codec.within_range(d, mode.max_m, info.depth_scale_m) for d in depth]
    wr.append_video(rows, [wr.encode_color(c) for c in colors], np.stack(depth))
    path = wr.finalize({})
    with Recording(path) as rec:  # what was written reads back bit for bit
        assert all(np.array_equal(rec.depth(i), d) for i, d in enumerate(depth))
    return path


def _old_file(root: Path, colors: list, depth: list) -> Path:
    path = root / "old.h5"
    h, w = depth[0].shape
    with h5py.File(path, "w", libver="latest") as f:
        g = f.create_group("video")
        ragged.append(ragged.create(g, "color", bytes_chunk=1 << 21), _jpegs(colors))
        g.create_dataset("depth", data=np.stack(depth), maxshape=(None, h, w), chunks=(1, h, w),
                         **depth_codec.hdf5_filter(depth_codec.NONE))
    return path


def _stored(path: Path) -> dict[str, int]:
    with h5py.File(path, "r") as f:
        v = f["video"]
        color = v["color/bytes"].id.get_storage_size() if "color" in v else 0
        values = v["depth_values/bytes"].id.get_storage_size() if "depth_values" in v else 0
        return {"color": color, "depth": v["depth"].id.get_storage_size() + values,
                "file": path.stat().st_size}


def real_file_check(footage: Callable, n: int = 60) -> None:
    """``footage(n, depth_size)`` -> (colours, depths), as bench/storage.py makes them."""
    with tempfile.TemporaryDirectory(prefix="mimicsync-bench-storage-") as tmp:
        root = Path(tmp)
        colors, d720 = footage(n, (1280, 720))
        _, d480 = footage(n, (848, 480))
        figures = {"before: JPEG q90 + 1280x720 depth, Blosc-LZ4": _stored(_old_file(root, colors, d720)),
                   f"now: JPEG q{DEFAULT_JPEG_QUALITY} + {DEFAULT_DEPTH} depth, rank + vdelta + Blosc-Zstd": _stored(_new_file(root, colors, d480))}
    per_min = 60 * FPS / n / 1e6
    print(f"\n### real HDF5 files, {n} frames of realistic footage (MB per minute at 30 fps)\n")
    print("| file | colour | depth | whole file | + 64 ch sEMG |")
    print("|---|---:|---:|---:|---:|")
    for name, s in figures.items():
        print(f"| {name} | {s['color'] * per_min:.0f} | {s['depth'] * per_min:.0f} | "
              f"{s['file'] * per_min:.0f} | {s['file'] * per_min + EMG_MB_MIN:.0f} |")
