"""Event matching: offset and drift recovered despite missed and extra events; refusals."""

import numpy as np
import pytest

from mimicsync.sync.match import SyncRefused, match_events

TAPS = np.concatenate([10 + np.arange(3) * 1.5, 590 + np.arange(3) * 1.5])


def _pair(rng, offset, drift_ppm, jitter=0.2e-3, truth=TAPS):
    """a = EMG tap times, b = the same taps on the video clock."""
    a = truth + rng.normal(0, jitter, truth.size)
    ref = truth.mean()
    b = truth + offset + drift_ppm * 1e-6 * (truth - ref) + rng.normal(0, jitter, truth.size)
    return a, b, (lambda t: t + offset + drift_ppm * 1e-6 * (t - ref))


@pytest.mark.parametrize("offset, drift_ppm", [(0.0, 0.0), (0.73, 150.0), (-0.95, -200.0), (0.4, 200.0)])
def test_offset_and_drift_with_missed_and_extra_events(offset, drift_ppm):
    rng = np.random.default_rng(int(abs(offset) * 100 + abs(drift_ppm)))
    a, b, truth_map = _pair(rng, offset, drift_ppm)
    a = np.delete(a, 1)  # EMG missed a tap
    b = np.delete(b, 4)  # video missed another
    a = np.append(a, [300.0, 301.2])  # false peaks: facial movement
    b = np.append(b, [b[0] + 0.4, 120.0, 450.3])
    m = match_events(a, b)
    t = np.linspace(0, 600, 13)
    assert np.abs(m.to_b(t) - truth_map(t)).max() < 0.5e-3
    assert m.drift_ppm == pytest.approx(drift_ppm, abs=3.0)
    assert m.drift_fitted and m.n_matched == 4
    assert m.rejected_a.tolist() == [3, 5, 6] and m.rejected_b.tolist() == [1, 5, 6, 7]
    assert np.abs(m.residuals_ms).max() < 1.0
    assert np.allclose(m.to_a(m.to_b(t)), t)
    assert 0.35 < m.confidence <= 1


def test_short_span_fits_offset_only():
    rng = np.random.default_rng(5)
    truth = 10 + np.arange(4) * 1.5
    a, b, truth_map = _pair(rng, 0.25, 100.0, truth=truth)
    m = match_events(a, b)
    assert not m.drift_fitted and m.drift_ppm == 0.0
    assert abs(m.offset_s - truth_map(m.t_ref) + m.t_ref) < 0.5e-3


def test_confidence_grows_with_evidence_and_falls_with_scatter():
    rng = np.random.default_rng(6)
    a, b, _ = _pair(rng, 0.3, 0.0)
    full = match_events(a, b).confidence
    three = match_events(a[:3], b[:3]).confidence
    a2, b2, _ = _pair(rng, 0.3, 0.0, jitter=6e-3)
    scattered = match_events(a2, b2, min_confidence=0).confidence
    assert full > three and full > scattered


def test_refuses_without_taps_in_one_modality():
    with pytest.raises(SyncRefused, match="no taps found in the video"):
        match_events([1.0, 2.5], [], names=("EMG", "video"))


def test_refuses_single_match_with_advice():
    with pytest.raises(SyncRefused) as e:
        match_events([5.0], [5.3])
    assert "only 1 tap matched" in e.value.reason and "3 times" in e.value.reason
    assert e.value.match.n_matched == 1


def test_refuses_ambiguous_alignment():
    # Three regular taps vs two: shifting by one tap fits as well as not shifting.
    with pytest.raises(SyncRefused, match="ambiguous"):
        match_events([10.0, 11.5, 13.0], [10.2, 11.7])


def test_refuses_unrelated_events():
    rng = np.random.default_rng(7)
    a = np.sort(rng.uniform(0, 600, 8))
    b = np.sort(rng.uniform(0, 600, 8))
    with pytest.raises(SyncRefused):
        match_events(a, b)
