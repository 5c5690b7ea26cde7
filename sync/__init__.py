"""mimicsync.sync: the alignment algorithms, pure functions on numpy arrays.

Nothing here opens a file (``mimicsync.dataset.sync_recording`` runs these on one
recording and ``mimicsync.dataset.sync_store`` stores the result). Raw timestamps are
never altered. Two levels:

- clock level: :func:`fit_clock_offsets` (LSL clock offsets → offset, drift and reset
  segments per stream), :func:`dejitter_timestamps` (regular-rate streams, piecewise
  between gaps), :func:`frame_times` (video frames through device time and counter),
  :mod:`.stream_maps` (every stream onto the common timeline);
- event level: :func:`emg_tap_onsets` / :func:`trigger_onsets` (sEMG),
  :mod:`.video_cells` cell scans with :mod:`.brackets` (video taps and LED), then
  :func:`match_events`, :mod:`.event_fit` and :mod:`.interval_fit` for offset and drift
  with an uncertainty, or :class:`SyncRefused` with what to do;
- :mod:`.live`: incremental detection and running offset while recording.

Names below load their module on first use, so importing one submodule (the reader
needs only the clock level) does not import scipy.signal and the detectors.
"""

from __future__ import annotations

from mimicsync.lazy import lazy_getattr

_API = {
    "ClockFit": "clock",
    "ClockSegment": "clock",
    "detect_clock_resets": "clock",
    "fit_clock_offsets": "clock",
    "Dejittered": "dejitter",
    "dejitter_timestamps": "dejitter",
    "detect_breaks": "dejitter",
    "stream_can_drop_samples": "dejitter",
    "EmgTapParams": "emg_taps",
    "EmgTaps": "emg_taps",
    "emg_envelope": "emg_taps",
    "emg_tap_onsets": "emg_taps",
    "trigger_onsets": "emg_taps",
    "FrameSegment": "frame_times",
    "FrameTimes": "frame_times",
    "frame_times": "frame_times",
    "Match": "match",
    "SyncRefused": "match",
    "match_events": "match",
    "Trace": "video_events",
    "VideoTapParams": "video_events",
    "VideoTaps": "video_events",
    "video_tap_onsets": "video_events",
    "CellScan": "video_cells",
    "scan": "video_cells",
    "led_trace": "video_cells",
    "ZScoreDetector": "zscore",
    "ZScoreParams": "zscore",
    "ZScoreResult": "zscore",
    "zscore_peaks": "zscore",
}

__all__ = sorted(_API)


# A name shared with its module: bound now, so importing the submodule never shadows it.
from mimicsync.sync.frame_times import frame_times  # noqa: E402, F401


__getattr__ = lazy_getattr(__name__, _API)
