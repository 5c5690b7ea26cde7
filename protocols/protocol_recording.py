"""One recording, optionally guided by a protocol run: the glue the CLI and the GUI share.

Order of operations, each step guarding the next:

1. The run's marker outlet is created with a per-run ``source_id`` (stable for the whole
   recording, so the recorder re-finds it after a hiccup, and unique, so two protocols
   on one network never mix) and added to the recorder's *required* streams.
2. The recorder starts; it subscribes an inlet to every stream before returning, and
   ``wait_for_consumers`` confirms the marker stream has a consumer: no cue before that.
3. The runner runs in its own thread. Each cue is pushed as a marker (kept verbatim as
   the raw stream ``/streams/<key>``) and handed to ``Recorder.add_events`` (the one copy
   in ``/events``); the recorder is told not to turn this stream's samples into
   ``marker`` events, so the file holds one clean set of cue events.
4. The run completes or is aborted (operator, ``max_duration``, a signal, a full disk).
   Once the recorder's inlet holds every marker, the recording stops after ``tail_s``.

Without a plan the same class makes a plain recording that stops at ``max_duration`` or
on request.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mimicsync.acquisition.recorder import Recorder
from mimicsync.acquisition.recorder_setup import RecorderConfig, RecorderStatus
from mimicsync.acquisition.stream_select import StreamSelector
from mimicsync.dataset.events import Event
from mimicsync.errors import ErrorCode, MimicsyncError, StopReason
from mimicsync.protocols.listeners import RunListener
from mimicsync.protocols.markers import MARKER_STREAM_NAME, LatencyStats, LslMarkerOutlet
from mimicsync.protocols.plan import Plan
from mimicsync.protocols.resume import ResumePoint
from mimicsync.protocols.runner import ProtocolRunner, RunReport
from mimicsync.protocols.schema import dumps_protocol

_FAILED: list[Recorder] = []


class ProtocolRecordingError(MimicsyncError, RuntimeError):
    """A protocol recording could not start or be set up; the message names the fix."""

    default_code = ErrorCode.STATE


@dataclass(frozen=True)
class ProtocolRecordingResult:
    """What a finished recording session reports."""

    path: Path
    report: RunReport | None  # None for a plain recording
    push_latency: LatencyStats  # cue -> marker pushed (runner clock)
    stop_reason: StopReason | None
    markers_recorded: int  # protocol markers the recorder's inlet received
    interrupted: bool = False  # stopped from outside the protocol: signal, GUI stop, full disk
    stop_text: str = ""  # the readable reason, as stored in the file


class RecorderEvents(RunListener):
    """Hands every cue and control action to the recorder as a session event."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def on_event(self, event: Event) -> None:
        self.recorder.add_events([event])


def protocol_attrs(plan: Plan, run_id: str, marker_source_id: str,
                   resume_from: ResumePoint | None = None) -> dict[str, Any]:
    """Root attributes that make a protocol recording self-contained and repeatable."""
    d: dict[str, Any] = {
        "protocol": dumps_protocol(plan.protocol),
        "protocol_name": plan.protocol.name,
        "plan": json.dumps(plan.to_dict(), ensure_ascii=False, separators=(",", ":")),
        "protocol_seed": plan.seed,
        "protocol_run_id": run_id,
        "protocol_marker_stream": marker_source_id,
    }
    if resume_from is not None:
        d["protocol_previous_run_id"] = resume_from.previous_run_id
        d["protocol_start_trial"] = resume_from.next_index
    return d


def marker_source_id(run_id: str) -> str:
    return f"mimicsync-protocol-{socket.gethostname()}-{run_id}"


#: The operator's single-key controls of a running protocol, the same in the terminal
#: (``cli.keyboard``) and the window: key -> :class:`ProtocolRecording` method.
OPERATOR_KEYS = {"p": "toggle_pause", "r": "repeat", "s": "skip", "a": "abort"}


