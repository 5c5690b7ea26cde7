"""The runner's cue sequence and timing under pause/repeat/skip/abort/resume, on a fake clock."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

import numpy as np
import pytest

from mimicsync.acquisition.simulators.face_renderer import TAP_APPROACH_S
from mimicsync.acquisition.simulators.participant import ScenarioParticipant
from mimicsync.acquisition.simulators.scenario import Scenario
from mimicsync.dataset.events import Event
from mimicsync.protocols.console import ConsolePresenter
from mimicsync.protocols.device_setup import SimulatedTriggerBox
from mimicsync.protocols.listeners import EventLog, RunListener
from mimicsync.protocols.markers import decode_marker
from mimicsync.protocols.plan import Plan, plan_trials
from mimicsync.protocols.resume import ResumePoint, resume_point_from_events
from mimicsync.protocols.runner import ProtocolRunner, RunReport
from mimicsync.protocols.schema import loads_protocol

T0 = 1000.0

# Tap block 3 s (1 s text, taps at +1 and +2, 1 s quiet). Steps a, b x 2 repetitions:
# first repetition 1 + 1 + 2 + 1 = 5 s, the second without instruction 4 s.
SMALL = """
format = 1
name = "small"
order = "fixed"
repeat_instruction = false

[defaults]
repetitions = 2
timings = { instruction = 1.0, countdown = 1.0, hold = 2.0, relax = 1.0 }

[tap_block]
count = 2
interval = 1.0
instruction = 1.0
after = 1.0
text = { en = "Tap twice.", de = "Zweimal tippen." }

[[steps]]
id = "a"
label = { en = "Move A", de = "Bewegung A" }
instruction = { en = "Do A.", de = "Mach A." }

