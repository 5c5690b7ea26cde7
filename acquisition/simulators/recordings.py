"""Write a complete simulated recording straight to disk, much faster than real time.

The same simulators as ``mimicsync demo`` (sEMG amplifier with a wrong clock, RGB-D camera
filming the same scenario), but driven directly into :class:`RecordingWriter` instead of
over LSL: a 10 s recording with 320×240 video takes about a second. Tests and benchmarks
of the readers and the export use it; the file is indistinguishable in layout from a
real one (streams, clock offsets, frame-index stream, video, protocol events, sidecar,
study-tree registration).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pylsl

from mimicsync import __version__
from mimicsync.acquisition.lsl_meta import add_channels
from mimicsync.acquisition.simulators.camera import SimulatedCamera
from mimicsync.acquisition.simulators.emg import EmgSimulator
from mimicsync.acquisition.simulators.scenario import Movement, Scenario, Tap
from mimicsync.dataset.events import Event
from mimicsync.dataset.layout import RecordingId
from mimicsync.dataset.recording_writer import RecordingWriter
from mimicsync.dataset.sidecar import write_sidecar
from mimicsync.dataset.stream_meta import StreamMeta
from mimicsync.dataset.study_tree import register_recording
from mimicsync.format import FRAME_INDEX_CHANNELS, FRAME_INDEX_TYPE

DEFAULT_MOVEMENTS = ("forehead", "eyes-tight", "smile-open", "lip-pucker", "snarl")


def compact_scenario(t0: float, duration: float, movements: Sequence[str] = DEFAULT_MOVEMENTS,
                     hold: float = 1.0, relax: float = 0.6) -> Scenario:
    """A tap at each end and the movements in between, as many as fit."""
    sc = Scenario()
    sc.add_tap(Tap(t0 + 0.3))
    t = t0 + 0.8
    for i in range(10_000):
        if t + hold > t0 + duration - 0.8:
            break
        sc.add_movement(Movement(t, t + hold, movements[i % len(movements)]))
        t += hold + relax
    sc.add_tap(Tap(t0 + duration - 0.4, x_mm=-45.0))
    return sc


def _frame_index_meta(name: str, fps: float) -> StreamMeta:
    si = pylsl.StreamInfo(name, FRAME_INDEX_TYPE, len(FRAME_INDEX_CHANNELS), fps,
                          pylsl.cf_double64, f"{name}-sim")
    add_channels(si, FRAME_INDEX_CHANNELS)
    si.desc().append_child_value("can_drop_samples", "true")
    return StreamMeta.from_info(si)


def write_simulated_recording(
    root: str | Path, rid: RecordingId, *, duration_s: float = 6.0, camera: bool = True,
    emg: bool = True,
    width: int = 320, height: int = 240, fps: float = 30.0, depth: bool = True,
    emg_offset_s: float = 0.012, emg_drift_ppm: float = 20.0, seed: int = 0,
    movements: Sequence[str] = DEFAULT_MOVEMENTS, operator: str = "simulation",
    attrs: dict | None = None, provenance: dict | None = None, t0: float = 1000.0,
    start_utc: str | None = None,
) -> Path:
    """Write ``rid`` under ``root`` (finished, with sidecar and TSV rows); returns its path.

    ``emg=False`` writes an electrode-free reference session (video and events only)."""
    root = Path(root)
    sc = compact_scenario(t0, duration_s, movements)
    amp = EmgSimulator(sc, offset_s=emg_offset_s, drift_ppm=emg_drift_ppm, seed=seed,
                     t_start=t0, name="mimicsync-emg-sim", source_id=f"sim-emg-{seed}")
    start_utc = start_utc or dt.datetime.now(dt.timezone.utc).isoformat()
    root_attrs = {"participant": rid.participant, "session": rid.session, "task": rid.task,
                  "acq": rid.acq or "", "run": rid.run, "start_utc": start_utc,
                  "start_lsl": t0, "operator": operator, **(attrs or {})}
    prov = {"software": {"mimicsync": __version__}, "host": "simulated-host",
            "user": "simulated-user", "operator": operator, **(provenance or {})}
    rid.session_dir(root).mkdir(parents=True, exist_ok=True)
    w = RecordingWriter(rid.part_path(root), rid.path(root), root_attrs, prov)
    emg_key = w.add_stream(StreamMeta.from_info(amp.stream_info())) if emg else None
    cam = None
    if camera:
        cam = SimulatedCamera(sc, width=width, height=height, fps=fps, depth=depth,
                              seed=seed, realtime=False, serial=f"SIM-CAM-{seed:04d}")
        info = cam.start()
        cam.t_start = t0  # the scenario's clock, not "now"
        info.settings["simulation"]["t_start"] = t0
        fkey = w.add_stream(_frame_index_meta("mimicsync-camera-sim", fps))
        w.add_video(info, fkey)
    w.start_swmr()

    block = int(amp.srate)
    n_total = int(round(duration_s * amp.srate)) if emg_key else 0
    for k in range(0, n_total, block):
        data, t_true, stamps = amp.next_block(min(block, n_total - k))
        w.append_samples(emg_key, data, stamps)
        # offset to *add* to the stream's stamps to get the recorder (true) clock
        t_meas = t_true[0]
        w.append_clock_offsets(emg_key, np.array([[t_meas, t_meas - (t_meas + emg_offset_s +
                                                   emg_drift_ppm * 1e-6 * (t_meas - t0))]]))
    t_end = t0 + duration_s
    if emg_key:
        w.append_clock_offsets(emg_key, np.array([[t_end, -(emg_offset_s + emg_drift_ppm
                                                            * 1e-6 * duration_s)]]))
    if cam is not None:
        rows, jpegs, depths = [], [], []
        while True:
            fr = cam.read()
            if fr.host_time > t_end:
                break
            rows.append(fr.row())
            jpegs.append(w.encode_color(fr.color))
            depths.append(fr.depth)
        arr = np.array(rows, dtype=float)
        w.append_video(arr, jpegs, np.stack(depths) if depth else None)
        w.append_samples(fkey, arr[:, :4], arr[:, 3])
        w.append_clock_offsets(fkey, np.array([[t0, 0.0], [t_end, 0.0]]))
        cam.stop()
    w.append_events([Event(m.start, m.end - m.start, "perform", m.movement,
                           {"protocol": "simulated", "trial": i + 1})
                     for i, m in enumerate(sc.movements)])
    w.append_events([Event(t.time, 0.0, "tap_cue", "tap", {"protocol": "simulated"})
                     for t in sc.taps])
    stop_utc = (dt.datetime.fromisoformat(start_utc) + dt.timedelta(seconds=duration_s)).isoformat()
    path = w.finalize({"stop_utc": stop_utc, "stop_lsl": t_end, "duration_s": duration_s,
                       "stop_reason": "stopped by operator"})
    write_sidecar(path)
    register_recording(root, rid, start_utc, "complete")
    return path
