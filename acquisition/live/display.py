"""What the live traces show of a stream: raw, or Fridlund bipolar pairs, optionally filtered.

Display only: the recorder stores the raw samples and the quality grades read the raw
ring. Bipolar pairs and filters must act on the samples, not on the drawn min/max
envelope (a difference or a filter of envelopes is not the envelope of the derived
signal), so the chain runs on each chunk in the inlet thread, before the envelope.

The filters are causal (a live view cannot look ahead) with their state kept across
chunks: a 50 Hz notch (IIR, Q = 30: only the hum, unlike the wide Q = 2 of the offline
feature chain) and a 4th-order Butterworth high-pass (20 Hz: movement and electrode
drift off, the EMG band kept), both from :mod:`scipy.signal`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import signal

from mimicsync.dataset.electrodes import bipolar_pairs
from mimicsync.format import ChannelSpec

NOTCH_Q = 30.0
HIGHPASS_ORDER = 4


@dataclass(frozen=True)
class DisplaySettings:
    """How the traces derive from the samples; the default is the raw signal."""

    bipolar: bool = False  # Fridlund electrode 1 minus electrode 2, per muscle and side
    notch_hz: float | None = None  # e.g. 50.0 (Europe) or 60.0
    highpass_hz: float | None = None  # e.g. 20.0


def _montage(channels: Sequence[ChannelSpec], bipolar: bool
             ) -> tuple[list[ChannelSpec], list[tuple[int, ...]], np.ndarray | None]:
    """Output channels, the input channels each is made of, and the mixing matrix
    (None: identity). Bipolar replaces each Fridlund pair by one channel; the other
    channels (other schemes, trigger) stay as they are."""
    pairs = bipolar_pairs(channels) if bipolar else []
    if not pairs:
        return list(channels), [(i,) for i in range(len(channels))], None
    paired = {i for _, a, b in pairs for i in (a, b)}
    out: list[ChannelSpec] = []
    sources: list[tuple[int, ...]] = []
    for label, a, b in pairs:
        ca, cb = channels[a], channels[b]
        out.append(replace(ca, label=label, x_mm=(ca.x_mm + cb.x_mm) / 2,
                           y_mm=(ca.y_mm + cb.y_mm) / 2))
        sources.append((a, b))
    for i, c in enumerate(channels):
        if i not in paired:
            out.append(c)
            sources.append((i,))
    mix = np.zeros((len(channels), len(out)), np.float32)
    for j, src in enumerate(sources):
        mix[src[0], j] = 1.0
        if len(src) == 2:
            mix[src[1], j] = -1.0
    return out, sources, mix


def _filter_sos(srate: float, s: DisplaySettings) -> np.ndarray | None:
    sections = []
    if s.notch_hz and srate > 2.5 * s.notch_hz:
        b, a = signal.iirnotch(s.notch_hz, NOTCH_Q, fs=srate)
        sections.append(signal.tf2sos(b, a))
    if s.highpass_hz and srate > 2.5 * s.highpass_hz:
        sections.append(signal.butter(HIGHPASS_ORDER, s.highpass_hz, "highpass", fs=srate,
                                      output="sos"))
    return np.concatenate(sections).astype(np.float64) if sections else None


class DisplayChain:
    """Turns raw chunks ``(n, in_channels)`` into display chunks ``(n, len(channels))``.

    Not thread-safe: one chain per stream, fed by its inlet thread only.

    Parameters
    ----------
    channels
        The stream's channel table.
    srate
        Its nominal rate (the filters are designed for it).
    settings
        What to derive; filters act on EMG channels only (a trigger stays a square wave).
    """

    def __init__(self, channels: Sequence[ChannelSpec], srate: float,
                 settings: DisplaySettings = DisplaySettings()) -> None:
        self.settings = settings
        self.channels, self.sources, self._mix = _montage(channels, settings.bipolar)
        self._sos = _filter_sos(srate, settings)
        self._emg = np.array([c.type == "EMG" for c in self.channels])
        self._zi: np.ndarray | None = None

    @property
    def is_identity(self) -> bool:
        return self._mix is None and self._sos is None

    def __call__(self, data: np.ndarray) -> np.ndarray:
        x = data if self._mix is None else data @ self._mix
        if self._sos is None or not self._emg.any() or len(x) == 0:
            return x
        x = np.array(x, dtype=np.float64)
        emg = x[:, self._emg]
        if self._zi is None:  # start from the first sample's level: no step response
            self._zi = signal.sosfilt_zi(self._sos)[:, :, None] * emg[0][None, None, :]
        emg, self._zi = signal.sosfilt(self._sos, emg, axis=0, zi=self._zi)
        x[:, self._emg] = emg
        return x.astype(np.float32)
