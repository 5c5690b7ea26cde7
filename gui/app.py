"""``mimicsync gui``: the operator app (setup, live monitor, protocol, participant cues).

The window wires the parts together and keeps the rules of an operator's session:
nothing starts with bad input (inline messages, nothing written); the selection is
fixed while recording; a lost stream is shown while the rest keeps recording; every
error appears in the window in plain words; closing while recording asks first.
All recording, protocol and device logic is the same code the CLI runs.

The window is put together from parts, each a module: its widgets
(:mod:`~mimicsync.gui.window_widgets`), Record/Stop and the glue to the shared
record-a-block layer (:mod:`~mimicsync.gui.recording_glue`), the running devices and
stream list (:mod:`~mimicsync.gui.device_glue`), the slow refresh and status line
(:mod:`~mimicsync.gui.status_line`), and the operator's workflow around a recording
(:mod:`~mimicsync.gui.workflow`: resume, keys, banners, participant window), and a
session plan's blocks recorded one after another (:mod:`~mimicsync.gui.visit_glue`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

from mimicsync.acquisition.live.monitor import LiveMonitor
from mimicsync.acquisition.live.stream_watch import StreamWatcher
from mimicsync.errors import StopReason
from mimicsync.format import DEFAULT_DEPTH, DEFAULT_JPEG_QUALITY
from mimicsync.gui.cue_window import CueWindow
from mimicsync.gui.device_glue import DeviceGlue
from mimicsync.gui.devices import PreviewDevices
from mimicsync.gui.monitor_view import MonitorView
from mimicsync.gui.options import add_arguments, camera_option_error
from mimicsync.gui.protocol_panel import RunRelay
from mimicsync.gui.recording_glue import RecordingGlue
from mimicsync.gui.recording_worker import RecordingController
from mimicsync.gui.remote import WindowRemoteControl
from mimicsync.gui.session_form import SessionForm
from mimicsync.gui.setup_view import SetupView
from mimicsync.gui.status_line import StatusLine
from mimicsync.gui.visit_glue import VisitGlue, VisitProgress
from mimicsync.gui.window_widgets import build_window_widgets
from mimicsync.gui.workflow import Workflow


@dataclass
class AppOptions:
    width: int = 1280  # camera resolution (RealSense and simulated)
    height: int = 720
    fps: float = 30.0
    depth: str = DEFAULT_DEPTH  # DepthMode text: off | WxH | WxH:MAX_M
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    sim_suffix: str | None = None  # stream-name suffix of the simulated lab (unique per test)
    window_s: float = 4.0  # seconds of sEMG on screen
    columns: int = 300  # display columns per trace (min/max each): about a plot's width
    frame_ms: int = 16  # preview poll period; traces redraw every second tick
    watch_interval: float = 1.0  # stream list refresh


class MainWindow(RecordingGlue, VisitGlue, StatusLine, DeviceGlue, Workflow, QMainWindow):
    """The operator window: Setup and Monitor tabs under a record bar, messages below."""

    def __init__(self, options: AppOptions | None = None) -> None:
        super().__init__()
        self.options = o = options or AppOptions()
        self.setWindowTitle("mimicsync — operator")
        self.devices = PreviewDevices(o.width, o.height, o.fps, sim_suffix=o.sim_suffix,
                                      depth=o.depth)
        self.watcher = StreamWatcher(interval=o.watch_interval).start()
        self.monitor = LiveMonitor(window_s=o.window_s, columns=o.columns)
        self.monitor.taps = self.devices.taps
        self.controller = RecordingController()
        self.relay = RunRelay()
        self.form_at_start: SessionForm | None = None
        self.cue = CueWindow()
        self._watch_version = -1
        self._monitored: set[tuple] = set()
        self._autoselect: str | None = None  # source_id of the simulated EMG, once it appears
        self._seen_errors: set[str] = set()
        self._lost: set[str] = set()
        self._close_after_stop = False
        self._banner_cause = ""
        self._resume: tuple[Path, bool] | None = None  # the run being resumed, force
        self._previewed: tuple | None = None  # the protocol choice the Monitor tab shows
        self._visit: VisitProgress | None = None  # a session plan's visit under way

        self.setup = SetupView()
        self.remote = WindowRemoteControl(self, self.setup.remote)
        self.monitor_view = MonitorView(self.monitor, self.devices.preview)
        build_window_widgets(self, self.setup, self.monitor_view)
        self._connect()
        self._install_shortcuts()

        self.fast = QTimer(self, interval=o.frame_ms)
        self.fast.timeout.connect(self.monitor_view.tick_fast)
        self.fast.start()
        self.slow = QTimer(self, interval=500)
        self.slow.timeout.connect(self._tick_slow)
        self.slow.start()
        self.resize(1600, 1000)

    def _connect(self) -> None:
        """Every signal of the parts to what the window does with it."""
        self.record.clicked.connect(self.toggle_recording)
        self.note.returnPressed.connect(self.add_note)
        self.note_button.clicked.connect(self.add_note)
        self.cue_button.toggled.connect(self._toggle_cue)
        self.cue.closed.connect(self._cue_closed)
        app = QApplication.instance()
        app.screenAdded.connect(self._screens_changed)
        app.screenRemoved.connect(self._screens_changed)
        self.dismiss.clicked.connect(self.clear_error)
        self.setup.devices_requested.connect(self._devices_requested)
        self.setup.streams.selection_changed.connect(self._sync_monitor)
        self.setup.refresh.clicked.connect(self.watcher.refresh)
        self.devices.changed.connect(self._devices_changed)
        self.devices.error.connect(self.show_error)
        self.controller.started.connect(self._started)
        self.controller.stopped.connect(self._stopped)
        self.controller.failed.connect(self._failed)
        self.relay.event.connect(self.monitor_view.protocol.on_event)
        self.relay.event.connect(self.cue.on_event)
        self.relay.event.connect(self._protocol_event)
        self.relay.countdown.connect(self.monitor_view.protocol.on_countdown)
        self.relay.countdown.connect(self.cue.on_countdown)
        self.monitor_view.protocol.start_requested.connect(self.toggle_recording)
        self.setup.resume.clicked.connect(lambda: self.resume_run())
        self.setup.end_visit.clicked.connect(lambda: self.end_visit())

    # -- messages -----------------------------------------------------------------------
    def say(self, text: str) -> None:
        self.messages.insertItem(0, f"{dt.datetime.now():%H:%M:%S}  {text}")

    # -- closing --------------------------------------------------------------------------
    def ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def close_without_asking(self) -> None:
        """Stop a recording cleanly (if any) and close, e.g. on SIGTERM."""
        self._close_after_stop = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.controller.busy:
            if self._close_after_stop or self.ask(
                    "Recording in progress",
                    "A recording is running. Stop it, save the file and close the app?"):
                self._close_after_stop = True
                self.controller.stop(StopReason.APP_CLOSED)
            event.ignore()
            return
        self.remote.disable()
        self.fast.stop()
        self.slow.stop()
        self.cue.close()
        self.monitor.stop()
        self.watcher.stop()
        self.controller.shutdown()
        self.devices.shutdown()
        event.accept()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mimicsync gui", description=__doc__.splitlines()[0])
    add_arguments(p)
    return p


def fill_from_args(w: MainWindow, args: argparse.Namespace) -> None:
    s = w.setup
    for name in ("participant", "session", "task", "acq", "operator"):
        if getattr(args, name):
            getattr(s, name).setText(getattr(args, name))
    if args.root:
        s.root.setText(str(args.root))
    if args.protocol:
        s.protocol.addItem(args.protocol, args.protocol)
        s.protocol.setCurrentIndex(s.protocol.findData(args.protocol))
    camera = args.camera or ("sim" if args.simulate else None)
    if camera:
        s.camera.setCurrentIndex(s.camera.findData(camera))
    if args.simulate:
        s.simulated.setChecked(True)


def run_gui(argv: list[str] | None = None) -> int:
    """Entry point of ``mimicsync gui``: returns the process exit code."""
    return run_gui_args(build_parser().parse_args(argv))


def run_gui_args(args: argparse.Namespace) -> int:
    """Open the window with the options parsed (by ``mimicsync gui`` or :func:`run_gui`)."""
    problem = camera_option_error(args)
    if problem:
        print(f"mimicsync: error: {problem}", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setStyle("Fusion")
    w = MainWindow(AppOptions(width=args.width, height=args.height, fps=args.fps,
                              depth=args.depth, jpeg_quality=args.jpeg_quality))
    fill_from_args(w, args)
    # Ctrl-C in the terminal closes as the window's close button does (asking while
    # recording); SIGTERM stops a recording cleanly and closes. Qt's event loop does not
    # run Python signal handlers by itself: a timer lets the interpreter in.
    signal.signal(signal.SIGINT, lambda *_: w.close())
    signal.signal(signal.SIGTERM, lambda *_: w.close_without_asking())
    wake = QTimer(interval=200)
    wake.timeout.connect(lambda: None)
    wake.start()
    w.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(run_gui())
