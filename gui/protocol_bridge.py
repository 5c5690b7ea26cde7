"""Run a protocol into a recording: the one place the GUI joins runner and recorder.

A stand-in until the shared glue (``protocols/session.py``, being written for the CLI's
``--protocol``) lands; then this module shrinks to a call into it. What it does is what
``protocols/README.md`` prescribes: the runner's events go to ``Recorder.add_events``,
its markers to an LSL marker outlet (so any other recorder sees the cues), the protocol
file and the plan become root attributes, and in a simulated lab the simulated
participant performs each cue.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from pathlib import Path

from mimicsync.acquisition.recorder import Recorder
from mimicsync.acquisition.scenario import Scenario
from mimicsync.dataset.events import Event
from mimicsync.protocols import (LslMarkerOutlet, Plan, Protocol, ProtocolRunner, RunListener,
                                 ScenarioParticipant, dumps_protocol, load_protocol,
                                 plan_trials)


def load_plan(name: str, study_root: Path | None, seed: int | None) -> tuple[Protocol, Plan]:
    """The protocol (study folder first, then shipped) and its plan; ProtocolError if invalid."""
    protocol = load_protocol(name, study_root=study_root)
    return protocol, plan_trials(protocol, seed=seed)


def protocol_attrs(protocol: Protocol, plan: Plan) -> dict[str, str]:
    """Root attributes that let a later session repeat exactly this one (docs/format.md)."""
    return {"protocol": dumps_protocol(protocol), "plan": json.dumps(plan.to_dict())}


class RecorderEvents(RunListener):
    """Every cue and operator action becomes a session event of the recording."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def on_event(self, event: Event) -> None:
        self.recorder.add_events([event])


class ProtocolSession:
    """One run of a plan while ``recorder`` records; controls are thread-safe."""

    def __init__(self, protocol: Protocol, plan: Plan, recorder: Recorder,
                 scenario: Scenario | None = None, markers: bool = True) -> None:
        self.protocol, self.plan = protocol, plan
        self.outlet = (LslMarkerOutlet(f"mimicsync-protocol-{socket.gethostname()}-"
                                       f"{uuid.uuid4().hex[:8]}", protocol=protocol.name)
                       if markers else None)
        self.runner = ProtocolRunner(plan, markers=self.outlet)
        self.runner.add_listener(RecorderEvents(recorder))
        if scenario is not None:
            self.runner.add_listener(ScenarioParticipant(scenario))
        self._thread: threading.Thread | None = None

    def add_listener(self, listener: RunListener) -> None:
        self.runner.add_listener(listener)

    def start(self) -> None:
        self._thread = self.runner.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def pause(self) -> None:
        self.runner.pause()

    def resume(self) -> None:
        self.runner.resume()

    def repeat(self) -> None:
        self.runner.repeat()

    def skip(self) -> None:
        self.runner.skip()

    def abort(self) -> None:
        self.runner.abort()
