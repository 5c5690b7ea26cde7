"""The setup screen: study, recording labels, consent, protocol, devices and streams.

Labels are checked as they are typed, with the CLI's own messages shown under the field;
the next free run is looked up (off the UI thread) whenever the labels change, a known
participant's consent flags are loaded from the study's participants.tsv, and for a
returning participant the earlier session's plan of the same block is offered.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mimicsync.acquisition.live.stream_watch import StreamEntry
from mimicsync.dataset.layout import LabelError, RecordingId, next_free_run
from mimicsync.dataset.study_tree import read_participant
from mimicsync.gui.background import run_in_background
from mimicsync.gui.remote import RemoteControlBox
from mimicsync.gui.session_form import LABEL_FIELDS, SessionForm, task_from_protocol, validate
from mimicsync.gui.stream_table import StreamTable
from mimicsync.gui.style import INLINE_ERROR_STYLE
from mimicsync.protocols import available_protocols
from mimicsync.protocols.like import EarlierPlan, find_earlier_plan

CAMERAS = (("RealSense", "realsense"), ("Simulated", "sim"), ("None", "none"))
LANGUAGES = (("English", "en"), ("Deutsch", "de"))
NO_PROTOCOL = "(none: free recording)"


def run_lookup(root: Path, rid: RecordingId) -> tuple[int, bool, list[str], dict | None,
                                                     EarlierPlan | None]:
    """Next free run, whether the chosen run is taken, the participant's earlier sessions,
    their participants.tsv row and the plan of the same block in an earlier session
    (file system: call off the UI thread)."""
    sub = root / f"sub-{rid.participant}"
    sessions = sorted(p.name[4:] for p in sub.glob("ses-*") if p.is_dir()) if sub.is_dir() else []
    taken = rid.path(root).exists() or rid.part_path(root).exists()
    return (next_free_run(root, rid), taken, sessions, read_participant(root, rid.participant),
            find_earlier_plan(root, rid))


class SetupView(QWidget):
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

        self.root = QLineEdit()
        self.root.setPlaceholderText("folder of the study, e.g. /data/mimics-study")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.operator = QLineEdit()
        self.participant, self.session, self.task, self.acq = (QLineEdit() for _ in range(4))
        self.participant.setPlaceholderText("e.g. 07")
        self.session.setPlaceholderText("e.g. 01")
        self.task.setPlaceholderText("e.g. functional")
        self.acq.setPlaceholderText("optional, e.g. S (electrodes) or N")
        self.run = QSpinBox()
        self.run.setRange(1, 99)
        self.run_hint = QLabel("")
        self.participant_hint = QLabel("")
        self.participant_hint.setStyleSheet("QLabel { color: #555; font-size: 9pt; }")
        self.consent_data = QCheckBox("data (sEMG, events) may be published")
        self.consent_video = QCheckBox("face video may be published")
        self.protocol = QComboBox()
        self.protocol.addItem(NO_PROTOCOL, "")
        self.language = QComboBox()
        for text, code in LANGUAGES:
            self.language.addItem(text, code)
        self.seed = QLineEdit()
        self.seed.setPlaceholderText("empty: a fresh seed (stored in the file)")
        self.repeat_earlier = QCheckBox("repeat the earlier session's plan (same order)")
        self.repeat_earlier.setChecked(True)
        self.repeat_earlier.hide()
        self.earlier_hint = QLabel("")
        self.earlier_hint.setWordWrap(True)
        self.earlier_hint.setStyleSheet("QLabel { color: #555; font-size: 9pt; }")
        self.earlier_hint.hide()
        self.resume_path: Path | None = None
        self.resume_hint = QLabel("no aborted run to resume")
        self.resume_hint.setWordWrap(True)
        self.resume_hint.setStyleSheet("QLabel { color: #555; font-size: 9pt; }")
        self.resume = QPushButton("Resume")
        self.resume.setToolTip("record the remaining trials of an aborted protocol run in the "
                               "next run (same plan, linked), as `mimicsync record --resume`")
        self.resume.setEnabled(False)
        self.resume_pick = QPushButton("Choose…")
        self.resume_pick.setToolTip("choose an aborted protocol recording to resume")
        self.resume_pick.clicked.connect(self._pick_resume)
        self.screen = QComboBox()
        self.fullscreen = QCheckBox("full screen (on a second screen)")
        self.fullscreen.setToolTip("full screen only on a screen other than the operator's; "
                                   "Escape leaves full screen")
        self.fullscreen.setChecked(True)
        self.camera = QComboBox()
        for text, code in CAMERAS:
            self.camera.addItem(text, code)
        self.camera.setCurrentIndex(2)
        self.simulated = QCheckBox("Simulated lab (sEMG amplifier, markers, camera): "
                                   "works without hardware")
        self.streams = StreamTable()
        self.refresh = QPushButton("Refresh now")
        self.remote = RemoteControlBox()  # off by default; gui/remote.py runs the server

        left = QVBoxLayout()
        left.addWidget(self._group("Study", [
            ("Study root", self._row(self.root, browse), "root"),
            ("Operator", self.operator, None)]))
        left.addWidget(self._group("Recording", [
            ("Participant", self.participant, "participant"),
            ("", self.participant_hint, None),
            ("Session", self.session, "session"),
            ("Task", self.task, "task"),
            ("Acquisition", self.acq, "acq"),
            ("Run", self._row(self.run, self.run_hint), "run")]))
        left.addWidget(self._group("Participant consent (stored in participants.tsv)", [
            ("", self.consent_data, None), ("", self.consent_video, None)]))
        left.addWidget(self._group("Protocol", [
            ("Protocol", self.protocol, "protocol"),
            ("Language", self.language, "language"),
            ("Seed", self.seed, "seed"),
            ("", self.repeat_earlier, None),
            ("", self.earlier_hint, None),
            ("Resume", self._row(self.resume_hint, self.resume, self.resume_pick), None),
            ("Participant screen", self._row(self.screen, self.fullscreen), None)]))
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self._group("Devices", [
            ("Camera", self.camera, "camera"), ("", self.simulated, None),
            ("Scripts", self.remote, None)]))
        streams_box = QGroupBox("Streams on the network (refreshed live)")
        sv = QVBoxLayout(streams_box)
        sv.addWidget(self.streams)
        self._errors["streams"] = self._error_label()
        sv.addWidget(self._errors["streams"])
        hint = QLabel("Tick Record for each stream to record; Required blocks the start while "
                      "the stream is missing. The camera above is recorded with its frames.")
        hint.setWordWrap(True)
        hint.setStyleSheet("QLabel { color: #555; font-size: 9pt; }")
        sv.addWidget(hint)
        sv.addWidget(self.refresh, alignment=Qt.AlignmentFlag.AlignRight)
        right.addWidget(streams_box, 1)
        top = QHBoxLayout(self)
        top.addLayout(left, 2)
        top.addLayout(right, 3)

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

    # -- layout helpers ---------------------------------------------------------------
    def _error_label(self) -> QLabel:
        lab = QLabel("")
        lab.setStyleSheet(INLINE_ERROR_STYLE)
        lab.setWordWrap(True)
        lab.hide()
        return lab

    @staticmethod
    def _row(*widgets: QWidget) -> QWidget:
        w = QWidget()
        h = QHBoxLayout(w)
        h.setContentsMargins(0, 0, 0, 0)
        for x in widgets:
            h.addWidget(x)
        return w

    def _group(self, title: str, rows: list[tuple[str, QWidget, str | None]]) -> QGroupBox:
        box = QGroupBox(title)
        g = QGridLayout(box)
        g.setColumnStretch(1, 1)
        r = 0
        for label, widget, key in rows:
            if label:
                g.addWidget(QLabel(label), r, 0)
            g.addWidget(widget, r, 1)
            r += 1
            if key is not None:
                self._errors[key] = self._error_label()
                g.addWidget(self._errors[key], r, 1)
                r += 1
        return box

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
            camera=self.camera.currentData(), simulated_lab=self.simulated.isChecked())

    def errors(self) -> dict[str, str]:
        """Everything that blocks a start, including a taken run and missing required streams."""
        errors = validate(self.form())
        if self._run_taken and "run" not in errors:
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

    # -- live checks ------------------------------------------------------------------
    def _schedule_check(self) -> None:
        self._check_timer.start()
        self.form_changed.emit()

    def _check(self) -> None:
        form = self.form()
        if form.root != self._protocols_root:
            self.reload_protocols()
        errs = validate(form)
        shown = {k: v for k, v in errs.items() if getattr(form, k, "x") != ""}  # not while empty
        if self._run_taken:
            shown.setdefault("run", self._errors["run"].text())
        self.show_errors(shown)
        if any(k in errs for k in ("root", *LABEL_FIELDS)):
            self.participant_hint.setText("")
            return
        try:
            rid = RecordingId(form.participant, form.session, form.task, form.run, form.acq or None)
        except LabelError:
            return
        self._lookup_seq += 1
        seq = self._lookup_seq
        root = form.root_path
        run_in_background(lambda: run_lookup(root, rid), lambda r: self._looked_up(seq, rid, r),
                          lambda e: None, name="run-lookup")

    def _looked_up(self, seq: int, rid: RecordingId, result) -> None:
        if seq != self._lookup_seq:
            return  # the form changed meanwhile
        nxt, taken, sessions, row, earlier = result
        self._show_earlier(earlier)
        self._suggested_run = nxt
        if not self._run_touched and self.run.value() != nxt:
            self.run.blockSignals(True)
            self.run.setValue(nxt)
            self.run.blockSignals(False)
            taken = False
        self._run_taken = taken and self.run.value() != nxt
        self.run_hint.setText(f"next free run: {nxt}")
        msg = (f"run: run {self.run.value():02d} already exists for these labels; the next free "
               f"run is {nxt}") if self._run_taken else ""
        self._errors["run"].setText(msg)
        self._errors["run"].setVisible(bool(msg))
        earlier = [s for s in sessions if s != rid.session]
        self.participant_hint.setText(
            f"returning participant: earlier session(s) {', '.join(earlier)}" if earlier
            else "new participant" if row is None and not sessions else "")
        if row is not None and self._consent_for != rid.participant:
            self._consent_for = rid.participant
            self.consent_data.setChecked(row.get("consent_data_public") == "yes")
            self.consent_video.setChecked(row.get("consent_video_public") == "yes")

    def _show_earlier(self, earlier: EarlierPlan | None) -> None:
        """A returning participant repeats the earlier session's plan (as ``--like``)."""
        self.earlier = earlier
        self.repeat_earlier.setVisible(earlier is not None)
        self.earlier_hint.setVisible(earlier is not None)
        if earlier is None:
            return
        self.earlier_hint.setText(f"earlier: {earlier.describe()}; its stored protocol, order "
                                  "and language are used when the protocol above is the same")
        name = earlier.plan.protocol.name
        if not self.protocol.currentData() and self.protocol.findData(name) >= 0:
            self.protocol.setCurrentIndex(self.protocol.findData(name))

    def _run_changed(self) -> None:
        self._run_touched = self.run.value() != self._suggested_run
        self._schedule_check()

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

    def after_recording(self) -> None:
        """A finished run takes its number: look up the next free one."""
        self._run_touched = False
        self._check()
