"""Face tracks: the canthi/nose affine alignment for any landmark set, Kalman smoothing
of a track with gaps."""

from __future__ import annotations

import numpy as np
import pytest

from mimicsync.dataset.face_tracks import apply_affine, canthi_nose_affine, kalman_smooth
from mimicsync.errors import MimicsyncError


def test_affine_puts_canthi_and_nose_on_the_template_and_moves_the_rest_alike():
    rng = np.random.default_rng(3)
    template = np.array([[70.0, 100.0], [186.0, 100.0], [128.0, 160.0]])
    face = rng.uniform(0, 256, (68, 2))
    face[[36, 45, 30]] = template
    m_true = np.array([[1.3, 0.4, -40.0], [-0.2, 0.9, 25.0]])  # shear, scale, rotation, shift
    seen = apply_affine(m_true, face)
    m = canthi_nose_affine(seen, 36, 45, 30, template)
    assert np.allclose(apply_affine(m, seen[[36, 45, 30]]), template, atol=1e-9)
    assert np.allclose(apply_affine(m, seen), face, atol=1e-7)  # every other landmark too
    flat = seen.copy()
    flat[30] = (flat[36] + flat[45]) / 2
    with pytest.raises(MimicsyncError, match="collinear"):
        canthi_nose_affine(flat, 36, 45, 30, template)


def test_kalman_smoothing_reduces_noise_and_fills_gaps():
    rng = np.random.default_rng(0)
    t = np.arange(300) / 30.0
    truth = np.stack([100 + 20 * np.sin(t), 80 + 5 * t], axis=1)
    meas = truth + rng.normal(0, 4.0, truth.shape)
    meas[100:130] = np.nan  # the detector lost the face for a second
    out = kalman_smooth(t, meas, process_std=50.0, measurement_std=4.0)
    ok = np.isfinite(meas[:, 0])
    assert np.all(np.isfinite(out))
    assert np.sqrt(np.mean((out[ok] - truth[ok]) ** 2)) < 0.6 * 4.0
    assert np.abs(out[100:130] - truth[100:130]).max() < 8.0
