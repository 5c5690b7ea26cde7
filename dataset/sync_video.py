"""The video side of sync for one recording: exposure windows, LED edges, tap contacts.

Reads ``/video`` (frames decoded once at about 160 px across, :mod:`mimicsync.sync.
video_cells`) and turns it into what :func:`mimicsync.sync.event_fit.fit_events` needs:
per kind the video onsets (brackets or sub-frame times, on the video clock) and, for
taps, the clearest candidates that vote on the alignment. The video clock is the frames'
device clock fitted to host arrival (:func:`mimicsync.sync.stream_maps.map_frames`),
taken at the middle of the first row's exposure (:mod:`mimicsync.sync.exposure`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from mimicsync.dataset.recording import Recording
from mimicsync.sync.arrivals import contacts, strong
from mimicsync.sync.brackets import VideoOnsets
from mimicsync.sync.exposure import Exposure, led_switches
from mimicsync.sync.video_cells import CellScan, led_trace, scan
from mimicsync.sync.video_events import Box, Trace

# Colour sensors known to read out row by row, and a typical top-to-bottom readout for
# them when the file does not say (RealSense D415/D435 colour; the D455's is global).
ROLLING_SENSORS = ("D415", "D435", "D405")
TYPICAL_READOUT_MS = 25.0


@dataclass
class VideoFindings:
    """What the video shows, on the video clock."""

    events: dict[str, VideoOnsets]
    vote: dict[str, VideoOnsets]  # the clearest tap candidates (alignment only)
    exposure: Exposure
    led: Trace | None
    taps: Trace
    led_score: float
    led_row: float = float("nan")
    warnings: list[str] = field(default_factory=list)


def exposure_model(rec: Recording, times: np.ndarray, basis: str,
                   readout_ms: float | None = None) -> tuple[Exposure, list[str]]:
    """Exposure windows of every frame from the frame metadata and ``/video`` settings.

    ``times`` are the clock-level frame times of ``basis`` (``sensor_time``: middle of
    the first row's exposure; ``device_time``: the frame timestamp, which a RealSense
    sets at the start of readout, i.e. the end of the first row's exposure).
    """
    g = rec.video_attrs
    warnings: list[str] = []
    e = rec.frame_column("exposure_ms") / 1e3
    known = bool(e.size) and bool(np.all(np.isfinite(e)))
    if not known:
        e = np.zeros(len(times))
        warnings.append("video: no exposure metadata; frames treated as instants "
                        "(brackets a frame wide)")
    clock = np.asarray(times, float) - (e / 2 if basis == "device_time" and known else 0.0)
    if readout_ms is None:
        settings = json.loads(g.get("settings", "{}") or "{}")
        readout_ms = float(settings.get("readout_ms", float("nan")))
        if not np.isfinite(readout_ms):
            name = str(g.get("name", ""))
            rolling = any(s in name for s in ROLLING_SENSORS)
            readout_ms = TYPICAL_READOUT_MS if rolling else 0.0
            if rolling:
                warnings.append(f"video: rolling-shutter readout not recorded; assumed "
                                f"{readout_ms:g} ms")
    return Exposure(clock, e, float(readout_ms) / 1e3, int(g["height"]), known), warnings


def video_events(rec: Recording, exp: Exposure, *, led_box: Box | None, face_box: Box | None,
                 min_led_score: float, min_tap_strength: float,
                 target_width: int) -> VideoFindings:
    """LED edges and tap contacts (module docstring)."""
    g = rec.video_attrs
    w, h = int(g["width"]), int(g["height"])
    cells: CellScan = scan(rec.iter_stored_color(), w, h, target_width=target_width)
    events: dict[str, VideoOnsets] = {}
    led, score = led_trace(cells, exp.clock, led_box)
    has_led = led_box is not None or score >= min_led_score
    warnings = []
    row = float("nan")
    if has_led:
        row = (led.roi[1] + led.roi[3]) / 2
        events.update(led_switches(led.values, exp, row))
    else:
        warnings.append(f"video: no trigger LED found (best score {score:.0f} < "
                        f"{min_led_score:g})")
    found = contacts(cells, exp, exclude=led.roi if has_led else None, roi=face_box)
    events["tap"] = found.onsets
    vote = {"tap": found.onsets.take(np.flatnonzero(
        strong(found.strength, min_tap_strength)))}
    return VideoFindings(events, vote, exp, led if has_led else None, found.trace, score, row,
                         warnings)
