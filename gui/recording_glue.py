"""Starting and stopping a recording from the window: the glue to the shared layer.

Record validates the form (inline messages, nothing written), then hands the worker a
``prepare`` step that builds the block with the CLI's own functions
(:func:`~mimicsync.protocols.like.protocol_block`, :func:`~mimicsync.protocols.like.resume_block`)
on the app's running devices. The window follows the controller's ``started``/``stopped``/
``failed`` signals. A mixin of :class:`~mimicsync.gui.app.MainWindow` (``self`` is the window).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mimicsync.dataset.recording import Recording
from mimicsync.dataset.study_tree import update_participant
from mimicsync.errors import StopReason
from mimicsync.gui.background import run_in_background
from mimicsync.gui.monitor_view import clock
from mimicsync.gui.recording_worker import IDLE, RECORDING, BlockStart
from mimicsync.gui.session_form import SessionForm, app_devices, device_setup
from mimicsync.gui.style import IDLE_STYLE, REC_STYLE
from mimicsync.protocols import listeners as ev
from mimicsync.protocols.device_setup import DeviceSetup, OpenDevices
from mimicsync.protocols.like import protocol_block, resume_block
from mimicsync.protocols.protocol_recording import ProtocolRecordingResult


class RecordingGlue:
    """Record / Stop, notes, and what the window shows when a recording starts or ends."""

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
        if resume is not None:
            errors.pop("run", None)  # a resumed run takes the next free run itself
        self.setup.show_errors(errors)
        if errors:
            self.tabs.setCurrentWidget(self.setup)
            self.show_error("Cannot start: " + "; ".join(errors.values()), "start")
            return False
        self.clear_error()
        self._resume = resume
        self.form_at_start = self.setup.form()
        self._seen_errors.clear()
        self._lost.clear()
        self.setup.set_locked(True)
        self.controller.start(self._prepare_step(self.form_at_start, resume),
                              lambda spec: [self.relay])
        self._update_state()
        return True

    def _device_step(self, form: SessionForm) -> Callable[[], tuple[DeviceSetup, OpenDevices,
                                                                     list]]:
        """The app's running devices and selected streams, read now, for the worker."""
        streams, require = self.setup.streams.selectors()
        infos = [e.info for e in self.setup.streams.selected_entries()]
        streamer = self.devices.streamer if form.camera != "none" else None
        lab = self.devices.lab
        lab_emg = lab.emg.source_id if lab is not None else None
        scenario = self.devices.scenario
        depth, quality = self.options.depth, self.options.jpeg_quality

        def step() -> tuple[DeviceSetup, OpenDevices, list]:
            setup = device_setup(form, streams, require, streamer, lab_emg,
                                 depth=depth, jpeg_quality=quality)
            return setup, OpenDevices(setup, list(streams), list(require), None, scenario,
                                      camera_streamer=streamer), infos
        return step

    def _prepare_step(self, form: SessionForm,
                      resume: tuple[Path, bool] | None) -> Callable[[], BlockStart]:
        """What the worker runs before recording (it reads protocol files, writes consent)."""
        if resume is None and (self._visit is not None or form.plan):
            return self._visit_step(form, self._device_step(form))
        device_step = self._device_step(form)
        repeat = self.setup.repeat_earlier.isChecked()

        def prepare() -> BlockStart:
            setup, devices, _ = device_step()
            if resume is not None:  # as `record --resume`: the stored plan, the next trials
                block, earlier = resume_block(str(resume[0]), overrides=app_devices(setup),
                                              force=resume[1]), None
            else:
                block, earlier = protocol_block(form.root_path, form.recording_id(), setup,
                                                form.protocol or None, form.seed_value(),
                                                form.language, repeat_earlier=repeat)
            record_consent(form)
            return BlockStart(form.root_path, block, devices, earlier)
        return prepare

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
        self._visit_started(spec)
        self._update_state()

    def protocol_running(self) -> bool:
        s = self.controller.session
        return (s is not None and s.runner is not None
                and s.runner.state not in ("idle", "completed", "aborted"))

    def _protocol_event(self, e) -> None:
        if e.trial_type == ev.RUN_END:
            self.say(f"protocol run {e.value}: {e.extra.get('completed')} trials completed, "
                     f"{e.extra.get('skipped')} skipped")

    def _idle_again(self, state_text: str) -> None:
        self.monitor.stop_taps()
        self.monitor_view.protocol.attach(None)
        self.record.setText("● Record")
        self.record.setStyleSheet(IDLE_STYLE)
        self.state.setText(state_text)
        self.setup.set_locked(False)

    def _stopped(self, result: ProtocolRecordingResult) -> None:
        path, reason = str(result.path), result.stop_text
        self._idle_again(f"saved {Path(path).name}")
        self.setup.after_recording()
        self.say(f"saved {path}" + (f" ({reason})" if reason else ""))
        self._offer_resume(result)
        if result.stop_reason is not None and not result.stop_reason.expected:  # disk full, ...
            self.show_error(f"the recording stopped by itself: {reason}. The file is saved: {path}")
        run_in_background(lambda: summary_line(path), self.say, lambda e: None, name="summary")
        self._visit_block_done(self.controller.spec, result)
        if self._close_after_stop:
            self.close()

    def _failed(self, message: str) -> None:
        self._idle_again("not recording")
        if self._resume_forced(message):
            return
        if self._visit is not None:  # a later block did not start: retry it, or end the visit
            self._visit_pause()
        self.show_error(message)
        if self._close_after_stop:
            self._close_after_stop = False

    def add_note(self) -> None:
        text = self.note.text().strip()
        if text and self.controller.annotate(text):
            st = self.controller.status
            self.say(f"note at {clock(st.elapsed_s) if st else '0:00:00'}: {text}")
            self.note.clear()


def record_consent(form: SessionForm) -> None:
    """The participant's consent flags into the study's participants.tsv."""
    update_participant(form.root_path, form.participant, {
        "consent_data_public": "yes" if form.consent_data else "no",
        "consent_video_public": "yes" if form.consent_video else "no"})


def summary_line(path: str) -> str:
    """One line per saved recording, as ``mimicsync info`` would summarise it."""
    with Recording(path) as r:
        s = r.summary()
    parts = [f"{v['name']}: {v['samples']} samples" for v in s["streams"].values()]
    if "video" in s:
        parts.append(f"video: {s['video']['frames']} frames, dropped {s['video']['dropped']}")
    return "summary: " + "; ".join(parts) + f"; {s['events']} events"
