"""Synthetic signals with known ground truth, for the sync tests and benchmarks.

Times given here are the *true* event times on the clock of the signal being made;
tests put different offsets, drifts and jitter on the clocks of the two modalities and
check that sync recovers them.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt

TAP_PERIOD_S = 0.005  # one biphasic cycle


def band_noise(n: int, n_ch: int, fs: float, band: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise band-limited to ``band`` Hz with unit RMS per channel."""
    sos = butter(4, band, btype="bandpass", fs=fs, output="sos")
    x = sosfilt(sos, rng.standard_normal((n + 2048, n_ch)), axis=0)[2048:]
    return x / x.std(axis=0)


def synthetic_emg(
    duration_s: float,
    fs: float,
    n_channels: int,
    taps: np.ndarray,
    movements: list[tuple[float, float]] = (),
    *,
    rng: np.random.Generator,
    noise_uv: float = 1.0,
    tap_uv: float = 300.0,
    move_uv: float = 30.0,
    ramp_s: float = 0.15,
    t0: float = 0.0,
) -> np.ndarray:
    """Facial sEMG, ``(n_samples, n_channels)`` in µV; sample ``i`` is at ``t0 + i/fs``.

    - rest: 20–450 Hz noise of ``noise_uv`` RMS (gain varies ±50 % across channels)
      plus a slow electrode drift;
    - each tap (true contact time in ``taps``): one 5 ms sine cycle (biphasic), peak
      ``tap_uv`` on the channels near the contact, falling off over the others;
    - each movement ``(start, end)``: 20–150 Hz activity of ``move_uv`` RMS on half the
      channels, with ``ramp_s`` ramps.
    """
    n = int(round(duration_s * fs))
    t = t0 + np.arange(n) / fs
    gain = rng.uniform(0.5, 1.5, n_channels)
    x = noise_uv * gain * band_noise(n, n_channels, fs, (20.0, 450.0), rng)
    x += 20.0 * np.sin(2 * np.pi * 0.3 * t[:, None] + rng.uniform(0, 6.3, n_channels))
    for k, tap in enumerate(np.asarray(taps, dtype=float)):
        i0 = max(0, int(np.floor((tap - t0) * fs)))
        i1 = min(n, i0 + int(TAP_PERIOD_S * fs) + 2)
        u = t[i0:i1] - tap
        wave = np.where((u >= 0) & (u < TAP_PERIOD_S), np.sin(2 * np.pi * u / TAP_PERIOD_S), 0.0)
        # Channels nearest the contact get the full amplitude, the rest fall off.
        centre = (k * n_channels // 2 + n_channels // 4) % n_channels
        dist = np.minimum(np.abs(np.arange(n_channels) - centre),
                          n_channels - np.abs(np.arange(n_channels) - centre))
        amp = tap_uv * np.exp(-dist / max(1.0, n_channels / 8))
        x[i0:i1] += wave[:, None] * amp[None, :]
    for start, end in movements:
        i0, i1 = int((start - t0) * fs), int((end - t0) * fs)
        i0, i1 = max(0, i0), min(n, i1)
        if i1 <= i0:
            continue
        u = t[i0:i1]
        env = np.clip(np.minimum(u - start, end - u) / ramp_s, 0.0, 1.0)
        active = rng.permutation(n_channels)[: max(1, n_channels // 2)]
        burst = band_noise(i1 - i0, active.size, fs, (20.0, 150.0), rng)
        x[i0:i1, active] += move_uv * env[:, None] * burst
    return x


def _window_overlap(lo: np.ndarray, hi: np.ndarray, a: float, b: float) -> np.ndarray:
    return np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None)


def exposed_decay(frame_times: np.ndarray, exposure_s: float, onsets: np.ndarray, tau_s: float) -> np.ndarray:
    """Exposure-averaged ``Σ exp(-(t−τ)/tau)·[t ≥ τ]``: a jolt at each onset, decaying."""
    lo = np.asarray(frame_times, dtype=float) - exposure_s / 2
    hi = lo + exposure_s
    out = np.zeros(lo.size)
    for tau0 in np.asarray(onsets, dtype=float):
        a = np.maximum(lo, tau0)
        inside = hi > a
        out[inside] += tau_s * (np.exp(-(a[inside] - tau0) / tau_s)
                                - np.exp(-(hi[inside] - tau0) / tau_s)) / exposure_s
    return out


def exposed_pulses(frame_times: np.ndarray, exposure_s: float, starts: np.ndarray, duration_s: float) -> np.ndarray:
    """Fraction of each exposure during which a pulse (LED on) was lit."""
    lo = np.asarray(frame_times, dtype=float) - exposure_s / 2
    hi = lo + exposure_s
    out = np.zeros(lo.size)
    for s in np.asarray(starts, dtype=float):
        out += _window_overlap(lo, hi, s, s + duration_s) / exposure_s
    return out


LED_BOX = (84, 4, 90, 10)  # x0, y0, x1, y1 of the LED in synthetic frames of width ≥ 96


def synthetic_frames(
    frame_times: np.ndarray,
    *,
    taps: np.ndarray = (),
    leds: np.ndarray = (),
    movements: list[tuple[float, float]] = (),
    rng: np.random.Generator,
    shape: tuple[int, int] = (72, 96),
    exposure_s: float = 1 / 30,
    tap_gain: float = 40.0,
    led_duration_s: float = 0.1,
    noise: float = 1.0,
) -> np.ndarray:
    """Small RGB frames ``(n, H, W, 3)`` uint8 at the given true mid-exposure times.

    A textured face region (centre) jolts at each tap (a displacement that appears at
    contact and decays over 150 ms, linearised: image + D·pattern), moves slowly during
    each expression (1.5 s smooth displacement with another pattern), and a small LED
    (:data:`LED_BOX`) lights for ``led_duration_s`` at each time in ``leds``. Every
    exposure integrates over ``exposure_s`` around its time.
    """
    from scipy.ndimage import gaussian_filter

    h, w = shape
    t = np.asarray(frame_times, dtype=float)
    yy, xx = np.mgrid[:h, :w]
    face = (((yy - h / 2) / (0.4 * h)) ** 2 + ((xx - w / 2) / (0.3 * w)) ** 2) < 1
    texture = gaussian_filter(rng.standard_normal(shape), 1.5)
    texture /= texture.std()
    base = 90 + 30 * gaussian_filter(rng.standard_normal(shape), 6) + 25 * texture * face
    jolt = np.gradient(texture, axis=1) * face
    jolt *= tap_gain / np.abs(jolt[face]).mean()
    slow = np.gradient(texture, axis=0) * face
    slow *= tap_gain / np.abs(slow[face]).mean()
    d_tap = exposed_decay(t, exposure_s, np.asarray(taps, dtype=float), 0.15)
    d_move = np.zeros(t.size)
    for start, end in movements:  # smooth 0→1→0 over the movement
        u = np.clip((t - start) / (end - start), 0.0, 1.0)
        d_move += np.sin(np.pi * u) ** 2
    led = exposed_pulses(t, exposure_s, np.asarray(leds, dtype=float), led_duration_s)
    frames = (base[None] + d_tap[:, None, None] * jolt[None] + d_move[:, None, None] * slow[None]
              + noise * rng.standard_normal((t.size, h, w)))
    x0, y0, x1, y1 = LED_BOX
    frames[:, y0:y1, x0:x1] = 40 + 210 * led[:, None, None]
    rgb = np.repeat(frames[..., None], 3, axis=3)
    rgb[..., 0] *= 1.05  # a little colour, so grayscale conversion matters
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
