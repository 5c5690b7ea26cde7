"""Cue-to-marker latency while a protocol is recorded under full load.

Records the emotions protocol (timings scaled by --speed) with the in-process simulated
amplifier (64 ch at 4096 Hz) and camera (1280x720 colour + depth at 30 fps), exactly as
``mimicsync record --protocol emotions --simulate --camera sim`` does, and reports per cue:

* cue -> marker pushed (the runner's own measurement);
* cue -> arrival at an independent LSL inlet on the same host;
* cue -> taken by the recorder's inlet worker (polled; includes its pull batching, up to
  its 0.1 s pull timeout; the stored onset is the cue time, so this delay never shifts
  an event).

Prints figures; asserts nothing.  Usage: python bench/protocol_latency.py [--speed 0.25]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import threading
import time

import pylsl

from mimicsync.protocols.device_setup import DeviceSetup
from mimicsync.protocols.markers import MarkerReceiver
from mimicsync.protocols.model import TapBlock, Timings
from mimicsync.protocols.plan import plan_trials
from mimicsync.protocols.protocol_recording import ProtocolRecording
from mimicsync.protocols.schema import load_protocol
from mimicsync.protocols.visit import PreparedBlock, RecordOptions, record_block


def scaled_emotions(speed: float):
    from dataclasses import replace
    p = load_protocol("emotions")
    t = p.steps[0].timings
    timings = Timings(*(v * speed for v in (t.instruction, t.countdown, t.hold, t.relax)))
    tb = p.tap_block
    tap = TapBlock(tb.count, tb.interval * speed, tb.instruction * speed, tb.after * speed, tb.text)
    return replace(p, steps=tuple(replace(s, timings=timings) for s in p.steps), tap_block=tap)


class WorkerWatch:
    """Polls the recorder's marker worker and notes when each marker was taken."""

    def __init__(self, session: ProtocolRecording) -> None:
        self.worker = session._marker_worker()
        self.taken: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            n = self.worker.samples
            now = pylsl.local_clock()
            while len(self.taken) < n:
                self.taken.append(now)
            time.sleep(0.0005)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def summary(name: str, samples: list[float]) -> str:
    ms = [s * 1e3 for s in samples]
    return (f"{name:<38} n={len(ms):4d}  median {statistics.median(ms):7.3f} ms  "
            f"p95 {sorted(ms)[int(0.95 * (len(ms) - 1))]:7.3f} ms  max {max(ms):7.3f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speed", type=float, default=0.25, help="timing factor (1 = the real protocol)")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    args = ap.parse_args()
    hooks: dict = {}

    def started(session: ProtocolRecording) -> None:
        hooks["rx"] = MarkerReceiver(session.source_id)
        hooks["watch"] = WorkerWatch(session)

    plan = plan_trials(scaled_emotions(args.speed), seed=1)
    setup = DeviceSetup(camera="sim", width=args.width, height=args.height, simulate=True)
    with tempfile.TemporaryDirectory() as root:
        result = record_block(root, PreparedBlock("bench", "01", "latency", None, setup, plan),
                              RecordOptions(console=io.StringIO(), on_started=started))
        hooks["watch"].close()
        rx: MarkerReceiver = hooks["rx"]
        time.sleep(0.2)
        rx.close()
        onsets = [e.onset for e in result.report.events]
        size = result.path.stat().st_size
    print(f"{len(onsets)} cues over {onsets[-1] - onsets[0]:.1f} s while recording 64 ch at 4096 Hz "
          f"and {args.width}x{args.height} video ({size / 1e6:.0f} MB)")
    push = result.push_latency
    print(f"{'cue -> marker pushed (runner)':<38} n={push.count:4d}  median {push.median * 1e3:7.3f} ms  "
          f"{'':17}max {push.max * 1e3:7.3f} ms")
    print(summary("cue -> independent inlet", [arr - ts for _, ts, arr in rx.received]))
    print(summary("cue -> recorder inlet worker (polled)", [t - o for t, o in zip(hooks["watch"].taken, onsets)]))


if __name__ == "__main__":
    main()
