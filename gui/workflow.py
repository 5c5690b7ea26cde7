"""The operator's workflow around a recording, as a part of the main window.

What the CLI offers in a terminal, in the window: resuming an aborted run (the shared
``resume_block``, as ``record --resume``), the single-key protocol controls (the CLI's
p/r/s/a, :data:`mimicsync.protocols.protocol_recording.OPERATOR_KEYS`), the protocol's plan and planned
length shown as soon as it is chosen; plus the participant window's toggle and screens,
and error banners that go away once their cause is fixed. A mixin of
:class:`~mimicsync.gui.app.MainWindow`: it uses the window's widgets and controller.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QKeySequence, QShortcut

from mimicsync.dataset.layout import RecordingId, root_of
from mimicsync.gui.background import run_in_background
from mimicsync.gui.recording_worker import IDLE
from mimicsync.protocols import load_protocol, plan_trials
from mimicsync.protocols.protocol_recording import (
    OPERATOR_KEYS,
    ProtocolRecordingResult,
)


class Workflow:
    """Mixed into the main window (``self`` is the window)."""

    # -- resume ---------------------------------------------------------------------------
    def resume_run(self, force: bool = False) -> bool:
        """Record the remaining trials of the aborted run offered in Setup (next run)."""
        path = self.setup.resume_path
        if path is None or self.controller.state != IDLE:
            return False
        self.setup.fill_labels(RecordingId.from_path(path), root_of(path))
        return self.start_recording(resume=(path, force))

    def _offer_resume(self, result: ProtocolRecordingResult) -> None:
        """After an aborted run, Setup offers the rest of it; a finished resume clears it."""
        rep = result.report
        if rep is not None and rep.status == "aborted":
            n = len(self.controller.spec.plan.trials)
            self.setup.offer_resume(Path(result.path), f"aborted after {len(rep.completed)} of "
                                    f"{n} trials; Resume records the rest in the next run")
            self.say("the protocol was aborted: Setup → Resume records the remaining trials")
        elif self._resume is not None:
            self.setup.offer_resume(None)
        self._resume = None

    def _resume_forced(self, message: str) -> bool:
        """A resume refused for different devices: ask, and record anyway if told to."""
        resume, self._resume = self._resume, None
        if resume is None or resume[1] or "recorded differently" not in message:
            return False
        if not self.ask("Devices differ from the aborted run",
                        f"{message}\n\nRecord the remaining trials anyway? The differences "
                        "are stored with the recording."):
            return False
        return self.resume_run(force=True)

    # -- keys -----------------------------------------------------------------------------
    def _install_shortcuts(self) -> None:
        """The CLI's protocol keys; typing in a text field never triggers them."""
        self._shortcuts = [QShortcut(QKeySequence(key), self,
                                     activated=lambda a=action: self.protocol_key(a))
                           for key, action in OPERATOR_KEYS.items()]

    def protocol_key(self, action: str) -> None:
        """``toggle_pause``/``repeat``/``skip``/``abort`` on the running protocol (Abort asks)."""
        session = self.controller.session
        if not self.protocol_running() or session is None:
            return
        if action == "abort":
            self.monitor_view.protocol.ask_abort()
        else:
            getattr(session, action)()

    # -- the chosen protocol, before recording ---------------------------------------------
    def _preview_protocol(self) -> None:
        """Show the chosen protocol's trials and planned length in the Monitor tab now."""
        if self.controller.state != IDLE or self._preview_visit():
            return
        form = self.setup.form()
        earlier = self.setup.earlier
        key = (form.protocol, form.root, form.seed, form.language,
               earlier.describe() if earlier else "")
        if key == self._previewed:
            return
        self._previewed = key
        panel = self.monitor_view.protocol
        if not form.protocol:
            panel.set_plan(None, None, form.language)
            return
        if (earlier is not None and earlier.plan.protocol.name == form.protocol
                and self.setup.repeat_earlier.isChecked()):
            panel.set_plan(earlier.plan.protocol, earlier.plan, earlier.earlier.language,
                           preview=f"the earlier session's order (seed {earlier.plan.seed})")
            return

        def plan():
            return plan_trials(load_protocol(form.protocol, study_root=form.root_path),
                               form.seed_value())

        def show(p) -> None:
            if self._previewed == key and self.controller.state == IDLE:
                panel.set_plan(p.protocol, p, form.language,
                               preview=f"seed {p.seed}" if form.seed else "order drawn at the start")
        run_in_background(plan, show, lambda e: panel.set_plan(None, None, form.language,
                                                               error=str(e)),
                          name="protocol-preview")

    # -- participant window ---------------------------------------------------------------
    def _toggle_cue(self, on: bool) -> None:
        if on:
            full = self.cue.present(self.setup.screen.currentData() or 0,
                                    self.setup.fullscreen.isChecked(), self.screen())
            if self.setup.fullscreen.isChecked() and not full:
                self.say("participant screen: a window on this screen (full screen only on a "
                         "second screen; Escape closes it, F11 toggles full screen)")
        else:
            self.cue.hide()

    def _cue_closed(self) -> None:
        """Closed by its X or Escape: the toggle follows, so the next click opens it."""
        self.cue_button.blockSignals(True)
        self.cue_button.setChecked(False)
        self.cue_button.blockSignals(False)

    def _screens_changed(self, *_args) -> None:
        """An external screen came or went: the participant window must not end up
        full screen over the operator's window."""
        self.setup.refresh_screens()
        if self.cue.isVisible() and self.cue.isFullScreen() and self.cue.screen() is self.screen():
            self.cue.leave_full_screen()
            self.say("participant screen disconnected: the participant window is a normal "
                     "window now")

    # -- banners --------------------------------------------------------------------------
    def _clear_fixed_error(self) -> None:
        """Take down a banner whose cause is gone (a fixed field, a camera that runs)."""
        cause = self._banner_cause if self.banner.isVisible() else ""
        cam = self.devices.streamer
        if ((cause == "start" and self.controller.state == IDLE and not self._start_errors())
                or (cause == "camera" and cam is not None and not cam.error)):
            self.clear_error()

    def show_error(self, text: str, cause: str = "") -> None:
        """Plain words in the window (never only in a terminal). ``cause`` names a
        condition the window checks (``start``: the form; ``camera``; ``lost``): the
        banner goes away by itself once it is fixed."""
        self.banner.setText(text)
        self.banner.show()
        self.dismiss.show()
        self._banner_cause = cause
        self.say(f"⚠ {text}")

    def clear_error(self) -> None:
        self.banner.hide()
        self.dismiss.hide()
        self._banner_cause = ""

    def _check_health(self, st) -> None:
        for e in list(self.monitor.errors):
            self._error_once(e)
        cam = self.devices.streamer
        if cam is not None and cam.error:
            self._error_once(cam.error, "camera")
        if st is None:
            return
        for e in st.errors:
            self._error_once(e)
        for s in st.streams:
            if not s.connected and s.name not in self._lost:
                self._lost.add(s.name)
                self.show_error(f"stream '{s.name}' is lost (device stopped, unplugged or out of "
                                "network). The other streams keep recording; it is picked up "
                                "again automatically when it comes back.")
            elif s.connected and s.name in self._lost:
                self._lost.discard(s.name)
                self.say(f"stream '{s.name}' is back and recording again")
                if not self._lost:
                    self.clear_error()

    def _error_once(self, text: str, cause: str = "") -> None:
        if text not in self._seen_errors:
            self._seen_errors.add(text)
            self.show_error(text, cause)

    def _start_errors(self) -> dict[str, str]:
        """Everything that stops a recording from starting, by field."""
        errors = self.setup.errors()
        form = self.setup.form()
        streams, require = self.setup.streams.selectors()
        if not streams and not require and form.camera == "none" and "streams" not in errors:
            errors["streams"] = ("nothing to record: tick Record for a stream, or choose a camera")
        if form.camera != "none" and self.devices.streamer is None and "camera" not in errors:
            errors["camera"] = ("camera: not running yet (see messages); wait for the preview, "
                                "or choose None")
        return errors
