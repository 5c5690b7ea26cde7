"""Face crops of the feature store: detect (Haar), smooth the box track (Kalman), crop.

Detection runs at :data:`DETECT_HZ` on the frames the items use (a face moves little in
a fifth of a second, and the cascade costs ~10-40 ms a frame); the Kalman-smoothed box
fills the frames between and those where the cascade found nothing, so every item gets
a crop of the same, steadily framed face.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mimicsync.dataset.face_tracks import FaceTrack, crop_face, kalman_smooth, track_faces
from mimicsync.dataset.recording import Recording

DETECT_HZ = 5.0


def write_crops(rec: Recording, frames: np.ndarray, size: int, crops_path: Path,
                track_path: Path, detect_hz: float = DETECT_HZ) -> list[str]:
    """``(len(frames), size, size, 3)`` uint8 crops into ``crops_path`` (``.npy``) and the
    face track (detected and smoothed boxes) into ``track_path``; returns notes for the
    sidecar."""
    distinct = np.unique(frames)
    t_fr = rec.frame_times
    span = float(t_fr[distinct[-1]] - t_fr[distinct[0]]) if len(distinct) > 1 else 0.0
    rate = (len(distinct) - 1) / span if span > 0 else detect_hz
    step = max(1, int(round(rate / detect_hz)))
    probe = distinct[::step]
    found_boxes = track_faces(probe, rec.color, t_fr[probe]).boxes
    boxes = np.full((len(distinct), 4), np.nan)
    boxes[::step] = found_boxes
    raw = FaceTrack(distinct, t_fr[distinct], boxes)
    found = np.all(np.isfinite(found_boxes), axis=1)
    notes = []
    if not found.any():
        notes.append("no face found by the Haar cascade: crops are the frame's centre square")
        smooth = raw.boxes
    else:
        smooth = kalman_smooth(raw.times, raw.boxes)
        if found.mean() < 0.9:
            notes.append(f"face found in {found.mean():.0%} of frames; the smoothed track "
                         "fills the rest")
    probed = np.zeros(len(distinct), bool)
    probed[::step] = True
    np.savez(track_path, frames=raw.frames, times=raw.times, boxes=smooth,
             detected=raw.boxes, probed=probed)
    row = {int(f): k for k, f in enumerate(distinct)}
    out = np.lib.format.open_memmap(crops_path, "w+", np.uint8, (len(frames), size, size, 3))
    cache: tuple[int, np.ndarray] | None = None
    for i, f in enumerate(frames):
        if cache is None or cache[0] != f:
            cache = (int(f), crop_face(rec.color(int(f)), smooth[row[int(f)]], size))
        out[i] = cache[1]
    out.flush()
    del out
    return notes
