"""Run one recording session (and its protocol) without ever blocking the window.

The recording is built by the CLI's own :func:`mimicsync.protocols.visit.block_recording`
(a :class:`~mimicsync.protocols.protocol_recording.ProtocolRecording`): it
starts the recorder, runs the protocol once its marker stream is subscribed, and stops
when the run ends, the operator stops, or the recorder stops itself (disk nearly full,
writer failure). Its whole life (start, wait, stop) runs in one worker thread; a status
thread takes a ``Recorder.status()`` snapshot twice a second (it stats the file) and
free disk space when idle. The window only reads the latest snapshot.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from mimicsync.acquisition.recorder_setup import RecorderStatus
from mimicsync.errors import StopReason
from mimicsync.gui.words import render
from mimicsync.protocols.device_setup import OpenDevices
from mimicsync.protocols.like import EarlierPlan
from mimicsync.protocols.listeners import RunListener
from mimicsync.protocols.plan import Plan
from mimicsync.protocols.protocol_recording import ProtocolRecording, ProtocolRecordingResult
from mimicsync.protocols.visit import PreparedBlock, RecordOptions, block_recording

IDLE, STARTING, RECORDING, STOPPING = "idle", "starting", "recording", "stopping"


@dataclass
class BlockStart:
    """One GUI recording before it starts: the shared block and the app's running devices."""

    root: Path
    block: PreparedBlock
    devices: OpenDevices
    earlier: EarlierPlan | None = None
    notes: list[str] = field(default_factory=list)  # differences from the earlier session
    visit: tuple[PreparedBlock, ...] = ()  # a session plan's blocks, this one among them
    visit_index: int = 0  # this block's position in ``visit``

    @property
    def plan(self) -> Plan | None:
        return self.block.plan

    @property
    def language(self) -> str:
        return self.block.language


class RecordingController(QObject):
    """One recording at a time; signals arrive in the UI thread."""

    started = Signal(str)  # path of the file being written
    stopped = Signal(object)  # ProtocolRecordingResult
    failed = Signal(str)  # start or stop failed, in plain words
    _started_in_worker = Signal(object)
    _stopped_in_worker = Signal(object)
    _failed_in_worker = Signal(object)

    def __init__(self, poll_interval: float = 0.5) -> None:
        super().__init__()
        self.state = IDLE
        self.session: ProtocolRecording | None = None
        self.spec: BlockStart | None = None
        self.final_path: Path | None = None
        self.result: ProtocolRecordingResult | None = None
        self._status: RecorderStatus | None = None
        self._root: Path | None = None
        self._free: int | None = None
        self._stop = threading.Event()
        self._stop_when_started: StopReason | None = None
        self._poll_interval = poll_interval
        self._started_in_worker.connect(self._on_started)
        self._stopped_in_worker.connect(self._on_stopped)
        self._failed_in_worker.connect(self._on_failed)
        self._thread = threading.Thread(target=self._poll, name="gui-status", daemon=True)
        self._thread.start()

    # -- what the window reads --------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.state != IDLE

    @property
    def status(self) -> RecorderStatus | None:
        return self._status

    @property
    def free_bytes(self) -> int | None:
        """Free disk at the study root (from the recorder while recording)."""
        st = self._status
        return st.free_bytes if st is not None and self.state == RECORDING else self._free

    def watch_root(self, root: Path | None) -> None:
        self._root = root

    # -- commands ---------------------------------------------------------------------
    def start(self, prepare: Callable[[], BlockStart],
              listeners: Callable[[BlockStart], Sequence[RunListener]] = lambda spec: ()) -> None:
        """Record. ``prepare()`` runs in the worker (it reads protocol files, writes consent)
        and returns the spec; ``listeners(spec)`` are added to the protocol run."""
        if self.state != IDLE:
            return
        self.state = STARTING
        self._status = None
        self.result = None
        self._stop_when_started = None
        threading.Thread(target=self._life, args=(prepare, listeners), name="recording-session",
                         daemon=True).start()

    def _life(self, prepare, listeners) -> None:
        try:
            spec = prepare()
            options = RecordOptions(console=None, listeners=list(listeners(spec)),
                                    on_note=spec.notes.append, app="mimicsync gui")
            session = block_recording(spec.root, spec.block, spec.devices, options)
            session.start()
        except BaseException as e:  # noqa: BLE001 - handed to the UI thread
            self._failed_in_worker.emit(e)
            return
        self.spec, self.session = spec, session
        self._started_in_worker.emit(session)
        try:
            session.wait()
            result = session.stop()
        except BaseException as e:  # noqa: BLE001
            self._failed_in_worker.emit(e)
            return
        self._stopped_in_worker.emit(result)

    def _on_started(self, session: ProtocolRecording) -> None:
        self.state = RECORDING
        self._status = session.recorder.status()
        self.started.emit(str(session.recorder.part_path))
        if self._stop_when_started is not None:  # stop was asked for while starting
            self.stop(self._stop_when_started)

    def _on_stopped(self, result: ProtocolRecordingResult) -> None:
        self.result, self.final_path = result, Path(result.path)
        if self.session is not None:
            self._status = self.session.recorder.status()
        self.session, self.state = None, IDLE
        self.stopped.emit(result)

    def _on_failed(self, e: BaseException) -> None:
        self.session, self.state = None, IDLE
        self.failed.emit(render(e))

    def stop(self, reason: StopReason = StopReason.OPERATOR) -> None:
        """Ask the session to stop (a running protocol is aborted first)."""
        if self.state == STARTING:
            self._stop_when_started = reason
        elif self.state == RECORDING and self.session is not None:
            self.state = STOPPING
            self.session.request_stop(reason)

    def annotate(self, text: str) -> bool:
        """A free-text note becomes an ``annotation`` event (non-blocking queue put)."""
        if self.state != RECORDING or self.session is None:
            return False
        self.session.recorder.annotate(text)
        return True

    # -- status thread ------------------------------------------------------------------
    def _poll(self) -> None:
        while not self._stop.wait(self._poll_interval):
            session = self.session
            try:
                if session is not None and self.state in (RECORDING, STOPPING):
                    self._status = session.recorder.status()
                elif self._root is not None:
                    probe = next((p for p in [self._root, *self._root.parents] if p.exists()), None)
                    self._free = shutil.disk_usage(probe).free if probe is not None else None
            except Exception:  # noqa: BLE001 - a status hiccup must not end the thread
                continue

    def shutdown(self) -> None:
        self._stop.set()

