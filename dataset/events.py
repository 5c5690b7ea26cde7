"""Session events: the one representation shared by recorder, protocol runner, sync and export.

An event is what BIDS ``_events.tsv`` needs (onset, duration, trial_type) plus free
fields (movement id, repetition, seed, marker text, source stream, ...). Onsets are on
the recorder host's LSL clock (``pylsl.local_clock()``), like every raw timestamp in a
recording; sync maps them to the common timeline, export makes them relative.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    onset: float  # LSL clock seconds
    duration: float = 0.0  # seconds; 0 for instantaneous events
    trial_type: str = ""  # e.g. "marker", "cue", "perform", "tap", "stream_lost", "annotation"
    value: str = ""  # short text: marker string, movement id, annotation text
    extra: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable details

    def to_json(self) -> str:
        """One JSON object per event; the on-disk payload of ``/events``."""
        d = {"trial_type": self.trial_type, "value": self.value}
        d.update(self.extra)
        return json.dumps(d, ensure_ascii=False, separators=(",", ":"), default=str)

    @classmethod
    def from_json(cls, onset: float, duration: float, payload: str) -> "Event":
        d = json.loads(payload)
        trial_type = d.pop("trial_type", "")
        value = d.pop("value", "")
        return cls(float(onset), float(duration), trial_type, value, d)