class ProtocolRecording:
    """Records with ``config``; with a ``plan``, runs it and stops when it ends.

    ``start()`` → ``wait()`` → ``stop()``, or ``run()`` for all three. The operator
    controls (``pause``/``resume``/``toggle_pause``/``repeat``/``skip``/``abort``) and
    ``request_stop`` are thread-safe.
    """

    def __init__(self, config: RecorderConfig, plan: Plan | None = None, *,
                 resume_from: ResumePoint | None = None, listeners: Sequence[RunListener] = (),
                 max_duration: float | None = None, marker_name: str = MARKER_STREAM_NAME,
                 consumer_timeout: float = 10.0, tail_s: float = 0.5,
                 on_status: Callable[[RecorderStatus], None] | None = None,
                 status_interval: float = 5.0,
                 on_ready: Callable[["ProtocolRecording"], None] | None = None) -> None:
        self.plan = plan
        self.max_duration = max_duration
        self.consumer_timeout = consumer_timeout
        self.tail_s = tail_s
        self.on_status = on_status
        self.on_ready = on_ready  # called once recording, before the first cue
        self.status_interval = status_interval
        self.runner: ProtocolRunner | None = None
        self.outlet: LslMarkerOutlet | None = None
        self.source_id = ""
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._limit_reached = False
        self._aborting = False
        attrs, require, quiet = dict(config.attrs), list(config.require), list(config.no_marker_events)
        settings = dict(config.settings)
        if plan is not None:
            run_id = uuid.uuid4().hex[:12]
            self.source_id = marker_source_id(run_id)
            self.outlet = LslMarkerOutlet(self.source_id, name=marker_name, protocol=plan.protocol.name)
            try:
                self.runner = ProtocolRunner(plan, markers=self.outlet, run_id=run_id, resume_from=resume_from)
            except ValueError as e:
                self._close_outlet()
                raise ProtocolRecordingError(str(e)) from None
            attrs.update(protocol_attrs(plan, run_id, self.source_id, resume_from))
            selector = StreamSelector("source_id", self.source_id)
            require.append(selector)
            quiet.append(selector)
            settings.update(protocol=plan.protocol.name, protocol_seed=plan.seed)
        self.config = dataclasses.replace(config, attrs=attrs, require=require,
                                          no_marker_events=quiet, settings=settings)
        self.recorder = Recorder(self.config)
        if self.runner is not None:
            self.runner.add_listener(RecorderEvents(self.recorder))
            for listener in listeners:
                self.runner.add_listener(listener)

    # -- controls ------------------------------------------------------------------
    def pause(self) -> None:
        if self.runner:
            self.runner.pause()

    def resume(self) -> None:
        if self.runner:
            self.runner.resume()

    def toggle_pause(self) -> None:
        if self.runner:
            (self.runner.resume if self.runner.state == "paused" else self.runner.pause)()

    def repeat(self) -> None:
        if self.runner:
            self.runner.repeat()

    def skip(self) -> None:
        if self.runner:
            self.runner.skip()

    def abort(self) -> None:
        if self.runner:
            self.runner.abort()

    def request_stop(self, reason: StopReason | None = None, detail: str = "") -> None:
        """Stop soon (signal, GUI stop button): a running protocol is aborted first."""
        self.recorder.request_stop(reason, detail)

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        """Start recording; with a plan, start the run once the marker stream is subscribed."""
        try:
            self.recorder.start()
        except BaseException:
            self._close_outlet()
            raise
        self._t0 = time.monotonic()
        if self.runner is None:
            if self.on_ready is not None:
                self.on_ready(self)
            return
        if self._marker_worker() is None or not self.outlet.wait_for_consumers(self.consumer_timeout):
            self.recorder.request_stop(StopReason.NO_MARKERS)
            path = self.recorder.stop()
            self._close_outlet()
            raise ProtocolRecordingError(f"protocol: the recorder did not subscribe to the marker stream "
                               f"{self.source_id} within {self.consumer_timeout:g} s (recording kept "
                               f"without protocol: {path}); check that LSL works (`mimicsync streams`)")
        if self.on_ready is not None:
            self.on_ready(self)
        self._thread = self.runner.start()

    def _marker_worker(self):
        return next((w for w in list(self.recorder.workers.values())
                     if w.meta.source_id == self.source_id), None)

    @property
    def running(self) -> bool:
        if self._thread is not None:
            return self._thread.is_alive()
        return not (self.recorder.stop_requested or self._limit_reached)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run is over (or ``timeout``); True when it is."""
        t_end = None if timeout is None else time.monotonic() + timeout
        next_status = time.monotonic() + self.status_interval
        while self.running:
            now = time.monotonic()
            limit = self.max_duration is not None and now - self._t0 >= self.max_duration
            if (limit or self.recorder.stop_requested) and not self._aborting:
                self._limit_reached = limit
                self._aborting = True
                self.abort()
            if self.on_status is not None and now >= next_status:
                next_status = now + self.status_interval
                self.on_status(self.recorder.status())
            if t_end is not None and now >= t_end:
                return False
            if self._thread is not None:
                self._thread.join(0.02)
            else:
                self.recorder.wait(0.05)
        return True

    def stop(self) -> ProtocolRecordingResult:
        """End the run if still going, wait for its last markers, finalize the file."""
        report = None
        received = 0
        interrupted = self.recorder.stop_requested
        if self.runner is not None and self._thread is not None:
            if self._thread.is_alive():
                self.runner.abort()
                self._thread.join(10.0)
            report = self.runner.report
            received = self._await_markers(len(report.events) if report else 0)
            if report is not None:
                self.recorder.request_stop(*self._end_reason(report))
        elif self._limit_reached:
            self.recorder.request_stop(StopReason.DURATION, f"{self.max_duration:g} s")
        try:
            path = self.recorder.stop()
        except BaseException:
            # After a failed write HDF5 must not close the file (it can crash doing so): keep
            # the recorder referenced until the process exits (see hdf5_teardown_unsafe).
            _FAILED.append(self.recorder)
            raise
        finally:
            self._close_outlet()
        push = self.runner.push_latency() if self.runner else LatencyStats.of([])
        rec = self.recorder
        return ProtocolRecordingResult(path, report, push, rec.stop_reason, received, interrupted,
                                       rec.stop_text)

    def run(self) -> ProtocolRecordingResult:
        self.start()
        try:
            self.wait()
        finally:
            result = self.stop()
        return result

    # -- helpers -------------------------------------------------------------------
    def _await_markers(self, n: int, timeout: float = 3.0) -> int:
        """Until the recorder's inlet has all ``n`` markers, then ``tail_s`` more of data."""
        worker = self._marker_worker()
        end = time.monotonic() + timeout
        while worker is not None and worker.samples < n and time.monotonic() < end:
            time.sleep(0.01)
        if not self.recorder.stop_requested:
            time.sleep(self.tail_s)
        return worker.samples if worker is not None else 0

    def _end_reason(self, report: RunReport) -> tuple[StopReason, str]:
        if report.status == "completed":
            return StopReason.PROTOCOL_DONE, ""
        if self._limit_reached:
            return StopReason.DURATION, f"{self.max_duration:g} s; protocol aborted"
        return StopReason.PROTOCOL_ABORTED, ""

    def _close_outlet(self) -> None:
        if self.outlet is not None:
            self.outlet.close()
            self.outlet = None
