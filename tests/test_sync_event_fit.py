"""Event level on synthetic event times: frame brackets, the interval fit, grouped matching,
and the combination of trigger edges and taps."""

from __future__ import annotations

import numpy as np
import pytest

from mimicsync.sync.brackets import VideoOnsets, burst_brackets, edge_brackets
from mimicsync.sync.event_fit import LowConfidence, fit_events
from mimicsync.sync.interval_fit import Evidence, fit_intervals, midpoint_fit
from mimicsync.sync.match import SyncRefused, match_events

FRAME = 1 / 30


def _sampled(rng, e, offset, drift_ppm, t0=1000.0, phase=None):
    """Video brackets of events at EMG times ``e`` seen by a camera that samples."""
    v = e + offset + drift_ppm * 1e-6 * (e - t0)
    phase = rng.uniform(0, FRAME) if phase is None else phase
    k = np.floor((v - phase) / FRAME)
    lo = phase + k * FRAME
    return VideoOnsets((lo + lo + FRAME) / 2, lo, lo + FRAME, np.zeros(e.size, bool))


def _max_err(fit_to_video, offset, drift_ppm, span=(1000.0, 1060.0), t0=1000.0):
    t = np.linspace(*span, 61)
    return np.abs(fit_to_video(t) - (t + offset + drift_ppm * 1e-6 * (t - t0))).max()


def test_interval_fit_beats_bracket_centres():
    rng = np.random.default_rng(0)
    worse = 0
    for trial in range(12):
        e = np.sort(rng.uniform(1000, 1060, 60))
        offset, drift = rng.uniform(-1, 1), rng.uniform(-200, 200)
        v = _sampled(rng, e, offset, drift)
        ev = Evidence(e, v.centre, v.half_width, np.full(e.size, 2e-4), np.zeros(e.size, bool))
        f = fit_intervals(ev)
        mo, md, tr = midpoint_fit(ev)
        err_i = _max_err(f.to_video, offset, drift)
        err_m = _max_err(lambda t: t + mo + md * 1e-6 * (t - tr), offset, drift)
        assert err_i < 3e-3 and f.consistent.all()
        worse += err_i > err_m
    assert worse <= 2  # the intervals' intersection, not their centres, carries the time


def test_interval_fit_survives_an_outlier_and_reports_it():
    rng = np.random.default_rng(1)
    e = np.sort(rng.uniform(1000, 1060, 40))
    v = _sampled(rng, e, 0.25, 50)
    centre = v.centre.copy()
    centre[7] += 0.012  # one event detected a frame late... partly
    ev = Evidence(e, centre, v.half_width, np.full(e.size, 2e-4), np.zeros(e.size, bool))
    f = fit_intervals(ev)
    assert _max_err(f.to_video, 0.25, 50) < 3e-3
    assert not f.consistent[7] and f.consistent.sum() == e.size - 1


def test_subframe_evidence_is_a_plain_weighted_fit():
    rng = np.random.default_rng(2)
    e = np.sort(rng.uniform(1000, 1060, 30))
    c = e + 0.1 + 30e-6 * (e - 1000) + rng.normal(0, 1e-3, e.size)
    f = fit_intervals(Evidence(e, c, np.zeros(e.size), np.full(e.size, 1e-3),
                               np.zeros(e.size, bool)))
    assert _max_err(f.to_video, 0.1, 30) < 1.5e-3 and f.sd_offset_s < 0.5e-3


def test_tap_bias_is_fitted_only_alongside_triggers():
    rng = np.random.default_rng(3)
    trig = np.sort(rng.uniform(1000, 1060, 30))
    taps = np.sort(rng.uniform(1000, 1060, 30))  # the hand makes the video see taps 6 ms early
    vt, vp = _sampled(rng, trig, -0.3, 0, phase=0.01), _sampled(rng, taps - 0.006, -0.3, 0, phase=0.01)
    e = np.concatenate([trig, taps])
    vv = VideoOnsets.concat([vt, vp])
    tap = np.r_[np.zeros(trig.size, bool), np.ones(taps.size, bool)]
    f = fit_intervals(Evidence(e, vv.centre, vv.half_width, np.full(e.size, 2e-4), tap))
    assert f.fitted_bias and f.bias_s == pytest.approx(-0.006, abs=0.003)
    assert _max_err(f.to_video, -0.3, 0) < 2e-3
    alone = fit_intervals(Evidence(taps, vp.centre, vp.half_width, np.full(taps.size, 2e-4),
                                   np.ones(taps.size, bool)))
    assert not alone.fitted_bias


