"""Shared event-extraction steps: flagged runs → events → sub-sample onset times.

EMG taps, video taps and LED/trigger edges all end the same way: a detector flags
samples, nearby flags are one event, and the event's onset is refined to a fraction of
a sample by linear interpolation of where the signal crosses a level on its rising edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mimicsync.sync.robust import robust_sigma


def flag_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of runs of True in ``mask``."""
    m = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    d = np.diff(m.astype(np.int8))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def merge_runs(starts: np.ndarray, ends: np.ndarray, min_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Join runs separated by fewer than ``min_gap`` samples (a refractory period)."""
    if starts.size == 0:
        return starts, ends
    new = np.concatenate(([True], starts[1:] - ends[:-1] >= min_gap))
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, starts.size - 1)
    return starts[first], ends[last]


def rising_crossing(y: np.ndarray, level: float, lo: int, hi: int) -> float:
    """Fractional index where ``y`` last rises through ``level`` in ``[lo, hi]``.

    Searches backwards from ``hi`` (where ``y[hi] >= level``) for the last sample below
    ``level`` and interpolates linearly between it and the next one. Returns ``lo`` if
    ``y`` never falls below ``level`` in the range.
    """
    below = np.flatnonzero(y[lo : hi + 1] < level)
    if below.size == 0:
        return float(lo)
    j = lo + int(below[-1])
    if j >= hi:
        return float(hi)
    y0, y1 = float(y[j]), float(y[j + 1])
    return j + (level - y0) / (y1 - y0)


def index_to_time(index: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """Times of fractional sample indices, interpolated between the given timestamps."""
    ts = np.asarray(timestamps, dtype=float)
    return np.interp(np.asarray(index, dtype=float), np.arange(ts.size), ts)


@dataclass(frozen=True)
class Events:
    """Events found in a 1-D envelope, one entry per event (all arrays the same length)."""

    onset_index: np.ndarray  # fractional sample index of the refined onset
    first_flag: np.ndarray  # first sample the detector flagged
    peak_index: np.ndarray
    peak: np.ndarray  # envelope value at the peak
    baseline: np.ndarray  # median envelope before the event


def envelope_events(
    env: np.ndarray,
    flags: np.ndarray,
    *,
    merge_gap: int,
    peak_search: int,
    baseline_len: int,
    guard: int = 1,
    onset_fraction: float = 0.5,
) -> Events:
    """Turn detector flags on a non-negative envelope into refined events.

    - flags closer than ``merge_gap`` samples are one event (the detector flickers
      on and off within one tap);
    - peak: the maximum within ``peak_search`` samples from the first flag;
    - baseline: median of the ``baseline_len`` samples ending ``guard`` before it;
    - onset: where the envelope last rises through
      ``baseline + onset_fraction·(peak − baseline)`` before the peak (sub-sample).
    """
    env = np.asarray(env, dtype=float)
    starts, ends = merge_runs(*flag_runs(flags), merge_gap)
    n = env.size
    out = {k: np.empty(starts.size) for k in ("onset", "peak_i", "peak", "base")}
    for k, s in enumerate(starts):
        p = s + int(np.argmax(env[s : min(n, s + peak_search)]))
        b0, b1 = max(0, s - guard - baseline_len), max(0, s - guard)
        base = float(np.median(env[b0:b1])) if b1 > b0 else float(env[s])
        level = base + onset_fraction * (env[p] - base)
        out["onset"][k] = rising_crossing(env, level, b0 if b1 > b0 else 0, p)
        out["peak_i"][k], out["peak"][k], out["base"][k] = p, env[p], base
    return Events(out["onset"], starts, out["peak_i"].astype(int), out["peak"], out["base"])


def rising_edges(
    x: np.ndarray,
    timestamps: np.ndarray,
    *,
    threshold: float | None = None,
    min_interval_s: float = 0.05,
    min_contrast: float | None = None,
    falling: bool = False,
) -> np.ndarray:
    """Times where a two-level signal (trigger line, LED brightness) switches on
    (or off, with ``falling``).

    The default threshold is halfway between the low level (median) and the high level
    (maximum); with equal exposure for both levels, the linearly interpolated 50 %
    crossing is the best sub-sample estimate of the switch. No edges are returned when
    the high level is not ``min_contrast`` above the low one (default: 8 noise σ,
    noise from the MAD of the sample-to-sample differences). Edges within
    ``min_interval_s`` of the previous one are bounces and dropped.
    """
    x = np.asarray(x, dtype=float)
    ts = np.asarray(timestamps, dtype=float)
    if x.size < 2:
        return np.empty(0)
    lo, hi = float(np.median(x)), float(np.max(x))
    if min_contrast is None:
        min_contrast = 8 * robust_sigma(np.diff(x)) / np.sqrt(2)
    if hi - lo <= min_contrast:
        return np.empty(0)
    level = (lo + hi) / 2 if threshold is None else float(threshold)
    if falling:
        i = np.flatnonzero((x[:-1] >= level) & (x[1:] < level))
    else:
        i = np.flatnonzero((x[:-1] < level) & (x[1:] >= level))
    frac = i + (level - x[i]) / (x[i + 1] - x[i])
    t = index_to_time(frac, ts)
    return t[refractory_keep(t, min_interval_s)]


def falling_edges(
    x: np.ndarray,
    timestamps: np.ndarray,
    *,
    threshold: float | None = None,
    min_interval_s: float = 0.05,
    min_contrast: float | None = None,
) -> np.ndarray:
    """Times where the two-level signal switches off again (see :func:`rising_edges`).

    The end of a pulse is as sharp as its start, so it is a second, independent event.
    """
    return rising_edges(x, timestamps, threshold=threshold, min_interval_s=min_interval_s,
                        min_contrast=min_contrast, falling=True)


def refractory_keep(t: np.ndarray, min_interval: float) -> np.ndarray:
    """Mask keeping each event unless it follows the last *kept* one within ``min_interval``."""
    keep = np.ones(len(t), dtype=bool)
    last = -np.inf
    for k, tk in enumerate(t):  # sequential by nature: compares with the last kept event
        keep[k] = tk - last >= min_interval
        if keep[k]:
            last = tk
    return keep
