"""Offset and drift from event times that are only known to lie within an interval.

A camera samples the world once per frame. When an LED switches on (or a hand touches
the cheek) between two exposures and the frame shows it fully on, the video says only
*the switch happened between frame k and frame k+1*: a bracket one frame long, with no
sub-frame information at all. Taking the bracket's middle and fitting a line leaves an
error of about ``frame / sqrt(12 n)``; but the brackets of many events, falling at
random phases of the frame clock, overlap in a much smaller region. This module
computes the posterior mean of ``(offset, drift[, bias])`` under exactly that model,
which shrinks like ``frame / n`` rather than ``frame / sqrt(n)``.

Model, per matched event ``i`` (EMG time ``e_i``, precise; video evidence ``c_i``)::

    c_i = e_i + offset + drift·(e_i − t_ref) + bias·tap_i + u_i + n_i

with ``u_i`` uniform on ``[−h_i, +h_i]`` (the bracket; ``h_i = 0`` for a sub-frame
estimate) and ``n_i ~ N(0, σ_i²)`` (the timing noise of both sides). Each event is an
outlier with probability ``outlier_prob`` (then uniform over ``±tolerance``). Priors:
flat on the offset, ``N(prior_drift, prior_drift_sd²)`` on the drift,
``N(0, bias_sd²)`` on the tap bias (taps are judged by a moving hand; triggers and the
LED share one electrical pulse, so only taps get a bias, and only when both kinds are
present). The posterior mean is computed by adaptive importance sampling with a fixed
seed (results repeat exactly).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from mimicsync.sync import linear_map
from mimicsync.sync.robust import line_fit

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


@dataclass(frozen=True)
class Evidence:
    """Matched events: EMG times and the video's interval for each (all in seconds)."""

    emg: np.ndarray  # precise EMG-side times, common timeline
    video: np.ndarray  # centre of the video-side interval, video clock
    half_width: np.ndarray  # h_i: 0 for a point (sub-frame) estimate
    sigma: np.ndarray  # σ_i: Gaussian timing noise of the pair
    tap: np.ndarray  # bool: event judged from a tap (may get a bias)

    def __post_init__(self) -> None:
        n = len(self.emg)
        if not all(len(x) == n for x in (self.video, self.half_width, self.sigma, self.tap)):
            raise ValueError("evidence arrays must have one value per event")


@dataclass(frozen=True)
class IntervalFit:
    """Posterior mean (and spread) of the EMG → video mapping."""

    offset_s: float  # video − EMG at t_ref
    drift_ppm: float
    bias_s: float  # tap events' extra delay (0 when not fitted)
    t_ref: float
    sd_offset_s: float
    sd_drift_ppm: float
    residuals_s: np.ndarray  # video centre − predicted, per event
    consistent: np.ndarray  # bool: residual within the event's interval (+3σ)
    fitted_bias: bool
    ess: float  # effective sample size of the final importance sample

    def to_video(self, t_emg: np.ndarray | float) -> np.ndarray:
        return linear_map.forward(t_emg, self.offset_s, self.drift_ppm, self.t_ref)

    def to_emg(self, t_video: np.ndarray | float) -> np.ndarray:
        return linear_map.inverse(t_video, self.offset_s, self.drift_ppm, self.t_ref)


def _loglik(r: np.ndarray, h: np.ndarray, s: np.ndarray, out_logp: float, in_logw: float) -> np.ndarray:
    """Per-sample log-likelihood, summed over events; ``r`` is (samples, events)."""
    box = h > 1e-3 * s
    ll = np.empty_like(r)
    if box.any():
        rb, hb, sb = r[:, box], h[box], s[box]
        p = ndtr((hb - rb) / sb) - ndtr((-hb - rb) / sb)
        ll[:, box] = np.log(np.maximum(p, 1e-300)) - np.log(2 * hb)
    pt = ~box
    if pt.any():
        z = r[:, pt] / s[pt]
        ll[:, pt] = -0.5 * z * z - np.log(s[pt]) - _LOG_SQRT_2PI
    return np.logaddexp(in_logw + ll, out_logp).sum(axis=1)


def _design(ev: Evidence, t_ref: float, with_bias: bool) -> np.ndarray:
    cols = [np.ones(len(ev.emg)), ev.emg - t_ref]
    if with_bias:
        cols.append(ev.tap.astype(float))
    return np.column_stack(cols)


