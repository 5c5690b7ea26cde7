"""Clock level: map a stream's timestamps onto the recorder's clock from stored offsets.

During recording the recorder measures each stream's clock offset with LSL
``time_correction`` every few seconds and stores pairs ``(time, offset)``, ``time`` in
the stream's own clock. The offset drifts linearly (the two crystals run at slightly
different rates), so one robust line per clock segment gives offset and drift; a
segment ends where the stream's clock was reset (source computer restarted, device
re-plugged). Detection and fit follow pyxdf's ``_clock_sync`` / ``_detect_clock_resets``
so results are comparable with files read by pyxdf.

Raw timestamps are never changed: :meth:`ClockFit.correct` returns a new array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mimicsync.sync.robust import huber_line


def segment_bounds(breaks: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``(start, end)`` index ranges between breaks.

    ``breaks[i]`` is True when there is a break between element ``i`` and ``i + 1``
    (so ``len(breaks)`` is one less than the number of elements).
    """
    at = np.flatnonzero(breaks)
    starts = np.concatenate(([0], at + 1))
    ends = np.concatenate((at, [len(breaks)]))
    return list(zip(starts.tolist(), ends.tolist()))


def _glitches(d: np.ndarray, thresh_mads: float, thresh_abs: float) -> np.ndarray:
    """Steps that are outliers both relative to the MAD and in absolute size.

    The MAD here is *unscaled* (no 1.4826 factor), as in pyxdf, so the same
    threshold numbers mean the same thing.
    """
    dev = d - np.median(d)
    scale = np.median(np.abs(dev)) + np.finfo(float).eps
    return (np.abs(dev) / scale > thresh_mads) & (np.abs(dev) > thresh_abs)


def detect_clock_resets(
    times: np.ndarray,
    offsets: np.ndarray,
    *,
    time_thresh_mads: float = 5.0,
    time_thresh_s: float = 5.0,
    offset_thresh_mads: float = 10.0,
    offset_thresh_s: float = 1.0,
) -> list[tuple[int, int]]:
    """Split clock-offset measurements into segments of one unbroken clock.

    A reset is where the measurement time goes backwards, or where *both* the time
    step and the offset step are outliers (a jump in the stream's clock shows up in
    both). Returns inclusive ``(start, end)`` index ranges into ``times``.
    """
    times = np.asarray(times, dtype=float)
    offsets = np.asarray(offsets, dtype=float)
    if times.size < 2:
        raise ValueError("two or more clock offsets are required for reset detection")
    dt = np.diff(times)
    dv = np.diff(offsets)
    resets = (dt < 0) | (
        _glitches(dt, time_thresh_mads, time_thresh_s)
        & _glitches(dv, offset_thresh_mads, offset_thresh_s)
    )
    return segment_bounds(resets)


def _boundary(rest: np.ndarray, end_t: float, next_t: float) -> int:
    """Number of samples in ``rest`` that still belong to the segment ending at ``end_t``.

    Normally the first sample nearer to the next segment's first measurement
    (``next_t``) than to this segment's last one (pyxdf's rule). When the clock jumped
    *backwards*, that rule would hand every sample to the next segment, so there the
    boundary is the first backward step of at least half the jump.
    """
    jump_back = end_t - next_t
    if jump_back > 0:
        back = np.flatnonzero(np.diff(rest) < -0.5 * jump_back)
        if back.size:
            return int(back[0]) + 1
    nearer_next = np.abs(rest - end_t) >= np.abs(rest - next_t)
    return int(np.argmax(nearer_next)) if nearer_next.any() else len(rest)


@dataclass(frozen=True)
class ClockSegment:
    """One unbroken clock: ``offset(t) = intercept + slope·t`` for offsets ``start..end``."""

    start: int  # first clock-offset index (inclusive)
    end: int  # last clock-offset index (inclusive)
    intercept: float  # s
    slope: float  # s of offset per s of stream clock (the drift)

    @property
    def drift_ppm(self) -> float:
        return self.slope * 1e6

    def offset_at(self, t: np.ndarray | float) -> np.ndarray:
        return self.intercept + self.slope * np.asarray(t, dtype=float)


