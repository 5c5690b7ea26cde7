"""The main window's widgets: the record bar, the error banner, tabs and the message list.

Built apart from the window's behaviour so the layout reads in one place: the bar on top,
a banner under it, then the tabs, with the messages keeping a few lines at the bottom
while every other pixel of a maximised window goes to the tabs (traces and video grow).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mimicsync.gui.style import ERROR_STYLE, IDLE_STYLE


def build_window_widgets(w: QMainWindow, setup: QWidget, monitor: QWidget) -> None:
    """Create the window's own widgets as attributes of ``w`` and lay them out.

    Sets ``tabs``, ``record``, ``state``, ``note``, ``note_button``, ``cue_button``,
    ``banner``, ``dismiss`` and ``messages`` on ``w``.
    """
    w.tabs = QTabWidget()
    w.tabs.addTab(setup, "1  Setup")
    w.tabs.addTab(monitor, "2  Monitor")
    w.record = QPushButton("● Record")
    w.record.setStyleSheet(IDLE_STYLE)
    w.state = QLabel("not recording")
    w.state.setTextFormat(Qt.TextFormat.RichText)
    w.note = QLineEdit()
    w.note.setPlaceholderText("note for the recording (becomes an event), Enter to add")
    w.note_button = QPushButton("Add note")
    w.cue_button = QPushButton("Participant screen")
    w.cue_button.setCheckable(True)
    w.banner = QLabel("")
    w.banner.setStyleSheet(ERROR_STYLE)
    w.banner.setWordWrap(True)
    w.banner.hide()
    w.dismiss = QPushButton("×")
    w.dismiss.setFixedWidth(28)
    w.dismiss.hide()
    w.messages = QListWidget()
    line = w.fontMetrics().lineSpacing()
    w.messages.setMinimumHeight(line * 2 + 8)

    bar = QHBoxLayout()
    bar.addWidget(w.record)
    bar.addWidget(w.state, 1)
    bar.addWidget(w.note, 2)
    bar.addWidget(w.note_button)
    bar.addWidget(w.cue_button)
    banner = QHBoxLayout()
    banner.addWidget(w.banner, 1)
    banner.addWidget(w.dismiss, 0, Qt.AlignmentFlag.AlignTop)
    split = QSplitter(Qt.Orientation.Vertical)
    split.addWidget(w.tabs)
    split.addWidget(w.messages)
    split.setStretchFactor(0, 1)
    split.setStretchFactor(1, 0)
    split.setCollapsible(0, False)
    split.setSizes([10_000, line * 4 + 10])
    central = QWidget()
    v = QVBoxLayout(central)
    v.addLayout(bar)
    v.addLayout(banner)
    v.addWidget(split, 1)
    w.setCentralWidget(central)
