"""A recording's sEMG as an ``mne.io.Raw``: channel types, volts, events as annotations.

MNE assumes one uniform sample clock, so event times are placed by *sample position*:
an event at common-timeline time t lands at the sample nearest t, divided by the nominal
rate. That keeps events on the right sample even with clock drift or a gap (a gap itself
is marked with a ``BAD_gap`` annotation, since the samples on either side are joined).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import mne
import numpy as np

from mimicsync.dataset.events import Event
from mimicsync.dataset.recording import Recording

MNE_TYPES = {"EMG": "emg", "TRIG": "stim", "STIM": "stim", "MISC": "misc", "ECG": "ecg",
             "EOG": "eog", "EEG": "eeg"}
TO_SI = {"microvolts": 1e-6, "uv": 1e-6, "µv": 1e-6, "millivolts": 1e-3, "mv": 1e-3,
         "volts": 1.0, "v": 1.0}


def event_description(e: Event) -> str:
    """``trial_type/value`` (``perform/smile-open``), or the trial type alone."""
    return f"{e.trial_type}/{e.value}" if e.value else e.trial_type


def sample_positions(times: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Index of the sample nearest each time in ``at`` (times must be increasing)."""
    at = np.asarray(at, dtype=float)
    j = np.clip(np.searchsorted(times, at), 1, max(1, len(times) - 1))
    if len(times) < 2:
        return np.zeros(at.shape, dtype=np.int64)
    j = j - ((at - times[j - 1]) < (times[j] - at))
    return j.astype(np.int64)


def on_sample_clock(times: np.ndarray, srate: float, at: np.ndarray) -> np.ndarray:
    """Times ``at`` (common timeline) on the data file's sample clock: the fractional
    sample position / rate (so drift and dejitter of the sEMG clock carry over to
    whatever is placed beside the samples, e.g. the exported video)."""
    at = np.asarray(at, dtype=float)
    pos = np.interp(at, times, np.arange(len(times), dtype=float))
    pos = np.where(at < times[0], (at - times[0]) * srate, pos)
    pos = np.where(at > times[-1], len(times) - 1 + (at - times[-1]) * srate, pos)
    return pos / srate


def first_sample_utc(rec: Recording, t_first: float) -> dt.datetime | None:
    """Wall-clock time of the first sample, from the file's UTC/LSL start pair."""
    a = rec.attrs
    try:
        start = dt.datetime.fromisoformat(str(a["start_utc"]))
        return (start + dt.timedelta(seconds=t_first - float(a["start_lsl"]))).astimezone(
            dt.timezone.utc)
    except (KeyError, ValueError, TypeError):
        return None


def to_mne_raw(rec: Recording, stream_key: str | None = None, *, line_freq: float = 50.0,
               events: Sequence[Event] | None = None, verbose: str = "ERROR") -> mne.io.RawArray:
    """The sEMG stream as a preloaded :class:`mne.io.RawArray`.

    Parameters
    ----------
    rec : Recording
        An open recording.
    stream_key : str, optional
        The stream to convert (default: :meth:`Recording.emg_stream`).
    line_freq : float
        Mains frequency stored in ``info["line_freq"]`` (Hz).
    events : sequence of Event, optional
        Annotations to add (default: all of the recording's events inside the data).
    verbose : str
        MNE's log level while building the object.

    Returns
    -------
    mne.io.RawArray
        Channel types from the channel table (EMG→emg, TRIG→stim, MISC→misc), data in SI
        units (µV→V), ``meas_date`` = first sample (UTC).
    """
    s = rec.stream(stream_key) if stream_key else rec.emg_stream()
    specs = s.channel_specs
    x = np.asarray(s.physical(), dtype=np.float64)
    factors = np.array([TO_SI.get(c.unit.strip().lower(), 1.0) for c in specs])
    ch_types = [MNE_TYPES.get(c.type.upper(), "misc") for c in specs]
    info = mne.create_info([c.label for c in specs], s.srate, ch_types, verbose=verbose)
    info["line_freq"] = line_freq
    raw = mne.io.RawArray((x * factors).T, info, verbose=verbose)
    t = rec.timeline(s.key)
    if len(t):
        date = first_sample_utc(rec, float(t[0]))
        if date is not None:
            raw.set_meas_date(date)
    evs = list(rec.events if events is None else events)
    inside = [e for e in evs if len(t) and t[0] <= e.onset <= t[-1]]
    onsets = sample_positions(t, [e.onset for e in inside]) / s.srate
    desc = [event_description(e) for e in inside]
    durs = [e.duration for e in inside]
    gaps = np.flatnonzero(np.diff(t) > 1.5 / s.srate) if len(t) > 1 else np.zeros(0, int)
    onsets = np.concatenate([onsets, (gaps + 1) / s.srate])
    desc += ["BAD_gap"] * len(gaps)
    durs += [0.0] * len(gaps)
    raw.set_annotations(mne.Annotations(onsets, durs, desc, orig_time=raw.info["meas_date"]))
    return raw
