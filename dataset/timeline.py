"""The one place that puts a recording's times on the common timeline.

Every reader (training views, MNE, BIDS export) asks :func:`timeline` for times, so the
day the offline sync (issue 3) writes ``/sync`` the whole package follows it without
another change. The common timeline is the recorder host's LSL clock (seconds), which is
already the clock of event onsets and of the video ``host_time`` column.

Without ``/sync``:

- an LSL stream's raw ``time_stamps`` get the stored clock offsets, fitted robustly per
  clock segment (:func:`mimicsync.sync.clock.fit_clock_offsets`, pyxdf's method);
- video frames (``VIDEO``) get :func:`mimicsync.sync.stream_maps.map_frames`: their host arrival
  times refitted through the device clock, which removes USB jitter (a constant latency
  remains until sync measures it).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from mimicsync.format import VIDEO
from mimicsync.sync.stream_maps import fit_offsets, map_frames

if TYPE_CHECKING:
    from mimicsync.dataset.recording import Recording

log = logging.getLogger(__name__)



def timeline(rec: "Recording", stream_key: str) -> np.ndarray:
    """Times (s, common timeline) of every sample of ``stream_key``, or every frame.

    Parameters
    ----------
    rec : Recording
        An open recording.
    stream_key : str
        A stream key, or :data:`mimicsync.format.VIDEO` for the frames.

    Returns
    -------
    numpy.ndarray
        A new float64 array as long as the stream's consistent length: the stored
        ``/sync`` mapping when the recording is synchronized, otherwise clock-offset
        corrected LSL timestamps (frames: host arrival refitted through the device clock).
    """
    synced = sync_times(rec, stream_key)
    if synced is not None:
        return synced
    if stream_key == VIDEO:
        return _video_times(rec)
    s = rec.stream(stream_key)
    return clock_corrected(s.time_stamps, s.clock_offsets)


def clock_corrected(time_stamps: np.ndarray, clock_offsets: np.ndarray) -> np.ndarray:
    """Raw sender timestamps plus the fitted clock offset (a copy; raw stays untouched).

    ``clock_offsets`` rows are ``[recorder time, offset]`` (docs/format.md); the fit is
    made against the sender's clock, where the timestamps live (as pyxdf does).
    """
    ts = np.asarray(time_stamps, dtype=float)
    fit = fit_offsets(clock_offsets)
    if ts.size == 0 or fit is None:
        return ts.copy()
    corrected, _ = fit.correct(ts)
    return corrected


def _video_times(rec: "Recording") -> np.ndarray:
    fr = rec.frames
    if len(fr) < 2:
        return fr[:, 3].copy()
    _, ft = map_frames(fr, rec.frame_columns)
    if ft is None:  # no usable device clock: arrival times are the best we have
        log.debug("%s: frame times from host arrival only", rec.path.name)
        return fr[:, 3].copy()
    return ft.times


def sync_times(rec: "Recording", stream_key: str) -> np.ndarray | None:
    """Times from ``/sync`` (written by ``mimicsync sync``) when it holds a complete result
    for ``stream_key``; None to fall back to the clock offsets. See ``docs/format.md``."""
    from mimicsync.dataset.sync_store import stored_times
    return stored_times(rec, stream_key)
