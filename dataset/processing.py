"""The published per-frame sEMG feature chain (domain-facts), on scipy.signal.

1. per-channel mean removal, NaN set to 0;
2. bipolar pairing (Fridlund: electrode 1 minus electrode 2, :func:`electrodes.bipolar_pairs`);
3. 50 Hz IIR notch, Q = 2 (``iirnotch``, applied forwards and backwards: zero phase, like
   the band-pass, so features do not lag the video);
4. 10-500 Hz FIR band-pass, 129 taps, Hamming window, zero phase (``filtfilt``);
5. sliding RMS over 2048 samples (centred window);
6. Fourier resampling to the video rate (``signal.resample``).

Output stays in the recorder's units (µV), not normalised. Each step is its own function
so training code can stop early (e.g. band-passed windows for BioFace-3D style inputs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal

from mimicsync.dataset import electrodes as el
from mimicsync.format import ChannelSpec


@dataclass(frozen=True)
class ChainParams:
    """The published values; change them to explore, the defaults reproduce the paper."""

    notch_hz: float = 50.0
    notch_q: float = 2.0
    band_hz: tuple[float, float] = (10.0, 500.0)
    fir_taps: int = 129
    fir_window: str = "hamming"
    rms_samples: int = 2048
    bipolar: bool = True  # False: keep the monopolar EMG channels


def remove_mean(x: np.ndarray) -> np.ndarray:
    """Per-channel mean removal (NaN ignored), then NaN set to 0; float64 copy."""
    x = np.asarray(x, dtype=float)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(x, axis=0) if x.shape[0] else np.zeros(x.shape[1:])
    return np.nan_to_num(x - np.nan_to_num(mean), nan=0.0)


def bipolar(x: np.ndarray, channels: Sequence[ChannelSpec]) -> tuple[np.ndarray, list[str]]:
    """Fridlund bipolar derivations and their labels (``Zyg_L`` …)."""
    pairs = el.bipolar_pairs(channels)
    if not pairs:
        raise ValueError("channels: no Fridlund electrode pairs (labels like Zyg_L1/Zyg_L2); "
                         "use ChainParams(bipolar=False) for monopolar channels")
    a = [p[1] for p in pairs]
    b = [p[2] for p in pairs]
    return x[:, a] - x[:, b], [p[0] for p in pairs]


def notch(x: np.ndarray, fs: float, freq: float = 50.0, q: float = 2.0) -> np.ndarray:
    b, a = signal.iirnotch(freq, q, fs=fs)
    return signal.filtfilt(b, a, x, axis=0)


def fir_bandpass(fs: float, band: tuple[float, float] = (10.0, 500.0), taps: int = 129,
                 window: str = "hamming") -> np.ndarray:
    high = min(band[1], 0.49 * fs)
    return signal.firwin(taps, [band[0], high], pass_zero=False, window=window, fs=fs)


def bandpass(x: np.ndarray, fs: float, band: tuple[float, float] = (10.0, 500.0),
             taps: int = 129, window: str = "hamming") -> np.ndarray:
    """Zero-phase FIR band-pass (filtfilt: the magnitude response is applied twice)."""
    return signal.filtfilt(fir_bandpass(fs, band, taps, window), [1.0], x, axis=0)


def sliding_rms(x: np.ndarray, n: int = 2048) -> np.ndarray:
    """RMS over a centred window of ``n`` samples, same length as ``x``."""
    kernel = np.full((n, 1), 1.0 / n)
    power = signal.oaconvolve(np.square(x), kernel, mode="same", axes=0)
    return np.sqrt(np.clip(power, 0.0, None))


def resample_to(x: np.ndarray, fs: float, rate: float) -> np.ndarray:
    """Fourier resampling from ``fs`` to ``rate`` (same duration)."""
    num = max(1, int(round(x.shape[0] * rate / fs)))
    return signal.resample(x, num, axis=0)


def process_emg(x: np.ndarray, fs: float, channels: Sequence[ChannelSpec], rate: float = 30.0,
                params: ChainParams = ChainParams()) -> tuple[np.ndarray, list[str]]:
    """The whole chain: ``(n, channels)`` samples at ``fs`` → ``(m, k)`` RMS features at
    ``rate`` (sample j at ``t0 + j / rate`` where ``t0`` is the first sample's time),
    and the k feature labels. Non-EMG channels (trigger) are left out."""
    x = remove_mean(x)
    if params.bipolar:
        x, labels = bipolar(x, channels)
    else:
        keep = [i for i, c in enumerate(channels) if c.type.upper() == "EMG"]
        x, labels = x[:, keep], [channels[i].label for i in keep]
    x = notch(x, fs, params.notch_hz, params.notch_q)
    x = bandpass(x, fs, params.band_hz, params.fir_taps, params.fir_window)
    x = sliding_rms(x, params.rms_samples)
    return resample_to(x, fs, rate).astype(np.float32), labels
