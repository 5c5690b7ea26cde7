"""Depth as an Intel RealSense D4xx stereo camera delivers it, from a clean depth map.

A clean, smooth simulated depth compresses far better than a real one, so storage figures
and codecs chosen on it would be wrong. What a D4xx adds (Intel's depth-quality notes):

* **error growing with distance²**: stereo measures disparity ``d = fx·B / z``, so a
  disparity error of ``subpixel`` px is a depth error ``σ_z = z² · subpixel / (fx·B)``
  (D435: baseline 50 mm, about 0.08 px RMS, 87° field of view): about 1 mm on a face at
  0.5 m at 848×480, about 10 mm on a wall at 1.6 m;
* **speckle**: the matching window correlates that error over a few pixels, and it changes
  from frame to frame (temporal noise);
* **quantisation** twice: the ASIC matches disparity in steps of 1/32 px (librealsense's
  disparity transform has the same 5 fractional bits) and converts that to depth units
  (1 mm), so a far wall takes only every few millimetres (about 4 mm apart at 1.6 m with a
  D435 at 848×480) while a face at 0.5 m keeps every millimetre; 0 means "no depth";
* **holes**: the occlusion band left of every near edge (the background the right imager
  cannot see, ``fx·B·(1/z_near − 1/z_far)`` px wide), invalid pixels along depth edges,
  and small flickering dropouts.

:class:`D4xxDepthNoise` applies all of this per frame in a few milliseconds, with noise
fields drawn once (seeded) and shifted per frame so no two consecutive frames repeat.
"""

from __future__ import annotations

import math

import numpy as np

D435_BASELINE_MM = 50.0
D435_DEPTH_HFOV_DEG = 87.0
SUBPIXEL_RMS = 0.08
DISPARITY_STEPS_PER_PX = 32  # D4xx: 5 fractional bits of disparity
SHIFT = 64  # noise fields are this much larger than a frame: per-frame random offsets


class D4xxDepthNoise:
    """Turns clean depth (uint16, depth units of 1 mm) into D4xx-like depth.

    Parameters
    ----------
    width, height
        Size of the depth frames it will see.
    seed
        Seeds the noise fields and their per-frame shifts.
    baseline_mm, hfov_deg, subpixel
        The stereo geometry (D435 defaults).
    dropout
        Fraction of pixels lost to small flickering holes.
    fields
        Number of precomputed noise fields (memory: 4 bytes/pixel each).
    """

    def __init__(self, width: int, height: int, seed: int = 0,
                 baseline_mm: float = D435_BASELINE_MM, hfov_deg: float = D435_DEPTH_HFOV_DEG,
                 subpixel: float = SUBPIXEL_RMS, dropout: float = 0.004, fields: int = 8) -> None:
        self.width, self.height = int(width), int(height)
        fx = self.width / (2.0 * math.tan(math.radians(hfov_deg) / 2.0))
        self.fxb = fx * baseline_mm  # disparity (px) = fxb / z (mm)
        self._steps = np.float32(self.fxb * DISPARITY_STEPS_PER_PX)  # disparity steps * z
        self._k = np.float32(subpixel / self.fxb)  # sigma_z = k * z^2
        rng = np.random.default_rng([seed, 14])
        h, w = self.height + SHIFT, self.width + SHIFT
        self._fields = [_speckle(rng, h, w) for _ in range(max(1, fields))]
        holes = _speckle(rng, h, w)
        self._dropouts = holes > np.quantile(holes, 1.0 - dropout) if dropout > 0 else None
        self._rng = np.random.default_rng([seed, 15])
        self._last: np.ndarray | None = None  # clean depth of the previous frame
        self._edges = np.zeros((self.height, self.width), bool)

    def sigma_mm(self, z_mm: float) -> float:
        """RMS depth error at distance ``z_mm``."""
        return float(self._k) * z_mm * z_mm

    def apply(self, depth: np.ndarray) -> np.ndarray:
        """One noisy frame from clean ``depth`` (0 = no depth stays 0)."""
        if depth.shape != (self.height, self.width):
            raise ValueError(f"depth: expected {self.height}x{self.width}, got "
                             f"{depth.shape[0]}x{depth.shape[1]}")
        z = depth.astype(np.float32)
        sigma = z * z
        sigma *= self._k
        sigma *= self._window(self._fields[int(self._rng.integers(len(self._fields)))])
        z += sigma
        np.maximum(z, 1.0, out=z)  # 0 = no depth: masked below, must not divide by 0
        disparity = self._steps / z  # in 1/32 px; rounded to the step the ASIC reports
        np.rint(disparity, out=disparity)
        np.maximum(disparity, 1.0, out=disparity)
        z = self._steps / disparity
        z += 0.5  # to the nearest depth unit
        np.minimum(z, 65535.0, out=z)  # far beyond a D4xx's range noise could wrap uint16
        out = z.astype(np.uint16)
        out[depth == 0] = 0
        out[self._edge_holes(depth)] = 0
        if self._dropouts is not None:
            out[self._window(self._dropouts)] = 0
        return out

    def _window(self, field: np.ndarray) -> np.ndarray:
        """A randomly shifted frame-sized view of a larger field (no copy)."""
        dy, dx = (int(v) for v in self._rng.integers(0, SHIFT + 1, 2))
        return field[dy:dy + self.height, dx:dx + self.width]

    def _edge_holes(self, depth: np.ndarray) -> np.ndarray:
        """Occlusion bands and edge pixels, recomputed only on rows that changed."""
        if self._last is None or self._last.shape != depth.shape:
            rows = np.arange(self.height)
        else:
            rows = np.flatnonzero((depth != self._last).any(axis=1))
        if rows.size:
            self._edges[rows] = occlusion_holes(depth[rows], self.fxb)
        self._last = depth
        return self._edges


