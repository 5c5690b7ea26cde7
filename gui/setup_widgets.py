"""The setup screen's fields and their layout: study, recording labels, consent,
protocol, participant screen on the left; devices and the stream table on the right.

Every field that can be wrong gets an inline error label under it (``view._errors`` by
field name), so the check's one-line message appears where the operator typed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
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

from mimicsync.gui.remote import RemoteControlBox
from mimicsync.gui.stream_table import StreamTable
from mimicsync.gui.style import INLINE_ERROR_STYLE

CAMERAS = (("RealSense", "realsense"), ("Simulated", "sim"), ("None", "none"))
LANGUAGES = (("English", "en"), ("Deutsch", "de"))
NO_PROTOCOL = "(none: free recording)"
HINT_STYLE = "QLabel { color: #555; font-size: 9pt; }"


def hint_label(text: str = "", hidden: bool = False) -> QLabel:
    """A small grey explanation under a field."""
    lab = QLabel(text)
    lab.setWordWrap(True)
    lab.setStyleSheet(HINT_STYLE)
    lab.setVisible(not hidden)
    return lab


def error_label() -> QLabel:
    """An inline error under a field, hidden until there is a message."""
    lab = QLabel("")
    lab.setStyleSheet(INLINE_ERROR_STYLE)
    lab.setWordWrap(True)
    lab.hide()
    return lab


def row(*widgets: QWidget) -> QWidget:
    w = QWidget()
    h = QHBoxLayout(w)
    h.setContentsMargins(0, 0, 0, 0)
    for x in widgets:
        h.addWidget(x)
    return w


def group(view: QWidget, title: str, rows: list[tuple[str, QWidget, str | None]]) -> QGroupBox:
    """A titled form; a row with a key gets ``view._errors[key]`` under it."""
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
            view._errors[key] = error_label()
            g.addWidget(view._errors[key], r, 1)
            r += 1
    return box


def build_fields(view: QWidget) -> None:
    """Create the fields as attributes of ``view`` (``root``, ``participant``, ``run``, ...)."""
    view.root = QLineEdit()
    view.root.setPlaceholderText("folder of the study, e.g. /data/mimics-study")
    view.browse = QPushButton("Browse…")
    view.operator = QLineEdit()
    view.participant, view.session, view.task, view.acq = (QLineEdit() for _ in range(4))
    for field, example in (("participant", "e.g. 07"), ("session", "e.g. 01"),
                           ("task", "e.g. functional"),
                           ("acq", "optional, e.g. S (electrodes) or N")):
        getattr(view, field).setPlaceholderText(example)
    view.run = QSpinBox()
    view.run.setRange(1, 99)
    view.run_hint = QLabel("")
    view.participant_hint = hint_label()
    view.participant_hint.setWordWrap(False)
    view.consent_data = QCheckBox("data (sEMG, events) may be published")
    view.consent_video = QCheckBox("face video may be published")
    view.protocol = QComboBox()
    view.protocol.addItem(NO_PROTOCOL, "")
    view.language = QComboBox()
    for text, code in LANGUAGES:
        view.language.addItem(text, code)
    view.seed = QLineEdit()
    view.seed.setPlaceholderText("empty: a fresh seed (stored in the file)")
    view.repeat_earlier = QCheckBox("repeat the earlier session's plan (same order)")
    view.repeat_earlier.setChecked(True)
    view.repeat_earlier.hide()
    view.earlier_hint = hint_label(hidden=True)
    view.resume_hint = hint_label("no aborted run to resume")
    view.resume = QPushButton("Resume")
    view.resume.setToolTip("record the remaining trials of an aborted protocol run in the "
                           "next run (same plan, linked), as `mimicsync record --resume`")
    view.resume.setEnabled(False)
    view.resume_pick = QPushButton("Choose…")
    view.resume_pick.setToolTip("choose an aborted protocol recording to resume")
    view.plan_hint = hint_label("no plan: one recording of the fields below")
    view.plan_pick = QPushButton("Choose…")
    view.plan_pick.setToolTip("record a visit's blocks one after another from a session plan "
                              "file, as `mimicsync record --plan`")
    view.plan_clear = QPushButton("Clear")
    view.plan_clear.setEnabled(False)
    view.end_visit = QPushButton("End visit")
    view.end_visit.setToolTip("end the visit before its remaining blocks")
    view.end_visit.hide()
    view.screen = QComboBox()
    view.fullscreen = QCheckBox("full screen (on a second screen)")
    view.fullscreen.setToolTip("full screen only on a screen other than the operator's; "
                               "Escape leaves full screen")
    view.fullscreen.setChecked(True)
    view.camera = QComboBox()
    for text, code in CAMERAS:
        view.camera.addItem(text, code)
    view.camera.setCurrentIndex(2)
    view.simulated = QCheckBox("Simulated lab (sEMG amplifier, markers, camera): "
                               "works without hardware")
    view.streams = StreamTable()
    view.refresh = QPushButton("Refresh now")
    view.remote = RemoteControlBox()  # off by default; gui/remote.py runs the server


def lay_out(view: QWidget) -> None:
    """The fields in their groups: the form on the left, devices and streams on the right."""
    v = view
    left = QVBoxLayout()
    left.addWidget(group(v, "Study", [
        ("Study root", row(v.root, v.browse), "root"), ("Operator", v.operator, None)]))
    left.addWidget(group(v, "Recording", [
        ("Participant", v.participant, "participant"), ("", v.participant_hint, None),
        ("Session", v.session, "session"), ("Task", v.task, "task"),
        ("Acquisition", v.acq, "acq"), ("Run", row(v.run, v.run_hint), "run")]))
    left.addWidget(group(v, "Participant consent (stored in participants.tsv)", [
        ("", v.consent_data, None), ("", v.consent_video, None)]))
    left.addWidget(group(v, "Session plan (several blocks per visit)", [
        ("Plan", row(v.plan_hint, v.plan_pick, v.plan_clear, v.end_visit), "plan")]))
    left.addWidget(group(v, "Protocol", [
        ("Protocol", v.protocol, "protocol"), ("Language", v.language, "language"),
        ("Seed", v.seed, "seed"), ("", v.repeat_earlier, None), ("", v.earlier_hint, None),
        ("Resume", row(v.resume_hint, v.resume, v.resume_pick), None),
        ("Participant screen", row(v.screen, v.fullscreen), None)]))
    left.addStretch(1)
    right = QVBoxLayout()
    right.addWidget(group(v, "Devices", [
        ("Camera", v.camera, "camera"), ("", v.simulated, None), ("Scripts", v.remote, None)]))
    streams_box = QGroupBox("Streams on the network (refreshed live)")
    sv = QVBoxLayout(streams_box)
    sv.addWidget(v.streams)
    v._errors["streams"] = error_label()
    sv.addWidget(v._errors["streams"])
    sv.addWidget(hint_label("Tick Record for each stream to record; Required blocks the start "
                            "while the stream is missing. The camera above is recorded with "
                            "its frames."))
    sv.addWidget(v.refresh, alignment=Qt.AlignmentFlag.AlignRight)
    right.addWidget(streams_box, 1)
    top = QHBoxLayout(view)
    top.addLayout(left, 2)
    top.addLayout(right, 3)