@dataclass(frozen=True)
class ClockFit:
    """Per-segment offset lines of one stream, plus the measurements they came from."""

    segments: tuple[ClockSegment, ...]
    times: np.ndarray  # clock-offset measurement times (stream clock), s
    offsets: np.ndarray  # measured offsets, s

    def _assign(self, ts: np.ndarray) -> list[tuple[ClockSegment, int, int]]:
        """``(segment, first, stop)`` per clock segment, ``stop`` exclusive, maybe empty."""
        out = []
        start = 0
        for k, seg in enumerate(self.segments):
            if k + 1 < len(self.segments):
                end_t = self.times[seg.end]
                next_t = self.times[self.segments[k + 1].start]
                stop = start + _boundary(ts[start:], end_t, next_t)
            else:
                stop = len(ts)
            out.append((seg, start, stop))
            start = stop
        return out

    def segment_ranges(self, timestamps: np.ndarray) -> list[tuple[ClockSegment, int, int]]:
        """``(segment, first, last)`` (inclusive) for each clock segment that gets samples."""
        ts = np.asarray(timestamps, dtype=float)
        return [(seg, a, b - 1) for seg, a, b in self._assign(ts) if b > a]

    def sample_segments(self, timestamps: np.ndarray) -> list[tuple[int, int]]:
        """Which samples belong to which clock segment: inclusive index ranges.

        Assumes timestamps increase within a segment. The boundary after a segment is
        the first remaining sample that is nearer to the next segment's first
        measurement time than to this segment's last one (pyxdf's rule), or, after a
        backward clock jump, the jump itself (see :func:`_boundary`). Segments that
        get no samples are left out.
        """
        ts = np.asarray(timestamps, dtype=float)
        return [(a, b - 1) for _, a, b in self._assign(ts) if b > a]

    def correct(self, timestamps: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """Timestamps on the recorder's clock (a new array) and their segment ranges."""
        ts = np.asarray(timestamps, dtype=float)
        out = ts.copy()
        for seg, a, b in self._assign(ts):
            out[a:b] += seg.offset_at(ts[a:b])
        return out, self.sample_segments(ts)

    @property
    def drift_ppm(self) -> np.ndarray:
        return np.array([s.drift_ppm for s in self.segments])


def fit_clock_offsets(
    times: np.ndarray,
    offsets: np.ndarray,
    *,
    handle_resets: bool = True,
    huber_delta_s: float = 1e-4,
    time_thresh_mads: float = 5.0,
    time_thresh_s: float = 5.0,
    offset_thresh_mads: float = 10.0,
    offset_thresh_s: float = 1.0,
) -> ClockFit:
    """Robust offset-and-drift line per clock segment from ``(time, offset)`` pairs.

    Each segment gets a Huber-loss line (threshold ``huber_delta_s``, pyxdf's
    ``winsor_threshold``: offsets within 0.1 ms of the line count fully, a late
    reply counts only linearly). A one-measurement segment gets its offset and no drift.
    """
    t = np.asarray(times, dtype=float)
    v = np.asarray(offsets, dtype=float)
    if t.shape != v.shape or t.ndim != 1 or t.size == 0:
        raise ValueError("times and offsets must be 1-D arrays of the same, non-zero length")
    if handle_resets and t.size > 1:
        bounds = detect_clock_resets(
            t, v,
            time_thresh_mads=time_thresh_mads, time_thresh_s=time_thresh_s,
            offset_thresh_mads=offset_thresh_mads, offset_thresh_s=offset_thresh_s,
        )
    else:
        bounds = [(0, t.size - 1)]
    segs = []
    for a, b in bounds:
        if a == b:
            segs.append(ClockSegment(a, b, float(v[a]), 0.0))
        else:
            icpt, slope = huber_line(t[a : b + 1], v[a : b + 1], huber_delta_s)
            segs.append(ClockSegment(a, b, icpt, slope))
    return ClockFit(tuple(segs), t.copy(), v.copy())
