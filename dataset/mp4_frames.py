"""Frames of an exported MP4 by index, with their presentation times (PyAV).

Times come from the packets alone (no decoding). Reading frame after frame decodes once
each; a jump seeks to the key frame before it and decodes forward.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class Mp4Frames:
    """``len()``, :attr:`times` (``start_time`` + presentation time, s) and :meth:`frame`."""

    def __init__(self, path: Path, start_time: float = 0.0) -> None:
        import av
        self.path = Path(path)
        self._container = av.open(str(path))
        self._stream = self._container.streams.video[0]
        tb = float(self._stream.time_base)
        pts = sorted(p.pts for p in self._container.demux(self._stream) if p.pts is not None)
        self._pts = np.asarray(pts, dtype=np.int64)
        self._index = {int(p): i for i, p in enumerate(self._pts)}
        self.times = start_time + self._pts * tb
        self._decoder = None
        self._next = -1  # index the decoder yields next (-1: unknown, seek first)

    def __len__(self) -> int:
        return len(self._pts)

    def frame(self, i: int) -> np.ndarray:
        """Frame ``i`` in presentation order, ``(H, W, 3)`` uint8 RGB."""
        if not 0 <= i < len(self._pts):
            raise IndexError(f"frame {i} out of range for {len(self._pts)} frames")
        if self._decoder is None or not (0 <= i - self._next <= 30):
            self._container.seek(int(self._pts[i]), stream=self._stream, backward=True,
                                 any_frame=False)
            self._decoder = self._container.decode(self._stream)
            self._next = -1
        for f in self._decoder:
            k = self._index.get(int(f.pts), -1) if f.pts is not None else -1
            self._next = k + 1
            if k == i:
                return f.to_ndarray(format="rgb24")
            if k > i:
                break
        self._decoder = None  # overshot or ran out: seek next time
        raise IndexError(f"{self.path.name}: frame {i} could not be decoded")

    def close(self) -> None:
        self._container.close()
