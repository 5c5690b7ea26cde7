"""The CLI commands. Thin: all logic lives in acquisition/ and dataset/ (the GUI uses it too)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

import pylsl

from mimicsync.acquisition.camera import CameraError
from mimicsync.acquisition.recorder import GiB, Recorder, RecorderConfig, RecorderError
from mimicsync.acquisition.stream_select import (SelectorError, StreamSelector, discover,
                                                 parse_selectors)
from mimicsync.dataset.layout import LabelError, RecordingId, check_label, next_free_run
from mimicsync.dataset.recording import Recording, RecordingError
from mimicsync.dataset.recover import recover

def _device_error() -> type[BaseException]:
    from mimicsync.acquisition.brainflow_adapter import DeviceError
    return DeviceError


KNOWN_ERRORS: tuple[type[BaseException], ...] = (
    RecorderError, LabelError, SelectorError, RecordingError, CameraError, FileExistsError,
    PermissionError, _device_error())


def run(args: argparse.Namespace) -> int:
    return {"demo": demo, "simulate": simulate, "streams": streams, "record": record,
            "info": info, "recover": recover_cmd, "brainflow": brainflow}[args.command](args)


# -- helpers ---------------------------------------------------------------------------
def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def print_summary(summary: dict, out=sys.stdout) -> None:
    """The table a user reads after a recording: counts, rates, gaps, drops, size."""
    print(f"recording: {summary['path']}", file=out)
    print(f"status: {summary['status']}   size: {_human(summary['size_bytes'])}   "
          f"events: {summary['events']}", file=out)
    print(f"{'stream':<34} {'type':<12} {'samples':>9} {'rate (eff/nom)':>20} {'gaps':>5} "
          f"{'lost':>5}", file=out)
    for s in summary["streams"].values():
        rate = (f"{s['effective_srate']:.2f}/{s['nominal_srate']:g} Hz" if s["nominal_srate"]
                else "irregular")
        print(f"{s['name'][:34]:<34} {s['type'][:12]:<12} {s['samples']:>9} {rate:>20} "
              f"{s['gaps']:>5} {s['disconnects']:>5}", file=out)
    v = summary.get("video")
    if v:
        print(f"video: {v['frames']} frames {v['width']}x{v['height']} at "
              f"{v['effective_fps']:.2f} fps, dropped frames: {v['dropped']}", file=out)


def _stop_on_signals(rec: Recorder) -> None:
    def handler(signum, _frame):
        rec.request_stop(f"stopped by signal {signal.Signals(signum).name}")
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _run_recording(rec: Recorder, duration: float | None, progress: bool = True) -> Path:
    """Start, show a status line every few seconds, stop on duration/signal/disk."""
    rec.start()
    _stop_on_signals(rec)
    print(f"recording to {rec.part_path} (Ctrl-C to stop)", file=sys.stderr)
    t_end = None if duration is None else time.monotonic() + duration
    while True:
        left = None if t_end is None else t_end - time.monotonic()
        if left is not None and left <= 0:
            break
        rec.wait(5.0 if left is None else min(5.0, left))
        if rec.stop_requested:
            break
        if progress:
            st = rec.status()
            counts = ", ".join(f"{s.name}={s.samples}{'' if s.connected else ' (LOST)'}"
                               for s in st.streams)
            print(f"  {st.elapsed_s:6.1f} s  {_human(st.file_bytes)}  frames={st.frames} "
                  f"dropped={st.dropped_frames}  {counts}", file=sys.stderr)
    path = rec.stop()
    if rec.stop_reason:
        print(f"note: {rec.stop_reason}", file=sys.stderr)
    return path


def _camera(kind: str, args: argparse.Namespace, scenario_duration: float | None):
    if kind == "none":
        return None
    if kind == "realsense":
        from mimicsync.acquisition.realsense import RealSenseCamera
        return RealSenseCamera(serial=args.camera_serial, width=args.width, height=args.height,
                               fps=args.fps)
    from mimicsync.acquisition.camera_simulator import SimulatedCamera
    from mimicsync.acquisition.scenario import demo_scenario
    sc = demo_scenario(pylsl.local_clock(), scenario_duration or 60.0)
    return SimulatedCamera(sc, width=args.width, height=args.height, fps=float(args.fps))


# -- commands --------------------------------------------------------------------------
def record(args: argparse.Namespace) -> int:
    check_label("participant", args.participant)
    check_label("session", args.session)
    check_label("task", args.task)
    check_label("acq", args.acq, optional=True)
    base = RecordingId(args.participant, args.session, args.task, 1, args.acq)
    rid = base.with_run(args.run if args.run is not None else next_free_run(args.root, base))
    cfg = RecorderConfig(
        root=args.root, rid=rid, streams=parse_selectors(args.stream),
        require=parse_selectors(args.require),
        camera=_camera(args.camera, args, args.duration), operator=args.operator,
        color_encoding=args.color_encoding, jpeg_quality=args.jpeg_quality,
        min_free_bytes=int(args.min_free_gb * GiB),
        settings={"camera": args.camera, "width": args.width, "height": args.height,
                  "fps": args.fps})
    path = _run_recording(Recorder(cfg), args.duration)
    with Recording(path) as r:
        print_summary(r.summary())
    return 0


def demo(args: argparse.Namespace) -> int:
    """Simulated amplifier + camera + markers, one recording, then the summary."""
    from mimicsync.acquisition.simulated_devices import SimSettings, SimulatedLab
    settings = SimSettings(suffix=f"demo{int(time.time()) % 100000}", camera=not args.no_camera,
                           width=args.width, height=args.height, emg_offset_s=0.012,
                           emg_drift_ppm=20.0, emg_jitter_s=0.0002)
    lab = SimulatedLab(settings, duration=args.duration, lead_in=1.0)
    rid = RecordingId("demo", "01", "demo", 1)
    rid = rid.with_run(next_free_run(args.root, rid))
    with lab:
        cfg = RecorderConfig(
            root=args.root, rid=rid,
            require=[StreamSelector("source_id", lab.emg.source_id)],
            streams=[StreamSelector("name", settings.name("mimicsync-scenario-markers"))],
            camera=lab.camera, operator="demo", resolve_wait=5.0,
            settings={"simulation": "mimicsync demo", "scenario_duration_s": args.duration})
        print(f"mimicsync demo: recording {args.duration:.0f} s of simulated sEMG "
              f"({len(lab.emg.channels)} ch at {lab.emg.srate:g} Hz)"
              + ("" if args.no_camera else f" and {args.width}x{args.height} video"),
              file=sys.stderr)
        path = _run_recording(Recorder(cfg), args.duration + 1.5)
    with Recording(path) as r:
        print_summary(r.summary())
    return 0


def _until_signal(duration: float | None) -> None:
    """Sleep until Ctrl-C/SIGTERM or ``duration`` seconds."""
    stop = {"now": False}

    def handler(signum, _frame):
        stop["now"] = True
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    t_end = time.monotonic() + (duration if duration is not None else 10 * 365 * 86400.0)
    while not stop["now"] and time.monotonic() < t_end:
        time.sleep(0.2)


def brainflow(args: argparse.Namespace) -> int:
    from mimicsync.acquisition.brainflow_adapter import BrainFlowStreamer, parse_board_params
    try:
        params = parse_board_params(args.param)
    except ValueError as e:
        raise SelectorError(f"--param: {e}") from None
    with BrainFlowStreamer(args.board_id, params, name=args.name) as bf:
        print(f"publishing '{bf.name}' ({len(bf.channels)} ch at {bf.srate:g} Hz, source_id "
              f"{bf.source_id}) (Ctrl-C to stop)", file=sys.stderr)
        _until_signal(args.duration)
    return 0


def simulate(args: argparse.Namespace) -> int:
    from mimicsync.acquisition.camera import CameraStreamer
    from mimicsync.acquisition.simulated_devices import SimSettings, SimulatedLab
    settings = SimSettings(suffix=args.suffix, camera=args.frame_index,
                           emg_offset_s=args.offset, emg_drift_ppm=args.drift_ppm,
                           emg_jitter_s=args.jitter)
    duration = args.duration or 24 * 3600.0
    lab = SimulatedLab(settings, duration=duration)
    streamer = CameraStreamer(lab.camera, name=settings.name("mimicsync-camera-sim")) \
        if lab.camera else None
    with lab:
        if streamer:
            streamer.start()
        names = [lab.emg.name] + ([lab.markers.outlet.get_info().name()] if lab.markers else [])
        names += [streamer.name] if streamer else []
        print("publishing: " + ", ".join(names) + " (Ctrl-C to stop)", file=sys.stderr)
        _until_signal(duration)
        if streamer:
            streamer.stop()
    return 0


def streams(args: argparse.Namespace) -> int:
    infos = discover(args.wait)
    if not infos:
        print("no LSL streams found (is a device or `mimicsync simulate` running?)",
              file=sys.stderr)
        return 1
    print(f"{'name':<32} {'type':<12} {'rate':>8} {'ch':>4} {'format':<9} {'host':<20} source_id")
    fmt = {1: "float32", 2: "double64", 3: "string", 4: "int32", 5: "int16", 6: "int8", 7: "int64"}
    for i in sorted(infos, key=lambda x: (x.type(), x.name())):
        rate = f"{i.nominal_srate():g}" if i.nominal_srate() else "irreg"
        print(f"{i.name()[:32]:<32} {i.type()[:12]:<12} {rate:>8} {i.channel_count():>4} "
              f"{fmt.get(i.channel_format(), '?'):<9} {i.hostname()[:20]:<20} {i.source_id()}")
    return 0


def info(args: argparse.Namespace) -> int:
    with Recording(args.file) as r:
        summary = r.summary()
        if args.json:
            summary["attrs"] = {k: v for k, v in r.attrs.items() if k != "provenance"}
            print(json.dumps(summary, indent=2, default=str))
        else:
            a = r.attrs
            print(f"participant {a.get('participant')}  session {a.get('session')}  task "
                  f"{a.get('task')}  run {a.get('run')}  started {a.get('start_utc')}  "
                  f"duration {float(a.get('duration_s', 0) or 0):.1f} s")
            print_summary(summary)
    return 0


def recover_cmd(args: argparse.Namespace) -> int:
    path = recover(args.file)
    print(f"recovered: {path}")
    with Recording(path) as r:
        print_summary(r.summary())
    return 0
