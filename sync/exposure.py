"""When each row of each frame saw the world, and what an LED edge in it can tell.

A frame is not an instant. Row ``r`` of frame ``k`` integrates light over
``[start_k + readout·r/H, + exposure_k]`` (rolling shutter; readout 0 = global shutter),
and auto exposure changes ``exposure_k`` frame by frame. An event seen in rows ``r``
therefore happened *within* such windows: an LED that is fully off in frame ``k`` and
fully on in frame ``k+1`` switched in ``[start_k(r) + exposure_k, start_{k+1}(r)]``
(a bracket of frame − exposure); an LED caught partly lit (fraction ``f`` of the window)
switched at ``start(r) + exposure·(1 − f)`` (a sub-frame time whose precision follows
from the brightness noise). Frame instants here are on the video clock: :attr:`clock`
is the middle of the first row's exposure (the RealSense sensor timestamp), and a
frame's own instant is the middle of its middle row's exposure (:meth:`instant`).

Without exposure metadata (older files, firmware that does not report it) the exposure
is taken as 0 — a camera that samples — and the brackets are a frame wide, which is
honest for that case and merely less precise for a camera that integrates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mimicsync.sync.brackets import VideoOnsets
from mimicsync.sync.robust import robust_sigma

LEVEL_FRAMES = 4  # frames each side that give the local off and on levels


@dataclass(frozen=True)
class Exposure:
    """Per-frame exposure windows on the video clock (all seconds)."""

    clock: np.ndarray  # middle of the first row's exposure, per frame
    exposure: np.ndarray  # exposure per frame (0: unknown, treated as sampling)
    readout: float  # first to last row
    height: int  # rows of the full-resolution frame
    known: bool  # exposure came from the frame metadata

    def start(self, row: float) -> np.ndarray:
        """Start of row ``row``'s exposure in every frame."""
        return self.clock - self.exposure / 2 + self.readout * float(row) / max(self.height, 1)

    def instant(self) -> np.ndarray:
        """Each frame's own instant: the middle of its middle row's exposure."""
        return self.clock + self.readout / 2


def _levels(x: np.ndarray, k: int, rising: bool) -> tuple[float, float]:
    """Local (low, high) levels around the crossing between frames ``k`` and ``k+1``
    (slow brightness changes cancel): the off level is the median of the frames on the
    dark side, which lasts; the on level the brightest of the few lit frames next to the
    edge (a pulse may be only three frames long)."""
    if rising:
        dark = x[max(0, k - LEVEL_FRAMES):k]
        lit = x[k + 1:k + 1 + 3]
        low = float(np.median(dark)) if dark.size else float(x[k])
    else:
        dark = x[k + 2:k + 2 + LEVEL_FRAMES]
        lit = x[max(0, k - 2):k + 1]
        low = float(np.median(dark)) if dark.size else float(x[k + 1])
    return low, float(np.max(lit))


def led_edges(values: np.ndarray, exp: Exposure, row: float, crossings: np.ndarray,
              rising: bool, base_sigma_s: float = 2e-4) -> VideoOnsets:
    """Time of each LED edge (``crossings``: frame index k, the edge lies between frames
    k and k+1) from the exposure model, as a bracket or a sub-frame time with its σ."""
    x = np.asarray(values, float)
    a = exp.start(row)
    e = exp.exposure
    n = len(crossings)
    t, lo, hi, sub, sd = (np.zeros(n) for _ in range(5))
    noise = robust_sigma(np.diff(x)) / np.sqrt(2)
    for i, k in enumerate(np.asarray(crossings, int)):
        low, high = _levels(x, k, rising)
        step = max(high - low, 1e-6)
        f = np.clip((x[k:k + 2] - low) / step, 0.0, 1.0)  # fraction lit, frames k, k+1
        sf = noise / step  # σ of a fraction
        tol = min(0.3, max(0.06, 4 * sf))
        if not rising:
            f = 1.0 - f  # fraction *unlit*
        # bracket: frame k fully before, frame k+1 fully after (soft by tol · exposure)
        lo[i] = a[k] + e[k] * (1 - tol)
        hi[i] = a[k + 1] + e[k + 1] * tol
        partial = [j for j in (0, 1) if tol < f[j] < 1 - tol and e[k + j] > 0]
        if partial:
            j = min(partial, key=lambda q: abs(f[q] - 0.5))
            kk = k + j
            t[i] = a[kk] + e[kk] * (1 - f[j])
            sd[i] = np.hypot(e[kk] * sf * 1.5, base_sigma_s)
            sub[i] = 1
        else:
            t[i] = (lo[i] + hi[i]) / 2
            sd[i] = base_sigma_s
    return VideoOnsets(t, lo, hi, sub.astype(bool), sd)


def crossings(values: np.ndarray, rising: bool, min_gap: int = 2) -> np.ndarray:
    """Frame indices k where a two-level trace crosses halfway between its local low and
    high levels from k to k+1 (a running median gives the low level, so slow brightness
    changes do not move the threshold)."""
    from scipy.ndimage import median_filter
    x = np.asarray(values, float)
    if x.size < 3:
        return np.zeros(0, int)
    base = median_filter(x, size=min(31, x.size | 1), mode="nearest")
    d = x - base
    top = float(np.max(d))
    if top <= 0:
        return np.zeros(0, int)
    lit = d > top / 2
    k = np.flatnonzero(~lit[:-1] & lit[1:]) if rising else np.flatnonzero(lit[:-1] & ~lit[1:])
    if k.size == 0:
        return k
    keep = np.concatenate(([True], np.diff(k) >= min_gap))
    return k[keep]


def led_switches(values: np.ndarray, exp: Exposure, row: float) -> dict[str, VideoOnsets]:
    """``trigger_on`` and ``trigger_off``: the LED trace's rising and falling edges, timed
    by :func:`led_edges` (offline sync and the live estimate find them the same way)."""
    return {kind: led_edges(values, exp, row, crossings(values, rising), rising)
            for kind, rising in (("trigger_on", True), ("trigger_off", False))}