[[steps]]
id = "b"
label = { en = "Move B", de = "Bewegung B" }
instruction = { en = "Do B.", de = "Mach B." }
"""

# (trial_type, value, onset - T0, duration) of an uninterrupted run.
NORMAL = [
    ("run_start", "small", 0, 0),
    ("tap_instruction", "start", 0, 1), ("tap_cue", "tap", 1, 1), ("tap_cue", "tap", 2, 1),
    ("instruction", "a", 3, 1), ("countdown", "a", 4, 1), ("perform", "a", 5, 2), ("relax", "a", 7, 1),
    ("countdown", "a", 8, 1), ("perform", "a", 9, 2), ("relax", "a", 11, 1),
    ("instruction", "b", 12, 1), ("countdown", "b", 13, 1), ("perform", "b", 14, 2), ("relax", "b", 16, 1),
    ("countdown", "b", 17, 1), ("perform", "b", 18, 2), ("relax", "b", 20, 1),
    ("tap_instruction", "end", 21, 1), ("tap_cue", "tap", 22, 1), ("tap_cue", "tap", 23, 1),
    ("run_end", "completed", 24, 0),
]


class FakeClock:
    """Time passes only in ``sleep``; actions scheduled with ``at`` fire when it is crossed."""

    def __init__(self, t0: float = T0) -> None:
        self.t = t0
        self._actions: list[tuple[float, Callable[[], None]]] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, dt: float) -> None:
        assert dt > 0, "the runner must never busy-wait"
        self.t += dt
        due = [a for a in self._actions if a[0] <= self.t + 1e-9]
        self._actions = [a for a in self._actions if a[0] > self.t + 1e-9]
        for _, action in due:
            action()

    def at(self, offset: float, action: Callable[[], None]) -> None:
        self._actions.append((T0 + offset, action))


class ListSink:
    def __init__(self) -> None:
        self.pushed: list[tuple[str, float]] = []

    def push(self, text: str, timestamp: float) -> None:
        self.pushed.append((text, timestamp))


def _plan(seed: int = 5) -> Plan:
    return plan_trials(loads_protocol(SMALL, "small.toml"), seed=seed)


def _runner(plan: Plan | None = None, **kw) -> tuple[ProtocolRunner, FakeClock, EventLog]:
    clock = FakeClock()
    runner = ProtocolRunner(plan or _plan(), clock=clock, sleep=clock.sleep, poll_interval=0.01, **kw)
    log = EventLog()
    runner.add_listener(log)
    return runner, clock, log


def _rows(events: list[Event]) -> list[tuple[str, str, float, float]]:
    return [(e.trial_type, e.value, round(e.onset - T0, 6), e.duration) for e in events]


def _of(events: list[Event], trial_type: str) -> list[Event]:
    return [e for e in events if e.trial_type == trial_type]


def test_uninterrupted_run_cues_every_phase_on_schedule() -> None:
    sink = ListSink()
    runner, clock, log = _runner(markers=sink, run_id="run1")
    report = runner.run()
    assert _rows(log.events) == NORMAL
    assert report.status == "completed" and report.completed == (0, 1, 2, 3) and report.skipped == ()
    assert list(report.events) == log.events and clock.t - T0 == pytest.approx(runner.plan.planned_duration)
    perform = _of(log.events, "perform")[1]
    assert perform.extra == {"protocol": "small", "run_id": "run1", "seed": 5, "trial": 1, "step_number": 1,
                             "repetition": 2, "attempt": 1}
    assert _of(log.events, "tap_cue")[1].extra["tap"] == 2
    # one marker per event, stamped with the event onset, decoding to the same event
    assert [decode_marker(text, ts) for text, ts in sink.pushed] == log.events
    assert runner.push_latency().count == len(log.events)
    with pytest.raises(RuntimeError, match="runs once"):
        runner.run()


def test_pause_restarts_the_interrupted_trial_as_a_new_attempt() -> None:
    runner, clock, log = _runner()
    clock.at(5.5, runner.pause)  # during the first perform of "a"
    clock.at(6.0, runner.pause)  # ignored: already paused
    clock.at(8.0, runner.resume)
    report = runner.run()
    rows = _rows(log.events)
    i = rows.index(("perform", "a", 5, 2))
    pause, resume = log.events[i + 1], log.events[i + 2]
    assert (pause.trial_type, pause.value, resume.trial_type) == ("pause", "perform", "resume")
    assert pause.onset - T0 == pytest.approx(5.5, abs=0.011) and resume.onset - T0 == pytest.approx(8.0, abs=0.011)
    assert resume.extra["paused_s"] == pytest.approx(2.5, abs=0.02)
    # trial 0 again from its instruction, then the schedule continues from the resume
    again = log.events[i + 3 : i + 7]
    assert [(e.trial_type, e.extra["attempt"]) for e in again] == [
        ("instruction", 2), ("countdown", 2), ("perform", 2), ("relax", 2)]
    assert [e.onset - resume.onset for e in again] == pytest.approx([0, 1, 2, 4], abs=1e-6)
    assert report.completed == (0, 1, 2, 3)
    assert log.events[-1].onset - T0 == pytest.approx(24 + (8.0 - 3.0), abs=0.03)


def test_pause_during_relax_keeps_the_trial_and_goes_on() -> None:
    runner, clock, log = _runner()
    clock.at(7.5, runner.pause)  # relax of trial 0: the movement was held to the end
    clock.at(9.0, runner.resume)
    report = runner.run()
    after = [e for e in log.events if e.onset - T0 > 9.0 - 0.02][:3]
    assert [(e.trial_type, e.extra.get("trial")) for e in after] == [("resume", 0), ("instruction", 1), ("countdown", 1)]
    assert report.completed == (0, 1, 2, 3) and len(_of(log.events, "perform")) == 4


def test_repeat_in_relax_redoes_the_trial_just_performed() -> None:
    runner, clock, log = _runner()
    clock.at(11.5, runner.repeat)  # relax of trial 1 ("a", repetition 2)
    report = runner.run()
    repeat = _of(log.events, "repeat")
    assert len(repeat) == 1 and repeat[0].extra["trial"] == 1 and repeat[0].onset - T0 == pytest.approx(11.5, abs=0.011)
    trial1 = [(e.trial_type, e.extra["attempt"]) for e in log.events if e.extra.get("trial") == 1]
    assert trial1 == [("countdown", 1), ("perform", 1), ("relax", 1), ("repeat", 1),
                      ("instruction", 2), ("countdown", 2), ("perform", 2), ("relax", 2)]
    assert report.completed == (0, 1, 2, 3) and report.status == "completed"


def test_skip_before_the_movement_records_a_skipped_trial() -> None:
    runner, clock, log = _runner()
    clock.at(4.5, runner.skip)  # countdown of trial 0
    report = runner.run()
    assert report.skipped == (0,) and report.completed == (1, 2, 3)
    skip = _of(log.events, "skip")[0]
    assert skip.value == "a" and skip.extra["trial"] == 0
    nxt = log.events[log.events.index(skip) + 1]
    assert (nxt.trial_type, nxt.extra["trial"]) == ("instruction", 1)  # "a" was never shown through
    assert nxt.onset == pytest.approx(skip.onset)
    assert [e.extra["trial"] for e in _of(log.events, "perform")] == [1, 2, 3]


def test_skip_in_a_tap_block_ends_it() -> None:
    runner, clock, log = _runner()
    clock.at(1.5, runner.skip)
    runner.run()
    assert [e.trial_type for e in log.events[:5]] == ["run_start", "tap_instruction", "tap_cue", "skip", "instruction"]


def test_pause_in_a_tap_block_restarts_the_block() -> None:
    runner, clock, log = _runner()
    clock.at(1.5, runner.pause)
    clock.at(2.0, runner.resume)
    runner.run()
    start_block = [e.trial_type for e in log.events if e.extra.get("block") == "start"]
    assert start_block == ["tap_instruction", "tap_cue", "pause", "resume", "tap_instruction", "tap_cue", "tap_cue"]


def test_abort_ends_at_once_and_resume_continues_at_the_next_trial() -> None:
    plan = _plan(seed=77)
    runner, clock, log = _runner(plan, run_id="first")
    clock.at(9.5, runner.abort)  # perform of trial 1
    report = runner.run()
    assert report.status == "aborted" and report.completed == (0,)
    assert [e.trial_type for e in log.events[-3:]] == ["perform", "abort", "run_end"]
    assert log.events[-1].value == "aborted" and not [e for e in log.events if e.extra.get("block") == "end"]
    point = resume_point_from_events(log.events)
    assert point == report.resume_point() == ResumePoint("first", (0,), 0, 77, "small")
    assert point.next_index == 1

    again, clock2, log2 = _runner(plan_trials(plan.protocol, seed=77), run_id="second", resume_from=point)
    report2 = again.run()
    ev2 = log2.events
    assert ev2[0].extra["start_trial"] == 1 and all(e.extra["previous_run_id"] == "first" for e in ev2)
    first_trial = [e for e in ev2 if "trial" in e.extra][0]
    # trial 1 is a's 2nd repetition; after a break its instruction is shown again
    assert (first_trial.trial_type, first_trial.extra["trial"], first_trial.extra["repetition"]) == ("instruction", 1, 2)
    assert ev2[1].trial_type == "tap_instruction" and ev2[-2].extra["block"] == "end"
    assert report2.status == "completed" and report2.completed == (1, 2, 3)
    assert report2.previous_run_id == "first"


def test_resume_of_a_resumed_run_that_completed_nothing() -> None:
    plan = _plan()
    runner, clock, _ = _runner(plan, resume_from=ResumePoint("r1", (0, 1), 0, plan.seed, "small"))
    clock.at(2.0, runner.abort)  # still in the tap block
    report = runner.run()
    assert report.completed == () and report.resume_point().next_index == 2
    assert resume_point_from_events(report.events).next_index == 2


def test_resume_refuses_another_plan_or_nothing_left() -> None:
    plan = _plan(seed=1)
    with pytest.raises(ValueError, match="previous run used seed 2"):
        ProtocolRunner(plan, resume_from=ResumePoint("r", (0,), 0, 2, "small"))
    with pytest.raises(ValueError, match="previous run was protocol 'emotions'"):
        ProtocolRunner(plan, resume_from=ResumePoint("r", (0,), 0, 1, "emotions"))
    with pytest.raises(ValueError, match="all 4 trials of run r are done"):
        ProtocolRunner(plan, resume_from=ResumePoint("r", (3,), 0, 1, "small"))


def test_simulated_participant_performs_the_cued_movements_and_taps() -> None:
    scenario = Scenario()
    runner, _, log = _runner()
    runner.add_listener(ScenarioParticipant(scenario, reaction_s=0.25, tap_delay_s=0.95))
    runner.run()
    performs = _of(log.events, "perform")
    assert [(m.start, m.end, m.movement) for m in scenario.movements] == [
        (pytest.approx(e.onset + 0.25), pytest.approx(e.onset + e.duration + 0.25), e.value) for e in performs]
    # the hand reaches the face after its approach, so the camera shows it coming
    assert [t.time for t in scenario.taps] == pytest.approx([e.onset + 0.95 for e in _of(log.events, "tap_cue")])
    assert ScenarioParticipant(scenario, tap_delay_s=0.1).tap_delay_s >= TAP_APPROACH_S
    assert [t.x_mm for t in scenario.taps] == [45.0, -45.0, 45.0, -45.0]
    assert scenario.movement_at(T0 + 15.5)[0] == "b"


def test_console_presenter_shows_cues_countdown_and_bell() -> None:
    out = io.StringIO()
    runner, _, _ = _runner()
    runner.add_listener(ConsolePresenter(runner.plan.protocol, language="de", bell=True, stream=out))
    runner.run()
    text = out.getvalue()
    assert "Zweimal tippen." in text and "Mach A." in text and "GO  BEWEGUNG B  (hold 2 s)" in text
    assert text.count("\a") == 4 + 4  # taps and perform cues
    assert text.count("            1...") == 4
    assert "trial 2/4  Bewegung A  (repetition 2, attempt 1)" not in text  # no instruction line for repetition 2
    assert text.splitlines()[-1].endswith("== run completed: 4 trials completed, 0 skipped ==")


def test_countdown_ticks_each_whole_second() -> None:
    class Ticks(RunListener):
        def __init__(self) -> None:
            self.ticks: list[tuple[int, float]] = []

        def on_countdown(self, seconds_left: int) -> None:
            self.ticks.append((seconds_left, clock.t - T0))

    text = SMALL.replace("countdown = 1.0", "countdown = 3.0")
    plan = plan_trials(loads_protocol(text, "small.toml"), seed=1)
    runner, clock, _ = _runner(plan)
    ticks = Ticks()
    runner.add_listener(ticks)
    runner.run()
    assert [(n, round(t, 6)) for n, t in ticks.ticks[:3]] == [(3, 4.0), (2, 5.0), (1, 6.0)]


def test_a_failing_listener_does_not_stop_the_run(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(RunListener):
        def on_event(self, event: Event) -> None:
            raise RuntimeError("display gone")

    runner, _, log = _runner()
    runner.add_listener(Broken())
    with caplog.at_level(logging.ERROR):
        report: RunReport = runner.run()
    assert report.status == "completed" and len(log.events) == len(NORMAL)
    assert "display gone" in caplog.text


def test_late_wakeups_and_slow_listeners_do_not_make_the_schedule_drift() -> None:
    """Deadlines are chained on the plan: lateness never adds up over a session."""

    class Slow(RunListener):
        def on_event(self, event: Event) -> None:
            clock.t += 0.03  # e.g. a display that takes 30 ms per cue

    runner, clock, log = _runner()
    oversleeping = clock.sleep
    runner._sleep = lambda dt: oversleeping(dt + 0.002)  # every wake-up 2 ms late
    runner.add_listener(Slow())
    runner.run()
    late = [e.onset - T0 - t for e, (_, _, t, _) in zip(log.events, NORMAL)]
    assert len(log.events) == len(NORMAL) and max(late) < 0.035 and min(late) >= 0


def test_simulated_trigger_box_pulses_irregularly_through_the_run() -> None:
    from mimicsync.protocols.device_setup import simulated_participant
    scenario = Scenario()
    runner, _, log = _runner()
    for listener in simulated_participant(scenario):
        runner.add_listener(listener)
    runner.run()
    start, end = log.events[0].onset, log.events[-1].onset
    starts = np.array([t.time for t in scenario.triggers])
    train = starts[(starts > start + 0.5) & (starts < end)]
    gaps = np.diff(train)
    assert len(train) > 0.6 * (end - start)  # about one a second
    assert gaps.min() > 0.4 and gaps.max() < 2.7  # never merged; a skipped one at most
    assert np.std(gaps) > 0.05  # irregular: no whole-period shift fits as well
    assert starts.max() < end + SimulatedTriggerBox.LOOKAHEAD_S + 1.5  # stops with the run
