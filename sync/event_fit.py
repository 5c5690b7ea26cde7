"""Event level: combine trigger/LED edges and taps into one EMG → video mapping.

Kinds of events, each seen by both modalities:

- ``trigger_on`` / ``trigger_off``: the amplifier's trigger channel and the LED in the
  frame are driven by one electrical pulse, so both edges of a pulse are exact events
  (no physiological delay);
- ``tap``: a sharp peak in the sEMG and a strike in the video; the video's tap time
  depends on how the hand moves, so taps may carry a bias relative to the triggers. It
  is fitted (prior sd ``tap_bias_sd_s``) only when enough trigger/LED pairs
  (``tap_bias_min_triggers``) pin the offset without the taps; with fewer, a free bias
  would cost more accuracy than the bias it might remove, and taps count as unbiased.

Steps:

1. *Alignment* — over the whole offset range, by the trigger/LED edges when they decide
   it unambiguously, else by all kinds together, each pairing only with its own kind
   (:func:`.match.match_events` with groups: missed and extra events, facial movements
   that looked like taps).
2. *Pairing* — every kind is matched again near that alignment (a narrow window, so
   rising and falling edges or neighbouring taps cannot be confused).
3. *Fit* — all pairs together in :func:`.interval_fit.fit_intervals` (video onsets as
   frame brackets or sub-frame times; taps get their own bias when triggers are there
   too), then pairs are collected once more with the fitted model and refitted.

Confidence (0..1) = support × uniqueness × consistency² × precision:
support ``1 − 0.5^(n−1)`` for ``n`` events used; uniqueness ``1 − exp(−(n₁ − n₂))``
of the step-1 alignment (``n₂``: events a different alignment would match, e.g. shifted
by one tap); consistency, the fraction of pairs whose video interval contains the fitted
time; precision ``exp(−(sd/(¼ frame))²)`` of the offset's posterior spread.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from mimicsync.sync.brackets import VideoOnsets
from mimicsync.sync.interval_fit import Evidence, IntervalFit, fit_intervals, loglik_shifted
from mimicsync.sync.match import ADVICE, Match, SyncRefused, match_events

KINDS = ("trigger_on", "trigger_off", "tap")


@dataclass(frozen=True)
class EventFitParams:
    """Settings of :func:`fit_events`; ``tolerance_s`` None = max(25 ms, ¾ frame)."""

    tolerance_s: float | None = None
    max_offset_s: float = 2.0
    max_drift_ppm: float = 500.0
    prior_drift_sd_ppm: float = 100.0
    tap_bias_sd_s: float = 0.010
    tap_bias_min_triggers: int = 8  # fit a tap bias only with this many trigger/LED pairs
    emg_sigma_s: float = 1e-4  # EMG onset precision (taps ±0.06 ms, trigger ±½ sample)
    frame_sigma_s: float = 2e-4  # device-clock frame time precision
    min_confidence: float = 0.5
    max_align_events: int = 80  # per kind, evenly spread, for the alignment search only
    # an alignment one or two frames away must explain the events this much worse
    # (log-likelihood) or the result is refused as ambiguous
    min_frame_margin: float = 4.6
    tap_systematic_s: float = 0.001  # taps only: unmodelled contact timing, in the ± (95 %)


@dataclass(frozen=True)
class Pair:
    kind: str
    emg: float  # s, common timeline
    video: float  # best single video estimate, video clock
    lo: float  # video bracket
    hi: float
    subframe: bool
    residual_ms: float  # video interval centre − fitted, ms
    consistent: bool


@dataclass
class EventFit:
    fit: IntervalFit
    pairs: list[Pair]
    rejected: list[tuple[str, str, float, str]]  # (modality, kind, time, reason)
    confidence: float
    aligned: int  # events the first (joint) alignment matched
    runner_up: int  # ... and the best different alignment
    counts: dict = field(default_factory=dict)  # kind -> (emg found, video found, matched)
    frame_margin: tuple[float, float] = (np.inf, 0.0)  # (log-lik margin, frames away)
    taps_only: bool = False
    systematic_s: float = 0.0  # part of the uncertainty the events cannot show

    @property
    def frame_shift(self) -> float:
        return self.frame_margin[1]

    @property
    def n_used(self) -> int:
        return sum(p.consistent for p in self.pairs)

    @property
    def rms_ms(self) -> float:
        r = np.array([p.residual_ms for p in self.pairs if p.consistent])
        return float(np.sqrt(np.mean(r**2))) if r.size else float("nan")


class LowConfidence(SyncRefused):
    """Events matched, but not convincingly; ``result`` holds the fit for the report."""

    def __init__(self, reason: str, result: "EventFit") -> None:
        super().__init__(reason, options=(("force", ""),))  # a weak fit can be accepted
        self.result = result


def _tolerance(p: EventFitParams, frame_s: float) -> float:
    return p.tolerance_s if p.tolerance_s is not None else max(0.025, 0.75 * frame_s)


def _vote(emg: dict, video: dict, kinds: tuple[str, ...], frame_s: float,
          p: EventFitParams) -> Match | None:
    """One alignment that the given kinds vote on together (each pairs only with itself)."""
    a, b, ga, gb = [], [], [], []
    for g, kind in enumerate(kinds):
        ak = np.sort(np.asarray(emg.get(kind, np.zeros(0)), float))
        bk = video.get(kind, VideoOnsets.empty()).centre
        if ak.size > p.max_align_events:  # hypotheses grow with the square of the events
            ak = ak[np.linspace(0, ak.size - 1, p.max_align_events).round().astype(int)]
        a.append(ak)
        b.append(bk)
        ga.append(np.full(ak.size, g))
        gb.append(np.full(bk.size, g))
    a, b = np.concatenate(a), np.concatenate(b)
    if a.size == 0 or b.size == 0 or not (set(np.concatenate(ga)) & set(np.concatenate(gb))):
        return None
    try:
        return match_events(a, b, groups=(np.concatenate(ga), np.concatenate(gb)),
                            tolerance_s=_tolerance(p, frame_s), max_offset_s=p.max_offset_s,
                            max_drift_ppm=p.max_drift_ppm, min_confidence=0.0,
                            names=("sEMG", "video"))
    except SyncRefused:
        return None


def align(emg: dict[str, np.ndarray], video: dict[str, VideoOnsets], frame_s: float,
          p: EventFitParams = EventFitParams()) -> Match:
    """Step 1: the alignment, from the trigger/LED edges when they decide it on their own
    (one electrical pulse drives both: nothing else is as trustworthy), else from all kinds
    voting together (each pairing only with itself).

    A false alignment can fit one kind well (taps shifted onto the hand's approach in
    every tap), hardly all of them at once. Long recordings vote with an evenly spread
    subset of each kind's sEMG events (``max_align_events``); pairing then uses all.
    """
    m = _vote(emg, video, ("trigger_on", "trigger_off"), frame_s, p)
    if m is not None and m.n_matched >= 3 and m.n_matched - m.runner_up >= 2:
        return m
    m = _vote(emg, video, KINDS, frame_s, p)
    if m is None:
        raise SyncRefused(_nothing_to_match(emg, video))
    if m.n_matched < 2:
        raise SyncRefused(f"only {m.n_matched} event matched between the sEMG and the video; "
                          f"{ADVICE}")
    return m


def _nothing_to_match(emg: dict, video: dict) -> str:
    n_emg = sum(len(v) for v in emg.values())
    n_vid = sum(len(v.times) for v in video.values())
    if n_emg == 0:
        return f"no taps or trigger pulses found in the sEMG; {ADVICE}"
    if n_vid == 0:
        return f"no taps or LED flashes found in the video; {ADVICE} in view of the camera"
    return f"the sEMG has only {', '.join(k for k in emg if len(emg[k]))} events and the video " \
           f"only {', '.join(k for k in video if len(video[k].times))}; {ADVICE}"


def _pair(a: np.ndarray, v: VideoOnsets, predict, slack: float) -> np.ndarray:
    """One-to-one index pairs ``(i, j)``: EMG event ``i`` predicted (on the video clock)
    inside video onset ``j``'s interval widened by ``slack``; nearest first."""
    if a.size == 0 or v.times.size == 0:
        return np.zeros((0, 2), int)
    pred = predict(a)
    centre, half = v.centre, v.half_width
    dist = np.abs(pred[:, None] - centre[None, :]) - half[None, :]  # ≤ 0 inside
    ii, jj = np.nonzero(dist <= slack)
    order = np.argsort(dist[ii, jj], kind="stable")
    used_a, used_v, out = set(), set(), []
    for i, j in zip(ii[order], jj[order]):
        if i not in used_a and j not in used_v:
            used_a.add(i)
            used_v.add(j)
            out.append((i, j))
    return np.array(sorted(out), int).reshape(-1, 2)


