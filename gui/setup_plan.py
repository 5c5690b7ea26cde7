"""Choosing a session plan in Setup: its blocks, checked and listed before the visit.

The plan file is read and every block's protocol planned off the UI thread, with the
same functions ``mimicsync record --plan`` uses (:func:`~mimicsync.protocols.visit_plan.load_visit_plan`,
:func:`~mimicsync.protocols.visit.prepare_visit`); a bad plan shows its one-line message
under the field. While a plan is chosen its blocks decide task, acquisition, protocol,
seed and cue language, so those fields are disabled. A mixin of
:class:`~mimicsync.gui.setup_view.SetupView` (``self`` is the view).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from mimicsync.gui.background import run_in_background
from mimicsync.gui.words import render
from mimicsync.protocols.visit import PreparedBlock, prepare_visit
from mimicsync.protocols.visit_plan import PLANS_DIR, VisitPlan, load_visit_plan

NO_PLAN = "no plan: one recording of the fields below"
PREVIEW_LABEL = "preview"  # stands for participant and session while the form may be empty


def plan_lines(plan: VisitPlan, blocks: list[PreparedBlock]) -> str:
    """The plan as the operator checks it: name, language, one line per block."""
    head = f"{plan.name}: {len(blocks)} blocks, cues in {plan.language}"
    return "\n".join([head] + [f"{i}. {b.describe()}" for i, b in enumerate(blocks, start=1)])


class SetupPlan:
    """Mixed into the setup view."""

    def _pick_plan(self) -> None:
        form = self.form()
        start = self.plan_path.parent if self.plan_path else form.root_path / PLANS_DIR
        f, _ = QFileDialog.getOpenFileName(self, "Session plan", str(start), "plans (*.toml)")
        if f:
            self.choose_plan(Path(f))

    def choose_plan(self, path: Path | None) -> None:
        """Use the plan file ``path`` for the next visit (None: one recording of the form)."""
        self.plan_path = Path(path) if path is not None else None
        self.visit_plan, self.plan_blocks, self._plan_error = None, [], ""
        self._plan_seq += 1
        self.plan_clear.setEnabled(path is not None)
        self._plan_decides()
        self._errors["plan"].hide()
        self.plan_hint.setText(NO_PLAN if path is None else f"{Path(path).name}: reading…")
        self.form_changed.emit()
        if path is None:
            return
        form = self.form()
        seq, root = self._plan_seq, (form.root_path if form.root else None)

        def load() -> tuple[VisitPlan, list[PreparedBlock]]:
            plan = load_visit_plan(path, study_root=root)
            # a preview of the blocks: the visit's own labels are checked at its start
            return plan, prepare_visit(plan, PREVIEW_LABEL, PREVIEW_LABEL, root)
        run_in_background(load, lambda r: self._plan_loaded(seq, r),
                          lambda e: self._plan_failed(seq, e), name="plan-load")

    def _plan_loaded(self, seq: int, result: tuple[VisitPlan, list[PreparedBlock]]) -> None:
        if seq != self._plan_seq:
            return  # another plan was chosen meanwhile
        self.visit_plan, self.plan_blocks = result
        self.plan_hint.setText(plan_lines(*result))
        i = self.language.findData(self.visit_plan.language)
        if i >= 0:
            self.language.setCurrentIndex(i)
        self.form_changed.emit()

    def _plan_failed(self, seq: int, e: BaseException) -> None:
        if seq != self._plan_seq:
            return
        self._plan_error = render(e)
        self.plan_hint.setText(f"{self.plan_path.name}: not usable")
        self._errors["plan"].setText(self._plan_error)
        self._errors["plan"].show()

    def plan_problem(self) -> str:
        """Why the chosen plan cannot start a visit ('' when it can, or none is chosen)."""
        if self.plan_path is None or self.visit_plan is not None:
            return ""
        return self._plan_error or f"plan: {self.plan_path.name} is still being read; wait a moment"

    def _plan_decides(self, locked: bool = False) -> None:
        """The fields a chosen plan's blocks decide are disabled while it is chosen."""
        free = not locked and self.plan_path is None
        for w in (self.task, self.acq, self.run, self.protocol, self.seed, self.repeat_earlier,
                  self.language):
            w.setEnabled(free)
        self.plan_pick.setEnabled(not locked)
        self.plan_clear.setEnabled(not locked and self.plan_path is not None)
