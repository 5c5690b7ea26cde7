"""Run a planned protocol: cue each phase on time, mark it on LSL, tell the listeners.

Sequence: tap block -> for each trial: instruction -> countdown -> perform -> relax ->
tap block. Each cue is stamped with the runner's clock (``pylsl.local_clock`` by
default, the clock of every raw timestamp in a recording), pushed as a marker with that
timestamp, then handed to listeners as an :class:`Event` whose duration is the time
until the next planned cue. Phase deadlines are chained on the plan, not on when a cue
was actually shown, so a slow listener never makes the session drift.

Operator controls (thread-safe, take effect within ``poll_interval``):

* ``pause``: stops the current trial; ``resume`` restarts it as a new attempt, or goes
  on with the next trial if the movement had already been held to the end (relax).
* ``repeat``: restarts the current trial (in relax: the one just performed).
* ``skip``: ends the current trial; it is recorded as skipped unless already performed.
* ``abort``: ends the run now (no closing tap block); resume later from the report.

In a tap block, resume/repeat restart the block and skip ends it.
"""

from __future__ import annotations

import enum
import logging
import math
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pylsl

from mimicsync.dataset.events import Event
from mimicsync.protocols import listeners as ev
from mimicsync.protocols.listeners import RunListener
from mimicsync.protocols.markers import LatencyStats, MarkerSink, encode_marker
from mimicsync.protocols.plan import Plan, Trial
from mimicsync.protocols.resume import ResumePoint

log = logging.getLogger(__name__)


class Command(enum.Enum):
    PAUSE = "pause"
    RESUME = "resume"
    REPEAT = "repeat"
    SKIP = "skip"
    ABORT = "abort"


class _Outcome(enum.Enum):
    DONE = "done"  # go on
    SKIPPED = "skipped"
    RESTART = "restart"  # same trial / tap block again, new attempt
    ABORT = "abort"


@dataclass(frozen=True)
class RunReport:
    """How a run ended; ``resume_point()`` continues it in a new run."""

    run_id: str
    status: str  # "completed" | "aborted"
    completed: tuple[int, ...]
    skipped: tuple[int, ...]
    start_index: int
    seed: int
    protocol: str
    events: tuple[Event, ...]
    previous_run_id: str | None = None

    def resume_point(self) -> ResumePoint:
        return ResumePoint(self.run_id, self.completed, self.start_index, self.seed, self.protocol)