def test_brackets_from_sampled_and_exposed_edges():
    t = np.arange(10) / 30.0
    sampled = np.array([0, 0, 0, 0, 200, 200, 200, 0, 0, 0], float)
    b = edge_brackets(sampled, t, np.array([3.5 / 30]))
    assert b.lo[0] == pytest.approx(3 / 30) and b.hi[0] == pytest.approx(4 / 30)
    assert not b.subframe[0] and b.half_width[0] == pytest.approx(FRAME / 2)
    exposed = np.array([0, 0, 0, 60, 200, 200, 200, 0, 0, 0], float)  # switched mid-exposure
    assert edge_brackets(exposed, t, np.array([3.2 / 30])).subframe[0]
    off = edge_brackets(sampled, t, np.array([6.5 / 30]), rising=False)
    assert off.lo[0] == pytest.approx(6 / 30) and not off.subframe[0]
    strike = np.array([0.1, 0.1, 0.1, 10, 0.1, 0.1, 0.1, 0.1, 0.1], float)  # diffs
    assert not burst_brackets(strike, t, np.array([3.5 / 30])).subframe[0]
    blurred = np.array([0.1, 0.1, 0.1, 10, 6, 0.1, 0.1, 0.1, 0.1], float)
    assert burst_brackets(blurred, t, np.array([3.9 / 30])).subframe[0]


def test_groups_keep_kinds_apart():
    # Taps every 1.5 s and trigger edges every 1.5 s, shifted by 0.3 s: without groups a
    # 0.3 s misalignment pairs triggers with taps just as well.
    taps = 1000 + np.arange(8) * 1.5
    trig = taps + 0.3
    a = np.r_[taps, trig]
    b = a + 0.3  # truth: video 0.3 s later
    b_taps_only = np.r_[taps + 0.3, trig[:0]]
    ga, gb = np.r_[np.zeros(8), np.ones(8)], np.r_[np.zeros(8), np.ones(8)]
    m = match_events(a, b, groups=(ga, gb), max_offset_s=1.0, min_confidence=0)
    assert m.offset_s == pytest.approx(0.3, abs=1e-6) and m.n_matched == 16
    with pytest.raises(SyncRefused):  # taps in the video only: nothing to pair for triggers
        match_events(trig, b_taps_only, groups=(np.ones(8), np.zeros(8)), max_offset_s=1.0)


def test_fit_events_combines_kinds_with_missed_and_extra_events():
    rng = np.random.default_rng(4)
    on = np.sort(rng.uniform(1000, 1060, 20))
    off = on + rng.uniform(0.08, 0.15, on.size)
    taps = np.r_[1001.3, 1002.8, 1004.3, 1055.1, 1056.6, 1058.1]
    emg = {"trigger_on": on, "trigger_off": off, "tap": np.delete(taps, 2)}  # sEMG missed one
    video = {k: _sampled(rng, v, 0.42, -80, phase=0.013)
             for k, v in (("trigger_on", on), ("trigger_off", off), ("tap", taps))}
    extra = VideoOnsets(np.array([1020.0, 1030.5]), np.array([1019.98, 1030.48]),
                        np.array([1020.02, 1030.52]), np.zeros(2, bool))  # expressions
    video["tap"] = VideoOnsets.concat([video["tap"], extra])
    r = fit_events(emg, video, FRAME)
    assert _max_err(r.fit.to_video, 0.42, -80) < 2e-3
    assert r.counts["tap"] == (5, 8, 5) and r.n_used == 45 and r.confidence > 0.9
    assert sum(1 for m, k, *_ in r.rejected if m == "video" and k == "tap") == 3


def test_fit_events_refuses_two_taps():
    rng = np.random.default_rng(5)
    taps = np.array([1001.0, 1050.0])
    with pytest.raises(LowConfidence) as e:
        fit_events({"tap": taps}, {"tap": _sampled(rng, taps, 0.1, 0)}, FRAME)
    assert "only 2 events matched" in e.value.reason and e.value.result.n_used == 2
