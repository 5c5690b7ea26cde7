"""What the protocol runner tells the rest of the system, and two simple listeners.

The runner calls every registered :class:`RunListener` synchronously, in its own
thread, right after the cue's marker is pushed: keep handlers short (hand work to
another thread or a GUI event queue). A listener that raises is logged and skipped, so
a broken display cannot stop a recording.
"""

from __future__ import annotations

import threading

from mimicsync.dataset.events import Event

# trial_type values of the events (and markers) the runner emits.
RUN_START = "run_start"
TAP_INSTRUCTION = "tap_instruction"
TAP_CUE = "tap_cue"
INSTRUCTION = "instruction"
COUNTDOWN = "countdown"
PERFORM = "perform"
RELAX = "relax"  # also marks the trial as completed (the movement was held to the end)
PAUSE = "pause"
RESUME = "resume"
REPEAT = "repeat"
SKIP = "skip"
ABORT = "abort"
RUN_END = "run_end"


class RunListener:
    """Base class: override what you need; every hook is a no-op here."""

    def on_event(self, event: Event) -> None:
        """Every cue and control action (pause, skip, ...), as the recorder stores it."""

    def on_countdown(self, seconds_left: int) -> None:
        """Each whole second of a countdown phase (display only; no marker, no event)."""

    def on_perform(self, start: float, end: float, movement_id: str) -> None:
        """The participant is cued to hold ``movement_id`` from ``start`` to ``end`` (planned)."""

    def on_tap(self, time: float, index: int) -> None:
        """The participant is cued to tap now (``index``: 0-based within the tap block)."""


class EventLog(RunListener):
    """Collects the events in order (tests, and a recorder without its own queue)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []

    def on_event(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)