def fit_intervals(
    ev: Evidence,
    *,
    prior_drift_ppm: float = 0.0,
    prior_drift_sd_ppm: float = 100.0,
    bias_sd_s: float = 0.010,
    outlier_prob: float = 0.01,
    tolerance_s: float = 0.050,
    fit_bias: bool | None = None,
    samples: int = 8192,
    rounds: int = 3,
    seed: int = 0,
) -> IntervalFit:
    """Posterior mean of offset, drift (and tap bias) under the interval model (module doc).

    ``fit_bias`` None: a tap bias is fitted when there are two or more taps and two or
    more other events. Needs at least one event; with one the drift is its prior.
    """
    n = len(ev.emg)
    if n == 0:
        raise ValueError("no matched events to fit")
    e, c = np.asarray(ev.emg, float), np.asarray(ev.video, float)
    h = np.asarray(ev.half_width, float)
    s = np.maximum(np.asarray(ev.sigma, float), 1e-6)
    taps = np.asarray(ev.tap, bool)
    t_ref = float(np.mean(e))
    with_bias = bool(taps.sum() >= 2 and (~taps).sum() >= 2)
    if fit_bias is not None:
        with_bias = with_bias and fit_bias
    X = _design(ev, t_ref, with_bias)
    k = X.shape[1]
    # Gaussian priors as extra rows of a weighted least-squares start: drift, bias.
    prior_mean = np.zeros(k)
    prior_mean[1] = prior_drift_ppm * 1e-6
    prior_sd = np.full(k, np.inf)
    prior_sd[1] = prior_drift_sd_ppm * 1e-6
    if with_bias:
        prior_sd[2] = bias_sd_s
    var = h * h / 3 + s * s
    A = np.vstack([X / np.sqrt(var)[:, None], np.diag(1 / prior_sd)[np.isfinite(prior_sd)]])
    b = np.concatenate([(c - e) / np.sqrt(var), (prior_mean / prior_sd)[np.isfinite(prior_sd)]])
    mean, *_ = np.linalg.lstsq(A, b, rcond=None)
    cov = np.linalg.pinv(A.T @ A)
    rng = np.random.default_rng(seed)
    out_logp = np.log(outlier_prob) - np.log(2 * tolerance_s)
    in_logw = np.log1p(-outlier_prob)
    d = c - e
    ess = 0.0
    scale = 2.0
    if n > 200:  # the posterior is narrow: fewer draws do, and the cost is draws × events
        samples = min(samples, 4096)
    for _ in range(rounds):
        theta = _student(rng, mean, cov * scale**2, samples, df=5)
        logw = np.concatenate([  # in blocks: (draws × events) arrays stay small
            _loglik(d[None, :] - theta[i:i + 1024] @ X.T, h, s, out_logp, in_logw)
            for i in range(0, samples, 1024)])
        fin = np.isfinite(prior_sd)
        logw -= 0.5 * (((theta[:, fin] - prior_mean[fin]) / prior_sd[fin]) ** 2).sum(axis=1)
        logw -= _student_logpdf(theta, mean, cov * scale**2, df=5)
        w = np.exp(logw - logw.max())
        w /= w.sum()
        ess = float(1.0 / np.sum(w * w))
        mean = w @ theta
        dev = theta - mean
        cov = (dev * w[:, None]).T @ dev + np.eye(k) * 1e-18
        scale = 1.5
    sd = np.sqrt(np.diag(cov))
    resid = d - X @ mean
    consistent = np.abs(resid) <= h + 3 * s
    return IntervalFit(
        offset_s=float(mean[0]), drift_ppm=float(mean[1] * 1e6),
        bias_s=float(mean[2]) if with_bias else 0.0, t_ref=t_ref,
        sd_offset_s=float(sd[0]), sd_drift_ppm=float(sd[1] * 1e6), residuals_s=resid,
        consistent=consistent, fitted_bias=with_bias, ess=ess)


def loglik_shifted(ev: Evidence, fit: IntervalFit, shifts_s: np.ndarray, *,
                   outlier_prob: float = 0.01, tolerance_s: float = 0.050) -> np.ndarray:
    """Log-likelihood of the evidence at the fitted map with its offset moved by each of
    ``shifts_s`` (0 included by the caller for the reference): how much worse an
    alignment a frame away explains the same events."""
    e, c = np.asarray(ev.emg, float), np.asarray(ev.video, float)
    h = np.asarray(ev.half_width, float)
    s = np.maximum(np.asarray(ev.sigma, float), 1e-6)
    pred = (fit.offset_s + fit.drift_ppm * 1e-6 * (e - fit.t_ref)
            + fit.bias_s * np.asarray(ev.tap, float))
    r = (c - e)[None, :] - pred[None, :] - np.asarray(shifts_s, float)[:, None]
    out_logp = np.log(outlier_prob) - np.log(2 * tolerance_s)
    return _loglik(r, h, s, out_logp, np.log1p(-outlier_prob))


def _student(rng: np.random.Generator, mean: np.ndarray, cov: np.ndarray, n: int,
             df: float) -> np.ndarray:
    L = np.linalg.cholesky(cov + np.eye(len(mean)) * 1e-20)
    z = rng.standard_normal((n, len(mean))) @ L.T
    g = rng.chisquare(df, n) / df
    return mean + z / np.sqrt(g)[:, None]


def _student_logpdf(x: np.ndarray, mean: np.ndarray, cov: np.ndarray, df: float) -> np.ndarray:
    """Log density of a multivariate Student t, up to a constant (all that IS weights need)."""
    k = len(mean)
    L = np.linalg.cholesky(cov + np.eye(k) * 1e-20)
    z = np.linalg.solve(L, (x - mean).T)
    q = np.sum(z * z, axis=0)
    return -0.5 * (df + k) * np.log1p(q / df)


def midpoint_fit(ev: Evidence) -> tuple[float, float, float]:
    """Plain least squares on interval centres: ``(offset at t_ref, drift ppm, t_ref)``.

    What the interval fit improves on; kept for comparison in tests and the bench.
    """
    t_ref = float(np.mean(ev.emg))
    off, dr = line_fit(np.asarray(ev.emg) - t_ref, np.asarray(ev.video) - np.asarray(ev.emg))
    return off, dr * 1e6, t_ref

