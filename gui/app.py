"""``mimicsync gui``: the operator app (setup, live monitor, protocol, participant cues).

The window wires the parts together and keeps the rules of an operator's session:
nothing starts with bad input (inline messages, nothing written); the selection is
fixed while recording; a lost stream is shown while the rest keeps recording; every
error appears in the window in plain words; closing while recording asks first.
All recording, protocol and device logic is the same code the CLI runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mimicsync.acquisition.live.monitor import LiveMonitor
from mimicsync.acquisition.live.stream_watch import StreamWatcher
from mimicsync.dataset.recording import Recording
from mimicsync.dataset.study_tree import update_participant
from mimicsync.errors import StopReason
from mimicsync.gui.background import run_in_background
from mimicsync.gui.cue_window import CueWindow
from mimicsync.gui.devices import PreviewDevices
from mimicsync.gui.monitor_view import MonitorView, clock
from mimicsync.format import DEFAULT_DEPTH, DEFAULT_JPEG_QUALITY
from mimicsync.gui.options import add_arguments, camera_option_error
from mimicsync.gui.protocol_panel import RunRelay
from mimicsync.gui.recording_worker import (
    IDLE,
    RECORDING,
    STARTING,
    STOPPING,
    BlockStart,
    RecordingController,
)
from mimicsync.gui.remote import WindowRemoteControl
from mimicsync.gui.session_form import SessionForm, app_devices, device_setup
from mimicsync.gui.setup_view import SetupView
from mimicsync.gui.style import ERROR_STYLE, IDLE_STYLE, REC_STYLE
from mimicsync.gui.workflow import Workflow
from mimicsync.protocols import listeners as ev
from mimicsync.protocols.device_setup import OpenDevices
from mimicsync.protocols.like import protocol_block, resume_block
from mimicsync.protocols.protocol_recording import ProtocolRecordingResult

log = logging.getLogger(__name__)


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


class MainWindow(Workflow, QMainWindow):
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

        self.setup = SetupView()
        self.remote = WindowRemoteControl(self, self.setup.remote)
        self.monitor_view = MonitorView(self.monitor, self.devices.preview)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.setup, "1  Setup")
        self.tabs.addTab(self.monitor_view, "2  Monitor")
        self.record = QPushButton("● Record")
        self.record.setStyleSheet(IDLE_STYLE)
        self.state = QLabel("not recording")
        self.state.setTextFormat(Qt.TextFormat.RichText)
        self.note = QLineEdit()
        self.note.setPlaceholderText("note for the recording (becomes an event), Enter to add")
        self.note_button = QPushButton("Add note")
        self.cue_button = QPushButton("Participant screen")
        self.cue_button.setCheckable(True)
        self.banner = QLabel("")
        self.banner.setStyleSheet(ERROR_STYLE)
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.dismiss = QPushButton("×")
        self.dismiss.setFixedWidth(28)
        self.dismiss.hide()
        self.messages = QListWidget()
        self.messages.setMinimumHeight(self.fontMetrics().lineSpacing() * 2 + 8)

        bar = QHBoxLayout()
        bar.addWidget(self.record)
        bar.addWidget(self.state, 1)
        bar.addWidget(self.note, 2)
        bar.addWidget(self.note_button)
        bar.addWidget(self.cue_button)
        banner = QHBoxLayout()
        banner.addWidget(self.banner, 1)
        banner.addWidget(self.dismiss, 0, Qt.AlignmentFlag.AlignTop)
        # The messages keep four lines under the tabs; every other pixel (a maximised
        # window) goes to the tabs, so traces and video grow instead of an empty band.
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tabs)
        split.addWidget(self.messages)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        split.setCollapsible(0, False)
        split.setSizes([10_000, self.fontMetrics().lineSpacing() * 4 + 10])
        central = QWidget()
        v = QVBoxLayout(central)
        v.addLayout(bar)
        v.addLayout(banner)
        v.addWidget(split, 1)
        self.setCentralWidget(central)

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
        self._install_shortcuts()

        self.fast = QTimer(self, interval=o.frame_ms)
        self.fast.timeout.connect(self.monitor_view.tick_fast)
        self.fast.start()
        self.slow = QTimer(self, interval=500)
        self.slow.timeout.connect(self._tick_slow)
        self.slow.start()
        self.resize(1600, 1000)

    # -- messages -----------------------------------------------------------------------
    def say(self, text: str) -> None:
        self.messages.insertItem(0, f"{dt.datetime.now():%H:%M:%S}  {text}")

    # -- devices and streams ------------------------------------------------------------
    def _devices_requested(self, simulated: bool, camera: str) -> None:
        if self.controller.busy:
            return
        self.devices.configure(simulated, camera)
        if simulated:
            self.say("starting the simulated lab…")

    def _devices_changed(self) -> None:
        d = self.devices
        self.setup.streams.set_own_source_ids(d.own_source_ids())
        kind = self.setup.camera.currentData()
        msg = ("no camera (choose one in Setup)" if kind == "none" else
               "starting the camera…" if d.busy else "the camera did not start: see messages")
        self.monitor_view.set_camera(d.streamer, msg)
        if d.lab is not None and self._autoselect is None:
            self._autoselect = d.lab.emg.source_id
            self.say(f"simulated lab running: {d.lab.emg.name} ({len(d.lab.emg.channels)} ch at "
                     f"{d.lab.emg.srate:g} Hz)" + (" and a simulated camera" if d.streamer else ""))
        elif d.lab is None:
            self._autoselect = None
        self._watch_version = -1
        self.watcher.refresh()

    def _sync_monitor(self) -> None:
        """The live monitor follows the stream selection (online streams only)."""
        entries = self.setup.streams.selected_entries()
        ids = {e.identity for e in entries}
        if ids != self._monitored:
            self._monitored = ids
            self.monitor.set_streams([e.info for e in entries])

    # -- timers ---------------------------------------------------------------------------
    def _tick_slow(self) -> None:
        version, entries = self.watcher.snapshot()
        if version != self._watch_version:
            self._watch_version = version
            self.setup.update_streams(entries)
            sid = self._autoselect
            if sid and any(e.source_id == sid for e in entries):
                self._autoselect = ""  # done once per lab start
                self.setup.streams.select(lambda e: e.source_id == sid, required=True)
            self._sync_monitor()
        c = self.controller
        st = c.status
        recording = c.state == RECORDING
        self.monitor_view.tick_slow(st, recording, c.free_bytes)
        self.controller.watch_root(self.setup.form().root_path if self.setup.root.text() else None)
        self._check_health(st if recording else None)
        self._clear_fixed_error()
        self._preview_protocol()
        self._update_state()

    def _update_state(self) -> None:
        c = self.controller
        st = c.status
        if c.state == RECORDING and st is not None:
            lost = f" · <b style='color:#d1302f'>{len(self._lost)} stream(s) LOST</b>" if self._lost else ""
            self.state.setText(f"<b style='color:#d1302f'>● REC {clock(st.elapsed_s)}</b> "
                               f"{Path(st.path).name}{lost}")
        elif c.state == STARTING:
            self.state.setText("starting the recording…")
        elif c.state == STOPPING:
            self.state.setText("stopping, finishing the file…")
        self.record.setEnabled(c.state in (IDLE, RECORDING))
        self.note.setEnabled(c.state == RECORDING)
        self.note_button.setEnabled(c.state == RECORDING)
        self.monitor_view.protocol.set_controls(
            can_start=c.state == IDLE and bool(self.setup.protocol.currentData()))

    # -- recording ------------------------------------------------------------------------
    def toggle_recording(self) -> None:
        if self.controller.state == RECORDING:
            if self.protocol_running() and not self.ask(
                    "Protocol running", "The protocol is still running. Abort it and stop the "
                    "recording? (It can be resumed in a new run.)"):
                return
            self.controller.stop(StopReason.OPERATOR)
        elif self.controller.state == IDLE:
            self.start_recording()

    def start_recording(self, resume: tuple[Path, bool] | None = None) -> bool:
        """Validate the form; start in the background. False (and inline messages) if invalid.

        ``resume``: (aborted recording, force) to continue its run instead of the form's protocol.
        """
        errors = self._start_errors()
        form = self.setup.form()
        streams, require = self.setup.streams.selectors()
        if resume is not None:
            errors.pop("run", None)  # a resumed run takes the next free run itself
        self.setup.show_errors(errors)
        if errors:
            self.tabs.setCurrentWidget(self.setup)
            self.show_error("Cannot start: " + "; ".join(errors.values()), "start")
            return False
        self.clear_error()
        self._resume = resume
        streamer = self.devices.streamer if form.camera != "none" else None
        lab = self.devices.lab
        lab_emg = lab.emg.source_id if lab is not None else None
        repeat = self.setup.repeat_earlier.isChecked()
        scenario = self.devices.scenario

        def prepare() -> BlockStart:
            setup = device_setup(form, streams, require, streamer, lab_emg,
                                 depth=self.options.depth,
                                 jpeg_quality=self.options.jpeg_quality)
            if resume is not None:  # as `record --resume`: the stored plan, the next trials
                block, earlier = resume_block(str(resume[0]), overrides=app_devices(setup),
                                              force=resume[1]), None
            else:
                block, earlier = protocol_block(form.root_path, form.recording_id(), setup,
                                                form.protocol or None, form.seed_value(),
                                                form.language, repeat_earlier=repeat)
            update_participant(form.root_path, form.participant, {
                "consent_data_public": "yes" if form.consent_data else "no",
                "consent_video_public": "yes" if form.consent_video else "no"})
            devices = OpenDevices(setup, list(streams), list(require), None, scenario,
                                  camera_streamer=streamer)
            return BlockStart(form.root_path, block, devices, earlier)

        def listeners(spec: BlockStart) -> list:
            return [self.relay]

        self.form_at_start = form
        self._seen_errors.clear()
        self._lost.clear()
        self.setup.set_locked(True)
        self.controller.start(prepare, listeners)
        self._update_state()
        return True

    def _started(self, path: str) -> None:
        if self._close_after_stop:  # the operator closed the window while it was starting
            self.controller.stop(StopReason.APP_CLOSED)
            return
        spec = self.controller.spec
        plan = spec.plan
        self.record.setText("■ Stop")
        self.record.setStyleSheet(REC_STYLE)
        self.tabs.setCurrentWidget(self.monitor_view)
        cam = self.devices.streamer
        self.monitor.start_taps(cam.info.fps if cam is not None and cam.info else 30.0)
        self.say(f"recording to {path}")
        if spec.earlier is not None:
            self.say(f"repeating the plan of {spec.earlier.describe()}")
        point = spec.block.resume_from
        if point is not None and self._resume is not None:
            self.say(f"resuming {self._resume[0].name} from trial {point.next_index + 1}")
        for note in spec.notes:
            self.show_error(f"recording despite a difference from the earlier session: {note}")
        self.monitor_view.protocol.set_plan(plan.protocol if plan else None, plan, spec.language)
        self.cue.set_protocol(plan.protocol if plan else None, spec.language)
        self.monitor_view.protocol.attach(self.controller.session)
        if plan is not None:
            self.say(f"protocol {plan.protocol.name} started (seed {plan.seed})")
        self._update_state()

    def protocol_running(self) -> bool:
        s = self.controller.session
        return (s is not None and s.runner is not None
                and s.runner.state not in ("idle", "completed", "aborted"))

    def _protocol_event(self, e) -> None:
        if e.trial_type == ev.RUN_END:
            self.say(f"protocol run {e.value}: {e.extra.get('completed')} trials completed, "
                     f"{e.extra.get('skipped')} skipped")

    def _stopped(self, result: ProtocolRecordingResult) -> None:
        path, reason = str(result.path), result.stop_text
        self.monitor.stop_taps()
        self.monitor_view.protocol.attach(None)
        self.record.setText("● Record")
        self.record.setStyleSheet(IDLE_STYLE)
        self.state.setText(f"saved {Path(path).name}")
        self.setup.set_locked(False)
        self.setup.after_recording()
        self.say(f"saved {path}" + (f" ({reason})" if reason else ""))
        self._offer_resume(result)
        if result.stop_reason is not None and not result.stop_reason.expected:  # disk full, ...
            self.show_error(f"the recording stopped by itself: {reason}. The file is saved: {path}")
        run_in_background(lambda: _summary_line(path), self.say, lambda e: None, name="summary")
        if self._close_after_stop:
            self.close()

    def _failed(self, message: str) -> None:
        self.monitor.stop_taps()
        self.monitor_view.protocol.attach(None)
        self.record.setText("● Record")
        self.record.setStyleSheet(IDLE_STYLE)
        self.state.setText("not recording")
        self.setup.set_locked(False)
        if self._resume_forced(message):
            return
        self.show_error(message)
        if self._close_after_stop:
            self._close_after_stop = False

    def add_note(self) -> None:
        text = self.note.text().strip()
        if text and self.controller.annotate(text):
            st = self.controller.status
            self.say(f"note at {clock(st.elapsed_s) if st else '0:00:00'}: {text}")
            self.note.clear()

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


def _summary_line(path: str) -> str:
    with Recording(path) as r:
        s = r.summary()
    parts = [f"{v['name']}: {v['samples']} samples" for v in s["streams"].values()]
    if "video" in s:
        parts.append(f"video: {s['video']['frames']} frames, dropped {s['video']['dropped']}")
    return "summary: " + "; ".join(parts) + f"; {s['events']} events"


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
