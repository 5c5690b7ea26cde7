"""The simulated face with a real photograph as its texture, and fresh sensor noise per frame.

The cartoon face is flat colour: any codec looks brilliant on it. Storage figures need
what a camera really films: skin, hair and a cluttered background with fine detail, and
sensor noise that is new in every frame (a video codec cannot predict it). This renderer
keeps the cartoon's geometry, movements, tapping hand and LED (what sync and analysis look
at) and paints them over ``skimage.data.astronaut()`` (NASA's public-domain portrait of
Eileen Collins), scaled so her eyes sit on the model's eyes; the rest of the frame is the
photo mirrored outwards. Noise: shot noise plus read noise, ``σ² = 1 + I/100`` (DN²: about 1.5 DN at mid-grey, a D4xx colour stream after its ISP), from
precomputed fields shifted per frame (``fresh_noise``; a real-time camera uses a few fixed
noisy copies instead, as the cartoon does, so rendering keeps 30 fps on a busy machine).

scikit-image is needed only here (the ``bench`` extra); nothing imports this module unless
photo footage is asked for.
"""

from __future__ import annotations

import numpy as np

from mimicsync.acquisition.simulators.face_renderer import EYE_X, EYE_Y, FaceRenderer

# In the 512x512 astronaut photo: her eyes' centres (x, y pixels), measured by eye.
PHOTO_EYES = ((203.0, 118.0), (251.0, 118.0))


def load_photo() -> np.ndarray:
    """The astronaut portrait (512, 512, 3) uint8; a one-line error without scikit-image."""
    try:
        from skimage import data
    except ImportError:
        raise RuntimeError("footage: photo footage needs scikit-image; install it with "
                           "pip install 'mimicsync[bench]'") from None
    return data.astronaut()


class PhotoFaceRenderer(FaceRenderer):
    """:class:`FaceRenderer` on a photographic texture, with per-frame sensor noise."""

    def __init__(self, width: int = 1280, height: int = 720, depth: bool = True,
                 fx: float | None = None, distance_mm: float = 500.0, noise: float = 1.0,
                 seed: int = 0, depth_noise: bool = True, noise_fields: int = 6,
                 fresh_noise: bool = True) -> None:
        super().__init__(width, height, depth=depth, fx=fx, distance_mm=distance_mm, noise=0.0,
                         seed=seed, depth_noise=depth_noise)
        rng = np.random.default_rng([seed, 21])
        base = self._bases[0].astype(np.float32)
        self._sigma = np.sqrt(noise * noise + base / 100.0).astype(np.float32)
        self._fields = [rng.standard_normal(base.shape, dtype=np.float32)
                        for _ in range(max(1, noise_fields))]
        self._noise_rng = np.random.default_rng([seed, 22])
        self.fresh_noise = fresh_noise
        if not fresh_noise:  # fixed noisy copies: a frame costs one copy, as the cartoon's
            self._bases = [np.clip(base + f * self._sigma + 0.5, 0, 255).astype(np.uint8)
                           for f in self._fields]
            self._depths = self._depths[:1] * len(self._bases) if self._depths else []
            self._fields = []

    def _build_base(self, with_depth: bool) -> tuple[np.ndarray, np.ndarray | None]:
        color, depth = super()._build_base(with_depth)
        return photo_canvas(self.geom.px, self.width, self.height), depth

    def draw(self, pose, hands=(), led: bool = False, index: int = 0):
        color, depth = super().draw(pose, hands, led, index)
        if not self.fresh_noise:
            return color, depth
        field = self._fields[int(self._noise_rng.integers(len(self._fields)))]
        dy, dx = (int(v) for v in self._noise_rng.integers(0, (self.height, self.width)))
        noisy = np.roll(field, (dy, dx), axis=(0, 1))
        noisy *= self._sigma
        noisy += color
        noisy += 0.5
        np.clip(noisy, 0, 255, out=noisy)
        return noisy.astype(np.uint8), depth


def photo_canvas(px, width: int, height: int) -> np.ndarray:
    """The photo scaled and placed so its eyes land on the model's eyes (``px``: mm -> px)."""
    photo = load_photo()
    (lx, ly), (rx, _) = PHOTO_EYES
    left, right = px(-EYE_X, EYE_Y), px(EYE_X, EYE_Y)
    scale = (right[0] - left[0]) / (rx - lx)
    # output pixel (r, c) shows photo point ((r - r0) / scale, (c - c0) / scale), bilinear
    c0, r0 = left[0] - lx * scale, left[1] - ly * scale
    y = (np.arange(height) - r0) / scale - 0.5
    x = (np.arange(width) - c0) / scale - 0.5
    y0, x0 = np.floor(y).astype(np.intp), np.floor(x).astype(np.intp)
    fy = (y - y0).astype(np.float32)[:, None, None]
    fx = (x - x0).astype(np.float32)[None, :, None]
    h, w = photo.shape[:2]
    ya, yb = _mirror(y0, h)[:, None], _mirror(y0 + 1, h)[:, None]
    xa, xb = _mirror(x0, w)[None, :], _mirror(x0 + 1, w)[None, :]
    p = photo.astype(np.float32)
    top = p[ya, xa] * (1 - fx) + p[ya, xb] * fx
    bottom = p[yb, xa] * (1 - fx) + p[yb, xb] * fx
    return np.clip(top * (1 - fy) + bottom * fy + 0.5, 0, 255).astype(np.uint8)


def _mirror(i: np.ndarray, n: int) -> np.ndarray:
    """Indices reflected back into 0..n-1 (the photo mirrored outwards, no seams)."""
    period = 2 * n
    j = np.mod(i, period)
    return np.where(j < n, j, period - 1 - j)
