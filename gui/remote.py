"""The remote-control server in the operator app: experiment scripts drive the window.

The same :class:`~mimicsync.protocols.remote_server.RemoteControlServer` and
:class:`~mimicsync.protocols.remote_control.RemoteController` as ``mimicsync serve``; only
the backend differs: commands act on the window as the operator would (``filename``
fills the Recording fields, ``select all`` ticks every listed stream, ``start`` presses
Record with the window's setup, including its protocol), so the operator sees what the
script did. Off by default (a checkbox and a port in Setup). Commands arrive in the
server's thread; each is run in the UI thread and the reply waits for its outcome.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from mimicsync.acquisition.stream_select import StreamSelector
from mimicsync.dataset.layout import RecordingId
from mimicsync.errors import ErrorCode, MimicsyncError, StopReason
from mimicsync.gui.recording_worker import IDLE
from mimicsync.gui.stream_table import selector_for
from mimicsync.gui.words import render
from mimicsync.protocols.plan import Plan
from mimicsync.protocols.remote_control import BackendBase, Naming, RemoteController
from mimicsync.protocols.remote_recorder import describe_saved, session_status
from mimicsync.protocols.remote_server import DEFAULT_PORT, RemoteControlServer, RemoteServerError

ANSWER_S = 60.0  # a start waits for the required streams and the camera


class RemoteControlBox(QWidget):
    """Setup's row: [ ] remote control (LabRecorder protocol) on port [22345]."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.enabled = QCheckBox("remote control for experiment scripts (LabRecorder's) on port")
        self.enabled.setToolTip("scripts on this machine send select all / filename {…} / start / "
                                "stop over TCP and get one reply line per command")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(DEFAULT_PORT)
        self.state = QLabel("")
        self.state.setStyleSheet("QLabel { color: #555; font-size: 9pt; }")
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(self.enabled)
        h.addWidget(self.port)
        h.addWidget(self.state, 1)


