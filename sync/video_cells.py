"""Per-cell brightness and motion of every video frame, decoded at reduced size.

Sync needs two 1-D signals from the video: the brightness of the trigger LED and the
motion of a tapping hand. Both live in small regions that are not known in advance, and
a recording holds tens of thousands of frames. So each JPEG is decoded once at about
160 pixels across (libjpeg-turbo scales in the DCT domain: 1280×720 at 1/8 costs a
fraction of a full decode) in grayscale, and only a grid of cell means is kept:
brightness per cell and frame, and mean absolute frame difference per (coarser) cell
and frame pair. Regions are then chosen from the cells (:func:`led_trace`,
:func:`mimicsync.sync.arrivals.contacts`), and memory stays at a few kilobytes per frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from mimicsync.sync.video_events import Box, Trace

TARGET_WIDTH = 160  # decode to about this many pixels across
LIGHT_CELL = 4  # small pixels per brightness cell side
MOTION_CELL = 8  # small pixels per motion cell side


@dataclass(frozen=True)
class CellScan:
    """Cell means of a whole video. ``scale`` = full-resolution pixels per small pixel."""

    light: np.ndarray  # (n_frames, rows, cols) float32: mean gray level per cell
    motion: np.ndarray  # (n_frames − 1, mrows, mcols) float32: mean |frame difference|
    scale: float
    light_cell: int = LIGHT_CELL
    motion_cell: int = MOTION_CELL

    def light_box(self, r: int, c: int) -> Box:
        """Full-resolution box of brightness cell ``(r, c)``."""
        s = self.scale * self.light_cell
        return (int(c * s), int(r * s), int((c + 1) * s), int((r + 1) * s))

    def motion_box(self, r: int, c: int) -> Box:
        s = self.scale * self.motion_cell
        return (int(c * s), int(r * s), int((c + 1) * s), int((r + 1) * s))


def cell_means(g: np.ndarray, k: int) -> np.ndarray:
    """Means of ``k`` × ``k`` blocks (float32); the edge that does not fill a block is cut."""
    h, w = g.shape[0] // k * k, g.shape[1] // k * k
    return g[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3), dtype=np.float32)


def _gray(frame: np.ndarray, factor: int) -> np.ndarray:
    """Grayscale block means of an RGB frame (for lossless video)."""
    from mimicsync.sync.video_events import small_gray
    return small_gray(frame, factor)


def decode_small(jpeg: bytes, width: int, height: int,
                 target_width: int = TARGET_WIDTH) -> np.ndarray:
    """Grayscale float32 image of about ``target_width`` pixels across (DCT scaling)."""
    import simplejpeg
    need_w = max(1, min(width, target_width))
    need_h = max(1, int(height * need_w / max(width, 1)))
    g = simplejpeg.decode_jpeg(jpeg, colorspace="GRAY", min_width=need_w, min_height=need_h)
    return g[:, :, 0].astype(np.float32)


def scan(frames: Iterable[np.ndarray | bytes], width: int, height: int, *,
         target_width: int = TARGET_WIDTH) -> CellScan:
    """Cell brightness and motion of ``frames`` (JPEG bytes or RGB arrays, in order)."""
    light, motion = [], []
    prev = None
    small_w = 0
    for fr in frames:
        if isinstance(fr, (bytes, bytearray, memoryview, np.void)) or (
                isinstance(fr, np.ndarray) and fr.ndim == 1):
            g = decode_small(bytes(fr), width, height, target_width)
        else:
            g = _gray(np.asarray(fr), max(1, fr.shape[1] // target_width))
        if prev is not None and g.shape != prev.shape:
            raise ValueError("frames change size within the video")
        small_w = g.shape[1]
        light.append(cell_means(g, LIGHT_CELL))
        if prev is not None:
            motion.append(cell_means(np.abs(g - prev * _row_gain(g, prev)), MOTION_CELL))
        prev = g
    if not light:
        raise ValueError("no frames")
    mot = np.stack(motion) if motion else np.zeros((0,) + cell_means(prev, MOTION_CELL).shape,
                                                    np.float32)
    return CellScan(np.stack(light), mot, width / small_w)


def _row_gain(g: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """Per-row brightness ratio of two frames (median over the row, so a hand covering
    part of it does not count): flicker bands under a rolling shutter and auto-exposure
    steps change whole rows, which is not motion."""
    return np.median(g / np.maximum(prev, 1.0), axis=1, keepdims=True)


def led_trace(sc: CellScan, times: np.ndarray, roi: Box | None = None) -> tuple[Trace, float]:
    """Brightness of the LED cell and a score of how LED-like it is.

    Without ``roi``, the cell is the one that most looks like a two-level light: how far
    its brightest frame rises above its usual level compared with its usual variation,
    ``(max − median) / (MAD + 1)``, times how sharp its largest one-frame rise is
    relative to that range (an LED switches within a frame; a mouth opening to show the
    teeth takes several). With ``roi`` (full-resolution box) the cells inside it are
    averaged and the score is that of the average.
    """
    n, rows, cols = sc.light.shape
    flat = sc.light.reshape(n, -1)
    if roi is not None:
        sel = _cells_in(roi, sc.scale * sc.light_cell, rows, cols)
        values = flat[:, sel].mean(axis=1)
        return Trace(np.asarray(times, float), values, roi, int(round(sc.scale))), _led_score(values[:, None])[0]
    score = _led_score(flat)
    best = int(np.argmax(score))
    r, c = divmod(best, cols)
    return (Trace(np.asarray(times, float), flat[:, best].astype(float), sc.light_box(r, c),
                  int(round(sc.scale))), float(score[best]))


LED_BASELINE_FRAMES = 15  # pulses narrower than this stand out of the running baseline


def _led_score(x: np.ndarray) -> np.ndarray:
    """Per cell: how far its brightest frame rises above a running baseline (a grey-level
    opening over ``LED_BASELINE_FRAMES``, which follows auto exposure and room light but
    not a pulse), over the usual variation around that baseline, times how sharp the
    largest one-frame rise is relative to it (an LED switches within a frame)."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d
    x = np.asarray(x, np.float32)
    if len(x) < 3:
        return np.zeros(x.shape[1])
    w = min(LED_BASELINE_FRAMES, len(x))
    base = maximum_filter1d(minimum_filter1d(x, w, axis=0, mode="nearest"), w, axis=0,
                            mode="nearest")
    d = x - base
    usual = d[:: max(1, len(d) // 2000)]
    med = np.median(usual, axis=0)
    mad = np.median(np.abs(usual - med), axis=0)
    top = d.max(axis=0)
    span = np.maximum(top - med, 1e-6)
    rise = np.diff(x, axis=0).max(axis=0)
    return (top - med) / (mad + 1.0) * np.clip(rise / span, 0.0, 1.0)


def _cells_in(box: Box, cell_px: float, rows: int, cols: int) -> np.ndarray:
    """Flat indices of the cells whose centres lie in ``box`` (at least the nearest one)."""
    x0, y0, x1, y1 = box
    cy = (np.arange(rows) + 0.5) * cell_px
    cx = (np.arange(cols) + 0.5) * cell_px
    rr = np.flatnonzero((cy >= y0) & (cy < y1))
    cc = np.flatnonzero((cx >= x0) & (cx < x1))
    if rr.size == 0:
        rr = np.array([min(rows - 1, int((y0 + y1) / 2 / cell_px))])
    if cc.size == 0:
        cc = np.array([min(cols - 1, int((x0 + x1) / 2 / cell_px))])
    return (rr[:, None] * cols + cc[None, :]).ravel()