def fit_events(emg: dict[str, np.ndarray], video: dict[str, VideoOnsets], frame_s: float,
               p: EventFitParams = EventFitParams(),
               vote: dict[str, VideoOnsets] | None = None,
               causes: list[str] | None = None) -> EventFit:
    """Steps 1–3 of the module docstring. ``vote`` replaces some kinds' video onsets for
    the alignment only (e.g. just the clearest tap candidates); pairing considers all.
    ``causes`` (e.g. "no trigger LED found in the video") lead any refusal's message.
    Raises :class:`SyncRefused` without usable events, :class:`LowConfidence` (a
    ``SyncRefused``) below ``min_confidence`` or when an alignment a frame away fits too."""
    try:
        return _fit_events(emg, video, frame_s, p, vote)
    except SyncRefused as e:
        if causes:  # the real cause leads the advice
            extra = "; ".join(causes)
            e.reason = (e.reason.replace(ADVICE, f"{extra}; {ADVICE}", 1) if ADVICE in e.reason
                        else f"{e.reason}; {extra}")
            e.args = (e.reason,)
        raise


def _fit_events(emg, video, frame_s, p, vote) -> EventFit:
    tol = _tolerance(p, frame_s)
    m0 = align(emg, {**video, **(vote or {})}, frame_s, p)
    predict = m0.to_b
    slack = tol  # first round: the alignment is only as good as bracket centres
    fit = None
    for _ in range(2):
        chosen: dict[str, np.ndarray] = {}
        rows = []
        for kind in KINDS:
            a = np.asarray(emg.get(kind, np.zeros(0)), float)
            v = video.get(kind, VideoOnsets.empty())
            pr = _pair(a, v, predict, slack)
            chosen[kind] = pr
            for i, j in pr:
                rows.append((kind, a[i], v.take(np.array([j]))))
        if not rows:
            raise SyncRefused(_nothing_to_match(emg, video))
        vv = VideoOnsets.concat([r[2] for r in rows])
        ev = Evidence(np.array([r[1] for r in rows]), vv.centre, vv.half_width,
                      np.hypot(vv.sigma(p.frame_sigma_s), p.emg_sigma_s),
                      np.array([r[0] == "tap" for r in rows]))
        n_trig = int((~ev.tap).sum())
        fit = fit_intervals(ev, prior_drift_ppm=m0.drift_ppm if m0.drift_fitted else 0.0,
                            prior_drift_sd_ppm=p.prior_drift_sd_ppm, bias_sd_s=p.tap_bias_sd_s,
                            tolerance_s=tol, fit_bias=n_trig >= p.tap_bias_min_triggers)
        predict = lambda t, f=fit: f.to_video(t)  # noqa: E731
        # inconsistent pairs leave the next round (the narrower window drops them)
        slack = 3 * float(np.max(ev.sigma)) + 0.1 * frame_s
    fit = _honest_spread(fit, ev)
    pairs = [Pair(k, float(e), float(v.times[0]), float(v.lo[0]), float(v.hi[0]),
                  bool(v.subframe[0]), float(r * 1e3), bool(c))
             for (k, e, v), r, c in zip(rows, fit.residuals_s, fit.consistent)]
    rejected = _rejected(emg, video, chosen)
    n_used = sum(pp.consistent for pp in pairs)
    consistency = n_used / len(pairs)
    precision = float(np.exp(-(fit.sd_offset_s / (0.25 * frame_s)) ** 2))
    support = 1 - 0.5 ** (n_used - 1) if n_used else 0.0
    uniq = 1 - np.exp(-max(0, m0.n_matched - m0.runner_up))
    conf = float(support * uniq * consistency**2 * precision)
    counts = {k: (len(emg.get(k, ())), len(video.get(k, VideoOnsets.empty()).times),
                  len(chosen[k])) for k in KINDS}
    result = EventFit(fit, pairs, rejected, conf, m0.n_matched, m0.runner_up, counts,
                      frame_margin=_frame_margin(ev, fit, frame_s, tol),
                      taps_only=n_trig == 0, systematic_s=p.tap_systematic_s if n_trig == 0 else 0.0)
    if result.frame_margin[0] < p.min_frame_margin:
        result.confidence = 0.0
        raise LowConfidence(
            f"ambiguous: an alignment {result.frame_shift:+.0f} frame away explains the "
            f"{n_used} events almost as well; {ADVICE}, or drive the trigger LED "
            "(one pulse about every second)", result)
    if conf < p.min_confidence:
        raise LowConfidence(_refusal(result, p.min_confidence, frame_s), result)
    return result


