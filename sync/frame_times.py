"""Per-frame times of a camera on the host clock, from device timestamps and counters.

A frame's host timestamp is its *arrival* time: capture time plus a USB/driver latency
that varies by milliseconds from frame to frame. The camera's own timestamp (ms, device
clock) is precise but on another clock. Fitting ``host ≈ a + b·device_time`` robustly
over many frames keeps the precision of the device clock and puts it on the host clock,
with the typical latency folded into ``a``. Dropped frames simply are not there: the
frames that remain keep their own device times, unlike a dejitter over sample indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mimicsync.sync.clock import segment_bounds
from mimicsync.sync.robust import huber_line, line_fit, robust_sigma


@dataclass(frozen=True)
class FrameSegment:
    """Frames ``start..end`` (inclusive) share one device clock: ``host = a + b·device_s``."""

    start: int
    end: int
    intercept: float  # s
    slope: float  # host seconds per device second (1 + drift)
    residual_sigma: float  # robust spread of host − fit (transport jitter), s

    @property
    def drift_ppm(self) -> float:
        return (self.slope - 1.0) * 1e6


@dataclass(frozen=True)
class FrameTimes:
    """Robust host-clock time of every frame, and how it was obtained."""

    times: np.ndarray  # s, host clock, one per frame (new array)
    segments: tuple[FrameSegment, ...]
    dropped: int  # frames missing according to the device counter
    dropped_after: np.ndarray  # frame indices followed by a counter gap


def _fill_device_time(dev_s: np.ndarray, counter: np.ndarray) -> np.ndarray:
    """Replace missing device times from the counter (time ≈ c + period·counter)."""
    ok = np.isfinite(dev_s)
    if ok.all():
        return dev_s
    if ok.sum() < 2:
        raise ValueError("need device times for at least two frames of each segment")
    c, period = line_fit(counter[ok], dev_s[ok])
    out = dev_s.copy()
    out[~ok] = c + period * counter[~ok]
    return out


def frame_times(
    host_times: np.ndarray,
    device_times_ms: np.ndarray,
    device_frames: np.ndarray,
    *,
    min_frames_for_slope: int = 30,
) -> FrameTimes:
    """Map each frame to the host clock through its device timestamp.

    - ``host_times``: arrival times on the host (LSL clock), s.
    - ``device_times_ms``: camera timestamps, ms; NaN where unknown (filled from the
      counter).
    - ``device_frames``: hardware frame counter; gaps mean dropped frames.

    A device restart (counter or device time going backwards) starts a new segment.
    Per segment, a first least-squares line gives the residual spread σ (from the MAD),
    then a Huber line with threshold 1.345·σ ignores latency outliers. A segment with
    fewer than ``min_frames_for_slope`` frames borrows the slope of the longest
    segment (1.0 if none) and gets only a robust (median) intercept.
    """
    host = np.asarray(host_times, dtype=float)
    dev_s = np.asarray(device_times_ms, dtype=float) / 1000.0
    cnt = np.asarray(device_frames, dtype=float)
    n = host.size
    if not (dev_s.size == cnt.size == n) or n == 0:
        raise ValueError("host_times, device_times_ms and device_frames need one value per frame")
    resets = (np.diff(cnt) <= 0) | (np.diff(dev_s) <= 0)
    bounds = segment_bounds(resets)
    fitted: list[tuple[int, int, float, float, float] | None] = []
    dev_filled = np.empty(n)
    for a, b in bounds:
        d = _fill_device_time(dev_s[a : b + 1], cnt[a : b + 1])
        dev_filled[a : b + 1] = d
        if b - a + 1 >= min_frames_for_slope:
            a0, b0 = line_fit(d, host[a : b + 1])
            sigma = robust_sigma(host[a : b + 1] - (a0 + b0 * d))
            icpt, slope = huber_line(d, host[a : b + 1], max(1.345 * sigma, 1e-9))
            fitted.append((a, b, icpt, slope, sigma))
        else:
            fitted.append(None)
    lengths = [f[1] - f[0] if f else -1 for f in fitted]
    shared_slope = fitted[int(np.argmax(lengths))][3] if max(lengths) >= 0 else 1.0
    segs = []
    times = np.empty(n)
    for (a, b), f in zip(bounds, fitted):
        d = dev_filled[a : b + 1]
        if f is None:
            icpt = float(np.median(host[a : b + 1] - shared_slope * d))
            sigma = robust_sigma(host[a : b + 1] - (icpt + shared_slope * d))
            f = (a, b, icpt, shared_slope, sigma)
        times[a : b + 1] = f[2] + f[3] * d
        segs.append(FrameSegment(*f))
    gaps = np.diff(cnt) - 1
    gaps[resets] = 0
    return FrameTimes(times, tuple(segs), int(gaps[gaps > 0].sum()), np.flatnonzero(gaps > 0))
