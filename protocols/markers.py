"""Protocol cues on an LSL marker stream, and how long they take to get there.

Marker text format (``MARKER_FORMAT``): one JSON object per marker, the event's
:meth:`~mimicsync.dataset.events.Event.to_json` payload plus ``duration``::

    {"trial_type":"perform","value":"smile-open","duration":3.0,"protocol":"functional",
     "run_id":"3f2a...","seed":1234,"trial":7,"step_number":7,"repetition":2,"attempt":1}

The LSL timestamp of the marker is the event onset (the runner's clock at the cue), so
``decode_marker(text, timestamp)`` gives back the very :class:`Event` the runner emitted.
Any LSL recorder (LabRecorder, mimicsync's) stores the stream as it is.
"""

from __future__ import annotations

import json
import statistics
import threading
from dataclasses import dataclass
from typing import Protocol as TypingProtocol

import pylsl

from mimicsync.dataset.events import Event

MARKER_STREAM_TYPE = "Markers"
MARKER_STREAM_NAME = "MimicSync Protocol"
MARKER_FORMAT = "mimicsync-event-json/1"


def encode_marker(event: Event) -> str:
    """The marker text for ``event`` (compact JSON, UTF-8 kept)."""
    d = {"trial_type": event.trial_type, "value": event.value, "duration": event.duration}
    d.update(event.extra)
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"), default=str)


def decode_marker(text: str, timestamp: float) -> Event:
    """The :class:`Event` a marker stands for; raises ``ValueError`` on foreign markers."""
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"marker is not {MARKER_FORMAT} JSON: {text[:80]!r} ({e})") from None
    if not isinstance(d, dict) or "trial_type" not in d:
        raise ValueError(f"marker is not a {MARKER_FORMAT} object: {text[:80]!r}")
    duration = float(d.pop("duration", 0.0))
    return Event(float(timestamp), duration, d.pop("trial_type"), d.pop("value", ""), d)


class MarkerSink(TypingProtocol):
    """Where the runner pushes marker text (an LSL outlet, or a list in tests)."""

    def push(self, text: str, timestamp: float) -> None: ...


@dataclass(frozen=True)
class LatencyStats:
    """Summary of latencies in seconds."""

    count: int
    median: float
    max: float

    @classmethod
    def of(cls, samples: list[float]) -> "LatencyStats":
        if not samples:
            return cls(0, float("nan"), float("nan"))
        return cls(len(samples), statistics.median(samples), max(samples))


class LslMarkerOutlet:
    """A string marker outlet (type ``Markers``, irregular rate, 1 channel).

    ``source_id`` lets a recorder re-find the stream after a restart; give each
    concurrently running protocol (and each test) its own.
    """

    def __init__(self, source_id: str, name: str = MARKER_STREAM_NAME, protocol: str = "") -> None:
        info = pylsl.StreamInfo(name, MARKER_STREAM_TYPE, 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, source_id)
        desc = info.desc()
        desc.append_child_value("marker_format", MARKER_FORMAT)
        desc.append_child_value("protocol", protocol)
        desc.append_child_value("producer", "mimicsync.protocols")
        self.source_id = source_id
        self._outlet = pylsl.StreamOutlet(info)

    def push(self, text: str, timestamp: float) -> None:
        self._outlet.push_sample([text], timestamp)

    def wait_for_consumers(self, timeout: float) -> bool:
        """Block until a recorder is connected: markers pushed before that are not received."""
        return bool(self._outlet.wait_for_consumers(timeout))

    def close(self) -> None:
        del self._outlet


class MarkerReceiver:
    """An independent inlet on a marker stream that timestamps every arrival.

    Used to measure cue-to-receive latency (arrival on the local clock minus the marker
    timestamp) and to check that what arrives is what was emitted.
    """

    def __init__(self, source_id: str, resolve_timeout: float = 5.0) -> None:
        found = pylsl.resolve_byprop("source_id", source_id, 1, resolve_timeout)
        if not found:
            raise RuntimeError(f"no LSL stream with source_id {source_id!r} within {resolve_timeout} s; is the outlet up?")
        self._inlet = pylsl.StreamInlet(found[0], max_buflen=60)
        self._inlet.open_stream(resolve_timeout)
        self.received: list[tuple[str, float, float]] = []  # (text, marker timestamp, arrival)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pull, name="marker-receiver", daemon=True)
        self._thread.start()

    def _pull(self) -> None:
        while not self._stop.is_set():
            sample, ts = self._inlet.pull_sample(timeout=0.05)
            if sample is not None:
                self.received.append((sample[0], ts, pylsl.local_clock()))

    def events(self) -> list[Event]:
        return [decode_marker(text, ts) for text, ts, _ in self.received]

    def latency(self) -> LatencyStats:
        """Cue (marker timestamp) to arrival at this inlet; same host, so same clock."""
        return LatencyStats.of([arrival - ts for _, ts, arrival in self.received])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._inlet.close_stream()
