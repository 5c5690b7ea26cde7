"""Tap contacts in video: where a hand's approach ends and it stays.

A tapping hand sweeps in, decelerates and rests on the skin; the sEMG artefact is at
contact, which is where the hand's motion *stops* — not where it peaks (50–100 ms
earlier). So a contact is found as the end of a run of motion in a hand-sized region,
followed by stillness, after which the region looks different from before the run
(something arrived and stayed). The hand leaving the picture, or passing through a
region on its way, also ends a run of motion, but the region then looks as it did
before: no contact.

Timing, per contact (rows ``r`` = the region's centre row; :mod:`.exposure`): the last
moving frame pair ``(b, b+1)`` says the hand moved visibly within frame ``b``'s window
of those rows, and the still pair after it says it did not within frame ``b+1``'s; a
frame shows motion only when the hand moved for more than ``δ`` of its window (a
little, growing with the exposure), so contact ∈ ``[start_b(r) + δ, start_{b+1}(r) + δ]``,
widened by δ's spread. These brackets, at random phases of the frame
clock, are what the interval fit combines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter

from mimicsync.sync.brackets import VideoOnsets
from mimicsync.sync.exposure import Exposure
from mimicsync.sync.video_cells import CellScan, _cells_in
from mimicsync.sync.video_events import Box, Trace


@dataclass(frozen=True)
class ArrivalParams:
    """Settings of :func:`contacts`."""

    pool: int = 3  # motion cells per region side (about a hand at the default size)
    noise_k: float = 6.0  # moving = pooled motion above median + noise_k robust σ
    min_run: int = 2  # frame pairs of approach at least
    quiet: int = 3  # still frame pairs after the contact at least (the hand rests)
    min_change: float = 5.0  # grey levels the region must differ by, after vs before
    separation_s: float = 0.25  # contacts closer than this are one
    sigma_s: float = 0.001  # timing noise of a contact (skin compliance, region rows)
    # motion too small to see: a frame shows the hand moving only if it moved for more
    # than δ = delay_s + delay_per_exposure·exposure of its window (± spread_s +
    # spread_per_exposure·exposure), measured on the simulated camera's recorded (JPEG)
    # frames at 2–30 ms exposure (the contact bias against the LED: within ±1 ms)
    delay_s: float = 0.0015
    delay_per_exposure: float = 0.18
    spread_s: float = 0.0005
    spread_per_exposure: float = 0.1


@dataclass(frozen=True)
class Contacts:
    onsets: VideoOnsets  # contact brackets, video clock
    strength: np.ndarray  # grey-level change the arrival left (votes: the clearest)
    trace: Trace  # strongest pooled motion per frame pair (for the report)
    rows: np.ndarray  # full-resolution row of each contact's region


def _pooled(sc: CellScan, exclude: Box | None, roi: Box | None, pool: int):
    n1, rows, cols = sc.motion.shape
    keep = np.ones(rows * cols, bool)
    cell_px = sc.scale * sc.motion_cell
    if roi is not None:
        keep[:] = False
        keep[_cells_in(roi, cell_px, rows, cols)] = True
    if exclude is not None:
        x0, y0, x1, y1 = exclude
        keep[_cells_in((x0 - cell_px, y0 - cell_px, x1 + cell_px, y1 + cell_px), cell_px,
                       rows, cols)] = False
    m = sc.motion * keep.reshape(1, rows, cols)
    return uniform_filter(m, size=(1, pool, pool), mode="constant"), keep.reshape(rows, cols)


def _change(sc: CellScan, usual: np.ndarray, i: int, j: int, pool: int, f0: int | None,
            f1: int) -> float:
    """How much more region (i, j) departs from its usual look (``usual``: the median
    frame) in frame f1 than in frame f0, gain-compensated: an arrival (the scene was as
    usual, now something stays) scores high, a departure (the hand leaves) negative."""
    r = sc.motion_cell // sc.light_cell
    h = pool // 2
    a0, a1 = max(0, (i - h) * r), (i + h + 1) * r
    b0, b1 = max(0, (j - h) * r), (j + h + 1) * r
    ref = usual[a0:a1, b0:b1]
    out = []
    for f in (f0, f1):
        if f is None:  # unseen (frames dropped): take it as usual
            out.append(0.0)
            continue
        x = sc.light[f]
        g = float(np.median(x)) / max(float(np.median(usual)), 1e-6)
        out.append(float(np.abs(x[a0:a1, b0:b1] - g * ref).mean()))
    return out[1] - out[0]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    m = np.concatenate(([False], mask, [False])).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1))


def contacts(sc: CellScan, exp: Exposure, *, exclude: Box | None = None,
             roi: Box | None = None, p: ArrivalParams = ArrivalParams()) -> Contacts:
    """Tap contacts in a scanned video (module docstring); times on the video clock."""
    m, keep = _pooled(sc, exclude, roi, p.pool)
    n1, rows, cols = m.shape
    flat = m.reshape(n1, -1)
    mid = (exp.clock[1:] + exp.clock[:-1]) / 2
    trace = Trace(mid, flat.max(axis=1) if flat.size else np.zeros(n1), roi or (0, 0, 0, 0),
                  int(round(sc.scale)), exp.clock.copy())
    if n1 < p.min_run + p.quiet + 2:
        return Contacts(VideoOnsets.empty(), np.zeros(0), trace, np.zeros(0))
    med = np.median(flat, axis=0)
    sig = 1.4826 * np.median(np.abs(flat - med), axis=0)
    moving = flat > med + np.maximum(p.noise_k * sig, 0.3)
    # a pair across dropped frames is no motion measurement: runs end there, and a run
    # that starts right after it has an unseen beginning
    frame = float(np.median(np.diff(exp.clock)))
    gaps = set(np.flatnonzero(np.diff(exp.clock) > 1.5 * frame).tolist())
    moving[sorted(gaps), :] = False
    region = uniform_filter(keep.astype(float), p.pool, mode="constant").ravel() > 0.5
    usual = np.median(sc.light[:: max(1, len(sc.light) // 600)], axis=0)
    cand = []  # (strength, b, region index)
    for g in np.flatnonzero(region & moving.any(axis=0)):
        i, j = divmod(int(g), cols)
        for a, b in _runs(moving[:, g]):
            if (b - a + 1 < p.min_run and a - 1 not in gaps) or a < 1 or b + p.quiet >= n1:
                continue
            if moving[b + 1:b + 1 + p.quiet, g].any():
                continue
            ch = _change(sc, usual, i, j, p.pool, None if a - 1 in gaps else a - 1, b + 2)
            if ch >= p.min_change:
                cand.append((ch, b, g))
    return _collect(cand, sc, exp, p, cols, trace)


def _delay(p: ArrivalParams, exposure: float | None, frame: float) -> tuple[float, float]:
    """(δ, its spread): how long the hand must move within a frame's window to show.
    Unknown exposure (no metadata): anywhere from 0 to a frame, so the middle ± half."""
    if exposure is None:
        lo, hi = _delay(p, 0.0, frame), _delay(p, frame, frame)
        return (lo[0] + hi[0]) / 2, (hi[0] - lo[0]) / 2 + hi[1]
    return p.delay_s + p.delay_per_exposure * exposure, p.spread_s + p.spread_per_exposure * exposure


def _collect(cand: list, sc: CellScan, exp: Exposure, p: ArrivalParams, cols: int,
             trace: Trace) -> Contacts:
    """Strongest candidate per contact, then its bracket from the exposure windows."""
    frame = float(np.median(np.diff(exp.clock))) if exp.clock.size > 1 else 1 / 30
    sep = max(1, int(round(p.separation_s / frame)))
    taken: list[tuple[float, int, int]] = []
    for ch, b, g in sorted(cand, reverse=True):
        if all(abs(b - tb) > sep for _, tb, _ in taken):
            taken.append((ch, b, g))
    taken.sort(key=lambda x: x[1])
    n = len(taken)
    lo, hi, row = np.zeros(n), np.zeros(n), np.zeros(n)
    for k, (_, b, g) in enumerate(taken):
        # the first rows of the region read out are the first to show the hand still
        # moving (and the last to show it still): its upper part, where the hand is
        cell = sc.motion_cell * sc.scale
        top = max(0.0, (g // cols - p.pool // 2) * cell)
        row[k] = top + 0.25 * p.pool * cell
        rows_u = exp.readout * 0.25 * p.pool * cell / max(exp.height, 1)
        start = exp.start(row[k])
        d0, u0 = _delay(p, exp.exposure[b] if exp.known else None, frame)
        d1, u1 = _delay(p, exp.exposure[b + 1] if exp.known else None, frame)
        lo[k] = start[b] + d0 - u0 - rows_u
        hi[k] = start[b + 1] + d1 + u1 + rows_u
    onsets = VideoOnsets((lo + hi) / 2, lo, hi, np.zeros(n, bool), np.full(n, p.sigma_s))
    return Contacts(onsets, np.array([c for c, _, _ in taken]), trace, row)


def strong(strength: np.ndarray, min_fraction: float) -> np.ndarray:
    """Which tap candidates are clear enough to vote on the alignment: a change at least
    ``min_fraction`` of the typical contact's (median of the largest quarter, at least
    three). An expression's onset also leaves a region changed, usually less than a hand."""
    if strength.size == 0:
        return np.zeros(0, bool)
    top = np.sort(strength)[::-1][: max(3, strength.size // 4)]
    return strength >= min_fraction * max(float(np.median(top)), 1e-12)
