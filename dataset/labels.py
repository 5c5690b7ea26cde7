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
TAP_INSTRUCTION, TAP_CUE = "tap_instruction", "tap_cue"  # protocols.listeners, likewise
ANNOTATION = "annotation"
# Labels of what is not a held movement but is not rest either (masks of the same names).
TAP, TAP_BLOCK = "tap", "tap_block"
CONTEXT_LABELS = (TAP, TAP_BLOCK, ANNOTATION)
TAP_SPAN_S = 0.5  # a tap cue without a duration (simulator, markers) covers this long


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


def context_intervals(events: Iterable[Event]) -> dict[str, list[Interval]]:
    """Tap blocks, taps and annotations as intervals (``movement`` = the context name).

    A tap block runs from its ``tap_instruction`` to the end of its last ``tap_cue``
    (the next protocol step closes it); a tap is a ``tap_cue`` (or a detected ``tap``)
    from its onset for its duration (:data:`TAP_SPAN_S` when it has none); an
    annotation covers its duration.
    """
    out: dict[str, list[Interval]] = {TAP_BLOCK: [], TAP: [], ANNOTATION: []}
    flat = [decode_marker_event(e) if e.trial_type == "marker" else e for e in events]
    block: list[float] = []

    def close() -> None:
        if block:
            out[TAP_BLOCK].append(Interval(block[0], block[1], TAP_BLOCK))
            block.clear()

    for e in sorted((e for e in flat if e is not None), key=lambda e: e.onset):
        if e.trial_type == TAP_INSTRUCTION:
            close()
            block[:] = [e.onset, e.onset + e.duration]
        elif e.trial_type in (TAP_CUE, TAP):
            end = e.onset + (e.duration if e.duration > 0 else TAP_SPAN_S)
            out[TAP].append(Interval(e.onset, end, TAP))
            if block:
                block[1] = max(block[1], end)
        elif e.trial_type == ANNOTATION:
            out[ANNOTATION].append(Interval(e.onset, e.onset + max(e.duration, 0.0), ANNOTATION))
        elif e.trial_type in _PROTOCOL_STEPS:
            close()
    close()
    return out


_PROTOCOL_STEPS = {"instruction", "countdown", PERFORM, "relax", "run_end", "abort"}


def interval_mask(intervals: Sequence[Interval], times: np.ndarray) -> np.ndarray:
    """True where a time falls inside any of ``intervals`` (end exclusive)."""
    times = np.asarray(times, dtype=float)
    out = np.zeros(times.shape, bool)
    for iv in intervals:
        out |= (times >= iv.start) & (times < iv.end)
    return out


def context_masks(events: Sequence[Event], times: np.ndarray) -> dict[str, np.ndarray]:
    """``{"tap_block", "tap", "annotation"}`` → bool mask over ``times``."""
    return {k: interval_mask(v, times) for k, v in context_intervals(events).items()}


def item_labels(events: Sequence[Event], times: np.ndarray) -> np.ndarray:
    """The label of each time: the held movement; else ``tap``, ``tap_block`` or
    ``annotation`` when inside one (in that order); else ``rest``."""
    out = np.full(np.shape(times), REST, dtype=object)
    masks = context_masks(events, times)
    for name in (ANNOTATION, TAP_BLOCK, TAP):  # later ones win
        out[masks[name]] = name
    held = labels_at(movement_intervals(events), times, rest="")
    out[held != ""] = held[held != ""]
    return out


def class_names(found: Iterable[str]) -> list[str]:
    """A stable label vocabulary: the known movements in protocol order, then the context
    labels (tap, tap_block, annotation), then any others found, sorted; index 0 is ``rest``."""
    known = [REST] + [m for m in MOVEMENTS if m != REST] + list(CONTEXT_LABELS)
    extra = sorted(set(found) - set(known))
    return known + extra
