"""Movement labels from a recording's events: which movement is held when.

Three sources say the same thing in different words, and a recording may hold several:

- ``perform`` events (the protocol runner's cue, stored by the recorder): ``value`` is
  the movement id, ``duration`` the planned hold;
- ``marker`` events whose text is the runner's marker JSON (a runner on another computer,
  recorded over LSL; :func:`mimicsync.protocols.markers.decode_marker`);
- the simulator's scenario markers ``{"event": "movement_start" | "movement_end",
  "movement": ...}``.

Duplicates (the same cue seen directly and as a marker) are merged. Onsets are on the
recorder clock, i.e. the common timeline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from mimicsync.dataset.electrodes import MOVEMENTS
from mimicsync.dataset.events import Event

REST = "rest"
PERFORM = "perform"  # protocols.listeners.PERFORM (not imported: dataset stays below protocols)


@dataclass(frozen=True)
class Interval:
    """``movement`` is held from ``start`` to ``end`` (s, common timeline)."""

    start: float
    end: float
    movement: str


def decode_marker_event(e: Event) -> Event | None:
    """A runner marker as the event it stands for; None for other markers."""
    try:
        d = json.loads(e.value)
    except (json.JSONDecodeError, TypeError):
        return None
    if not isinstance(d, dict):
        return None
    if "trial_type" in d:
        duration = float(d.pop("duration", 0.0) or 0.0)
        return Event(e.onset, duration, str(d.pop("trial_type")), str(d.pop("value", "")), d)
    if d.get("event") in ("movement_start", "movement_end"):
        return Event(e.onset, 0.0, str(d["event"]), str(d.get("movement", "")))
    return None


def movement_intervals(events: Iterable[Event]) -> list[Interval]:
    """Held movements, sorted by start, from every source above (see module doc)."""
    out: dict[tuple[float, str], Interval] = {}
    open_starts: dict[str, float] = {}
    flat = []
    for e in events:
        flat.append(decode_marker_event(e) if e.trial_type == "marker" else e)
    for e in sorted((e for e in flat if e is not None), key=lambda e: e.onset):
        if e.trial_type == PERFORM and e.value and e.duration > 0:
            out.setdefault((round(e.onset, 2), e.value), Interval(e.onset, e.onset + e.duration, e.value))
        elif e.trial_type == "movement_start":
            open_starts[e.value] = e.onset
        elif e.trial_type == "movement_end" and e.value in open_starts:
            start = open_starts.pop(e.value)
            out.setdefault((round(start, 2), e.value), Interval(start, e.onset, e.value))
    return sorted(out.values(), key=lambda i: i.start)


def labels_at(intervals: Sequence[Interval], times: np.ndarray, rest: str = REST) -> np.ndarray:
    """The movement held at each time (object array of str); ``rest`` outside every hold.

    Where holds overlap, the one that started last wins (a new cue replaces the old).
    """
    times = np.asarray(times, dtype=float)
    out = np.full(times.shape, rest, dtype=object)
    for iv in intervals:  # sorted by start: later starts overwrite
        out[(times >= iv.start) & (times < iv.end)] = iv.movement
    return out


def class_names(found: Iterable[str]) -> list[str]:
    """A stable label vocabulary: the known movements in protocol order, then any others
    found, sorted; index 0 is ``rest``."""
    known = [REST] + [m for m in MOVEMENTS if m != REST]
    extra = sorted(set(found) - set(known))
    return known + extra
