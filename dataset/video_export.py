"""A recording's colour video as H.264 MP4 (PyAV), on the EMG file's time axis.

Each frame keeps its own time (variable frame rate; presentation timestamps in 1/90000 s),
so dropped frames stay gaps instead of shifting everything after them. The MP4 starts at
its first frame; ``StartTime`` in the sidecar says where that is relative to the first
EMG sample. No container metadata beyond the muxer's own is written (no dates, no host).
"""

from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from mimicsync.dataset.recording import Recording

TIME_BASE = Fraction(1, 90000)


def write_mp4(rec: Recording, path: Path, times: np.ndarray, *, crf: int = 18,
              preset: str = "veryfast") -> int:
    """Encode all frames with ``times`` (s, first frame = 0) to ``path`` atomically;
    returns the number of frames written."""
    path = Path(path)
    n = rec.n_frames
    pts = np.round(np.asarray(times[:n], dtype=float) * TIME_BASE.denominator).astype(np.int64)
    keep = np.concatenate(([True], np.diff(pts) > 0))  # strictly increasing pts only
    w, h = int(rec.video_attrs["width"]), int(rec.video_attrs["height"])
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp.mp4")
    os.close(fd)
    written = 0
    try:
        with av.open(tmp, "w", format="mp4") as out:
            s = out.add_stream("libx264", rate=int(round(rec.fps or 30)))
            s.width, s.height = w - w % 2, h - h % 2
            s.pix_fmt = "yuv420p"
            s.codec_context.time_base = TIME_BASE
            s.time_base = TIME_BASE
            s.options = {"crf": str(crf), "preset": preset}
            for i in np.flatnonzero(keep):
                img = rec.color(int(i))[: s.height, : s.width]
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
                frame.pts, frame.time_base = int(pts[i]), TIME_BASE
                for packet in s.encode(frame):
                    out.mux(packet)
                written += 1
            for packet in s.encode():
                out.mux(packet)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return written
