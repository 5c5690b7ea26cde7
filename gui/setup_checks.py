"""The setup screen's live checks: labels checked as they are typed, and what the study
already holds for them (next free run, earlier sessions, consent, the earlier plan).

The check runs 250 ms after the last keystroke; the study lookup
(:func:`~mimicsync.protocols.study_lookup.look_up_labels`) runs off the UI thread and an
answer for labels that have changed meanwhile is dropped. A mixin of
:class:`~mimicsync.gui.setup_view.SetupView` (``self`` is the view).
"""

from __future__ import annotations

from mimicsync.dataset.layout import LabelError, RecordingId
from mimicsync.gui.background import run_in_background
from mimicsync.gui.session_form import LABEL_FIELDS, validate
from mimicsync.protocols.like import EarlierPlan
from mimicsync.protocols.study_lookup import LabelLookup, look_up_labels


class SetupChecks:
    """Mixed into the setup view."""

    def _schedule_check(self) -> None:
        self._check_timer.start()
        self.form_changed.emit()

    def _check(self) -> None:
        form = self.form()
        if form.root != self._protocols_root:
            self.reload_protocols()
        errs = validate(form)
        shown = {k: v for k, v in errs.items() if getattr(form, k, "x") != ""}  # not while empty
        if self._run_taken and not form.plan:
            shown.setdefault("run", self._errors["run"].text())
        if self._plan_error:
            shown["plan"] = self._plan_error
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
        run_in_background(lambda: look_up_labels(root, rid),
                          lambda r: self._looked_up(seq, rid, r), lambda e: None,
                          name="run-lookup")

    def _looked_up(self, seq: int, rid: RecordingId, found: LabelLookup) -> None:
        if seq != self._lookup_seq:
            return  # the form changed meanwhile
        nxt, taken, row = found.next_run, found.taken, found.participant_row
        self._show_earlier(found.earlier)
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
        earlier = [s for s in found.sessions if s != rid.session]
        self.participant_hint.setText(
            f"returning participant: earlier session(s) {', '.join(earlier)}" if earlier
            else "new participant" if row is None and not found.sessions else "")
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

    def after_recording(self) -> None:
        """A finished run takes its number: look up the next free one."""
        self._run_touched = False
        self._check()
