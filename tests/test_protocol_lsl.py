"""Real clock, real LSL: markers reach an independent inlet as the events the runner emitted."""

from __future__ import annotations

import time
import uuid

import pylsl
import pytest

from mimicsync.protocols.listeners import EventLog
from mimicsync.protocols.markers import MARKER_FORMAT, LslMarkerOutlet, MarkerReceiver
from mimicsync.protocols.plan import plan_trials
from mimicsync.protocols.runner import ProtocolRunner
from mimicsync.protocols.schema import load_protocol, loads_protocol

# The emotions protocol at 1/25 speed with 2 repetitions: 12 trials x 0.24 s + taps, ~3.5 s.
FAST_TIMINGS = 'timings = { instruction = 0.06, countdown = 0.04, hold = 0.1, relax = 0.04 }'


def _fast_emotions():
    text = load_protocol("emotions").source.read_text(encoding="utf-8")
    text = text.replace("timings = { instruction = 1.5, countdown = 1.0, hold = 2.5, relax = 1.0 }", FAST_TIMINGS)
    text = text.replace("repetitions = 4", "repetitions = 2")
    text = text.replace("interval = 1.5", "interval = 0.06").replace("instruction = 3.0", "instruction = 0.1")
    text = text.replace("after = 2.0", "after = 0.1")
    return loads_protocol(text, "emotions.toml")


@pytest.fixture
def marker_link():
    source_id = f"mimicsync-test-protocol-{uuid.uuid4().hex}"
    outlet = LslMarkerOutlet(source_id, name=f"test-protocol-{uuid.uuid4().hex[:8]}", protocol="emotions")
    receiver = MarkerReceiver(source_id)
    assert outlet.wait_for_consumers(5.0), "inlet did not connect"
    yield outlet, receiver
    receiver.close()
    outlet.close()


def _wait_for(receiver: MarkerReceiver, n: int, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while len(receiver.received) < n and time.monotonic() < end:
        time.sleep(0.01)


def test_markers_on_an_independent_inlet_match_the_events(marker_link) -> None:
    outlet, receiver = marker_link
    plan = plan_trials(_fast_emotions(), seed=2024)
    runner = ProtocolRunner(plan, markers=outlet)
    log = EventLog()
    runner.add_listener(log)
    report = runner.run()
    _wait_for(receiver, len(log.events))
    assert report.status == "completed" and len(log.events) == 1 + 2 * 4 + 12 * 4 + 1
    assert receiver.events() == log.events  # same text, timestamp == onset, nothing lost or reordered

    # Cue-to-marker latency: pushed within a few ms of the state change, received soon after.
    push, rx = runner.push_latency(), receiver.latency()
    print(f"\ncue->push median {push.median * 1e3:.3f} ms max {push.max * 1e3:.3f} ms; "
          f"cue->inlet median {rx.median * 1e3:.3f} ms max {rx.max * 1e3:.3f} ms (n={rx.count})")
    assert push.count == rx.count == len(log.events)
    assert 0 <= push.median < 0.002 and push.max < 0.05
    assert 0 <= rx.median < 0.02 and rx.max < 0.25

    # The real clock keeps the plan: every perform cue within 15 ms of its planned time.
    t0 = log.events[1].onset  # first tap instruction
    planned = plan.protocol.tap_block.total
    for trial, perform in zip(plan.trials, [e for e in log.events if e.trial_type == "perform"]):
        t = trial.timings
        assert perform.onset - t0 == pytest.approx(planned + t.instruction + t.countdown, abs=0.015)
        planned += trial.planned_duration


def test_stream_is_an_irregular_string_marker_stream(marker_link) -> None:
    outlet, _ = marker_link
    info = pylsl.resolve_byprop("source_id", outlet.source_id, 1, 5.0)[0]
    assert info.type() == "Markers" and info.channel_format() == pylsl.cf_string
    assert info.nominal_srate() == pylsl.IRREGULAR_RATE and info.channel_count() == 1
    full = pylsl.StreamInlet(info).info(5.0)
    assert full.desc().child_value("marker_format") == MARKER_FORMAT


def test_operator_controls_from_another_thread_on_the_real_clock(marker_link) -> None:
    outlet, receiver = marker_link
    runner = ProtocolRunner(plan_trials(_fast_emotions(), seed=3), markers=outlet)
    thread = runner.start()
    time.sleep(0.5)
    runner.pause()
    time.sleep(0.2)
    assert runner.state == "paused"
    runner.abort()
    thread.join(5.0)
    assert not thread.is_alive() and runner.report is not None and runner.report.status == "aborted"
    _wait_for(receiver, len(runner.report.events))
    kinds = [e.trial_type for e in receiver.events()]
    assert kinds[-3:] == ["pause", "abort", "run_end"]
    assert receiver.events()[-2].extra["paused_s"] == pytest.approx(0.2, abs=0.1)
