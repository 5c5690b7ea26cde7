"""Per-channel sEMG signal quality from a few seconds of raw data, for the operator's check.

Before a participant starts, the operator must see which electrodes are usable. Four
measures, all from the last ``window`` of raw samples (µV), per channel:

* **rest RMS**: RMS in the EMG band (``band_hz``, line-noise bins counted at the EMG
  floor) of the quietest short segments (``rest_percentile`` of ``segment_s``
  segments), so movements in the window (a protocol's holds) do not hide a noisy
  electrode, as long as the window has some rest. Facial sEMG at rest is ~0.5-1 µV; a
  loose electrode shows several µV.
* **line-noise ratio**: RMS near the mains frequency and its harmonics, above the EMG
  floor, divided by the EMG-band RMS (median over segments): high for a dry or poorly
  grounded electrode, ~0 for a clean one.
* **flat**: standard deviation below ``flat_std_uv`` (disconnected, shorted, dead channel).
* **saturated**: more than ``saturated_fraction`` of samples at the amplifier rail
  (``saturation_uv``), or, when the range is unknown, stuck at the channel's own
  extreme value (clipping shows as runs of identical extreme samples).

Spectra are one ``rfft`` per Hann-windowed segment; band power follows from Parseval, so
the figures are in the recorder's units. Pure numpy: safe to call from any thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

GOOD, WARN, BAD, NONE = "good", "warn", "bad", "none"  # NONE: not assessed (trigger, no data)


@dataclass(frozen=True)
class QualityThresholds:
    """Where good turns to warn and bad; amplifier- and lab-specific, so configurable."""

    band_hz: tuple[float, float] = (20.0, 450.0)
    line_hz: float = 50.0
    line_harmonics: int = 3  # 50, 100, 150 Hz
    line_halfwidth_hz: float = 6.0  # Hann main lobe of a 0.25 s segment is +-8 Hz
    segment_s: float = 0.25
    rest_percentile: float = 25.0  # of the segments' EMG RMS: the quiet moments
    rest_rms_warn_uv: float = 5.0
    rest_rms_bad_uv: float = 15.0
    line_ratio_warn: float = 1.5
    line_ratio_bad: float = 4.0
    flat_std_uv: float = 0.05
    saturation_uv: float | None = None  # amplifier input range (+-), if known
    saturated_fraction: float = 0.01


@dataclass(frozen=True)
class QualityReport:
    """One entry per channel; ``grade`` is GOOD/WARN/BAD/NONE, ``reasons`` say why."""

    rest_rms_uv: np.ndarray
    line_ratio: np.ndarray
    flat: np.ndarray
    saturated: np.ndarray
    grade: tuple[str, ...]
    reasons: tuple[str, ...]

    def counts(self) -> dict[str, int]:
        return {g: self.grade.count(g) for g in (GOOD, WARN, BAD, NONE)}


def _band_masks(n: int, srate: float, th: QualityThresholds) -> tuple[np.ndarray, np.ndarray]:
    """rfft bins of the EMG band (without line bins) and of the line frequencies."""
    f = np.fft.rfftfreq(n, 1.0 / srate)
    line = np.zeros(f.shape, dtype=bool)
    for k in range(1, th.line_harmonics + 1):
        line |= np.abs(f - k * th.line_hz) <= th.line_halfwidth_hz
    hi = min(th.band_hz[1], 0.5 * srate * 0.98)
    band = (f >= th.band_hz[0]) & (f <= hi) & ~line
    return band, line & (f > 0) & (f < 0.5 * srate)


def band_rms(segments: np.ndarray, srate: float, th: QualityThresholds) -> tuple[np.ndarray, np.ndarray]:
    """EMG-band and line RMS of ``(n_seg, n, ch)`` segments -> two ``(n_seg, ch)`` arrays.

    The line bins hold EMG too: the EMG RMS counts them at the median band level, and
    the line RMS is only what the mains adds above that floor (clean EMG: ratio ~0).
    """
    n = segments.shape[1]
    w = np.hanning(n)
    x = segments - segments.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(x * w[None, :, None], axis=1)
    power = spec.real**2 + spec.imag**2
    # Parseval with the window's energy: one-sided bins count twice.
    scale = 2.0 / (n * float((w**2).sum()))
    band, line = _band_masks(n, srate, th)
    floor = np.median(power[:, band], axis=1) * int(line.sum())  # EMG's own share of line bins
    return (np.sqrt((power[:, band].sum(axis=1) + floor) * scale),
            np.sqrt(np.maximum(power[:, line].sum(axis=1) - floor, 0.0) * scale))


def _saturated(x: np.ndarray, th: QualityThresholds) -> np.ndarray:
    if th.saturation_uv is not None:
        at_rail = np.abs(x) >= 0.999 * th.saturation_uv
        return at_rail.mean(axis=0) > th.saturated_fraction
    hi, lo = x.max(axis=0), x.min(axis=0)
    stuck = np.maximum((x == hi).mean(axis=0), (x == lo).mean(axis=0))
    return (stuck > th.saturated_fraction) & (hi > lo)


def assess(data: np.ndarray, srate: float, assessable: Sequence[bool] | None = None,
           thresholds: QualityThresholds | None = None) -> QualityReport:
    """Quality of each column of ``data`` (``(n_samples, n_channels)``, µV, at ``srate``).

    ``assessable`` False marks channels that are not EMG (trigger, counters): they get
    grade NONE. Too little data (less than one segment) grades every channel NONE.
    """
    th = thresholds or QualityThresholds()
    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"data must be (samples, channels), got shape {x.shape}")
    n_ch = x.shape[1]
    ok = np.ones(n_ch, dtype=bool) if assessable is None else np.asarray(assessable, dtype=bool)
    seg = int(round(th.segment_s * srate))
    n_seg = x.shape[0] // seg if seg >= 16 else 0
    nan = np.full(n_ch, np.nan)
    if n_seg == 0:
        return QualityReport(nan, nan.copy(), np.zeros(n_ch, bool), np.zeros(n_ch, bool),
                             (NONE,) * n_ch, ("not enough data yet",) * n_ch)
    x = np.nan_to_num(x[-n_seg * seg:])
    emg, line = band_rms(x.reshape(n_seg, seg, n_ch), srate, th)
    rest = np.percentile(emg, th.rest_percentile, axis=0)
    ratio = np.median(line / np.maximum(emg, 1e-12), axis=0)
    flat = x.std(axis=0) < th.flat_std_uv
    sat = _saturated(x, th)
    grades, reasons = [], []
    for i in range(n_ch):
        if not ok[i]:
            grades.append(NONE)
            reasons.append("not an EMG channel")
            continue
        bad, warn = [], []
        if flat[i]:
            bad.append("flat (no signal: electrode off or channel dead)")
        if sat[i]:
            bad.append("saturated (clipping at the amplifier range)")
        if not flat[i]:
            if rest[i] > th.rest_rms_bad_uv:
                bad.append(f"rest RMS {rest[i]:.1f} µV (loose electrode?)")
            elif rest[i] > th.rest_rms_warn_uv:
                warn.append(f"rest RMS {rest[i]:.1f} µV")
            if ratio[i] > th.line_ratio_bad:
                bad.append(f"{th.line_hz:g} Hz noise {ratio[i]:.1f}x the EMG")
            elif ratio[i] > th.line_ratio_warn:
                warn.append(f"{th.line_hz:g} Hz noise {ratio[i]:.1f}x the EMG")
        grades.append(BAD if bad else WARN if warn else GOOD)
        reasons.append("; ".join(bad + warn) or "ok")
    return QualityReport(rest, ratio, flat, sat, tuple(grades), tuple(reasons))
