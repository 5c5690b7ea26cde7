"""Dejitter regularly sampled streams: one straight time line per gap-free segment.

LSL stamps samples when chunks arrive, so an amplifier running at a fixed rate gets
timestamps with transport jitter. Within a segment without gaps the true sample times
lie on a line ``t0 + i/fs_eff``; a least-squares line through the stamps removes the
jitter. Gaps (the amplifier paused, a cable came loose) start a new segment, as in
pyxdf's ``_jitter_removal``.

Streams that can drop samples (the video frame-index stream) must not be handled this
way: a straight line over sample *indices* would squeeze every dropped frame out of
the time axis. Their times come from device timestamps (:mod:`.frame_times`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np

from mimicsync.sync.clock import segment_bounds


def detect_breaks(
    timestamps: np.ndarray,
    srate: float,
    *,
    threshold_s: float = 1.0,
    threshold_samples: int = 500,
) -> np.ndarray:
    """``breaks[i]`` True where the step from sample ``i`` to ``i+1`` is a gap.

    A gap is a step (either direction) longer than ``threshold_s`` and than
    ``threshold_samples`` sample periods (pyxdf's rule).
    """
    limit = max(threshold_s, threshold_samples / srate)
    return np.abs(np.diff(np.asarray(timestamps, dtype=float))) > limit


@dataclass(frozen=True)
class Dejittered:
    """Regularised timestamps of one stream (the raw ones are left untouched)."""

    times: np.ndarray  # new array, same length as the input
    segments: list[tuple[int, int]]  # inclusive sample ranges, one line each
    effective_srate: float  # samples per second measured over all segments (0 if unknown)


def _segment_ids(n: int, segments: list[tuple[int, int]]) -> np.ndarray:
    starts = np.array([a for a, _ in segments])
    return np.repeat(np.arange(len(segments)), np.diff(np.append(starts, n)))


def dejitter_timestamps(
    timestamps: np.ndarray,
    srate: float,
    *,
    can_drop_samples: bool = False,
    threshold_s: float = 1.0,
    threshold_samples: int = 500,
) -> Dejittered:
    """Least-squares line through the timestamps of each gap-free segment.

    ``srate`` is the nominal rate; 0 (irregular stream) or ``can_drop_samples`` returns
    the timestamps unchanged as one segment, like pyxdf. All segments are fitted at
    once with per-segment sums (no Python loop over samples).
    """
    ts = np.asarray(timestamps, dtype=float)
    n = ts.size
    if n == 0:
        return Dejittered(ts.copy(), [], 0.0)
    if srate <= 0 or can_drop_samples or n == 1:
        dur = ts[-1] - ts[0]
        eff = (n - 1) / dur if (can_drop_samples and n > 1 and dur > 0) else 0.0
        return Dejittered(ts.copy(), [(0, n - 1)], eff)
    segments = segment_bounds(detect_breaks(ts, srate, threshold_s=threshold_s,
                                            threshold_samples=threshold_samples))
    seg = _segment_ids(n, segments)
    starts = np.array([a for a, _ in segments])
    counts = np.bincount(seg).astype(float)
    idx = np.arange(n, dtype=float) - starts[seg]  # index within the segment
    rel = ts - ts[starts][seg]  # time since the segment's first stamp: keeps precision
    i_mean = (counts - 1) / 2
    t_mean = np.bincount(seg, rel) / counts
    di = idx - i_mean[seg]
    sxx = counts * (counts**2 - 1) / 12  # sum of squared centred indices 0..m-1
    sxy = np.bincount(seg, di * (rel - t_mean[seg]))
    slope = np.divide(sxy, sxx, out=np.zeros_like(sxy), where=sxx > 0)
    times = ts[starts][seg] + t_mean[seg] + slope[seg] * di
    multi = counts > 1
    dur = (slope * (counts - 1))[multi].sum()
    eff = float((counts[multi] - 1).sum() / dur) if dur > 0 else 0.0
    return Dejittered(times, segments, eff)


def stream_can_drop_samples(info_xml: str) -> bool:
    """True if a stream's XML description says it may drop samples.

    Accepts the XDF convention ``<desc><synchronization><can_drop_samples>`` and the
    shorter ``<desc><can_drop_samples>`` that mimicsync's camera streamer writes.
    """
    try:
        root = ET.fromstring(info_xml)
    except ET.ParseError:
        return False
    for path in ("./desc/synchronization/can_drop_samples", "./desc/can_drop_samples"):
        v = root.findtext(path)
        if v is not None and v.strip().lower() == "true":
            return True
    return False
