"""Clock level for a whole recording: each stream's raw timestamps → the recorder clock.

The result per stream is a list of straight pieces ``t = intercept + slope·x`` over
ranges of samples, where ``x`` is what the piece is a line of:

- ``index``: the sample number (regular-rate streams: dejittered, then clock-corrected;
  the composition of two lines is a line, so one piece per dejitter-and-clock segment);
- ``timestamp``: the raw LSL timestamp (irregular streams: clock correction only);
- ``device_time``: the camera's device time in seconds (video frames and the frame-index
  stream: never dejittered, mapped through the device clock, see :mod:`.frame_times`).

Stored offsets are rows ``[recorder time, offset]`` (what the recorder measures with
``time_correction``). pyxdf fits offsets against the *sender's* time (XDF's collection
time is ``receiver time − offset``), and the fitted line is applied to sender
timestamps, so the times are converted first: fitting against the receiver time would
be off by ``drift × offset``, a whole second for two computers whose LSL clocks (time
since boot) differ by a day and drift by 10 ppm.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mimicsync.format import FRAME_BASE_COLUMNS, frame_column
from mimicsync.sync.clock import ClockFit, fit_clock_offsets
from mimicsync.sync.dejitter import dejitter_timestamps
from mimicsync.sync.frame_times import FrameTimes, frame_times

BASES = ("index", "timestamp", "device_time", "sensor_time")


@dataclass(frozen=True)
class StreamMap:
    """Piecewise-linear map of one stream's samples onto a timeline."""

    basis: str  # one of BASES
    pieces: np.ndarray  # (k, 4) float64: first sample, last sample, intercept s, slope
    n: int  # samples covered
    method: str  # how it was made, e.g. "clock offsets + dejitter"
    clock_drift_ppm: tuple[float, ...] = ()  # per clock segment, from the offsets
    clock_resets: int = 0

    def times(self, x: np.ndarray) -> np.ndarray:
        """Times of samples ``0..n-1`` given their basis values ``x`` (ignored for index)."""
        return evaluate(self.pieces, self.basis, np.asarray(x, dtype=float), self.n)

    def then(self, scale: float, shift: float) -> "StreamMap":
        """This map followed by ``t ↦ shift + scale·t`` (e.g. an event-level correction)."""
        p = self.pieces.copy()
        p[:, 2] = shift + scale * p[:, 2]
        p[:, 3] = scale * p[:, 3]
        return StreamMap(self.basis, p, self.n, self.method, self.clock_drift_ppm,
                         self.clock_resets)


def evaluate(pieces: np.ndarray, basis: str, x: np.ndarray, n: int) -> np.ndarray:
    """Times of ``n`` samples from stored pieces (:class:`StreamMap` without the object)."""
    out = np.full(n, np.nan)
    idx = np.arange(n, dtype=float)
    for first, last, icpt, slope in np.asarray(pieces, dtype=float).reshape(-1, 4):
        a, b = int(first), min(int(last), n - 1)
        if b < a:
            continue
        if basis == "index":
            out[a : b + 1] = icpt + slope * (idx[a : b + 1] - first)
        else:
            out[a : b + 1] = icpt + slope * x[a : b + 1]
    return out


def fit_offsets(clock_offsets: np.ndarray) -> ClockFit | None:
    """Robust offset lines from stored ``[recorder time, offset]`` rows (None if none)."""
    offs = np.asarray(clock_offsets, dtype=float).reshape(-1, 2)
    offs = offs[np.all(np.isfinite(offs), axis=1)]
    if offs.shape[0] == 0:
        return None
    return fit_clock_offsets(offs[:, 0] - offs[:, 1], offs[:, 1])


