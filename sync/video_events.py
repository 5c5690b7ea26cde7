"""Tap and LED onsets in video, from small grayscale frames.

- Taps: *motion energy*, the mean absolute difference between consecutive frames
  within a face region, peaks when a tap jolts the skin. The region is given as a box
  or found automatically as the box of the largest mean frame-to-frame change. Each
  difference belongs to the midpoint between its two frames' times. The onset is where
  the summed motion energy of the rise is half done (see :func:`_half_rise_time`),
  which resolves a fraction of a frame.
- LED: mean brightness of a small box, given or found automatically as the small box
  whose mean brightness varies most over time; onsets are its rising edges
  (interpolated 50 % crossing, see :func:`.onsets.rising_edges`).

Frames are ``(H, W, 3)`` uint8 RGB from any iterable; each is reduced to grayscale
block means ``factor`` × ``factor`` before anything else. Automatic regions keep the
small frames in memory (uint8, ``n·(H/f)·(W/f)`` bytes); with a given box frames are
streamed and only the box is converted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
from scipy.ndimage import uniform_filter

from mimicsync.sync.onsets import envelope_events, refractory_keep, rising_edges
from mimicsync.sync.zscore import ZScoreParams, zscore_peaks

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in full-resolution pixels, end exclusive

_GRAY = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def small_gray(frame: np.ndarray, factor: int) -> np.ndarray:
    """Grayscale block means of ``factor`` × ``factor`` pixels (float32)."""
    h, w = frame.shape[0] // factor * factor, frame.shape[1] // factor * factor
    g = frame[:h, :w] @ _GRAY if frame.ndim == 3 else frame[:h, :w].astype(np.float32)
    return g.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def default_factor(width: int) -> int:
    """Block size that brings a frame down to about 160 pixels across."""
    return max(1, width // 160)


@dataclass(frozen=True)
class Trace:
    """A 1-D video measure, its times (host clock) and where it was measured."""

    times: np.ndarray
    values: np.ndarray
    roi: Box
    factor: int
    frame_times: np.ndarray | None = None  # for motion energy: the frames' own times


def _crop(frame: np.ndarray, roi: Box) -> np.ndarray:
    x0, y0, x1, y1 = roi
    return frame[y0:y1, x0:x1]


def _stack(frames: Iterable[np.ndarray], factor: int | None) -> tuple[np.ndarray, int]:
    """All frames as small grayscale uint8, and the factor used."""
    small = []
    for frame in frames:
        if factor is None:
            factor = default_factor(frame.shape[1])
        small.append(np.clip(np.rint(small_gray(frame, factor)), 0, 255).astype(np.uint8))
    if not small:
        raise ValueError("no frames")
    return np.stack(small), factor


def best_box(score: np.ndarray, box: tuple[int, int]) -> tuple[int, int]:
    """Top-left ``(row, col)`` of the ``box`` = (rows, cols) window with the largest sum."""
    bh, bw = min(box[0], score.shape[0]), min(box[1], score.shape[1])
    c = np.pad(score.astype(float), ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    sums = c[bh:, bw:] - c[:-bh, bw:] - c[bh:, :-bw] + c[:-bh, :-bw]
    r, q = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(r), int(q)


def _to_full(r: int, q: int, bh: int, bw: int, factor: int) -> Box:
    return (q * factor, r * factor, (q + bw) * factor, (r + bh) * factor)


def motion_energy(
    frames: Iterable[np.ndarray],
    times: np.ndarray,
    *,
    roi: Box | None = None,
    box_frac: float = 0.35,
    factor: int | None = None,
) -> Trace:
    """Mean |frame difference| within ``roi`` (or the most active box), per frame pair.

    ``times`` are the frame times; the result has one value fewer, at the midpoints.
    The automatic box is ``box_frac`` of the frame's height and width.
    """
    t = np.asarray(times, dtype=float)
    if roi is not None:
        prev, vals = None, []
        for frame in frames:
            if factor is None:
                factor = default_factor(frame.shape[1])
            g = small_gray(_crop(frame, roi), factor)
            if prev is not None:
                vals.append(float(np.abs(g - prev).mean()))
            prev = g
        values = np.asarray(vals)
    else:
        stack, factor = _stack(frames, factor)
        diff = np.abs(np.diff(stack.astype(np.int16), axis=0))
        bh = max(1, int(round(box_frac * stack.shape[1])))
        bw = max(1, int(round(box_frac * stack.shape[2])))
        r, q = best_box(diff.mean(axis=0), (bh, bw))
        values = diff[:, r : r + bh, q : q + bw].mean(axis=(1, 2))
        roi = _to_full(r, q, bh, bw, factor)
    if values.size != t.size - 1:
        raise ValueError(f"{t.size} times for {values.size + 1} frames")
    return Trace((t[1:] + t[:-1]) / 2, values, roi, factor, t.copy())


def brightness(
    frames: Iterable[np.ndarray],
    times: np.ndarray,
    *,
    roi: Box | None = None,
    box_px: int = 8,
    factor: int | None = None,
) -> Trace:
    """Mean brightness of ``roi`` (or of the LED found automatically), per frame.

    The automatic box is about ``box_px`` full-resolution pixels square, placed where
    the box mean rises furthest above its usual level compared with how much it
    usually varies: ``(max − median) / (MAD + 1)``. An LED that is dark nearly all the
    time scores far higher than a moving face, whose variance may be larger.
    """
    t = np.asarray(times, dtype=float)
    if roi is not None:
        values = np.array([
            small_gray(_crop(f, roi), 1 if factor is None else factor).mean() for f in frames
        ])
        factor = factor or 1
    else:
        stack, factor = _stack(frames, factor)
        side = max(1, int(round(box_px / factor)))
        boxed = uniform_filter(stack.astype(np.float32), size=(1, side, side), mode="nearest")
        usual = boxed[:: max(1, len(boxed) // 500)]  # a subsample is enough for the median
        med = np.median(usual, axis=0)
        spread = np.median(np.abs(usual - med), axis=0)
        score = (boxed.max(axis=0) - med) / (spread + 1.0)
        r, q = np.unravel_index(int(np.argmax(score)), score.shape)
        r, q = max(0, r - side // 2), max(0, q - side // 2)
        values = stack[:, r : r + side, q : q + side].mean(axis=(1, 2))
        roi = _to_full(r, q, side, side, factor)
    if values.size != t.size:
        raise ValueError(f"{t.size} times for {values.size} frames")
    return Trace(t, values, roi, factor)


@dataclass(frozen=True)
class VideoTapParams:
    """Settings of :func:`video_tap_onsets`. The z-score window is longer than for EMG:
    40 ms would be about one frame."""

    lag_s: float = 1.0
    threshold: float = 5.0
    influence: float = 0.1
    merge_gap_s: float = 0.1
    refractory_s: float = 0.3
    peak_search_s: float = 0.1
    baseline_s: float = 1.0
    min_snr: float = 6.0  # peak / baseline motion energy


@dataclass(frozen=True)
class VideoTaps:
    onsets: np.ndarray  # s, on the clock of the trace's times
    snr: np.ndarray
    rejected_onsets: np.ndarray


def video_tap_onsets(me: Trace, params: VideoTapParams = VideoTapParams()) -> VideoTaps:
    """Tap onsets from a motion-energy trace (sub-frame, interpolated)."""
    if me.times.size < 3:
        return VideoTaps(np.empty(0), np.empty(0), np.empty(0))
    rate = 1.0 / float(np.median(np.diff(me.times)))
    zp = ZScoreParams.from_rate(rate, lag_s=params.lag_s, threshold=params.threshold,
                                influence=params.influence)
    flags = zscore_peaks(me.values, zp.lag, zp.threshold, zp.influence).signals > 0
    s = lambda sec: max(1, int(round(sec * rate)))  # noqa: E731 - seconds to samples
    ev = envelope_events(me.values, flags, merge_gap=s(params.merge_gap_s),
                         peak_search=s(params.peak_search_s), baseline_len=s(params.baseline_s),
                         guard=1, onset_fraction=0.5)
    snr = ev.peak / np.maximum(ev.baseline, 1e-6)
    frame_t = me.frame_times if me.frame_times is not None else _frame_times(me.times)
    onsets = np.array([
        _half_rise_time(me.values, frame_t, int(np.floor(o)), p, b)
        for o, p, b in zip(ev.onset_index, ev.peak_index, ev.baseline)
    ])
    keep = snr >= params.min_snr
    idx = np.flatnonzero(keep)
    keep[idx[~refractory_keep(onsets[idx], params.refractory_s)]] = False
    return VideoTaps(onsets[keep], snr[keep], onsets[~keep])


def _frame_times(mid: np.ndarray) -> np.ndarray:
    """Frame times from difference midpoints (exact for a constant frame interval)."""
    t = np.empty(mid.size + 1)
    t[1:-1] = (mid[1:] + mid[:-1]) / 2
    t[0] = 2 * mid[0] - t[1]
    t[-1] = 2 * mid[-1] - t[-2]
    return t


def _half_rise_time(me: np.ndarray, frame_t: np.ndarray, lo: int, peak: int, base: float) -> float:
    """Time the jolt is half done: 50 % of the cumulative motion energy of the rise.

    Difference ``k`` is the change from frame ``k`` to ``k+1``; summing them rebuilds the
    exposure-averaged displacement at the frame times, which rises over one frame
    interval for a sudden jolt (a step blurred by the exposure). Its linearly
    interpolated half-way crossing is off by at most 0.09 frame for such a step. The
    rise runs from the last sub-threshold difference ``lo`` to the peak, plus the next
    difference when it holds at least half the peak (the step fell across two).
    """
    lo = max(0, lo)
    hi = peak + 1 if peak + 1 < me.size and me[peak + 1] - base >= 0.5 * (me[peak] - base) else peak
    rise = np.clip(me[lo : hi + 1] - base, 0.0, None)
    cum = np.concatenate(([0.0], np.cumsum(rise)))
    ft = frame_t[lo : hi + 2]
    return float(np.interp(0.5 * cum[-1], cum, ft)) if cum[-1] > 0 else float(ft[0])


def led_onsets(light: Trace, *, min_interval_s: float = 0.2) -> np.ndarray:
    """Times the LED switches on (50 % crossing between frames, interpolated)."""
    return rising_edges(light.values, light.times, min_interval_s=min_interval_s)