class _UiThread(QObject):
    """Runs callables in the UI thread and hands back their result or exception."""

    job = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.job.connect(lambda fn: fn())

    def call(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        if QThread.currentThread() is self.thread():
            return fn()
        box: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                box["value"] = fn()
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                box["error"] = e
            finally:
                done.set()
        self.job.emit(run)
        if not done.wait(timeout):
            raise MimicsyncError("app", f"the operator app did not answer within {timeout:g} s",
                                 "check the window (a dialog may be open)")
        if "error" in box:
            raise box["error"]
        return box.get("value")


class WindowBackend(QObject, BackendBase):
    """:class:`~mimicsync.protocols.remote_control.RecordingBackend` on the operator window."""

    def __init__(self, window) -> None:
        super().__init__()
        self.w = window
        self.ui = _UiThread()
        self._outcome = threading.Event()
        self._failure = ""
        self._cues: Counter[str] = Counter()
        self._annotations = 0
        c = window.controller
        c.started.connect(lambda _path: self._outcome.set())
        c.stopped.connect(lambda _result: self._outcome.set())
        c.failed.connect(self._failed)
        window.relay.event.connect(lambda e: self._cues.update([e.trial_type]))

    def _failed(self, message: str) -> None:
        self._failure = message
        self._outcome.set()

    @property
    def recording(self) -> bool:
        return self.w.controller.state != IDLE

    # -- naming: the window's Recording fields ---------------------------------------
    def naming(self, current: Naming) -> Naming:
        def read() -> Naming:
            f = self.w.setup.form()
            return Naming(f.root_path if f.root.strip() else current.root, f.participant or None,
                          f.session or None, f.task or None, f.acq or None, current.run)
        return self.ui.call(read)

    def show_naming(self, naming: Naming) -> None:
        def fill() -> None:
            s = self.w.setup
            s.root.setText(str(naming.root))
            for name in ("participant", "session", "task", "acq"):
                getattr(s, name).setText(getattr(naming, name) or "")
            if naming.run is not None:
                s.run.setValue(naming.run)
        self.ui.call(fill)

    # -- streams ---------------------------------------------------------------------
    def _entries(self):
        own = self.w.devices.own_source_ids()
        return [e for e in self.w.watcher.snapshot()[1] if e.source_id not in own]

    def list_streams(self) -> list[str]:
        return [f"{e.name} ({e.type or 'no type'}, {e.host})" for e in self._entries()]

    def _tick(self, record: bool) -> str:
        table = self.w.setup.streams
        required = set(table.selectors()[1])
        table.select(lambda e: selector_for(e) not in required, record=record)
        chosen = table.selected_entries()
        return (f"{len(chosen)} stream(s) ticked in the window: "
                + "; ".join(e.name for e in chosen) if chosen else "no stream ticked in the window")

    def select_all(self) -> str:
        return self.ui.call(lambda: self._tick(True))

    def select_none(self) -> str:
        return self.ui.call(lambda: self._tick(False))

    def required(self) -> list[StreamSelector]:
        return self.ui.call(lambda: self.w.setup.streams.selectors()[1])

    def missing_required(self) -> list[StreamSelector]:
        return []  # the window has no auto-start

    # -- recording -------------------------------------------------------------------
    def _press_record(self, root: Path, rid: RecordingId, plan: Plan | None) -> None:
        s = self.w.setup
        s.root.setText(str(root))
        s.run.setValue(rid.run)
        if plan is not None:
            name = plan.protocol.name
            if s.protocol.findData(name) < 0:
                s.protocol.addItem(name, name)
            s.protocol.setCurrentIndex(s.protocol.findData(name))
            s.seed.setText(str(plan.seed))
        errors = s.errors()
        if errors:
            field, message = next(iter(errors.items()))
            e = MimicsyncError(message)  # the window's one-line message: "field: problem; fix"
            raise MimicsyncError(e.field or field, e.problem, e.fix or "fix it in the window's Setup")
        if not self.w.start_recording():
            raise MimicsyncError("start", "the window refused to start (see its messages)",
                                 "fix the setup in the window")

    def start(self, root: Path, rid: RecordingId, plan: Plan | None) -> str:
        self._outcome.clear()
        self._failure, self._cues, self._annotations = "", Counter(), 0
        self.ui.call(lambda: self._press_record(root, rid, plan))
        if not self._outcome.wait(ANSWER_S):
            raise MimicsyncError("start", f"not recording after {ANSWER_S:g} s", "check the window")
        if self._failure:
            raise MimicsyncError("start", self._failure, "see the window's messages")
        st = self.w.controller.status
        spec = self.w.controller.spec
        with_protocol = f" with protocol {spec.plan.protocol.name}" if spec and spec.plan else ""
        names = ", ".join(s.name for s in st.streams) if st else ""
        return f"recording to {rid.path(root)}{with_protocol} ({names or 'no streams'})"

    def stop(self, reason: StopReason) -> str:
        self._outcome.clear()
        self._failure = ""
        self.ui.call(lambda: self.w.controller.stop(reason))
        if not self._outcome.wait(ANSWER_S):
            raise MimicsyncError("stop", f"not saved after {ANSWER_S:g} s", "check the window")
        if self._failure:
            raise MimicsyncError("stop", self._failure, "see the window's messages")
        return describe_saved(self.w.controller.result)

    def annotate(self, text: str) -> float:
        def note() -> float:
            if not self.w.controller.annotate(text):
                raise MimicsyncError("annotate", "not recording", "send start first",
                                 code=ErrorCode.STATE)
            self.w.say(f"note from the remote script: {text}")
            st = self.w.controller.status
            return st.elapsed_s if st else 0.0
        at = self.ui.call(note)
        self._annotations += 1
        return at

    def status(self) -> dict[str, Any]:
        c = self.w.controller
        session = c.session
        if session is None:
            last = c.final_path
            return {"recording": self.recording, "file": "", "last": {"file": str(last)} if last else None}
        return session_status(session, self.recording, self._cues, self._annotations)


class WindowRemoteControl:
    """Starts and stops the server as the Setup checkbox says; errors go to the window."""

    def __init__(self, window, box: RemoteControlBox) -> None:
        self.w, self.box = window, box
        self.backend = WindowBackend(window)
        self.server: RemoteControlServer | None = None
        self.controller: RemoteController | None = None
        box.enabled.toggled.connect(self._toggled)
        box.port.editingFinished.connect(self._restart)  # not per keystroke: "2" of "22346"

    def _toggled(self, on: bool) -> None:
        self.enable(self.box.port.value()) if on else self.disable()

    def _restart(self) -> None:
        if self.server is not None and self.server.port != self.box.port.value():
            self.disable()
            self.enable(self.box.port.value())

    def enable(self, port: int) -> None:
        self.controller = RemoteController(self.backend, self.backend.naming(Naming(Path.home())),
                                           on_log=self._log)
        try:
            self.server = RemoteControlServer(self.controller, "127.0.0.1", port, on_log=self._log).start()
        except RemoteServerError as e:
            self.server = self.controller = None
            self.box.enabled.blockSignals(True)
            self.box.enabled.setChecked(False)
            self.box.enabled.blockSignals(False)
            self.box.state.setText("off")
            self.w.show_error(render(e))
            return
        self.box.state.setText(f"listening on 127.0.0.1:{self.server.port}")
        self.w.say(f"remote control listening on 127.0.0.1:{self.server.port}")

    def disable(self) -> None:
        """Stop listening; a recording a script started keeps going (stop it in the window)."""
        if self.server is not None:
            self.server.close()
            self.w.say("remote control off")
        self.server = self.controller = None
        self.box.state.setText("")

    def _log(self, text: str) -> None:
        self.backend.ui.job.emit(lambda: self.w.say(f"remote: {text}"))