def _frame_margin(ev: Evidence, fit, frame_s: float, tol: float) -> tuple[float, float]:
    """How much worse (log-likelihood) the best alignment 1 or 2 frames away fits."""
    shifts = np.array([0.0, -frame_s, frame_s, -2 * frame_s, 2 * frame_s])
    ll = loglik_shifted(ev, fit, shifts, tolerance_s=tol)
    k = 1 + int(np.argmax(ll[1:]))
    return float(ll[0] - ll[k]), float(np.sign(shifts[k]) * round(abs(shifts[k]) / frame_s))


def _honest_spread(fit, ev: Evidence):
    """Widen the posterior sd when the events scatter beyond their intervals more than
    the model's timing noise allows (stated uncertainty from the real scatter)."""
    excess = np.maximum(0.0, np.abs(fit.residuals_s) - np.asarray(ev.half_width))
    chi = float(np.sqrt(np.mean((excess / np.maximum(ev.sigma, 1e-6)) ** 2))) if excess.size else 0.0
    if chi <= 1.0:
        return fit
    return replace(fit, sd_offset_s=fit.sd_offset_s * chi, sd_drift_ppm=fit.sd_drift_ppm * chi)


def accuracy_s(r: "EventFit", t_first: float, t_last: float) -> float:
    """95 % bound on any frame's error between ``t_first`` and ``t_last`` (common
    timeline): offset and drift spread at the far end, plus the systematic part."""
    f = r.fit
    far = max(abs(t_first - f.t_ref), abs(t_last - f.t_ref))
    sd = np.hypot(f.sd_offset_s, f.sd_drift_ppm * 1e-6 * far)
    return float(np.hypot(2.0 * sd, r.systematic_s))


