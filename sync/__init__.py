"""mimicsync.sync: offline alignment of the recorded streams.

Two levels, both pure functions on numpy arrays (raw timestamps are never altered):

- clock level: :func:`fit_clock_offsets` (LSL clock offsets → offset, drift and reset
  segments per stream), :func:`dejitter_timestamps` (regular-rate streams, piecewise
  between gaps), :func:`frame_times` (video frames through device time and counter);
- event level (tap peaks): :func:`emg_tap_onsets` / :func:`trigger_onsets` (EMG),
  :func:`motion_energy` + :func:`video_tap_onsets` and :func:`brightness` +
  :func:`led_onsets` (video), then :func:`match_events` for offset and drift between the
  two, with a confidence, or :class:`SyncRefused` with what to do.

A whole recording (imported on demand, they read files):

- :mod:`.session_sync` ``synchronize(path) -> SyncResult``: every stream onto the common
  timeline (:mod:`.stream_maps`), video events from cell scans (:mod:`.video_cells`,
  :mod:`.brackets`), all event kinds combined (:mod:`.event_fit`, :mod:`.interval_fit`);
- :mod:`.sync_store` writes ``/sync`` (``write_sync``) and reads it back
  (``stored_times``, used by :func:`mimicsync.dataset.timeline.timeline`);
- :mod:`.report` text summary and PNG;
- :mod:`.live` incremental detection and running offset while recording;
- :mod:`.simulated_session` simulated recordings with ground truth (tests, bench).
"""

from mimicsync.sync.clock import ClockFit, ClockSegment, detect_clock_resets, fit_clock_offsets
from mimicsync.sync.dejitter import (
    Dejittered,
    dejitter_timestamps,
    detect_breaks,
    stream_can_drop_samples,
)
from mimicsync.sync.emg_taps import (
    EmgTapParams,
    EmgTaps,
    emg_envelope,
    emg_tap_onsets,
    trigger_onsets,
)
from mimicsync.sync.frame_times import FrameSegment, FrameTimes, frame_times
from mimicsync.sync.match import Match, SyncRefused, match_events
from mimicsync.sync.video_events import (
    Trace,
    VideoTapParams,
    VideoTaps,
    brightness,
    led_onsets,
    motion_energy,
    video_tap_onsets,
)
from mimicsync.sync.zscore import ZScoreDetector, ZScoreParams, ZScoreResult, zscore_peaks

__all__ = [
    "ClockFit", "ClockSegment", "detect_clock_resets", "fit_clock_offsets",
    "Dejittered", "dejitter_timestamps", "detect_breaks", "stream_can_drop_samples",
    "EmgTapParams", "EmgTaps", "emg_envelope", "emg_tap_onsets", "trigger_onsets",
    "FrameSegment", "FrameTimes", "frame_times",
    "Match", "SyncRefused", "match_events",
    "Trace", "VideoTapParams", "VideoTaps", "brightness", "led_onsets", "motion_energy",
    "video_tap_onsets",
    "ZScoreDetector", "ZScoreParams", "ZScoreResult", "zscore_peaks",
]
