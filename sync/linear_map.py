"""The one clock mapping sync fits: b = a + offset + drift·(a − t_ref), and its inverse."""

from __future__ import annotations

import numpy as np


def forward(t: np.ndarray | float, offset_s: float, drift_ppm: float, t_ref: float) -> np.ndarray:
    """Times on clock a expressed on clock b."""
    t = np.asarray(t, dtype=float)
    return t + offset_s + drift_ppm * 1e-6 * (t - t_ref)


def inverse(t: np.ndarray | float, offset_s: float, drift_ppm: float, t_ref: float) -> np.ndarray:
    """Times on clock b expressed on clock a (exact inverse of :func:`forward`)."""
    d = drift_ppm * 1e-6
    return (np.asarray(t, dtype=float) - offset_s + d * t_ref) / (1.0 + d)
