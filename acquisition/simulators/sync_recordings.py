"""Simulated recordings with a known EMG↔video truth, written much faster than real time.

Sync is only testable against a ground truth. This writes the file the recorder would
write for the simulated lab (EMG amplifier with a wrong clock, RGB camera filming the
same :class:`~mimicsync.acquisition.simulators.scenario.Scenario`), straight through
:class:`RecordingWriter`: a 30 s recording at 320×240 takes a few seconds. The clock
errors are split the way a real lab splits them:

- *host* clock offset/drift of the EMG sender's computer: LSL sees it, so it is in the
  stored ``clock_offsets`` (with a little measurement noise);
- *device* offset/drift/jitter of the amplifier's own stamps: LSL cannot see it, only
  the event level can;
- camera latency, offset, drift, jitter and dropped frames (the camera simulator's);
- optionally a clock reset of the EMG sender: the stream is silent for a few seconds and
  comes back with its clock jumped (as when the sender computer restarts).

:func:`alignment_error` compares a synced file with this truth: for every frame, how far
its time on the common timeline is from the time of the EMG sample taken at the same
true instant.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pylsl

from mimicsync import __version__
from mimicsync.acquisition.lsl_meta import add_channels
from mimicsync.acquisition.simulators.camera import SimulatedCamera
from mimicsync.acquisition.simulators.camera_physics import CameraPhysics
from mimicsync.acquisition.simulators.emg import EmgSimulator
from mimicsync.acquisition.simulators.scenario import Movement, Scenario, Tap, Trigger, tap_block
from mimicsync.dataset.events import Event
from mimicsync.dataset.recording_writer import RecordingWriter
from mimicsync.dataset.stream_meta import StreamMeta
from mimicsync.format import FRAME_INDEX_CHANNELS, FRAME_INDEX_TYPE

TRUTH_ATTR = "simulation"  # root attribute (JSON): this module's part of the truth
EMG_NAME = "sim-emg"
CAMERA_NAME = "sim-camera"


@dataclass(frozen=True)
class SimulatedRecording:
    """Everything that makes one simulated recording; all clock errors are ground truth."""

    duration_s: float = 30.0
    t0: float = 1000.0  # true (recorder) time of the first sample and frame
    seed: int = 0
    # EMG: device-side clock error (invisible to LSL) and host-side (in clock_offsets)
    emg_offset_s: float = 0.0
    emg_drift_ppm: float = 0.0
    emg_jitter_s: float = 0.0
    host_offset_s: float = 0.0
    host_drift_ppm: float = 0.0
    clock_noise_s: float = 2e-5  # LSL time_correction measurement noise
    clock_interval_s: float = 5.0
    reset_at_s: float | None = None  # EMG sender restarts this long after t0
    reset_gap_s: float = 6.0  # ... and is silent this long
    reset_jump_s: float = 0.0  # ... and its clock comes back this much later (s)
    n_channels: int = 64
    # camera
    camera: bool = True
    width: int = 320
    height: int = 240
    fps: float = 30.0
    latency_s: float = 0.03
    camera_offset_s: float = 0.0
    camera_drift_ppm: float = 0.0
    camera_jitter_s: float = 0.002
    drop_probability: float = 0.0
    drop_frames: tuple[int, ...] = ()
    jpeg_quality: int = 85
    emg: bool = True
    physics: CameraPhysics = field(default_factory=CameraPhysics)  # the sensor (D435-like)


def sync_scenario(t0: float, duration_s: float, rng: np.random.Generator, *,
                  tap_blocks: int = 2, taps_per_block: int = 3, trigger_every_s: float = 0.0,
                  triggers: int = 2, movements: tuple[str, ...] = ("smile-open", "forehead",
                                                                    "eyes-tight", "snarl"),
                  weak_taps: int = 0) -> Scenario:
    """A protocol-like session: tap blocks at both ends, trigger pulses, movements between.

    ``trigger_every_s`` > 0 adds a trigger pulse train (random intervals around it) over the
    whole recording instead of ``triggers`` single pulses; ``weak_taps`` taps are too soft
    for the EMG (strength 0.02) but still seen by the camera: missed taps.
    """
    sc = Scenario()
    span = 1.5 * (taps_per_block - 1)
    starts = [t0 + 1.2 + rng.uniform(0, 0.4)]
    if tap_blocks > 1:
        starts.append(t0 + duration_s - 1.5 - span - rng.uniform(0, 0.4))
    for s in starts[:tap_blocks]:
        for i, tap in enumerate(tap_block(s, taps_per_block)):
            sc.add_tap(Tap(tap.time + rng.uniform(-0.1, 0.1), tap.x_mm, tap.y_mm))
    lo, hi = starts[0] + span + 1.0, (starts[-1] - 1.0) if tap_blocks > 1 else t0 + duration_s - 1
    for _ in range(weak_taps):
        sc.add_tap(Tap(rng.uniform(lo, hi), x_mm=45.0, strength=0.02))
    if trigger_every_s > 0:
        t = t0 + 0.5 + rng.uniform(0, trigger_every_s)
        while t < t0 + duration_s - 0.5:
            sc.add_trigger(Trigger(t, rng.uniform(0.08, 0.15)))
            t += trigger_every_s * rng.uniform(0.7, 1.3)
    else:
        for t in np.linspace(lo, hi, triggers + 2)[1:-1] if triggers else []:
            sc.add_trigger(Trigger(t + rng.uniform(-0.3, 0.3), 0.1))
    t = lo + 0.5
    for i in range(1000):
        if t + 2.0 > hi:
            break
        m = movements[i % len(movements)]
        sc.add_movement(Movement(t, t + rng.uniform(1.0, 1.8), m))
        t += rng.uniform(2.2, 3.2)
    return sc


def _frame_index_meta(fps: float) -> StreamMeta:
    si = pylsl.StreamInfo(CAMERA_NAME, FRAME_INDEX_TYPE, len(FRAME_INDEX_CHANNELS), fps,
                          pylsl.cf_double64, f"{CAMERA_NAME}-frames")
    add_channels(si, FRAME_INDEX_CHANNELS)
    si.desc().append_child_value("can_drop_samples", "true")
    return StreamMeta.from_info(si)


def _host_offset(s: SimulatedRecording, t: np.ndarray) -> np.ndarray:
    """Sender clock minus recorder clock (the part LSL measures), at recorder times ``t``."""
    return s.host_offset_s + s.host_drift_ppm * 1e-6 * (np.asarray(t) - s.t0)


def write_session(path: str | Path, sc: Scenario, s: SimulatedRecording = SimulatedRecording()) -> Path:
    """Write the recording of ``sc`` under ``s`` to ``path`` (a finished file); returns it."""
    path = Path(path)
    rng = np.random.default_rng([s.seed, 7])
    attrs = {"participant": "sim", "session": "1", "task": "sync", "acq": "", "run": 1,
             "start_utc": "2026-01-01T00:00:00+00:00", "start_lsl": s.t0,
             "operator": "simulation", TRUTH_ATTR: json.dumps(asdict(s))}
    prov = {"software": {"mimicsync": __version__}, "host": "simulated"}
    w = RecordingWriter(path.with_name(path.name + ".part"), path, attrs, prov)
    t_end = s.t0 + s.duration_s
    emg = key = cam = info = fkey = None
    if s.emg:
        from mimicsync.dataset.electrodes import default_channels
        emg = EmgSimulator(sc, default_channels(n_channels=s.n_channels),
                           offset_s=s.emg_offset_s + s.host_offset_s,
                           drift_ppm=s.emg_drift_ppm + s.host_drift_ppm,
                           jitter_s=s.emg_jitter_s, seed=s.seed, t_start=s.t0, name=EMG_NAME,
                           source_id=f"{EMG_NAME}-{s.seed}")
        key = w.add_stream(StreamMeta.from_info(emg.stream_info()))
    if s.camera:
        cam = SimulatedCamera(sc, width=s.width, height=s.height, fps=s.fps, depth=False,
                              offset_s=s.camera_offset_s, drift_ppm=s.camera_drift_ppm,
                              jitter_s=s.camera_jitter_s, latency_s=s.latency_s,
                              drop_frames=s.drop_frames, drop_probability=s.drop_probability,
                              seed=s.seed, realtime=False, serial=f"SIM-CAM-{s.seed:04d}",
                              physics=s.physics)
        info = cam.start()
        cam.t_start = s.t0  # the scenario's clock, not "now"
        info.settings["simulation"]["t_start"] = s.t0
        fkey = w.add_stream(_frame_index_meta(s.fps))
        w.add_video(info, fkey, "jpeg", s.jpeg_quality)
    w.start_swmr()
    if emg is not None:
        _write_emg(w, key, emg, s, rng, t_end)
    if cam is not None:
        _write_video(w, fkey, cam, s, t_end)
    w.append_events([Event(m.start, m.end - m.start, "perform", m.movement) for m in sc.movements])
    w.append_events([Event(t.time, 0.0, "tap_cue", "tap") for t in sc.taps])
    return w.finalize({"stop_lsl": t_end, "duration_s": s.duration_s,
                       "stop_reason": "stopped by operator"},
                      {"settings": info.settings} if info is not None else None)


def _write_emg(w: RecordingWriter, key: str, emg: EmgSimulator, s: SimulatedRecording, rng,
               t_end: float) -> None:
    block = int(emg.srate) // 4
    reset_t = None if s.reset_at_s is None else s.t0 + s.reset_at_s
    next_offset = s.t0
    jump = 0.0
    while True:
        data, t_true, stamps = emg.next_block(block)
        if t_true[0] >= t_end:
            break
        if reset_t is not None and t_true[-1] >= reset_t:
            if t_true[0] < reset_t + s.reset_gap_s:
                continue  # the sender is down
            jump = s.reset_jump_s
        keep = t_true < t_end
        w.append_samples(key, data[keep], stamps[keep] + jump)
        while next_offset <= t_true[-1]:
            offset = -(_host_offset(s, next_offset) + jump) + rng.normal(0, s.clock_noise_s)
            w.append_clock_offsets(key, np.array([[next_offset, offset]]))
            next_offset += s.clock_interval_s
    w.append_clock_offsets(key, np.array([[t_end, -(_host_offset(s, t_end) + jump)]]))


def _write_video(w: RecordingWriter, fkey: str, cam: SimulatedCamera, s: SimulatedRecording,
                 t_end: float) -> None:
    rows, jpegs = [], []
    while True:
        fr = cam.read()
        if cam.exposure_time(fr.device_index) >= t_end:
            break
        rows.append(fr.row())
        jpegs.append(w.encode_color(fr.color))
        if len(rows) == 300:
            _flush_video(w, fkey, rows, jpegs)
    _flush_video(w, fkey, rows, jpegs)
    w.append_clock_offsets(fkey, np.array([[s.t0, 0.0], [t_end, 0.0]]))
    cam.stop()


def _flush_video(w: RecordingWriter, fkey: str, rows: list, jpegs: list) -> None:
    if rows:
        arr = np.array(rows, dtype=float)
        w.append_video(arr, jpegs, None)
        w.append_samples(fkey, arr[:, :4], arr[:, 3])
        rows.clear()
        jpegs.clear()


# -- ground truth ----------------------------------------------------------------------
@dataclass
class Truth:
    """True times of a simulated recording's stored EMG samples and video frames."""

    emg_times: np.ndarray  # true time of every stored EMG sample
    frame_times: np.ndarray  # true exposure time of every stored frame
    settings: dict = field(default_factory=dict)


