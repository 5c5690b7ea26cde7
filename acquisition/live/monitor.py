"""Live view of LSL streams and the camera, independent of any recording.

The operator must see every electrode and the camera working *before* pressing record,
and keep seeing them while the recorder runs; the monitor therefore opens its own
inlets (LSL lets any number of inlets read one outlet). Each stream is read by an
:class:`~mimicsync.acquisition.inlet_worker.InletWorker` (the recorder's, so losing and
re-finding a stream behaves the same) whose chunks land in thread-safe buffers:

* :class:`SampleRing`: the last seconds of raw samples (signal quality, tap detection);
* :class:`MinMaxEnvelope`: min and max per display column, updated as samples arrive,
  so drawing 64 channels at 4096 Hz costs the display a copy of a few hundred columns;
* a quality thread grades each EMG channel twice a second (:mod:`.signal_quality`).

Readers (a GUI timer) call :meth:`LiveMonitor.snapshot`, which only copies under short
locks: nothing a reader does waits on the network.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pylsl

from mimicsync.acquisition.camera import Frame
from mimicsync.acquisition.inlet_worker import InletWorker
from mimicsync.acquisition.live.display import DisplayChain, DisplaySettings
from mimicsync.acquisition.live.signal_quality import QualityReport, QualityThresholds, assess
from mimicsync.acquisition.stream_select import identity
from mimicsync.acquisition.write_queue import ClockOffsets, Message, Samples
from mimicsync.dataset.stream_meta import StreamMeta
from mimicsync.format import ChannelSpec

log = logging.getLogger(__name__)

Identity = tuple[str, str, str]


# -- buffers ------------------------------------------------------------------------------
class SampleRing:
    """The last ``capacity`` samples of a ``(n, channels)`` stream with their timestamps."""

    def __init__(self, capacity: int, channels: int, dtype: np.dtype = np.dtype("f4")) -> None:
        self.capacity = int(capacity)
        self._data = np.zeros((self.capacity, channels), dtype=dtype)
        self._ts = np.zeros(self.capacity)
        self._end = 0  # samples ever written
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        return self._end

    def extend(self, data: np.ndarray, ts: np.ndarray) -> None:
        skipped = max(0, len(ts) - self.capacity)  # older than the ring holds anyway
        data, ts = data[skipped:], ts[skipped:]
        n = len(ts)
        with self._lock:
            self._end += skipped
            i = self._end % self.capacity
            first = min(n, self.capacity - i)
            self._data[i:i + first] = data[:first]
            self._ts[i:i + first] = ts[:first]
            self._data[:n - first] = data[first:]
            self._ts[:n - first] = ts[first:]
            self._end += n

    def latest(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the newest ``min(n, available)`` samples, oldest first."""
        with self._lock:
            n = min(int(n), self._end, self.capacity)
            idx = (np.arange(self._end - n, self._end)) % self.capacity
            return self._data[idx], self._ts[idx]


