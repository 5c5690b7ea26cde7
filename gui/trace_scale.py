"""How many µV a trace row shows: a common scale with a scale bar, per channel, or fixed.

A row shows ``±S`` µV (a stroke is clipped at the row's edges so a tap never paints over
its neighbours). Operators compare channels, so the default is one *common* scale for
every channel, chosen from a ladder of round values (5, 10, 20, 50 … µV) so that the
loud channels' bursts fit, with a µV scale bar; it grows at once when activity needs it
and shrinks only when two steps too large (no pumping between holds). *Per channel*
scales each channel to its own bursts (for a quiet electrode); a fixed value comes from
the menu or the zoom buttons, which step the same ladder.
"""

from __future__ import annotations

import numpy as np

LADDER: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0,
                             5000.0)
AUTO, PER_CHANNEL = "auto", "channel"
#: Menu entries (text, mode or ±µV).
SCALES: tuple[tuple[str, str | float], ...] = (
    ("auto, common", AUTO), ("auto, per channel", PER_CHANNEL),
    *((f"±{v:g} µV", v) for v in (5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)))
BURST_PERCENTILE = 99.0  # a channel's amplitude: its near-peak in the window (bursts fit)
LOUD_CHANNELS = 97.0  # the common scale fits the loudest channels but one or two (a bad one)


def nice_ceil(x: float) -> float:
    """The smallest ladder value >= ``x`` (the largest if none)."""
    return next((v for v in LADDER if v >= x), LADDER[-1])


def step(scale: float, zoom_in: bool) -> float:
    """The next ladder value below (zoom in) or above (zoom out) ``scale``."""
    if zoom_in:
        return next((v for v in reversed(LADDER) if v < scale * 0.999), LADDER[0])
    return next((v for v in LADDER if v > scale * 1.001), LADDER[-1])


def amplitudes(mins: np.ndarray, maxs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (amplitude in µV around the centre, centre) of ``(n_bins, ch)`` envelopes."""
    center = np.median((mins + maxs) / 2, axis=0)
    dev = np.maximum(maxs - center, center - mins)
    return np.percentile(dev, BURST_PERCENTILE, axis=0), center


def auto_gain(mins: np.ndarray, maxs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (gain, centre): each channel's bursts fill its row (a few columns
    louder than that, such as a tap, are clipped rather than flattening the rest)."""
    amp, center = amplitudes(mins, maxs)
    return 0.5 / np.maximum(amp * 1.1, 1e-3), center


class TraceScale:
    """The state of the traces' vertical scale; :meth:`gains` per redraw."""

    def __init__(self) -> None:
        self.mode: str = AUTO
        self.fixed = 100.0
        self.common: float | None = None  # the auto common scale in force (µV)
        self._gain: np.ndarray | None = None

    def set(self, mode_or_uv: str | float) -> None:
        if isinstance(mode_or_uv, str):
            self.mode = mode_or_uv
        else:
            self.mode, self.fixed = "fixed", float(mode_or_uv)
        self._gain = None

    @property
    def row_uv(self) -> float | None:
        """±µV of every row (None: each channel its own)."""
        return {AUTO: self.common, PER_CHANNEL: None}.get(self.mode, self.fixed)

    def zoom(self, zoom_in: bool) -> float:
        """Step the ladder from what is shown now; the scale becomes fixed."""
        now = self.row_uv or (self.common or self.fixed)
        self.set(step(now, zoom_in))
        return self.fixed

    def gains(self, mins: np.ndarray, maxs: np.ndarray, emg: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        """``(gain, centre)`` per channel for ``stack_rows``; ``emg`` marks scaled channels."""
        if self.mode == PER_CHANNEL:
            g, c = auto_gain(mins, maxs)
            if self._gain is not None and len(self._gain) == len(g):
                g = np.exp(0.7 * np.log(self._gain) + 0.3 * np.log(g))  # smooth, no jumps
            self._gain = g
            return g, c
        amp, c = amplitudes(mins, maxs)
        if self.mode == AUTO:
            loud = np.percentile(amp[emg], LOUD_CHANNELS) if emg.any() else float(amp.max(initial=1.0))
            want = nice_ceil(loud * 1.1)
            if self.common is None or want > self.common or want < self.common / 4:
                self.common = want
        return np.full(len(amp), 0.5 / self.row_uv), c
