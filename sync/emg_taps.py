"""Tap onsets in multichannel facial sEMG, and trigger-channel onsets.

A tap on the electrode area is a large (hundreds of µV), sharp (a few ms) transient on
the channels near the contact; facial movements are tens of µV and last much longer.
The chain here:

1. per channel: causal high-pass (removes electrode drift and motion baseline), then
   the Teager–Kaiser energy ``x[n]² − x[n−1]·x[n+1]`` (amplitude² × frequency², so a
   sharp tap stands out more than slow activity of the same amplitude);
2. each channel divided by its median energy (noisy electrodes do not dominate), then
   the mean of the ``top_k`` largest channels per sample (a tap only reaches the
   channels near it; the median across channels would be an alternative);
3. short centred moving average (``smooth_s``) → one envelope in units of "times the
   typical energy" (≈ squared amplitude SNR);
4. smoothed z-score detector (:mod:`.zscore`), flags merged with a refractory period;
5. each event is kept only if it is strong (``min_snr``, amplitude ratio over the
   pre-event baseline) and transient (the envelope ``post_window_s`` after the peak is
   back below ``max_post_ratio`` of the peak): a facial movement fails the second test;
6. onset = where the envelope rises through 20 % of its peak (``onset_fraction``),
   interpolated between samples, converted to time through the stream's timestamps.

The input may be any array-like that supports row slicing (numpy array, h5py dataset):
it is read in blocks, so memory stays bounded for long recordings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import butter, sosfilt, sosfilt_zi

from mimicsync.sync.onsets import envelope_events, index_to_time, refractory_keep, rising_edges
from mimicsync.sync.zscore import ZScoreParams, zscore_peaks

_BLOCK = 1 << 15  # samples per block (8 s at 4096 Hz)


@dataclass(frozen=True)
class EmgTapParams:
    """Settings of :func:`emg_tap_onsets`; times in seconds, converted at the stream rate."""

    highpass_hz: float = 20.0
    smooth_s: float = 0.001
    combine: str = "topk"  # "topk" (mean of the top_k channels) or "median"
    top_k: int | None = None  # default: an eighth of the channels, at least 1
    lag_s: float = 0.040  # z-score window (the published 40 ms)
    threshold: float = 5.0  # z-score threshold, in window standard deviations
    influence: float = 0.1  # >0, or after a long burst the window freezes and flags forever
    merge_gap_s: float = 0.010  # flags closer than this are one event
    refractory_s: float = 0.25  # a tap within this after a kept tap is its echo: dropped
    peak_search_s: float = 0.020  # peak looked for this long after the first flag
    baseline_s: float = 0.200  # pre-event baseline window
    onset_fraction: float = 0.2  # low: close to first contact, still far above the noise
    min_snr: float = 10.0  # peak / baseline, amplitude ratio
    # ... or the largest |high-passed| sample this many times the 95th percentile of it
    # before the event: a slow (low-frequency) tap has little Teager energy but a clear
    # amplitude (13-40x the channel RMS)
    min_amp_snr: float = 3.0
    post_window_s: tuple[float, float] = (0.030, 0.250)  # after the peak
    max_post_ratio: float = 0.05  # median post-window energy above baseline / peak energy


@dataclass(frozen=True)
class EmgTaps:
    """Detected taps (kept) and the events that were rejected, with why."""

    onsets: np.ndarray  # s, in the time base of the given timestamps
    onset_index: np.ndarray  # fractional sample index
    snr: np.ndarray  # peak amplitude / pre-event baseline amplitude
    peak_uv: np.ndarray  # largest |high-passed sample| across channels within the tap
    rejected_onsets: np.ndarray = field(default_factory=lambda: np.empty(0))
    rejected_reasons: tuple[str, ...] = ()


def _tkeo_blocks(emg, fs: float, highpass_hz: float) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield ``(first_index, energy, hp_block)`` per block of a continuous high-pass.

    ``energy`` has one row per sample from ``first_index``, one column per channel;
    the Teager–Kaiser operator needs the next sample, so each block's output ends one
    sample early and the next block begins there. ``hp_block`` is the high-passed
    input aligned with ``energy``.
    """
    n = emg.shape[0]
    sos = butter(4, highpass_hz, btype="highpass", fs=fs, output="sos")
    zi = None
    tail = None  # last two high-passed rows of the previous block
    for start in range(0, n, _BLOCK):
        x = np.asarray(emg[start : start + _BLOCK], dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if zi is None:  # start in steady state for the first sample's DC level
            zi = sosfilt_zi(sos)[:, :, None] * x[0][None, None, :]
        hp, zi = sosfilt(sos, x, axis=0, zi=zi)
        ext = hp if tail is None else np.concatenate((tail, hp))
        first = start - (0 if tail is None else 2) + 1
        energy = ext[1:-1] ** 2 - ext[:-2] * ext[2:]
        yield first, energy, ext[1:-1]
        tail = ext[-2:]


def emg_envelope(
    emg, fs: float, params: EmgTapParams = EmgTapParams()
) -> tuple[np.ndarray, np.ndarray]:
    """Combined tap envelope (steps 1–3 of the module docstring) and per-sample peak |hp|.

    Both are 1-D, one value per input sample. Reads the input twice: once for the
    per-channel median energy, once to combine.
    """
    n = emg.shape[0]
    n_ch = 1 if len(emg.shape) == 1 else emg.shape[1]
    stride = 8
    samples = [np.maximum(e[::stride], 0.0) for _, e, _ in _tkeo_blocks(emg, fs, params.highpass_hz)]
    scale = np.median(np.concatenate(samples), axis=0) + np.finfo(float).tiny
    k = params.top_k or max(1, n_ch // 8)
    k = min(k, n_ch)
    env = np.zeros(n)
    peak = np.zeros(n)
    for first, e, hp in _tkeo_blocks(emg, fs, params.highpass_hz):
        e = np.maximum(e, 0.0) / scale
        if params.combine == "median":
            comb = np.median(e, axis=1)
        elif params.combine == "topk":
            comb = np.partition(e, n_ch - k, axis=1)[:, n_ch - k :].mean(axis=1)
        else:
            raise ValueError(f"combine must be 'topk' or 'median', not {params.combine!r}")
        env[first : first + comb.size] = comb
        peak[first : first + comb.size] = np.abs(hp).max(axis=1)
    width = max(1, int(round(params.smooth_s * fs)))
    return uniform_filter1d(env, width, mode="nearest"), peak


def emg_tap_onsets(
    emg,
    timestamps: np.ndarray,
    fs: float,
    params: EmgTapParams = EmgTapParams(),
) -> EmgTaps:
    """Tap onsets in ``emg`` (``(n_samples, n_channels)``, µV) sampled at ``fs``.

    ``timestamps`` (one per sample, ideally dejittered) give the onsets' time base.
    """
    env, peak_abs = emg_envelope(emg, fs, params)
    zp = ZScoreParams.from_rate(fs, lag_s=params.lag_s, threshold=params.threshold,
                                influence=params.influence)
    flags = zscore_peaks(env, zp.lag, zp.threshold, zp.influence).signals > 0
    s = lambda sec: max(1, int(round(sec * fs)))  # noqa: E731 - seconds to samples
    ev = envelope_events(env, flags, merge_gap=s(params.merge_gap_s),
                         peak_search=s(params.peak_search_s), baseline_len=s(params.baseline_s),
                         guard=s(0.002), onset_fraction=params.onset_fraction)
    n = env.size
    snr = np.sqrt(ev.peak / np.maximum(ev.baseline, np.finfo(float).tiny))
    p0, p1 = s(params.post_window_s[0]), s(params.post_window_s[1])
    reasons = [""] * snr.size  # "" = kept
    peak_uv = np.empty(snr.size)
    for k, p in enumerate(ev.peak_index):
        peak_uv[k] = peak_abs[ev.first_flag[k] : min(n, p + s(0.005))].max()
        post = env[min(n - 1, p + p0) : min(n, p + p1)]
        rise = ev.peak[k] - ev.baseline[k]
        post_ratio = (np.median(post) - ev.baseline[k]) / rise if post.size and rise > 0 else 0.0
        b0, b1 = max(0, ev.first_flag[k] - s(params.baseline_s)), max(1, ev.first_flag[k] - s(0.002))
        amp = peak_uv[k] / max(float(np.percentile(peak_abs[b0:b1], 95)), np.finfo(float).tiny)
        if snr[k] < params.min_snr and amp < params.min_amp_snr:
            reasons[k] = (f"weak: SNR {snr[k]:.1f} < {params.min_snr:g} and amplitude "
                          f"{amp:.1f} < {params.min_amp_snr:g} × usual peak")
        elif post_ratio > params.max_post_ratio:
            reasons[k] = (f"not transient: activity at {post_ratio:.2f} of the peak goes on "
                          "after it (facial movement?)")
    onsets = index_to_time(ev.onset_index, timestamps)
    kept = np.flatnonzero([not r for r in reasons])
    for k in kept[~refractory_keep(onsets[kept], params.refractory_s)]:
        reasons[k] = f"echo: within {params.refractory_s:g} s after the previous tap"
    keep = np.array([not r for r in reasons], dtype=bool)
    return EmgTaps(onsets[keep], ev.onset_index[keep], snr[keep], peak_uv[keep],
                   onsets[~keep], tuple(r for r in reasons if r))


def trigger_onsets(
    trigger: np.ndarray,
    timestamps: np.ndarray,
    *,
    threshold: float | None = None,
    min_interval_s: float = 0.05,
) -> np.ndarray:
    """Rising-edge times of the amplifier's trigger channel (sub-sample, interpolated).

    Default threshold: halfway between the idle level (median) and the maximum, so
    pulses should be sparse (the line is low most of the time).
    """
    return rising_edges(trigger, timestamps, threshold=threshold, min_interval_s=min_interval_s,
                        min_contrast=None)
