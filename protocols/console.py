"""Show cues in a terminal: headless runs, simulator sessions and demos.

One line per cue, prefixed by the time since the run started; the countdown ticks on the
same line; an optional terminal bell sounds at every tap and perform cue. The text is
the protocol's own (English or German), so the console shows what a GUI would.
"""

from __future__ import annotations

import sys
from typing import TextIO

from mimicsync.dataset.events import Event
from mimicsync.protocols import listeners as ev
from mimicsync.protocols.listeners import RunListener
from mimicsync.protocols.model import Protocol


class ConsolePresenter(RunListener):
    """Prints each cue of a run of ``protocol`` to ``stream``."""

    def __init__(self, protocol: Protocol, language: str = "en", bell: bool = False, stream: TextIO | None = None) -> None:
        protocol.tap_block.text.get(language)  # fail early on an unknown language
        self.protocol = protocol
        self.language = language
        self.bell = bell
        self.stream = stream if stream is not None else sys.stdout
        self._t0: float | None = None
        self._n_trials = 0

    def _line(self, event: Event, text: str, bell: bool = False) -> None:
        if self._t0 is None:
            self._t0 = event.onset
        ring = "\a" if bell and self.bell else ""
        self.stream.write(f"{ring}[{event.onset - self._t0:7.1f} s] {text}\n")
        self.stream.flush()

    def _trial_text(self, event: Event) -> str:
        step = self.protocol.step(event.value)
        x = event.extra
        return (
            f"trial {x['trial'] + 1}/{self._n_trials}  {step.label.get(self.language)}"
            f"  (repetition {x['repetition']}, attempt {x['attempt']})"
        )

    def on_event(self, event: Event) -> None:
        kind, x = event.trial_type, event.extra
        if kind == ev.RUN_START:
            self._n_trials = int(x["n_trials"])
            resumed = f", resuming run {x['previous_run_id']}" if "previous_run_id" in x else ""
            self._line(event, f"== {self.protocol.title}: run {x['run_id']}, seed {x['seed']}{resumed} ==")
        elif kind == ev.TAP_INSTRUCTION:
            self._line(event, f"TAP BLOCK ({event.value}): {self.protocol.tap_block.text.get(self.language)}")
        elif kind == ev.TAP_CUE:
            self._line(event, f"  TAP {x['tap']}/{x['taps']}", bell=True)
        elif kind == ev.INSTRUCTION:
            step = self.protocol.step(event.value)
            media = f"  [{step.media}]" if step.media else ""
            self._line(event, f"{self._trial_text(event)}\n            {step.instruction.get(self.language)}{media}")
        elif kind == ev.COUNTDOWN:
            self._line(event, f"  get ready: {self.protocol.step(event.value).label.get(self.language)}")
        elif kind == ev.PERFORM:
            label = self.protocol.step(event.value).label.get(self.language).upper()
            self._line(event, f"  GO  {label}  (hold {event.duration:g} s)", bell=True)
        elif kind == ev.RELAX:
            self._line(event, "  relax")
        elif kind == ev.RUN_END:
            self._line(event, f"== run {event.value}: {x['completed']} trials completed, {x['skipped']} skipped ==")
        else:  # pause, resume, repeat, skip, abort
            self._line(event, f"** {kind.upper()} ({event.value})")

    def on_countdown(self, seconds_left: int) -> None:
        self.stream.write(f"            {seconds_left}...\n")
        self.stream.flush()