def _rejected(emg, video, chosen) -> list[tuple[str, str, float, str]]:
    out = []
    for kind in KINDS:
        pr = chosen.get(kind, np.zeros((0, 2), int))
        a = np.asarray(emg.get(kind, np.zeros(0)))
        v = video.get(kind, VideoOnsets.empty())
        for i in np.setdiff1d(np.arange(a.size), pr[:, 0]):
            out.append(("emg", kind, float(a[i]), "no counterpart in the video"))
        for j in np.setdiff1d(np.arange(v.times.size), pr[:, 1]):
            out.append(("video", kind, float(v.times[j]), "no counterpart in the sEMG"))
    return out


def _refusal(r: EventFit, min_conf: float, frame_s: float) -> str:
    n = r.n_used
    if n < 3:
        return (f"only {n} event{'s' if n != 1 else ''} matched between the sEMG and the video "
                f"(confidence {r.confidence:.2f}); {ADVICE}")
    if r.runner_up >= r.aligned - 1:
        return (f"ambiguous: another alignment matches {r.runner_up} of the {r.aligned} events "
                f"(confidence {r.confidence:.2f}); {ADVICE}")
    return (f"confidence {r.confidence:.2f} below {min_conf:g}: {n} events matched, "
            f"{len(r.pairs) - n} inconsistent, offset known to ±{r.fit.sd_offset_s * 1e3:.1f} ms; "
            f"{ADVICE}, or force it to accept it")