def occlusion_holes(depth: np.ndarray, fxb: float) -> np.ndarray:
    """Pixels a D4xx leaves empty: the band left of each near edge that only the left imager
    sees (``fxb·(1/z_near − 1/z_far)`` px wide), and the edge pixels themselves."""
    h, w = depth.shape
    disp = fxb / np.maximum(depth, 1).astype(np.float32)
    disp[depth == 0] = 0.0
    jump = disp[:, 1:] - disp[:, :-1]  # > 0: the next pixel to the right is nearer
    mask = np.zeros((h, w + 1), np.int32)
    rows, cols = np.nonzero(jump > 1.0)
    if rows.size:  # background pixels [c - width + 1, c] are hidden from the right imager
        width = np.rint(jump[rows, cols]).astype(np.int64)
        np.add.at(mask, (rows, np.maximum(cols - width + 1, 0)), 1)
        np.add.at(mask, (rows, cols + 1), -1)
    holes = np.cumsum(mask[:, :-1], axis=1) > 0
    er, ec = np.nonzero(jump < -0.5)  # far side of a falling edge: mixed, invalid
    holes[er, ec + 1] = True
    return holes


def _speckle(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Unit-variance noise correlated over about 3 px (a stereo matching window)."""
    white = rng.standard_normal((h + 2, w + 2), dtype=np.float32)
    acc = np.zeros((h, w), np.float32)
    for dy, wy in ((0, 1.0), (1, 2.0), (2, 1.0)):
        for dx, wx in ((0, 1.0), (1, 2.0), (2, 1.0)):
            acc += (wy * wx) * white[dy:dy + h, dx:dx + w]
    acc /= np.float32(6.0)  # sqrt(sum of squared weights) = sqrt(36) for the 1-2-1 kernel
    return acc


def resample_nearest(depth: np.ndarray, width: int, height: int) -> np.ndarray:
    """Depth at another resolution by nearest neighbour (no invented in-between depths)."""
    h, w = depth.shape
    if (w, h) == (width, height):
        return depth
    rows = ((np.arange(height) + 0.5) * h / height).astype(np.intp)
    cols = ((np.arange(width) + 0.5) * w / width).astype(np.intp)
    return depth[rows[:, None], cols[None, :]]
