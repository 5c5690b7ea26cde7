"""Match two event-time sequences (e.g. EMG taps and video taps) and fit their clocks.

Either side may miss events or have extra ones (a facial movement that looked like a
tap). The model is ``t_b = t_a + offset + drift·(t_a − t_ref)``.

1. Hypotheses: every pairing ``(a_i, b_j)`` within ``max_offset_s`` proposes an offset
   (drift 0); every two pairings at least ``min_pair_span_s`` apart (in order, with a
   drift within ``max_drift_ppm``) propose an offset and a drift. Past
   ``max_hypotheses`` the two-pairing ones are subsampled (seeded: results repeat).
2. Consensus: for each hypothesis, every ``a`` is paired with the nearest predicted
   ``b``; one-to-one pairs within ``tolerance_s`` are inliers. The score is
   ``Σ (1 − (r/tolerance)²)`` over inliers (a count that prefers tight fits).
3. Fit: least squares on the best hypothesis' inliers: offset and drift when the
   inliers span at least ``min_drift_span_s`` and the drift's standard error (residual
   spread, at least a tenth of the tolerance, over the events' spread in time) is at
   most ``max_drift_se_ppm``; otherwise offset only, with the drift fixed at
   ``prior_drift_ppm`` (0: after the clock level both streams are on the recorder's
   clock). Inliers are re-collected with the fitted model until stable.

Confidence (in [0, 1]) is the product of three factors:

- support ``1 − 0.5^(n−1)`` for ``n`` matched events (1 → 0, 2 → 0.5, 3 → 0.75, 6 → 0.97);
- uniqueness ``1 − exp(−(n − n₂))``, where ``n₂`` is the inlier count of the best
  hypothesis that predicts differently by more than the tolerance somewhere in the
  events' span (e.g. the alignment shifted by one tap): a tie gives 0;
- precision ``exp(−(rms / (0.3·tolerance))²)`` of the residual RMS (matches that are
  only chance coincidences spread over the whole tolerance and score near 0).

Below ``min_confidence`` :func:`match_events` raises :class:`SyncRefused`, whose
``reason`` says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mimicsync.errors import ErrorCode, MimicsyncError
from mimicsync.sync import linear_map
from mimicsync.sync.robust import line_fit

ADVICE = "tap the electrode area 3 times at the start and at the end of the recording and re-run"


@dataclass(frozen=True)
class Match:
    """How the clock of sequence ``b`` relates to that of ``a``, and the evidence."""

    offset_s: float  # t_b − t_a at t_ref
    drift_ppm: float  # extra seconds of b per second of a, × 1e6
    t_ref: float  # reference time on a's clock: the mean of the matched a times
    pairs: np.ndarray  # (k, 2) indices into the caller's a and b
    residuals_ms: np.ndarray  # per pair: t_b − predicted t_b, ms
    rejected_a: np.ndarray  # indices of a that matched nothing
    rejected_b: np.ndarray
    confidence: float
    runner_up: int  # inliers of the best different alignment (n₂ above)
    drift_fitted: bool  # False: drift fixed (too short a span)

    @property
    def n_matched(self) -> int:
        return len(self.pairs)

    @property
    def rms_ms(self) -> float:
        return float(np.sqrt(np.mean(self.residuals_ms**2))) if self.residuals_ms.size else float("nan")

    def to_b(self, t_a: np.ndarray | float) -> np.ndarray:
        """Times on a's clock expressed on b's clock."""
        return linear_map.forward(t_a, self.offset_s, self.drift_ppm, self.t_ref)

    def to_a(self, t_b: np.ndarray | float) -> np.ndarray:
        """Times on b's clock expressed on a's clock (inverse of :meth:`to_b`)."""
        return linear_map.inverse(t_b, self.offset_s, self.drift_ppm, self.t_ref)


class SyncRefused(MimicsyncError):
    """Too little or ambiguous evidence to synchronise; ``reason`` says what to do."""

    default_code = ErrorCode.REFUSED

    def __init__(self, reason: str, match: Match | None = None, *,
                 options: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(reason, options=options)
        self.reason = reason
        self.match = match


def _hypotheses(a, b, tol, max_offset, prior, max_drift, min_span, t_ref, budget, rng, ga, gb):
    """Candidate (offset, drift) pairs from one and from two pairings (same group only)."""
    ii, jj = np.nonzero((np.abs(b[None, :] - a[:, None] - prior) <= max_offset)
                        & (ga[:, None] == gb[None, :]))
    d = b[jj] - a[ii]
    offs = [d + 0.0]
    drifts = [np.zeros(d.size)]
    if d.size > 1:
        p, q = np.triu_indices(d.size, 1)
        span = a[ii[q]] - a[ii[p]]
        ok = (span >= min_span) & (b[jj[q]] > b[jj[p]])
        p, q, span = p[ok], q[ok], span[ok]
        dr = (d[q] - d[p]) / span
        ok = np.abs(dr) <= max_drift
        p, q, dr = p[ok], q[ok], dr[ok]
        if p.size > budget:
            pick = rng.choice(p.size, budget, replace=False)
            p, q, dr = p[pick], q[pick], dr[pick]
        offs.append(d[p] + dr * (t_ref - a[ii[p]]))
        drifts.append(dr)
    return np.concatenate(offs), np.concatenate(drifts)


def _inliers(a, b, off, drift, t_ref, tol, ga=None, gb=None):
    """Per hypothesis row: index of the nearest b (of a's group) for each a, residual,
    one-to-one inlier mask."""
    if ga is not None and np.unique(np.concatenate([ga, gb])).size > 1:
        j = np.zeros((off.size, a.size), int)
        r = np.full((off.size, a.size), np.inf)
        inl = np.zeros((off.size, a.size), bool)
        for g in np.unique(ga):
            ia, ib = np.flatnonzero(ga == g), np.flatnonzero(gb == g)
            if ib.size == 0:
                continue
            jg, rg, ing = _inliers(a[ia], b[ib], off, drift, t_ref, tol)
            j[:, ia], r[:, ia], inl[:, ia] = ib[jg], rg, ing
        return j, r, inl
    pred = a[None, :] + off[:, None] + drift[:, None] * (a[None, :] - t_ref)
    j = np.clip(np.searchsorted(b, pred), 1, max(1, b.size - 1))
    if b.size == 1:
        j = np.zeros_like(j)
    else:
        j = j - (np.abs(pred - b[j - 1]) <= np.abs(pred - b[j]))
    r = b[j] - pred
    inl = np.abs(r) <= tol
    # Nearest-b indices never decrease along a, so a b claimed twice is claimed by
    # neighbours: keep the closer one.
    dup = inl[:, 1:] & inl[:, :-1] & (j[:, 1:] == j[:, :-1])
    closer_first = np.abs(r[:, :-1]) <= np.abs(r[:, 1:])
    inl[:, 1:] &= ~(dup & closer_first)
    inl[:, :-1] &= ~(dup & ~closer_first)
    return j, r, inl


def _drift_is_determined(a, b, min_span, sigma_floor, max_se) -> bool:
    """Enough spread in time, and a small enough standard error, to fit a drift.

    The residual spread is taken as at least ``sigma_floor`` (two events fit any line
    exactly, and a few sub-frame onsets can look better than they are).
    """
    if a.size < 2 or np.ptp(a) < min_span:
        return False
    sxx = float(np.sum((a - a.mean()) ** 2))
    sigma = sigma_floor
    if a.size > 2:
        off, dr = line_fit(a, b - a)
        sigma = max(sigma, float(np.sqrt(np.sum((b - a - off - dr * a) ** 2) / (a.size - 2))))
    return sigma / np.sqrt(sxx) <= max_se


def _fit(a, b, ia, jb, t_ref, fit_drift, prior_drift):
    d = b[jb] - a[ia]
    if fit_drift:
        off, drift = line_fit(a[ia] - t_ref, d)
        return off, drift
    return float(np.mean(d - prior_drift * (a[ia] - t_ref))), prior_drift


def match_events(
    a: np.ndarray,
    b: np.ndarray,
    *,
    tolerance_s: float = 0.025,
    max_offset_s: float = 2.0,
    prior_offset_s: float = 0.0,
    max_drift_ppm: float = 500.0,
    prior_drift_ppm: float = 0.0,
    min_pair_span_s: float = 2.0,
    min_drift_span_s: float = 20.0,
    max_drift_se_ppm: float = 10.0,
    min_confidence: float = 0.35,
    max_hypotheses: int = 20000,
    names: tuple[str, str] = ("EMG", "video"),
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> Match:
    """Robustly pair events of ``a`` and ``b`` and fit ``offset`` + ``drift`` (module doc).

    Offsets are searched within ``prior_offset_s ± max_offset_s``. ``groups`` (one
    integer label per event of ``a`` and of ``b``) pairs events only within their group,
    so several kinds of event (trigger edges, taps) vote on one alignment together.
    Raises :class:`SyncRefused` when either side has no events or the confidence is
    below ``min_confidence`` (0 disables the refusal; the result then carries it).
    """
    a_in = np.asarray(a, dtype=float).ravel()
    b_in = np.asarray(b, dtype=float).ravel()
    for name, x in zip(names, (a_in, b_in)):
        if x.size == 0:
            raise SyncRefused(f"no taps found in the {name}; {ADVICE}")
    oa, ob = np.argsort(a_in, kind="stable"), np.argsort(b_in, kind="stable")
    a, b = a_in[oa], b_in[ob]
    if groups is None:
        ga, gb = np.zeros(a.size, int), np.zeros(b.size, int)
    else:
        ga, gb = np.asarray(groups[0]).ravel()[oa], np.asarray(groups[1]).ravel()[ob]
        if ga.size != a.size or gb.size != b.size:
            raise ValueError("groups need one label per event")
    t_ref = hyp_ref = float(np.mean(a))
    rng = np.random.default_rng(0)
    off, drift = _hypotheses(a, b, tolerance_s, max_offset_s, prior_offset_s,
                             max_drift_ppm * 1e-6, min_pair_span_s, t_ref, max_hypotheses, rng,
                             ga, gb)
    if off.size == 0:
        raise SyncRefused(f"no {names[1]} event lies within {max_offset_s:g} s of any "
                          f"{names[0]} event; {ADVICE}")
    _, r_all, inl_all = _inliers(a, b, off, drift, t_ref, tolerance_s, ga, gb)
    score = np.where(inl_all, 1.0 - (r_all / tolerance_s) ** 2, 0.0).sum(axis=1)
    best = int(np.argmax(score))
    m_off, m_drift = float(off[best]), float(drift[best])
    prior_drift = prior_drift_ppm * 1e-6
    fit_drift = False
    for _ in range(5):  # refit until the inlier set settles
        j, r, inl = _inliers(a, b, np.array([m_off]), np.array([m_drift]), t_ref, tolerance_s,
                             ga, gb)
        ia = np.flatnonzero(inl[0])
        jb = j[0, ia]
        fit_drift = _drift_is_determined(a[ia], b[jb], min_drift_span_s, tolerance_s / 10,
                                         max_drift_se_ppm * 1e-6)
        new = _fit(a, b, ia, jb, t_ref, fit_drift, prior_drift)
        if np.isclose(new[0], m_off, rtol=0, atol=1e-9) and np.isclose(new[1], m_drift, rtol=0, atol=1e-12):
            break
        m_off, m_drift = new
    resid = b[jb] - (a[ia] + m_off + m_drift * (a[ia] - t_ref))
    if ia.size:  # report the offset at the centre of the matched events
        new_ref = float(np.mean(a[ia]))
        m_off, t_ref = m_off + m_drift * (new_ref - t_ref), new_ref
    runner_up = _runner_up(a, off, drift, inl_all.sum(axis=1), m_off, m_drift, t_ref, tolerance_s,
                           hyp_ref)
    n = ia.size
    rms = float(np.sqrt(np.mean(resid**2))) if n else np.inf
    confidence = float((1 - 0.5 ** (n - 1)) * (1 - np.exp(-max(0, n - runner_up)))
                       * np.exp(-((rms / (0.3 * tolerance_s)) ** 2))) if n else 0.0
    pairs = np.column_stack((oa[ia], ob[jb])).astype(int)
    match = Match(
        offset_s=m_off, drift_ppm=m_drift * 1e6, t_ref=t_ref, pairs=pairs,
        residuals_ms=resid * 1e3,
        rejected_a=np.setdiff1d(np.arange(a.size), oa[ia]),
        rejected_b=np.setdiff1d(np.arange(b.size), ob[jb]),
        confidence=confidence, runner_up=runner_up, drift_fitted=bool(fit_drift),
    )
    if confidence < min_confidence:
        raise SyncRefused(_refusal(match, names, min_confidence, tolerance_s), match)
    return match


def _runner_up(a, off, drift, inl_counts, m_off, m_drift, t_ref, tol, hyp_ref) -> int:
    """Inliers of the best hypothesis that differs from the fit by > tol within the span."""
    ends = np.array([a[0], a[-1]])
    fit = m_off + m_drift * (ends - t_ref)
    hyp = off[:, None] + drift[:, None] * (ends[None, :] - hyp_ref)
    gap = np.abs(hyp - fit[None, :]).max(axis=1)
    other = gap > tol
    return int(inl_counts[other].max()) if other.any() else 0


def _refusal(m: Match, names: tuple[str, str], min_conf: float, tol: float) -> str:
    a, b = names
    if m.n_matched <= 1:
        return (f"only {m.n_matched} tap matched between the {a} and the {b}; {ADVICE}")
    if m.n_matched - m.runner_up <= 0:
        return (f"ambiguous: another alignment of the {a} and {b} taps fits {m.runner_up} taps, "
                f"as many as the best ({m.n_matched}); {ADVICE}")
    return (f"confidence {m.confidence:.2f} below {min_conf:g}: {m.n_matched} taps matched "
            f"(next-best alignment {m.runner_up}), residual RMS {m.rms_ms:.1f} ms within a "
            f"{tol * 1e3:.0f} ms tolerance; {ADVICE}")
