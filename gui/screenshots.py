"""Screenshots of the operator app for the README, taken on a real display.

Runs the app on the simulated lab (sEMG amplifier + camera, following the protocol),
fills the setup, records the shipped ``functional`` protocol in German and takes what
the display shows (window frame included): the setup screen, the live monitor while
the participant holds a movement at 1600x1000 and maximised, the participant's window
(opened with its toggle, on the same single screen) during a countdown, the bipolar
view, and the Abort confirmation. Every window the app has is opened on the way. Meant
for an X server (a desktop, or Xvfb with a window manager; ``make screenshots``)::

    QT_QPA_PLATFORM=xcb python -m mimicsync.gui.screenshots docs/screenshots [--study DIR]
    python -m mimicsync.gui.screenshots docs/screenshots --xvfb   # no screen: a private X

With ``--study`` the recording is kept there (the test reads it), else it is removed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from mimicsync.gui.app import AppOptions, MainWindow
from mimicsync.gui.event_loop import run_for, wait_until
from mimicsync.gui.recording_worker import IDLE, RECORDING
from mimicsync.gui.xvfb import virtual_display


def grab(widget: QWidget | None = None) -> QPixmap:
    """What the display shows: the window with its frame (the whole screen for None).

    On a real X server this reads the screen, so a window that is covered, unmapped or
    drawn wrongly shows as such; offscreen there is no screen and the widget paints itself.
    """
    screen = (widget.screen() if widget is not None else QGuiApplication.primaryScreen())
    if QGuiApplication.platformName() == "offscreen":
        return (widget or QApplication.activeWindow()).grab()
    if widget is None:
        return screen.grabWindow(0)
    g = widget.frameGeometry()
    return screen.grabWindow(0, g.x(), g.y(), g.width(), g.height())


def take(out: Path, study: Path | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    app.setStyle("Fusion")
    if study is not None:
        return _take(study, out)
    tmp = Path(tempfile.mkdtemp(prefix="mimicsync-shots-"))
    try:
        return _take(tmp / "study", out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the recording is ~1 GB; only images are kept


def _save(shots: list[Path], out: Path, name: str, pixmap: QPixmap) -> None:
    shots.append(out / name)
    if not pixmap.save(str(shots[-1])):
        raise SystemExit(f"screenshots: could not write {shots[-1]}")
    print(f"{shots[-1]} {pixmap.width()}x{pixmap.height()}", flush=True)


def _settle(w: MainWindow, seconds: float = 1.0) -> None:
    """Let the window manager map/resize and the app repaint before a grab."""
    w.raise_()
    w.activateWindow()
    run_for(seconds)


def _answer_next_question(button: QMessageBox.StandardButton, seen: list[str]) -> None:
    """Click ``button`` of the next question box once it is on screen (it is modal)."""
    def poll() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and box.isVisible():
            seen.append(box.text())
            box.button(button).click()
        else:
            QTimer.singleShot(100, poll)
    QTimer.singleShot(300, poll)


def _take(root: Path, out: Path) -> list[Path]:
    print(f"platform {QGuiApplication.platformName()}, screens "
          + ", ".join(f"{s.geometry().width()}x{s.geometry().height()}"
                      for s in QGuiApplication.screens()), flush=True)
    w = MainWindow(AppOptions(sim_suffix=f"shots{os.getpid()}"))
    w.resize(1600, 1000)
    w.move(0, 0)
    w.show()
    s = w.setup
    s.root.setText(str(root))
    s.operator.setText("A. Operator")
    s.participant.setText("07")
    s.session.setText("01")
    s.acq.setText("S")
    wait_until(lambda: s.protocol.findData("functional") >= 0, 10, "the protocol list")
    s.protocol.setCurrentIndex(s.protocol.findData("functional"))
    s.language.setCurrentIndex(s.language.findData("de"))
    s.consent_data.setChecked(True)
    s.camera.setCurrentIndex(s.camera.findData("sim"))
    s.simulated.setChecked(True)
    wait_until(lambda: w.devices.lab is not None and w.devices.streamer is not None, 20, "the lab")
    emg = w.devices.lab.emg.name
    wait_until(lambda: any(e.name == emg for e in s.streams.selected_entries()), 20, "the sEMG stream")
    shots: list[Path] = []
    _settle(w, 2.0)
    _save(shots, out, "setup.png", grab(w))

    w.tabs.setCurrentWidget(w.monitor_view)
    run_for(7.0)  # quality needs a few seconds of data
    assert w.start_recording(), "setup did not validate"
    wait_until(lambda: w.controller.state == RECORDING, 30, "the recording")
    panel = w.monitor_view.protocol
    wait_until(lambda: "HOLD" in panel.now.text() and "Stirn" in panel.now.text(), 90,
               "the forehead movement")
    _settle(w, 2.0)  # the movement shows in video and traces
    _save(shots, out, "monitor-recording.png", grab(w))

    w.showMaximized()
    _settle(w, 2.0)
    _save(shots, out, "monitor-maximised.png", grab(None))
    w.showNormal()
    _settle(w, 1.0)

    w.cue_button.click()  # as the operator: one screen, so a window beside the app
    wait_until(lambda: w.cue.isVisible(), 5, "the participant window")
    wait_until(lambda: w.cue.countdown.text() == "2" and "Bereit" in w.cue.phase.text(), 60,
               "a countdown")
    w.cue.raise_()
    run_for(0.1)
    _save(shots, out, "participant-cue.png", grab(w.cue))
    w.cue_button.click()
    _settle(w, 0.5)

    mv = w.monitor_view
    mv.set_view("bipolar")  # the lab's 22 Fridlund channels, display-filtered
    mv.notch.setChecked(True)
    mv.highpass.setChecked(True)
    wait_until(lambda: "HOLD" in panel.now.text(), 60, "a movement")
    _settle(w, 2.0)
    _save(shots, out, "monitor-bipolar.png", grab(w))
    mv.set_view("all")
    mv.notch.setChecked(False)
    mv.highpass.setChecked(False)

    asked: list[str] = []
    _answer_next_question(QMessageBox.StandardButton.Yes, asked)
    panel.abort.click()  # as the operator; the confirmation is answered on screen
    wait_until(lambda: bool(asked) and not w.protocol_running(), 15, "the protocol to abort")
    w.toggle_recording()
    wait_until(lambda: w.controller.state == IDLE, 60, "the recording to finish")
    print(f"recorded {w.controller.final_path}", flush=True)
    w.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", type=Path, default=Path("docs/screenshots"))
    ap.add_argument("--study", type=Path, help="keep the recording in this study root")
    ap.add_argument("--xvfb", action="store_true",
                    help="start a private X server (Xvfb + openbox, 1920x1080) for the shots")
    args = ap.parse_args(argv)
    if not args.xvfb:
        take(args.out, args.study)
        return 0
    with virtual_display(1920, 1080) as display:
        os.environ.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
        take(args.out, args.study)
    return 0


if __name__ == "__main__":
    sys.exit(main())