def map_stream(time_stamps: np.ndarray, clock_offsets: np.ndarray, srate: float,
               can_drop_samples: bool = False) -> StreamMap:
    """Clock level for one LSL stream (not for video frames: see :func:`map_frames`)."""
    ts = np.asarray(time_stamps, dtype=float)
    n = ts.size
    fit = fit_offsets(clock_offsets)
    drift = tuple(float(x) for x in fit.drift_ppm) if fit else ()
    resets = len(fit.segments) - 1 if fit else 0
    if n == 0:
        return StreamMap("timestamp", np.zeros((0, 4)), 0, "empty", drift, resets)
    # (offset intercept, offset slope, first, last) per clock segment with samples
    clock = ([(s.intercept, s.slope, a, b) for s, a, b in fit.segment_ranges(ts)] if fit
             else [(0.0, 0.0, 0, n - 1)])
    pieces = []
    if srate <= 0 or can_drop_samples or n == 1:
        # corrected = ts + icpt + slope·ts
        pieces = [(a, b, icpt, 1.0 + slope) for icpt, slope, a, b in clock]
        method = "clock offsets" if fit else "raw timestamps (no clock offsets)"
        return StreamMap("timestamp", np.array(pieces, float).reshape(-1, 4), n, method, drift,
                         resets)
    dj = dejitter_timestamps(ts, srate)
    for da, db in dj.segments:
        for icpt, slope, ca, cb in clock:
            a, b = max(da, ca), min(db, cb)
            if a > b:
                continue
            t0 = dj.times[a]
            step = (dj.times[b] - t0) / (b - a) if b > a else 1.0 / srate
            # corrected(t) = t + icpt + slope·t is a line in t, and t is a line in i
            pieces.append((a, b, t0 + icpt + slope * t0, step * (1.0 + slope)))
    method = "clock offsets + dejitter" if fit else "dejitter (no clock offsets)"
    return StreamMap("index", np.array(pieces, float).reshape(-1, 4), n, method, drift, resets)


def map_frames(frames: np.ndarray, columns: tuple[str, ...] = FRAME_BASE_COLUMNS,
               basis: str | None = None) -> tuple[StreamMap, FrameTimes | None]:
    """Clock level for video frames (``/video/frames`` rows) through the device clock.

    The device times are the sensor timestamps (middle of the first row's exposure) when
    every frame has one (basis ``sensor_time``), else the frame timestamps (basis
    ``device_time``); ``basis`` forces one. Falls back to the host arrival times (basis
    ``timestamp`` on the host time column, slope 1) when the device times cannot be used.
    """
    return map_frames_on(frames, columns, (basis,))[0]


def map_frames_on(frames: np.ndarray, columns: tuple[str, ...],
                  bases: tuple[str | None, ...]) -> list[tuple[StreamMap, FrameTimes | None]]:
    """:func:`map_frames` for each of ``bases``, from one fit of the device clock to host
    arrival (the fit is the costly part; a basis only reads the line at other instants)."""
    fr = np.asarray(frames, dtype=float)
    n = fr.shape[0] if fr.ndim == 2 else 0
    col = lambda name: frame_column(fr.reshape(n, -1), columns, name)  # noqa: E731
    if n < 2:
        return [(StreamMap("timestamp", np.array([[0, max(n - 1, 0), 0.0, 1.0]]), n,
                           "host arrival times"), None) for _ in bases]
    try:
        # host arrival follows the end of exposure (frame timestamp), not its middle: fit
        # against that, then read the line at the sensor timestamps (auto exposure moves
        # the middle, and would otherwise tilt the fit)
        fitted = frame_times(col("host_time"), col("device_time_ms"), col("device_index"))
    except ValueError:
        return [(StreamMap("timestamp", np.array([[0, n - 1, 0.0, 1.0]]), n,
                           "host arrival times"), None) for _ in bases]
    pieces = np.array([(s.start, s.end, s.intercept, s.slope) for s in fitted.segments], float)
    out = []
    for basis in bases:
        if basis is None:
            basis = "sensor_time" if np.all(np.isfinite(col("sensor_time_ms"))) else "device_time"
        ft = fitted
        if basis == "sensor_time":
            ft = replace(fitted, times=evaluate(pieces, basis, col("sensor_time_ms") / 1000.0, n))
        what = "sensor (mid-exposure)" if basis == "sensor_time" else "device"
        out.append((StreamMap(basis, pieces, n, f"{what} clock fitted to host arrival"), ft))
    return out
