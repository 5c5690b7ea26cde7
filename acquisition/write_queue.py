"""What the recorder's threads hand to its one writer thread, and how it is batched.

Inlet threads, the video encoder and the protocol runner never touch the file: they put
typed messages on one queue. The writer thread collects them (:class:`WriteBatch`) and
writes everything collected in one flush phase every ``flush_interval`` (LabRecorder's
pattern: one thread per inlet, one writer, named write phases).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from mimicsync.dataset.depth_codec import EncodedDepth
from mimicsync.dataset.events import Event
from mimicsync.dataset.recording_writer import RecordingWriter
from mimicsync.dataset.stream_meta import StreamMeta


@dataclass(frozen=True)
class Samples:
    """A chunk pulled from one inlet: values (array, or list of str) and LSL timestamps."""

    key: str
    values: Any
    time_stamps: np.ndarray


@dataclass(frozen=True)
class ClockOffsets:
    """``[recorder time, offset]`` rows measured for one stream."""

    key: str
    rows: np.ndarray


@dataclass(frozen=True)
class VideoFrame:
    """One encoded frame: its frame-table row, colour (JPEG bytes or RGB) and depth."""

    row: tuple
    color: Any
    depth: EncodedDepth | np.ndarray | None


@dataclass(frozen=True)
class Events:
    """Events to store (cues, annotations, stream lost/back, markers)."""

    events: list[Event]


@dataclass(frozen=True)
class AddStream:
    """A late-joining stream: create its datasets, then start its inlet worker."""

    key: str
    meta: StreamMeta
    worker: Any  # InletWorker (not imported: it puts these messages)


@dataclass(frozen=True)
class Rediscover:
    """A stream's inlet failed: let discovery open it again."""

    key: str


Message = Union[Samples, ClockOffsets, VideoFrame, Events, AddStream, Rediscover]


@dataclass
class WriteBatch:
    """Everything collected since the last flush, written in one go by :meth:`write`."""

    samples: dict[str, list[tuple[Any, np.ndarray]]] = field(default_factory=dict)
    offsets: dict[str, list[np.ndarray]] = field(default_factory=dict)
    video: list[VideoFrame] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def add(self, msg: Samples | ClockOffsets | VideoFrame | Events) -> None:
        if isinstance(msg, Samples):
            self.samples.setdefault(msg.key, []).append((msg.values, msg.time_stamps))
        elif isinstance(msg, ClockOffsets):
            self.offsets.setdefault(msg.key, []).append(msg.rows)
        elif isinstance(msg, VideoFrame):
            self.video.append(msg)
        else:
            self.events.extend(msg.events)

    def nbytes(self) -> int:
        """About what :meth:`write` adds to the file (data only; HDF5 adds a little)."""
        n = sum(np.asarray(t).nbytes + (sum(len(str(s)) for s in c) if isinstance(c, list)
                                        else np.asarray(c).nbytes)
                for chunks in self.samples.values() for c, t in chunks)
        n += sum(np.asarray(r).nbytes for rows in self.offsets.values() for r in rows)
        for f in self.video:
            n += len(f.color) if isinstance(f.color, bytes) else np.asarray(f.color).nbytes
            if isinstance(f.depth, EncodedDepth):
                n += len(f.depth.chunk) + len(f.depth.values)
            elif f.depth is not None:
                n += np.asarray(f.depth).nbytes
        return n + 512 * len(self.events)

    def clear(self) -> None:
        """Drop what was collected (there is no room left to write it)."""
        self.samples.clear()
        self.offsets.clear()
        self.video.clear()
        self.events.clear()

    def write(self, wr: RecordingWriter, jpeg: bool) -> tuple[int, int]:
        """Append all to the file and flush it; returns (frames, events) written."""
        for key, chunks in self.samples.items():
            if not chunks:
                continue
            if isinstance(chunks[0][0], list):  # string streams
                data = [v for c, _ in chunks for v in c]
            else:
                data = np.concatenate([c for c, _ in chunks])
            wr.append_samples(key, data, np.concatenate([t for _, t in chunks]))
            chunks.clear()
        for key, rows in self.offsets.items():
            if rows:
                wr.append_clock_offsets(key, np.concatenate(rows))
                rows.clear()
        frames, events = len(self.video), len(self.events)
        if self.video:
            colors = [f.color for f in self.video]
            wr.append_video(np.array([f.row for f in self.video]),
                            colors if jpeg else np.stack(colors),
                            [f.depth for f in self.video])  # a frame without depth: None
            self.video.clear()
        if self.events:
            wr.append_events(self.events)
            self.events.clear()
        wr.flush()
        return frames, events
