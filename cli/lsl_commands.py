"""Commands that put devices on LSL or list what is there: simulate, brainflow, streams."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from mimicsync.acquisition.stream_select import SelectorError, discover
from mimicsync.format import LSL_FORMAT_CODES


def stop_on_signal() -> threading.Event:
    """An event that Ctrl-C/SIGTERM set. Install it before a command says it is ready, so a
    signal that follows the announcement at once is never the default (killing) action."""
    stop = threading.Event()

    def handler(signum, _frame):
        stop.set()
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def until_signal(duration: float | None, stop: threading.Event | None = None) -> None:
    """Wait until Ctrl-C/SIGTERM or ``duration`` seconds."""
    stop = stop or stop_on_signal()
    t_end = time.monotonic() + (duration if duration is not None else 10 * 365 * 86400.0)
    # Short waits: a signal the kernel hands to another thread (LSL's, the server's) runs its
    # Python handler only when the main thread wakes up.
    while not stop.wait(0.2) and time.monotonic() < t_end:
        pass


def brainflow(args: argparse.Namespace) -> int:
    from mimicsync.acquisition.brainflow_adapter import BrainFlowStreamer, parse_board_params
    try:
        params = parse_board_params(args.param)
    except ValueError as e:
        raise SelectorError(f"--param: {e}") from None
    with BrainFlowStreamer(args.board_id, params, name=args.name) as bf:
        print(f"publishing '{bf.name}' ({len(bf.channels)} ch at {bf.srate:g} Hz, source_id "
              f"{bf.source_id}) (Ctrl-C to stop)", file=sys.stderr)
        until_signal(args.duration)
    return 0


def simulate(args: argparse.Namespace) -> int:
    from mimicsync.acquisition.camera import CameraStreamer
    from mimicsync.acquisition.simulators.devices import SimSettings, SimulatedLab
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
        until_signal(duration)
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
    for i in sorted(infos, key=lambda x: (x.type(), x.name())):
        rate = f"{i.nominal_srate():g}" if i.nominal_srate() else "irreg"
        print(f"{i.name()[:32]:<32} {i.type()[:12]:<12} {rate:>8} {i.channel_count():>4} "
              f"{LSL_FORMAT_CODES.get(i.channel_format(), '?'):<9} {i.hostname()[:20]:<20} {i.source_id()}")
    return 0