def minmax_columns(x: np.ndarray, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of ``x`` (``(n, ch)``) in ``n_cols`` equal column bins (display decimation).

    Drawing the min-max envelope per pixel column shows every spike a full-rate plot
    would show, at the cost of ``2 * n_cols`` points per channel.
    """
    n = x.shape[0]
    if n == 0:
        return np.zeros((0, x.shape[1]), x.dtype), np.zeros((0, x.shape[1]), x.dtype)
    n_cols = max(1, min(int(n_cols), n))
    edges = np.linspace(0, n, n_cols + 1).astype(int)
    return np.minimum.reduceat(x, edges[:-1], axis=0), np.maximum.reduceat(x, edges[:-1], axis=0)


class MinMaxEnvelope:
    """Min/max per bin of ``bin_size`` samples, for the newest ``n_bins`` complete bins."""

    def __init__(self, channels: int, bin_size: int, n_bins: int) -> None:
        self.bin_size, self.n_bins = max(1, int(bin_size)), int(n_bins)
        self._min = np.zeros((self.n_bins, channels), np.float32)
        self._max = np.zeros((self.n_bins, channels), np.float32)
        self._t = np.zeros(self.n_bins)  # timestamp of each bin's last sample
        self._bins = 0  # complete bins ever made
        self._part: list[tuple[np.ndarray, np.ndarray]] = []  # samples of the open bin
        self._part_n = 0
        self._lock = threading.Lock()

    def extend(self, data: np.ndarray, ts: np.ndarray) -> None:
        if self._part:
            self._part.append((data, ts))
            data = np.concatenate([d for d, _ in self._part])
            ts = np.concatenate([t for _, t in self._part])
            self._part = []
        full = len(ts) // self.bin_size
        if full:
            m = full * self.bin_size
            block = data[:m].reshape(full, self.bin_size, -1)
            mins, maxs, last = block.min(axis=1), block.max(axis=1), ts[self.bin_size - 1:m:self.bin_size]
            if full > self.n_bins:
                mins, maxs, last = mins[-self.n_bins:], maxs[-self.n_bins:], last[-self.n_bins:]
            with self._lock:
                idx = (self._bins + np.arange(len(last))) % self.n_bins
                self._min[idx], self._max[idx], self._t[idx] = mins, maxs, last
                self._bins += full
            data, ts = data[m:], ts[m:]
        if len(ts):
            self._part = [(data, ts)]

    def snapshot(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(mins, maxs, times)`` of the complete bins, oldest first (up to ``n_bins``)."""
        with self._lock:
            n = min(self._bins, self.n_bins)
            idx = np.arange(self._bins - n, self._bins) % self.n_bins
            return self._min[idx], self._max[idx], self._t[idx]


# -- one stream -------------------------------------------------------------------------
class Display(NamedTuple):
    """The traces' channels (raw or derived), the raw channels each is made of, and
    their min/max envelope."""

    channels: list[ChannelSpec]
    sources: list[tuple[int, ...]]
    envelope: MinMaxEnvelope | None


@dataclass
class LiveSnapshot:
    """A reader's copy of one monitored stream's state (no live objects inside)."""

    key: str
    name: str
    type: str
    srate: float
    channels: list[ChannelSpec]
    connected: bool
    samples: int
    dropped: int
    error: str | None
    clock_offset: float | None
    is_string: bool
    markers: list[tuple[float, str]] = field(default_factory=list)
    quality: QualityReport | None = None

    @property
    def is_emg(self) -> bool:
        return not self.is_string and self.srate >= 500 and any(c.type == "EMG" for c in self.channels)


class MonitoredStream:
    """Buffers for one stream, filled from its inlet worker's queue items."""

    def __init__(self, key: str, meta: StreamMeta, window_s: float, columns: int,
                 ring_s: float) -> None:
        self.key, self.meta = key, meta
        self.worker: InletWorker | None = None
        srate = meta.nominal_srate
        self.regular = srate > 0 and not meta.is_string
        n = meta.channel_count
        self.ring = SampleRing(int(srate * ring_s), n) if self.regular else None
        bin_size = max(1, int(np.ceil(srate * window_s / columns))) if self.regular else 1
        self._window_n = int(np.ceil(srate * window_s / bin_size)) * bin_size
        envelope = MinMaxEnvelope(n, bin_size, self._window_n // bin_size) if self.regular else None
        # what the traces draw, replaced as one tuple so a reader never mixes two settings
        self.display: Display = Display(list(meta.channels), [(i,) for i in range(n)], envelope)
        self._chain: DisplayChain | None = None
        self._want: DisplaySettings | None = None
        self.markers: collections.deque[tuple[float, str]] = collections.deque(maxlen=20)
        self.dropped = 0
        self.clock_offset: float | None = None
        self.quality: QualityReport | None = None
        self._last_ts: float | None = None
        self._gap = max(5.0 / srate, 0.02) if self.regular else 0.0
        # called with every chunk (data, timestamps) on the inlet thread, e.g. live taps
        self.listener: Callable[[np.ndarray, np.ndarray], None] | None = None

    def put(self, msg: Message) -> None:
        if isinstance(msg, Samples):
            data, ts = msg.values, msg.time_stamps
            if self.regular:
                self._count_gaps(ts)
                data = np.asarray(data, dtype=np.float32)
                self.ring.extend(data, ts)
                if self._want is not None:
                    self._rebuild_display()  # includes this chunk (it is in the ring)
                else:
                    chain = self._chain
                    self.display.envelope.extend(chain(data) if chain else data, ts)
                listener = self.listener
                if listener is not None:
                    try:
                        listener(data, ts)
                    except Exception as e:  # noqa: BLE001 - a display aid never stops the inlet
                        log.warning("stream %s listener: %s", self.key, e)
            else:
                for t, v in zip(ts, data):
                    self.markers.append((float(t), v if isinstance(v, str) else str(v)))
        elif isinstance(msg, ClockOffsets):
            self.clock_offset = float(msg.rows[-1, 1])

    @property
    def envelope(self) -> MinMaxEnvelope | None:
        return self.display.envelope

    def set_display(self, settings: DisplaySettings) -> None:
        """Takes effect with the next chunk, on the inlet thread (the chain's state lives there)."""
        self._want = settings

    def _rebuild_display(self) -> None:
        """A new chain and envelope, filled at once from the ring (no blank window)."""
        settings, self._want = self._want, None
        chain = DisplayChain(self.meta.channels, self.meta.nominal_srate, settings)
        old = self.display.envelope
        envelope = MinMaxEnvelope(len(chain.channels), old.bin_size, old.n_bins)
        data, ts = self.ring.latest(self._window_n)
        if len(ts):
            envelope.extend(chain(data), ts)
        self._chain = None if chain.is_identity else chain
        self.display = Display(chain.channels, chain.sources, envelope)

    def _count_gaps(self, ts: np.ndarray) -> None:
        """Samples missing between consecutive timestamps (jitter below ``_gap`` ignored)."""
        t = ts if self._last_ts is None else np.concatenate([[self._last_ts], ts])
        d = np.diff(t)
        big = d[d > self._gap]
        if len(big):
            self.dropped += int(np.sum(np.round(big * self.meta.nominal_srate) - 1))
        self._last_ts = float(ts[-1])

    def view(self) -> LiveSnapshot:
        w, m = self.worker, self.meta
        return LiveSnapshot(self.key, m.name, m.type, m.nominal_srate, m.channels,
                          bool(w and w.connected), w.samples if w else 0, self.dropped,
                          w.error if w else None, self.clock_offset, m.is_string,
                          list(self.markers), self.quality)


# -- the monitor --------------------------------------------------------------------------
class LiveMonitor:
    """Watches a set of streams; :meth:`set_streams` changes the set without blocking."""

    def __init__(self, window_s: float = 4.0, columns: int = 600, ring_s: float = 6.0,
                 quality_s: float = 6.0, quality_interval: float = 1.0,
                 thresholds: QualityThresholds | None = None) -> None:
        self.window_s, self.columns, self.ring_s = window_s, columns, ring_s
        self.quality_s, self.quality_interval = quality_s, quality_interval
        # Six seconds at the 15th percentile: a functional protocol rests >= 3.5 s between
        # holds, so the quiet level is still found while the participant moves.
        self.thresholds = thresholds or QualityThresholds(rest_percentile=15.0)
        self._streams: dict[Identity, MonitoredStream] = {}
        self._opening: set[Identity] = set()
        self._wanted: set[Identity] = set()
        self.display_settings = DisplaySettings()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.errors: collections.deque[str] = collections.deque(maxlen=20)
        self.taps = None  # a live_sync.LiveTaps, fed between start_taps() and stop_taps()
        self._quality_thread = threading.Thread(target=self._quality_loop, name="monitor-quality",
                                                daemon=True)
        self._quality_thread.start()

    def set_streams(self, infos: list[pylsl.StreamInfo]) -> None:
        """Monitor exactly these streams: new ones open in the background, others stop."""
        wanted = {identity(i): i for i in infos}
        with self._lock:
            self._wanted = set(wanted)
            gone = [k for k in self._streams if k not in wanted]
            stopping = [self._streams.pop(k) for k in gone]
            new = [i for k, i in wanted.items()
                   if k not in self._streams and k not in self._opening]
            self._opening.update(identity(i) for i in new)
        for ms in stopping:
            if ms.worker is not None:
                ms.worker.stop_event.set()
        for info in new:
            threading.Thread(target=self._open, args=(info,), name="monitor-open",
                             daemon=True).start()

    def _open(self, info: pylsl.StreamInfo) -> None:
        ident = identity(info)
        try:
            inlet, full = InletWorker.open_inlet(info, timeout=3.0)
            meta = StreamMeta.from_info(full)
        except Exception as e:  # noqa: BLE001 - shown to the operator, others go on
            self.errors.append(f"stream '{info.name()}' could not be opened: {e}")
            with self._lock:
                self._opening.discard(ident)
            return
        key = meta.key(set())
        ms = MonitoredStream(key, meta, self.window_s, self.columns, self.ring_s)
        if self.display_settings != DisplaySettings() and ms.regular:
            ms.set_display(self.display_settings)
        worker = InletWorker(key, info, meta, ms.put, clock_interval=5.0)
        worker.name = f"monitor:{key}"
        worker.inlet = inlet
        ms.worker = worker
        with self._lock:
            self._opening.discard(ident)
            if ident not in self._wanted or self._stop.is_set():
                inlet.close_stream()
                return
            self._streams[ident] = ms
            worker.start()  # under the lock: stop() never joins a worker not yet started

    def _quality_loop(self) -> None:
        while not self._stop.wait(self.quality_interval):
            with self._lock:
                streams = list(self._streams.values())
            for ms in streams:
                if ms.ring is None or ms.meta.nominal_srate < 500:
                    continue
                data, _ = ms.ring.latest(int(self.quality_s * ms.meta.nominal_srate))
                emg = [c.type == "EMG" for c in ms.meta.channels]
                try:
                    ms.quality = assess(data, ms.meta.nominal_srate, emg, self.thresholds)
                except Exception as e:  # noqa: BLE001
                    log.warning("quality of %s: %s", ms.key, e)

    def set_display(self, settings: DisplaySettings) -> None:
        """What every monitored stream's traces show (display only, the raw data stays)."""
        self.display_settings = settings
        for ms in self.streams():
            if ms.regular:
                ms.set_display(settings)

    def start_taps(self, fps: float = 30.0) -> bool:
        """Feed the first sEMG stream's chunks to ``taps`` from now on (False: no sEMG)."""
        if self.taps is None:
            return False
        ms = next((m for m in self.streams() if m.ring is not None and m.view().is_emg), None)
        if ms is None:
            return False
        self.taps.start(ms.meta.nominal_srate, ms.meta.channels, fps)
        taps = self.taps
        ms.listener = lambda data, ts: taps.push_emg(data, ts + (ms.clock_offset or 0.0))
        return True

    def stop_taps(self) -> None:
        for ms in self.streams():
            ms.listener = None
        if self.taps is not None:
            self.taps.stop()

    def streams(self) -> list[MonitoredStream]:
        with self._lock:
            return list(self._streams.values())

    def snapshot(self) -> list[LiveSnapshot]:
        return [ms.view() for ms in self.streams()]

    @property
    def pending(self) -> int:
        """Streams still being opened."""
        with self._lock:
            return len(self._opening)

    def stop(self, join_s: float = 1.0) -> None:
        """Stop every inlet; waits up to ``join_s`` for them to close (0: don't wait)."""
        self._stop.set()
        workers = [ms.worker for ms in self.streams() if ms.worker is not None]
        self.set_streams([])
        for w in workers:
            w.join(timeout=join_s)


class PreviewSink:
    """Camera sink keeping the newest frame, downscaled for display, for a reader to poll.

    Runs on the camera thread; a strided copy (integer factor) costs well under a
    millisecond at 1280x720, and the reader never touches full-size frames.
    """

    def __init__(self, max_width: int = 640, bgrx: bool = False) -> None:
        self.max_width = max_width
        # 4 bytes per pixel, B G R 255: the 32-bit layout a display toolkit paints without
        # converting every frame on its UI thread (Qt's RGB32); the copy is made here instead
        self.bgrx = bgrx
        self._lock = threading.Lock()
        self._frame: np.ndarray | None = None
        self.count = 0  # frames received
        self.host_time = 0.0

    def __call__(self, frame: Frame) -> None:
        c = frame.color
        f = max(1, int(np.ceil(c.shape[1] / self.max_width)))
        if self.bgrx:
            part = c[::f, ::f]
            small = np.empty(part.shape[:2] + (4,), np.uint8)
            small[..., :3] = part[..., ::-1]
            small[..., 3] = 255
        else:
            small = np.ascontiguousarray(c[::f, ::f]) if f > 1 else c.copy()
        with self._lock:
            self._frame = small
            self.count += 1
            self.host_time = frame.host_time

    def latest(self) -> tuple[int, np.ndarray | None]:
        """``(count, frame)``: a new count means a new frame to draw."""
        with self._lock:
            return self.count, self._frame