class ProtocolRunner:
    """State machine for one run of a :class:`Plan` (see the module docstring)."""

    def __init__(
        self,
        plan: Plan,
        *,
        markers: MarkerSink | None = None,
        clock: Callable[[], float] = pylsl.local_clock,
        sleep: Callable[[float], None] = time.sleep,
        run_id: str | None = None,
        resume_from: ResumePoint | None = None,
        poll_interval: float = 0.002,
    ) -> None:
        self.plan = plan
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.previous_run_id = resume_from.previous_run_id if resume_from else None
        self.start_index = resume_from.next_index if resume_from else 0
        if resume_from is not None:
            _check_resume(plan, resume_from)
        self._markers = markers
        self._clock = clock
        self._sleep = sleep
        self._poll_interval = poll_interval
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._listeners: list[RunListener] = []
        self._events: list[Event] = []
        self._push_latencies: list[float] = []
        self._attempts: Counter[int] = Counter()
        self._next_onset: float | None = None  # planned time of the next cue; None = now
        self._last_step_done: str | None = None
        self._completed: set[int] = set()
        self._skipped: set[int] = set()
        self.state = "idle"
        self.current_trial: Trial | None = None
        self.report: RunReport | None = None

    # -- wiring and controls -----------------------------------------------------------
    def add_listener(self, listener: RunListener) -> None:
        self._listeners.append(listener)

    def pause(self) -> None:
        self._commands.put(Command.PAUSE)

    def resume(self) -> None:
        self._commands.put(Command.RESUME)

    def repeat(self) -> None:
        self._commands.put(Command.REPEAT)

    def skip(self) -> None:
        self._commands.put(Command.SKIP)

    def abort(self) -> None:
        self._commands.put(Command.ABORT)

    def push_latency(self) -> LatencyStats:
        """Cue (state change) to marker pushed, on the runner's clock."""
        return LatencyStats.of(list(self._push_latencies))

    # -- running -----------------------------------------------------------------------
    def start(self) -> threading.Thread:
        """Run in a background thread; the report is in ``self.report`` after ``join()``."""
        t = threading.Thread(target=self.run, name=f"protocol-{self.plan.protocol.name}", daemon=True)
        t.start()
        return t

    def run(self) -> RunReport:
        """Run the plan to its end or to ``abort()``; blocks (use ``start()`` for a thread)."""
        if self.state != "idle":
            raise RuntimeError("a ProtocolRunner runs once; continue with a new one (resume_from=report.resume_point())")
        self.state = "starting"
        trials = self.plan.trials
        self._cue(ev.RUN_START, 0.0, self.plan.protocol.name, {
            "n_trials": len(trials), "start_trial": self.start_index,
            "planned_s": round(self.plan.planned_duration, 3),
        })
        aborted = self._tap_block("start") is _Outcome.ABORT
        i = self.start_index
        while not aborted and i < len(trials):
            outcome = self._trial(trials[i])
            if outcome is _Outcome.ABORT:
                aborted = True
            elif outcome is not _Outcome.RESTART:
                i += 1
        self.current_trial = None
        if not aborted:
            aborted = self._tap_block("end") is _Outcome.ABORT
        status = "aborted" if aborted else "completed"
        self._cue(ev.RUN_END, 0.0, status, {"completed": len(self._completed), "skipped": len(self._skipped)})
        self.state = status
        self.report = RunReport(
            self.run_id, status, tuple(sorted(self._completed)), tuple(sorted(self._skipped)),
            self.start_index, self.plan.seed, self.plan.protocol.name, tuple(self._events), self.previous_run_id,
        )
        return self.report

    # -- cues --------------------------------------------------------------------------
    def _base_extra(self) -> dict[str, Any]:
        d: dict[str, Any] = {"protocol": self.plan.protocol.name, "run_id": self.run_id, "seed": self.plan.seed}
        if self.previous_run_id is not None:
            d["previous_run_id"] = self.previous_run_id
        return d

    def _cue(self, trial_type: str, duration: float, value: str, extra: dict[str, Any]) -> Event:
        """Stamp, mark and announce one state change."""
        onset = self._clock()
        event = Event(onset, duration, trial_type, value, {**self._base_extra(), **extra})
        if self._markers is not None:
            self._markers.push(encode_marker(event), onset)
            self._push_latencies.append(self._clock() - onset)
        self._events.append(event)
        self._notify("on_event", event)
        return event

    def _notify(self, hook: str, *args: Any) -> None:
        for listener in self._listeners:
            fn = getattr(listener, hook, None)  # a listener implements only the hooks it needs
            if fn is None:
                continue
            try:
                fn(*args)
            except Exception:  # a broken display must not stop the recording
                log.exception("protocol listener %r failed in %s", listener, hook)

    def _phase(self, trial_type: str, duration: float, value: str, extra: dict[str, Any]) -> Command | None:
        """Show one cue and wait until its planned end; returns an interrupting command."""
        self.state = trial_type
        start = self._next_onset if self._next_onset is not None else self._clock()
        deadline = start + duration
        event = self._cue(trial_type, duration, value, extra)
        if trial_type == ev.PERFORM:
            self._notify("on_perform", event.onset, deadline, value)
        elif trial_type == ev.TAP_CUE:
            self._notify("on_tap", event.onset, extra["tap"] - 1)
        cmd = self._wait(deadline, countdown=trial_type == ev.COUNTDOWN)
        self._next_onset = None if cmd is not None else deadline
        return cmd

    # -- waiting -----------------------------------------------------------------------
    def _poll(self, paused: bool) -> Command | None:
        while True:
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                return None
            if (paused and cmd is Command.PAUSE) or (not paused and cmd is Command.RESUME):
                continue  # already in that state
            return cmd

    def _wait(self, deadline: float, countdown: bool) -> Command | None:
        shown = None
        while (cmd := self._poll(paused=False)) is None:
            remaining = deadline - self._clock()
            if remaining <= 0:
                return None
            step = min(self._poll_interval, remaining)
            left = math.ceil(remaining - 1e-6)  # whole seconds still to count
            if countdown and left >= 1:
                if left != shown:
                    shown = left
                    self._notify("on_countdown", left)
                step = min(step, max(remaining - (left - 1), 1e-6))
            self._sleep(step)
        return cmd

    def _interrupt(self, cmd: Command, value: str, extra: dict[str, Any]) -> Command:
        """Record ``cmd``; a pause waits for the command that ends it. Returns the final one."""
        paused_s = None
        if cmd is Command.PAUSE:
            interrupted = self.state
            self._cue(ev.PAUSE, 0.0, interrupted, extra)
            self.state = "paused"
            t0 = self._clock()
            while (cmd := self._poll(paused=True)) is None:
                self._sleep(self._poll_interval)
            paused_s = round(self._clock() - t0, 6)
        details = {**extra, **({"paused_s": paused_s} if paused_s is not None else {})}
        self._cue(cmd.value, 0.0, value, details)
        self._next_onset = None
        return cmd

    # -- blocks ------------------------------------------------------------------------
    def _tap_block(self, which: str) -> _Outcome:
        tb = self.plan.protocol.tap_block
        self._last_step_done = None
        while True:
            cmd = None
            if tb.instruction > 0:
                cmd = self._phase(ev.TAP_INSTRUCTION, tb.instruction, which, {"block": which})
            for i in range(tb.count):
                if cmd is not None:
                    break
                duration = tb.interval if i < tb.count - 1 else tb.after
                cmd = self._phase(ev.TAP_CUE, duration, "tap", {"block": which, "tap": i + 1, "taps": tb.count})
            if cmd is None:
                return _Outcome.DONE
            final = self._interrupt(cmd, which, {"block": which})
            if final is Command.ABORT:
                return _Outcome.ABORT
            if final is Command.SKIP:
                return _Outcome.DONE

    def _trial(self, trial: Trial) -> _Outcome:
        self.current_trial = trial
        self._attempts[trial.index] += 1
        extra = {
            "trial": trial.index, "step_number": trial.step_number, "repetition": trial.repetition,
            "attempt": self._attempts[trial.index],
        }
        t = trial.timings
        show_instruction = trial.show_instruction or self._last_step_done != trial.step_id
        phases = [(ev.INSTRUCTION, t.instruction if show_instruction else 0.0), (ev.COUNTDOWN, t.countdown),
                  (ev.PERFORM, t.hold)]
        cmd = None
        for trial_type, duration in phases:
            if duration > 0 and (cmd := self._phase(trial_type, duration, trial.step_id, extra)) is not None:
                break
        performed = cmd is None
        if performed:
            self._completed.add(trial.index)
            self._skipped.discard(trial.index)
            self._last_step_done = trial.step_id
            cmd = self._phase(ev.RELAX, t.relax, trial.step_id, extra)  # always cued: it marks completion
            if cmd is None:
                return _Outcome.DONE
        final = self._interrupt(cmd, trial.step_id, extra)
        if final is not Command.SKIP:
            self._last_step_done = None  # after a pause or a repeat, show the instruction again
        if final is Command.ABORT:
            return _Outcome.ABORT
        if final is Command.REPEAT or (final is Command.RESUME and not performed):
            self._completed.discard(trial.index)
            return _Outcome.RESTART
        if final is Command.SKIP and not performed:
            self._skipped.add(trial.index)
            return _Outcome.SKIPPED
        return _Outcome.DONE


def _check_resume(plan: Plan, point: ResumePoint) -> None:
    """Refuse a resume that would continue a different plan, or nothing at all."""
    if point.protocol is not None and point.protocol != plan.protocol.name:
        raise ValueError(f"resume: previous run was protocol {point.protocol!r}, this plan is {plan.protocol.name!r}")
    if point.seed is not None and point.seed != plan.seed:
        raise ValueError(f"resume: previous run used seed {point.seed}, plan the new run with that seed (got {plan.seed})")
    if point.next_index >= len(plan.trials):
        raise ValueError(f"resume: all {len(plan.trials)} trials of run {point.previous_run_id} are done; nothing to resume")
