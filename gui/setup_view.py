"""The setup screen: study, recording labels, consent, protocol, devices and streams.

Labels are checked as they are typed, with the CLI's own messages shown under the field;
the next free run is looked up (off the UI thread) whenever the labels change, a known
participant's consent flags are loaded from the study's participants.tsv, and for a
returning participant the earlier session's plan of the same block is offered.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QLabel, QWidget

from mimicsync.acquisition.live.stream_watch import StreamEntry
from mimicsync.dataset.layout import RecordingId
from mimicsync.gui.background import run_in_background
from mimicsync.gui.session_form import SessionForm, task_from_protocol, validate
from mimicsync.gui.setup_checks import SetupChecks
from mimicsync.gui.setup_plan import SetupPlan
from mimicsync.gui.setup_widgets import NO_PROTOCOL, build_fields, lay_out
from mimicsync.protocols import available_protocols
from mimicsync.protocols.like import EarlierPlan
from mimicsync.protocols.visit import PreparedBlock
from mimicsync.protocols.visit_plan import VisitPlan


class SetupView(SetupChecks, SetupPlan, QWidget):
    """Emits ``devices_requested(simulated_lab, camera)`` when the device choice changes."""

    devices_requested = Signal(bool, str)
    form_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._errors: dict[str, QLabel] = {}
        self._run_touched = False
        self._suggested_run = 1
        self._run_taken = False
        self._consent_for: str | None = None
        self._lookup_seq = 0
        self._protocols_root: str | None = None
        self.earlier: EarlierPlan | None = None
        self.resume_path: Path | None = None
        self.plan_path: Path | None = None  # the session plan chosen, if any
        self.visit_plan: VisitPlan | None = None  # ... once read and checked
        self.plan_blocks: list[PreparedBlock] = []  # its blocks as planned now (a preview)
        self._plan_error = ""
        self._plan_seq = 0
        build_fields(self)
        lay_out(self)
        self.browse.clicked.connect(self._browse)
        self.resume_pick.clicked.connect(self._pick_resume)
        self.plan_pick.clicked.connect(self._pick_plan)
        self.plan_clear.clicked.connect(lambda: self.choose_plan(None))

        self.refresh_screens()
        self._check_timer = QTimer(self, singleShot=True, interval=250)
        self._check_timer.timeout.connect(self._check)
        for w in (self.root, self.participant, self.session, self.task, self.acq, self.seed,
                  self.operator):
            w.textChanged.connect(self._schedule_check)
        self.run.valueChanged.connect(self._run_changed)
        self.protocol.currentIndexChanged.connect(self._protocol_changed)
        self.camera.currentIndexChanged.connect(self._devices_changed)
        self.simulated.toggled.connect(self._devices_changed)
        self.reload_protocols()

    def refresh_screens(self) -> None:
        """List the connected screens; the second one (if any) is the participant's."""
        self.screen.clear()
        screens = QGuiApplication.screens()
        for i, s in enumerate(screens):
            g = s.geometry()
            self.screen.addItem(f"{i + 1}: {s.name() or 'screen'} ({g.width()}×{g.height()})"
                                + ("" if len(screens) > 1 else " · only screen: a window"), i)
        if self.screen.count() > 1:
            self.screen.setCurrentIndex(1)  # the second screen is usually the participant's

    # -- reading the form -------------------------------------------------------------
    def form(self) -> SessionForm:
        return SessionForm(
            root=self.root.text().strip(), operator=self.operator.text().strip(),
            participant=self.participant.text().strip(), session=self.session.text().strip(),
            task=self.task.text().strip(), acq=self.acq.text().strip(), run=self.run.value(),
            protocol=self.protocol.currentData() or "", language=self.language.currentData(),
            seed=self.seed.text().strip(),
            consent_data=self.consent_data.isChecked(),
            consent_video=self.consent_video.isChecked(),
            camera=self.camera.currentData(), simulated_lab=self.simulated.isChecked(),
            plan=str(self.plan_path) if self.plan_path is not None else "")

    def errors(self) -> dict[str, str]:
        """Everything that blocks a start, including a taken run and missing required streams."""
        form = self.form()
        errors = validate(form)
        if self.plan_problem():
            errors["plan"] = self.plan_problem()
        if self._run_taken and "run" not in errors and not form.plan:
            errors["run"] = (f"run: run {self.run.value():02d} already exists for these labels; "
                             f"the next free run is {self._suggested_run}")
        missing = self.streams.missing_required()
        if missing:
            errors["streams"] = ("required stream(s) missing: " + ", ".join(missing)
                                 + "; start the device, or untick Required")
        return errors

    def show_errors(self, errors: dict[str, str]) -> None:
        for key, label in self._errors.items():
            msg = errors.get(key, "")
            label.setText(msg)
            label.setVisible(bool(msg))

    def reload_protocols(self) -> None:
        self._protocols_root = self.root.text().strip()
        root = Path(self._protocols_root).expanduser() if self._protocols_root else None
        run_in_background(lambda: sorted(available_protocols(root)), self._set_protocols,
                          lambda e: None, name="protocol-list")

    def _set_protocols(self, names: list[str]) -> None:
        current = self.protocol.currentData()
        self.protocol.blockSignals(True)
        self.protocol.clear()
        self.protocol.addItem(NO_PROTOCOL, "")
        for n in names:
            self.protocol.addItem(n, n)
        i = self.protocol.findData(current)
        self.protocol.setCurrentIndex(max(0, i))
        self.protocol.blockSignals(False)

    def _protocol_changed(self) -> None:
        name = self.protocol.currentData()
        if name and not self.task.text().strip():
            self.task.setText(task_from_protocol(name))
        self.form_changed.emit()

    def _devices_changed(self) -> None:
        self.devices_requested.emit(self.simulated.isChecked(), self.camera.currentData())

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Study root", self.root.text() or str(Path.home()))
        if d:
            self.root.setText(d)
            self.reload_protocols()

    def update_streams(self, entries: tuple[StreamEntry, ...]) -> None:
        self.streams.update_entries(entries)
        if "streams" in self._errors and self._errors["streams"].isVisible():
            missing = self.streams.missing_required()
            if not missing:
                self._errors["streams"].hide()

    def set_locked(self, locked: bool) -> None:
        """While recording nothing that defines the recording may change."""
        for w in (self.root, self.participant, self.session, self.task, self.acq, self.run,
                  self.protocol, self.seed, self.consent_data, self.consent_video, self.camera,
                  self.repeat_earlier, self.resume, self.resume_pick,
                  self.simulated, self.operator, self.language):
            w.setEnabled(not locked)
        self._plan_decides(locked)
        self.resume.setEnabled(not locked and self.resume_path is not None)
        self.streams.set_locked(locked)

    def offer_resume(self, path: Path | None, left: str = "") -> None:
        """Offer to resume ``path`` (None: nothing to resume)."""
        self.resume_path = Path(path) if path is not None else None
        self.resume.setEnabled(path is not None)
        self.resume_hint.setText(f"{Path(path).name}: {left}" if path is not None
                                 else "no aborted run to resume")

    def fill_labels(self, rid: RecordingId, root: Path) -> None:
        """The labels of a recording (a resumed run records under the same ones)."""
        self.root.setText(str(root))
        for name, value in (("participant", rid.participant), ("session", rid.session),
                            ("task", rid.task), ("acq", rid.acq or "")):
            getattr(self, name).setText(value)

    def _pick_resume(self) -> None:
        start = str(self.resume_path.parent if self.resume_path else self.form().root_path)
        f, _ = QFileDialog.getOpenFileName(self, "Aborted protocol recording", start,
                                           "recordings (*_recording.h5)")
        if f:
            self.offer_resume(Path(f), "chosen; press Resume")
