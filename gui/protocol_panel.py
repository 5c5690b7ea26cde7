"""The operator's protocol view: where the run is, what comes next, and its controls.

The runner calls its listeners in its own thread; :class:`RunRelay` turns each call into
a queued Qt signal, so this panel and the participant's cue window update in the UI
thread and never slow the runner down.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QWidget,
)

from mimicsync.dataset.events import Event
from mimicsync.protocols import Plan, Protocol
from mimicsync.protocols import listeners as ev


class RunRelay(QObject):
    """A protocol RunListener whose hooks emit Qt signals (thread-safe)."""

    event = Signal(object)
    countdown = Signal(int)

    def on_event(self, event: Event) -> None:
        self.event.emit(event)

    def on_countdown(self, seconds_left: int) -> None:
        self.countdown.emit(seconds_left)

    def on_perform(self, start: float, end: float, movement_id: str) -> None:
        pass

    def on_tap(self, time: float, index: int) -> None:
        pass


def _fmt_s(s: float) -> str:
    return f"{int(s // 60)}:{int(round(s % 60)):02d}"


class ProtocolPanel(QGroupBox):
    """Start emits ``start_requested`` (the window records, and the protocol runs once the
    recording is on); the others act on the ProtocolRecording given by ``attach``."""

    start_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Protocol", parent)
        self.session = None
        self.protocol: Protocol | None = None
        self.plan: Plan | None = None
        self.language = "en"
        self.paused = False
        self.title = QLabel("no protocol: free recording (until ■ Stop)")
        self.now = QLabel("—")
        f = QFont()
        f.setPointSize(13)
        f.setBold(True)
        self.now.setFont(f)
        self.count = QLabel("")
        self.count.setFont(f)
        self.count.setMinimumWidth(30)
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.next = QLabel("")
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m trials")
        self.progress.setMaximumHeight(16)
        self.progress.hide()  # shown for a protocol run only
        self.start = QPushButton("Start protocol")
        self.pause = QPushButton("Pause")
        self.repeat = QPushButton("Repeat trial")
        self.skip = QPushButton("Skip trial")
        self.abort = QPushButton("Abort")
        for b, tip in ((self.start, "start recording; the protocol begins as soon as it records"),
                       (self.pause, "stop the current trial; Resume restarts it"),
                       (self.repeat, "do the current (or just finished) trial again"),
                       (self.skip, "go on with the next trial"),
                       (self.abort, "end the run now; it can be resumed in a new run")):
            b.setToolTip(tip)
        self.start.clicked.connect(self.start_requested)
        self.pause.clicked.connect(self._pause)
        self.repeat.clicked.connect(lambda: self.session and self.session.repeat())
        self.skip.clicked.connect(lambda: self.session and self.session.skip())
        self.abort.clicked.connect(self.ask_abort)
        g = QGridLayout(self)
        g.addWidget(self.title, 0, 0, 1, 2)
        g.addWidget(self.now, 1, 0)
        g.addWidget(self.count, 1, 1)
        g.addWidget(self.next, 2, 0, 1, 2)
        g.addWidget(self.progress, 3, 0, 1, 2)
        row = QHBoxLayout()
        for b in (self.start, self.pause, self.repeat, self.skip, self.abort):
            row.addWidget(b)
        g.addLayout(row, 4, 0, 1, 2)
        g.setColumnStretch(0, 1)
        self.set_controls(can_start=False)

    # -- setup --------------------------------------------------------------------------
    def set_plan(self, protocol: Protocol | None, plan: Plan | None, language: str,
                 preview: str = "", error: str = "") -> None:
        """The run to show; ``preview``: chosen in Setup, not recording yet, and what it
        says of the order (drawn at the start, or fixed by a seed or the earlier plan)."""
        self.protocol, self.plan, self.language = protocol, plan, language
        if protocol is None or plan is None:
            self.title.setText(f"protocol: {error}" if error else
                               "no protocol: free recording (until ■ Stop)")
            self.progress.hide()  # no trials to count
            self.now.setText("—")
            self.next.setText("")
            return
        seed = preview or f"seed {plan.seed}"
        self.title.setText(f"{protocol.title}: {len(plan.trials)} trials, planned "
                           f"{_fmt_s(plan.planned_duration)}, {seed}")
        self.progress.show()
        self.progress.setMaximum(len(plan.trials))
        self.progress.setValue(0)
        self.now.setText("press Start protocol (or ● Record) to begin" if preview else
                         "starting once the recorder has every stream…")
        self.next.setText(f"first: {self._label(plan.trials[0].step_id)}"
                          if plan.trials and not preview else "")

    def attach(self, session) -> None:
        """The running ProtocolRecording (None when not recording)."""
        self.session, self.paused = session, False
        self.pause.setText("Pause")

    def set_controls(self, can_start: bool) -> None:
        """``can_start``: not recording and a protocol chosen (Start records and runs it)."""
        runner = self.session.runner if self.session is not None else None
        running = runner is not None and runner.state not in ("idle", "completed", "aborted")
        self.start.setEnabled(can_start and not running)
        for b in (self.pause, self.repeat, self.skip, self.abort):
            b.setEnabled(running)

    def ask_abort(self) -> None:
        """Abort ends the run for good (only a new run can resume it): ask first."""
        if self.session is None:
            return
        answer = QMessageBox.question(
            self, "Abort the protocol",
            "End the protocol run now? The recording stops after it; the remaining trials "
            "can be recorded later with Resume (in Setup).",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes and self.session is not None:
            self.session.abort()

    def _pause(self) -> None:
        if self.session is None:
            return
        if self.paused:
            self.session.resume()
        else:
            self.session.pause()

    # -- run events (UI thread) ---------------------------------------------------------
    def _label(self, step_id: str) -> str:
        try:
            return self.protocol.step(step_id).label.get(self.language)
        except (KeyError, AttributeError):
            return step_id

    def on_event(self, e: Event) -> None:
        kind, x = e.trial_type, e.extra
        self.count.setText("")
        trial = x.get("trial")
        if trial is not None and self.plan is not None:
            reps = f" · repetition {x.get('repetition')}/{self.plan.trials[trial].repetitions}"
            nxt = self.plan.trials[trial + 1].step_id if trial + 1 < len(self.plan.trials) else None
            self.next.setText(f"trial {trial + 1}/{len(self.plan.trials)}{reps} · next: "
                              + (self._label(nxt) if nxt else "closing tap block"))
        texts = {
            ev.RUN_START: "starting…",
            ev.TAP_INSTRUCTION: f"tap block ({e.value}): instruction",
            ev.TAP_CUE: f"TAP {x.get('tap')}/{x.get('taps')} ({x.get('block')})",
            ev.INSTRUCTION: f"instruction: {self._label(e.value)}",
            ev.COUNTDOWN: f"get ready: {self._label(e.value)}",
            ev.PERFORM: f"HOLD: {self._label(e.value)}",
            ev.RELAX: f"relax (after {self._label(e.value)})",
            ev.PAUSE: f"PAUSED (during {e.value}) — Resume restarts the trial",
            ev.RESUME: "resumed", ev.REPEAT: "repeating the trial", ev.SKIP: "skipped",
            ev.ABORT: "aborted",
        }
        if kind == ev.RUN_END:
            self.now.setText(f"run {e.value}: {x.get('completed')} trials completed, "
                             f"{x.get('skipped')} skipped")
            self.next.setText("")
        elif kind in texts:
            self.now.setText(texts[kind])
        if kind == ev.RELAX and self.plan is not None:
            self.progress.setValue(min(self.progress.value() + 1, len(self.plan.trials)))
        if kind == ev.PAUSE:
            self.paused = True
            self.pause.setText("Resume")
        elif kind in (ev.RESUME, ev.REPEAT, ev.SKIP, ev.ABORT):
            self.paused = False
            self.pause.setText("Pause")

    def on_countdown(self, seconds_left: int) -> None:
        self.count.setText(str(seconds_left))
