"""A session plan's blocks recorded one after another from the window, with a pause.

Record with a plan chosen in Setup starts the visit: the worker reads the plan and
prepares every block with :func:`~mimicsync.protocols.visit_devices.visit_on_devices`
(the CLI's ``prepare_visit``, on the app's running devices; a block whose devices differ
is refused in one line before anything is recorded). Each block then records through the
same :func:`~mimicsync.protocols.visit.block_recording` as any recording of the app.
Between blocks the visit pauses (as ``record --plan`` waits for Enter): the next block is
shown, ● Record starts it, End visit ends the visit. A block stopped from outside its
protocol (■ Stop, a full disk) ends the visit, as in the CLI. A mixin of
:class:`~mimicsync.gui.app.MainWindow` (``self`` is the window).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from mimicsync.gui.recording_glue import record_consent
from mimicsync.gui.recording_worker import BlockStart
from mimicsync.gui.session_form import SessionForm
from mimicsync.protocols.protocol_recording import ProtocolRecordingResult
from mimicsync.protocols.visit import PreparedBlock
from mimicsync.protocols.visit_devices import visit_on_devices
from mimicsync.protocols.visit_plan import load_visit_plan


@dataclass
class VisitProgress:
    """A visit under way: its blocks and the one to record next."""

    name: str
    blocks: tuple[PreparedBlock, ...]
    next: int = 0

    def heading(self, i: int) -> str:
        return f"block {i + 1}/{len(self.blocks)}"


class VisitGlue:
    """Mixed into the main window."""

    def _visit_step(self, form: SessionForm, device_step) -> Callable[[], BlockStart]:
        """The worker's step for the visit's next block (the first one prepares them all).

        ``device_step()`` gives the app's (setup, OpenDevices, selected stream infos).
        """
        visit = self._visit
        if visit is not None:
            i = visit.next

            def prepare_next() -> BlockStart:
                devices = device_step()[1]
                block = visit.blocks[i]
                return BlockStart(form.root_path, block, replace(devices, setup=block.setup),
                                  visit=visit.blocks, visit_index=i)
            return prepare_next

        def prepare_first() -> BlockStart:
            setup, devices, infos = device_step()
            plan = load_visit_plan(form.plan, study_root=form.root_path)
            blocks = tuple(visit_on_devices(plan, form.participant, form.session, setup, infos,
                                            form.root_path))
            record_consent(form)
            return BlockStart(form.root_path, blocks[0], replace(devices, setup=blocks[0].setup),
                              visit=blocks, visit_index=0)
        return prepare_first

    def _visit_started(self, spec: BlockStart) -> None:
        """A block of a plan started: the visit is under way from its first block."""
        if not spec.visit:
            return
        if spec.visit_index == 0:
            plan = self.setup.visit_plan
            self._visit = VisitProgress(plan.name if plan is not None else "plan", spec.visit)
        v = self._visit
        self.say(f"visit {v.name}: {v.heading(spec.visit_index)} {spec.block.describe()}")

    def _visit_block_done(self, spec: BlockStart, result: ProtocolRecordingResult) -> None:
        """After a block: pause before the next one, or end the visit."""
        v = self._visit
        if v is None or not spec.visit:
            return
        done = spec.visit_index + 1
        if result.interrupted or done >= len(v.blocks):
            self.end_visit(f"visit {v.name} ended after {done} of {len(v.blocks)} blocks"
                           if done < len(v.blocks) else
                           f"visit {v.name} complete: {done} blocks recorded")
            return
        v.next = done
        self._visit_pause()
        self.say(f"visit {v.name}: {v.heading(done - 1)} saved; next: {v.heading(done)} "
                 f"{v.blocks[done].describe()}; press ● Record to start it, or End visit")

    def _visit_pause(self) -> None:
        """Between blocks: labels stay fixed, Record starts the next block."""
        v = self._visit
        self.setup.set_locked(True)
        self.setup.end_visit.show()
        self.setup.end_visit.setEnabled(True)
        self.record.setText(f"● Record {v.heading(v.next)}")
        self.state.setText(f"{self.state.text()} · next: {v.heading(v.next)} "
                           f"{v.blocks[v.next].label}")
        self._previewed = None

    def end_visit(self, message: str = "") -> None:
        """End the visit (its remaining blocks are not recorded); Setup is free again."""
        v, self._visit = self._visit, None
        if v is None:
            return
        self.setup.end_visit.hide()
        self.setup.set_locked(False)
        self.record.setText("● Record")
        self._previewed = None
        self.say(message or f"visit {v.name} ended by the operator after {v.next} of "
                 f"{len(v.blocks)} blocks")

    def _preview_visit(self) -> bool:
        """The visit's next block (or a chosen plan's first) in the Monitor tab; False if
        no plan is involved."""
        v = self._visit
        setup = self.setup
        if v is None and setup.plan_path is None:
            return False
        if v is not None:
            block, i, n = v.blocks[v.next], v.next, len(v.blocks)
        elif setup.plan_blocks:
            block, i, n = setup.plan_blocks[0], 0, len(setup.plan_blocks)
        else:
            block = None
        key = ("visit", id(v), v.next if v else -1, id(setup.visit_plan))
        if key == self._previewed:
            return True
        self._previewed = key
        panel = self.monitor_view.protocol
        if block is None or block.plan is None:
            panel.set_plan(None, None, block.language if block else "en")
            return True
        order = f"seed {block.plan.seed}" if v is not None else "order drawn at the start"
        panel.set_plan(block.plan.protocol, block.plan, block.language,
                       preview=f"block {i + 1}/{n} {block.label}, {order}")
        return True
