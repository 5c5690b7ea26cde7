"""How precisely a video onset is known: a bracket between two frames, or a sub-frame time.

A frame shows the scene during its exposure. If the exposure is long (about the frame
interval) a switch that happens during it shows as a partial level (the LED half lit,
the strike half blurred), and interpolating the 50 % crossing gives a sub-frame time.
If the camera samples (short exposure, or a renderer that draws the scene at one
instant) a frame shows the switch either not at all or fully, and the only honest
statement is: *between frame k and frame k+1*. This module decides which case each
onset is and returns the interval (:mod:`.interval_fit` uses both kinds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PARTIAL = (0.15, 0.85)  # levels between these (fraction of the step) count as partial
SUBFRAME_SIGMA_FRAMES = 0.1  # timing noise of an interpolated sub-frame onset, in frames


@dataclass(frozen=True)
class VideoOnsets:
    """Video onsets with what is known about each (all times on the video clock)."""

    times: np.ndarray  # best single estimate (interpolated)
    lo: np.ndarray  # time of the last frame before the switch
    hi: np.ndarray  # time of the first frame after it
    subframe: np.ndarray  # bool: a partial level was seen, ``times`` is sub-frame
    sd: np.ndarray | None = None  # timing σ per onset when the detector knows it (else NaN)

    def __post_init__(self) -> None:
        if self.sd is None:
            object.__setattr__(self, "sd", np.full(len(self.times), np.nan))

    @property
    def centre(self) -> np.ndarray:
        return np.where(self.subframe, self.times, (self.lo + self.hi) / 2)

    @property
    def half_width(self) -> np.ndarray:
        return np.where(self.subframe, 0.0, (self.hi - self.lo) / 2)

    def sigma(self, base_s: float) -> np.ndarray:
        """Gaussian timing noise per onset: ``base_s`` for a bracket, more for sub-frame."""
        frame = self.hi - self.lo
        rule = np.where(self.subframe, np.hypot(base_s, SUBFRAME_SIGMA_FRAMES * frame), base_s)
        return np.where(np.isfinite(self.sd), np.maximum(self.sd, base_s), rule)

    def take(self, idx: np.ndarray) -> "VideoOnsets":
        return VideoOnsets(self.times[idx], self.lo[idx], self.hi[idx], self.subframe[idx],
                           self.sd[idx])

    @staticmethod
    def empty() -> "VideoOnsets":
        z = np.zeros(0)
        return VideoOnsets(z, z, z, np.zeros(0, bool))

    @staticmethod
    def concat(parts: list["VideoOnsets"]) -> "VideoOnsets":
        parts = [p for p in parts if len(p.times)] or [VideoOnsets.empty()]
        return VideoOnsets(*(np.concatenate([getattr(p, f) for p in parts])
                             for f in ("times", "lo", "hi", "subframe", "sd")))


def edge_brackets(values: np.ndarray, frame_t: np.ndarray, onsets: np.ndarray,
                  rising: bool = True) -> VideoOnsets:
    """Brackets of level crossings (LED edges) of ``values`` sampled at ``frame_t``.

    Low and high levels are the median and the maximum (as :func:`.onsets.rising_edges`);
    the frames around each crossing say whether the switch was caught mid-exposure.
    """
    x = np.asarray(values, dtype=float)
    t = np.asarray(frame_t, dtype=float)
    on = np.asarray(onsets, dtype=float)
    if on.size == 0:
        return VideoOnsets.empty()
    lo_lvl, hi_lvl = float(np.median(x)), float(np.max(x))
    if not rising:
        lo_lvl = float(np.min(x))
    frac = (x - lo_lvl) / max(hi_lvl - lo_lvl, 1e-9)
    if not rising:
        frac = 1.0 - frac  # 0 = still on, 1 = off
    k = np.clip(np.searchsorted(t, on, side="right") - 1, 0, t.size - 2)
    partial = ((frac[k] > PARTIAL[0]) & (frac[k] < PARTIAL[1])) | (
        (frac[k + 1] > PARTIAL[0]) & (frac[k + 1] < PARTIAL[1]))
    return VideoOnsets(on.copy(), t[k], t[k + 1], partial)


def burst_brackets(values: np.ndarray, frame_t: np.ndarray, onsets: np.ndarray,
                   spread: float = 0.25) -> VideoOnsets:
    """Brackets of motion bursts (tap strikes); ``values[k]`` is the change from frame
    ``k`` to ``k+1``. A burst with a neighbouring difference holding at least ``spread``
    of its peak was blurred over two frames: sub-frame."""
    v = np.clip(np.asarray(values, dtype=float), 0.0, None)
    t = np.asarray(frame_t, dtype=float)
    on = np.asarray(onsets, dtype=float)
    if on.size == 0:
        return VideoOnsets.empty()
    k = np.clip(np.searchsorted(t, on, side="right") - 1, 0, v.size - 1)
    # the burst's peak difference is k or a neighbour
    cand = np.stack([np.clip(k - 1, 0, v.size - 1), k, np.clip(k + 1, 0, v.size - 1)])
    p = cand[np.argmax(v[cand], axis=0), np.arange(k.size)]
    prev = v[np.clip(p - 1, 0, v.size - 1)]
    nxt = v[np.clip(p + 1, 0, v.size - 1)]
    partial = np.maximum(prev, nxt) >= spread * v[p]
    return VideoOnsets(on.copy(), t[p], t[p + 1], partial)
