"""Screenshots of the operator app for the README, taken from a real simulated session.

Runs the app on the simulated lab (sEMG amplifier + camera, following the protocol),
fills the setup, records the shipped ``functional`` protocol in German and grabs the
setup screen, the live monitor while the participant holds a movement, and the
participant's cue window during a countdown. Offscreen is fine::

    QT_QPA_PLATFORM=offscreen python -m mimicsync.gui.screenshots docs/screenshots
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication

from mimicsync.gui.app import AppOptions, MainWindow
from mimicsync.gui.event_loop import run_for, wait_until
from mimicsync.gui.recording import IDLE, RECORDING




def take(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    app.setStyle("Fusion")
    tmp = Path(tempfile.mkdtemp(prefix="mimicsync-shots-"))
    try:
        return _take(tmp / "study", out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the recording is ~1 GB; only images are kept


def _take(root: Path, out: Path) -> list[Path]:
    w = MainWindow(AppOptions(sim_suffix=f"shots{os.getpid()}"))
    w.resize(1600, 1000)
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
    run_for(2.0)
    shots = [out / "setup.png"]
    w.grab().save(str(shots[-1]))

    w.tabs.setCurrentWidget(w.monitor_view)
    run_for(7.0)  # quality needs a few seconds of data
    assert w.start_recording(), "setup did not validate"
    wait_until(lambda: w.controller.state == RECORDING, 30, "the recording")
    w.cue.resize(1280, 720)
    w.cue.show()
    panel = w.monitor_view.protocol
    wait_until(lambda: "HOLD" in panel.now.text() and "Stirn" in panel.now.text(), 60,
           "the forehead movement")
    run_for(2.0)  # the movement shows in video and traces
    shots.append(out / "monitor-recording.png")
    w.grab().save(str(shots[-1]))
    wait_until(lambda: w.cue.countdown.text() == "2" and "Bereit" in w.cue.phase.text(), 30,
           "a countdown")
    shots.append(out / "participant-cue.png")
    w.cue.grab().save(str(shots[-1]))

    w.controller.session.abort()  # as the Abort button; then Stop does not need to ask
    wait_until(lambda: not w.protocol_running(), 10, "the protocol to end")
    w.toggle_recording()
    wait_until(lambda: w.controller.state == IDLE, 60, "the recording to finish")
    w.close()
    return shots


if __name__ == "__main__":
    for p in take(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")):
        print(p)
