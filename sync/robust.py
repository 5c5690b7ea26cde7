"""Robust straight-line fits shared by the clock, frame-time and event-matching code.

Timing data have outliers (a late LSL ``time_correction`` reply, a frame stuck in a
USB queue), so plain least squares is not enough; a Huber loss keeps the efficiency of
least squares for well-behaved points while outliers only pull linearly.
"""

from __future__ import annotations

import numpy as np

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation


def mad(x: np.ndarray) -> float:
    """Median absolute deviation from the median (unscaled)."""
    x = np.asarray(x, dtype=float)
    return float(np.median(np.abs(x - np.median(x)))) if x.size else 0.0


def robust_sigma(x: np.ndarray) -> float:
    """Standard deviation estimated from the MAD (consistent for normal data)."""
    return MAD_TO_SIGMA * mad(x)


def line_fit(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float]:
    """Weighted least-squares line ``y ≈ a + b·x``; returns ``(a, b)``.

    Computed on centred data so that large absolute times (LSL clocks run for days)
    cost no precision. One point, or all points at one ``x``, gives slope 0.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    sw = w.sum()
    xm = float(w @ x / sw)
    ym = float(w @ y / sw)
    dx = x - xm
    sxx = float(w @ (dx * dx))
    b = float(w @ (dx * (y - ym)) / sxx) if sxx > 0 else 0.0
    return ym - b * xm, b


def huber_line(
    x: np.ndarray,
    y: np.ndarray,
    delta: float,
    *,
    max_iter: int = 500,
    rtol: float = 1e-10,
) -> tuple[float, float]:
    """Straight line ``y ≈ a + b·x`` minimising the Huber loss with threshold ``delta``.

    Solved by iteratively reweighted least squares (weights 1 inside ``delta``,
    ``delta/|r|`` outside), which decreases the Huber objective monotonically and so
    converges to its unique minimiser (the same one pyxdf's ADMM approaches).
    Returns ``(a, b)``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size == 0:
        raise ValueError("huber_line: no points")
    # Work relative to the first point: keeps the intercept well conditioned.
    x0, y0 = x[0], y[0]
    xc, yc = x - x0, y - y0
    a, b = line_fit(xc, yc)
    scale = max(float(np.ptp(xc)), 1.0)
    for _ in range(max_iter):
        r = np.abs(yc - (a + b * xc))
        w = np.where(r <= delta, 1.0, delta / np.maximum(r, np.finfo(float).tiny))
        a_new, b_new = line_fit(xc, yc, w)
        step = abs(a_new - a) + abs(b_new - b) * scale
        a, b = a_new, b_new
        if step <= rtol * delta:
            break
    return float(a + y0 - b * x0), float(b)