def read_truth(rec) -> Truth:
    """The true sample and frame times of a simulated recording (``Recording``).

    Works for files of :func:`write_session` and for real-time recordings of the
    simulated lab: the EMG truth comes from ``<desc><simulation>``, the camera truth
    from ``/video`` ``settings``, a clock reset from the root attribute ``simulation``.
    """
    import xml.etree.ElementTree as ET
    extra = json.loads(rec.attrs.get(TRUTH_ATTR, "{}"))
    s = rec.emg_stream()
    sim = ET.fromstring(s.attrs["info_xml"]).find("./desc/simulation")
    g = {c.tag: c.text for c in sim}
    off, drift = float(g["offset_s"]), float(g["drift_ppm"]) * 1e-6
    t_start, srate = float(g["t_start"]), float(g["srate"])
    stamps = s.time_stamps.astype(float)
    jump = np.zeros(stamps.size)
    if extra.get("reset_at_s") is not None:
        # samples after the silent gap carry the jumped clock
        gap = np.flatnonzero(np.diff(stamps) > 0.5 * extra["reset_gap_s"])
        if gap.size:
            jump[gap[0] + 1:] = extra["reset_jump_s"]
    t_inv = (stamps - jump - off + drift * t_start) / (1 + drift)
    k = (t_inv - t_start) * srate
    # Stamps jitter; sample indices do not: one integer start per gap-free run.
    breaks = np.flatnonzero(np.abs(np.diff(k) - 1) > 0.5 + 20 * float(g["jitter_s"]) * srate)
    idx = np.empty(k.size)
    for a, b in zip(np.r_[0, breaks + 1], np.r_[breaks + 1, k.size]):
        run = np.arange(b - a)
        idx[a:b] = np.round(np.median(k[a:b] - run)) + run
    frame_t = np.zeros(0)
    if rec.has_video:
        cam = json.loads(rec.video_attrs["settings"])["simulation"]
        # the middle of the middle row's exposure (older files: the instant of rendering)
        readout = float(cam.get("physics", {}).get("readout_s", 0.0))
        exposure = np.nan_to_num(rec.frame_column("exposure_ms")) / 1e3
        frame_t = cam["t_start"] + rec.frames[:, 1] / cam["fps"] + readout / 2 + exposure / 2
    return Truth(t_start + idx / srate, frame_t, {"emg": g, "camera": extra})


def alignment_error(emg_times: np.ndarray, frame_times: np.ndarray, truth: Truth) -> np.ndarray:
    """Per frame: its common-timeline time minus that of the EMG at the same true instant (s).

    ``emg_times``/``frame_times`` are the synced times of the stored samples and frames.
    Frames outside the EMG's span (or in a gap of it) are left out.
    """
    t_true = truth.emg_times
    inside = (truth.frame_times >= t_true[0]) & (truth.frame_times <= t_true[-1])
    j = np.searchsorted(t_true, truth.frame_times[inside])
    j = np.clip(j, 1, t_true.size - 1)
    span = t_true[j] - t_true[j - 1]
    ok = span < 2.5 / float(truth.settings["emg"]["srate"])
    emg_at = np.interp(truth.frame_times[inside][ok], t_true, emg_times)
    return frame_times[inside][ok] - emg_at
