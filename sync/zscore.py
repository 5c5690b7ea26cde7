"""Smoothed z-score peak detector ("robust peak detection using z-scores").

Variant implemented here, exactly:

- Sample ``i`` (for ``i >= lag``) is tested against ``mean`` and ``std`` of the
  *filtered* copy ``f[i-lag : i]``: the window holds the ``lag`` samples **before**
  ``i`` and **excludes** ``i`` itself. ``std`` is the **population** standard deviation
  (divide by ``lag``, ``ddof=0``).
- Flagged when ``|y[i] - mean| > threshold * std`` (strictly greater; a flat window,
  ``std == 0``, flags any sample that differs from its mean). The signal is ``+1``
  when ``y[i] > mean``, ``-1`` when below, ``0`` when not flagged.
- Filtered copy: ``f[i] = y[i]`` when not flagged, else
  ``f[i] = influence * y[i] + (1 - influence) * f[i-1]``; the first ``lag`` samples are
  copied unchanged and never flagged.

The offline function and the incremental class share one kernel. It is exact (no
approximation of the recursion) yet vectorised: it guesses that the flag state of the
previous sample continues, evaluates a whole block at once under that guess (the
filtered copy is then either ``y`` or a first-order recursion, both vectorised), keeps
the block up to the first sample that breaks the guess and continues from there. Window
sums come from running sums anchored at the first sample, updated strictly in sample
order, so results do not depend on how the input is chunked: pushing any chunking
gives bit-identical output to the offline call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

_MIN_BLOCK = 64
_MAX_BLOCK = 1 << 16
_EPS64 = 64 * np.finfo(float).eps


@dataclass(frozen=True)
class ZScoreParams:
    """Detector settings in samples; build them from seconds with :meth:`from_rate`."""

    lag: int
    threshold: float
    influence: float

    def __post_init__(self) -> None:
        if self.lag < 2:
            raise ValueError(f"lag must be at least 2 samples, got {self.lag}")
        if not 0.0 <= self.influence <= 1.0:
            raise ValueError(f"influence must be within [0, 1], got {self.influence}")
        if self.threshold <= 0:
            raise ValueError(f"threshold must be positive, got {self.threshold}")

    @classmethod
    def from_rate(
        cls, fs: float, *, lag_s: float = 0.040, threshold: float = 5.0, influence: float = 0.0
    ) -> "ZScoreParams":
        """Lag given in seconds (default 40 ms) at the rate ``fs`` of the detected signal."""
        return cls(max(2, int(round(lag_s * fs))), float(threshold), float(influence))


@dataclass(frozen=True)
class ZScoreResult:
    """Per-sample output. ``mean``/``std`` are the window statistics sample ``i`` was
    tested against (NaN for the first ``lag`` samples)."""

    signals: np.ndarray  # int8: +1, -1, 0
    mean: np.ndarray
    std: np.ndarray


class ZScoreDetector:
    """Incremental smoothed z-score detector: :meth:`push` chunks, get their flags.

    Results are identical (bit for bit) to :func:`zscore_peaks` on the concatenated
    input, whatever the chunk sizes.
    """

    def __init__(self, params: ZScoreParams) -> None:
        self.params = params
        self.n_seen = 0
        self._shift: float | None = None  # first sample; keeps running sums small
        # Running sums C[k] = sum_{j<k} (f_j - shift) for k = n_seen-lag .. n_seen.
        self._c1 = np.zeros(1)
        self._c2 = np.zeros(1)
        self._f_last = 0.0
        self._flagged = False  # flag state of the last sample
        self._block = _MIN_BLOCK

    def push(self, y: np.ndarray) -> ZScoreResult:
        """Process the next samples; returns the flags and statistics for exactly these."""
        y = np.asarray(y, dtype=float).ravel()
        m = y.size
        sig = np.zeros(m, dtype=np.int8)
        mean = np.full(m, np.nan)
        std = np.full(m, np.nan)
        if m == 0:
            return ZScoreResult(sig, mean, std)
        if self._shift is None:
            self._shift = float(y[0])
        pos = self._warm_up(y)
        while pos < m:
            pos += self._step(y, pos, sig, mean, std)
        return ZScoreResult(sig, mean, std)

    # -- kernel ------------------------------------------------------------------------
    def _append_sums(self, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Running sums over the history window followed by ``g``, in sample order."""
        c1 = np.cumsum(np.concatenate((self._c1[-1:], g)))
        c2 = np.cumsum(np.concatenate((self._c2[-1:], g * g)))
        return np.concatenate((self._c1[:-1], c1)), np.concatenate((self._c2[:-1], c2))

    def _warm_up(self, y: np.ndarray) -> int:
        """Copy samples into the window until it holds ``lag`` of them."""
        k = min(self.params.lag - self.n_seen, y.size)
        if k <= 0:
            return 0
        c1, c2 = self._append_sums(y[:k] - self._shift)
        self._c1, self._c2 = c1, c2
        self._f_last = float(y[k - 1])
        self.n_seen += k
        return k

    def _step(self, y, pos, sig, mean, std) -> int:
        """Evaluate one block from ``pos`` under the current guess; returns samples kept."""
        lag, thr, inf = self.params.lag, self.params.threshold, self.params.influence
        block = y[pos : pos + self._block]
        if self._flagged:  # guess: every sample stays flagged
            zi = np.array([(1.0 - inf) * self._f_last])
            f = lfilter([inf], [1.0, -(1.0 - inf)], block, zi=zi)[0]
        else:  # guess: no sample is flagged
            f = block
        c1, c2 = self._append_sums(f - self._shift)
        b = block.size
        m_c = (c1[lag : lag + b] - c1[:b]) / lag
        m_sq = (c2[lag : lag + b] - c2[:b]) / lag
        var = m_sq - m_c * m_c
        # Below the rounding level of the running sums the window is flat: call it 0.
        var[var <= _EPS64 * np.abs(c2[lag : lag + b]) / lag] = 0.0
        s = np.sqrt(var)
        dev = (block - self._shift) - m_c
        flagged = np.abs(dev) > thr * s
        broken = np.flatnonzero(flagged != self._flagged)
        keep = int(broken[0]) if broken.size else b
        if keep:
            out = slice(pos, pos + keep)
            mean[out] = m_c[:keep] + self._shift
            std[out] = s[:keep]
            if self._flagged:
                sig[out] = np.where(dev[:keep] > 0, 1, -1)
            self._c1 = c1[keep : keep + lag + 1]
            self._c2 = c2[keep : keep + lag + 1]
            self._f_last = float(f[keep - 1])
            self.n_seen += keep
        if broken.size:
            self._flagged = not self._flagged
            self._block = _MIN_BLOCK
        else:
            self._block = min(2 * self._block, _MAX_BLOCK)
        return keep


def zscore_peaks(
    y: np.ndarray, lag: int, threshold: float, influence: float
) -> ZScoreResult:
    """Offline smoothed z-score detection of a whole 1-D signal (see module docstring)."""
    return ZScoreDetector(ZScoreParams(lag, threshold, influence)).push(y)
