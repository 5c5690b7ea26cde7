"""One thread per LSL stream: pull samples, measure clock offsets, survive disconnects.

The worker never writes files; it hands chunks to the recorder's writer queue. When the
outlet disappears it records a ``stream_lost`` event, keeps looking for the same stream
(same source_id, or same name and host), and continues into the same datasets when it
returns, after a ``stream_back`` event. Nothing a device does can end another stream's
recording: every exception stays inside this thread and becomes an event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pylsl
from pylsl.util import LostError
from pylsl.util import TimeoutError as LslTimeoutError

from mimicsync.acquisition.stream_select import identity_predicate
from mimicsync.acquisition.write_queue import ClockOffsets, Events, Rediscover, Samples
from mimicsync.dataset.events import Event
from mimicsync.dataset.stream_meta import StreamMeta

log = logging.getLogger(__name__)

Put = Callable[[tuple[Any, ...]], None]


class InletWorker(threading.Thread):
    """Records one stream as :mod:`~mimicsync.acquisition.write_queue` messages
(:class:`Samples`, :class:`ClockOffsets`, :class:`Events`) handed to ``put``."""

    def __init__(self, key: str, info: pylsl.StreamInfo, meta: StreamMeta, put: Put,
                 clock_interval: float = 5.0, pull_timeout: float = 0.1,
                 marker_events: bool = True) -> None:
        super().__init__(name=f"inlet:{key}", daemon=True)
        self.key = key
        self.info = info
        self.meta = meta
        self.put = put
        self.clock_interval = clock_interval
        self.pull_timeout = pull_timeout
        self.marker_events = marker_events  # string samples also become `marker` events
        self.stop_event = threading.Event()
        self.connected = True
        self.samples = 0
        self.last_timestamp = float("nan")
        self._back = False  # reconnected, first sample not seen yet
        self.error: str | None = None
        self._offset = 0.0
        self._max = max(32, int((meta.nominal_srate or 100) * 0.5))
        self.inlet: pylsl.StreamInlet | None = None

    # -- connection -----------------------------------------------------------------
    @staticmethod
    def open_inlet(info: pylsl.StreamInfo, timeout: float = 5.0) -> tuple[pylsl.StreamInlet, pylsl.StreamInfo]:
        """An inlet plus the stream's *full* info (with ``<desc>``)."""
        srate = info.nominal_srate() or 100
        inlet = pylsl.StreamInlet(info, max_buflen=360, recover=False,
                                  max_chunklen=0 if srate < 512 else int(srate / 32))
        inlet.open_stream(timeout=timeout)
        return inlet, inlet.info(timeout=timeout)

    def _measure_offset(self) -> None:
        try:
            offset = self.inlet.time_correction(timeout=2.0)
        except LslTimeoutError:
            return
        self._offset = offset
        self.put(ClockOffsets(self.key, np.array([[pylsl.local_clock(), offset]])))

    def _reconnect(self) -> bool:
        """Wait for the same stream to come back; True when recording again."""
        pred = identity_predicate(self.info)
        while not self.stop_event.is_set():
            found = pylsl.resolve_bypred(pred, minimum=1, timeout=1.0)
            if not found:
                continue
            info = found[0]
            if (info.channel_count() != self.meta.channel_count
                    or info.channel_format() != self.info.channel_format()):
                self.error = (f"stream '{self.meta.name}' came back with a different layout; "
                              "it is recorded as a new stream")
                self.put(Events([Event(pylsl.local_clock(), 0.0, "stream_error", self.meta.name,
                                         {"stream": self.key, "error": self.error})]))
                self.put(Rediscover(self.key))
                return False
            try:
                self.inlet, _ = self.open_inlet(info)
            except Exception as e:  # noqa: BLE001 - retry until stopped
                log.debug("reopen %s failed: %s", self.key, e)
                continue
            self.info = info
            self.connected = True
            self.error = None
            self._back = True  # stream_back waits for the first sample: it bounds the gap
            return True
        return False

    # -- loop -----------------------------------------------------------------------
    def run(self) -> None:
        next_clock = 0.0
        while not self.stop_event.is_set():
            try:
                if self.inlet is None:
                    self.inlet, _ = self.open_inlet(self.info)
                now = pylsl.local_clock()
                if now >= next_clock:
                    self._measure_offset()
                    next_clock = now + self.clock_interval
                self._pull()
            except LostError:
                self._lost()
                if not self._reconnect():
                    return
                next_clock = 0.0
            except Exception as e:  # noqa: BLE001 - one device must not stop the others
                self.error = f"{type(e).__name__}: {e}"
                log.warning("stream %s: %s", self.key, self.error)
                self.put(Events([Event(pylsl.local_clock(), 0.0, "stream_error", self.meta.name,
                                         {"stream": self.key, "error": self.error})]))
                self.stop_event.wait(0.5)
        self._drain()

    def _stream_back(self, first: float) -> None:
        """The gap exactly: LSL hands a new inlet only what is pushed after it connects, so
        the samples between the last one before and the first one after are not in the file."""
        self._back = False
        last = self.last_timestamp if np.isfinite(self.last_timestamp) else None
        self.put(Events([Event(first + self._offset, 0.0, "stream_back", self.meta.name,
                               {"stream": self.key, "last_timestamp": last,
                                "first_timestamp": first,
                                "gap_s": None if last is None else first - last})]))

    def _lost(self) -> None:
        self.connected = False
        self.inlet = None
        self.put(Events([Event(pylsl.local_clock(), 0.0, "stream_lost", self.meta.name,
                                 {"stream": self.key, "last_timestamp": self.last_timestamp})]))

    def _pull(self, timeout: float | None = None) -> int:
        data, ts = self.inlet.pull_chunk(
            timeout=self.pull_timeout if timeout is None else timeout,
            max_samples=self._max, as_numpy=True)
        n = len(ts)
        if not n:
            return 0
        ts = np.asarray(ts, dtype="f8")
        if self._back:
            self._stream_back(float(ts[0]))
        if self.meta.is_string:
            values = ["\t".join(v.decode("utf-8", "replace") for v in row) for row in data]
            self.put(Samples(self.key, values, ts))
            if self.marker_events:
                self.put(Events([Event(float(t + self._offset), 0.0, "marker", v,
                                           {"stream": self.key}) for t, v in zip(ts, values)]))
        else:
            self.put(Samples(self.key, np.array(data, copy=True), ts))
        self.samples += n
        self.last_timestamp = float(ts[-1])
        return n

    def _drain(self) -> None:
        """On stop, take what the inlet already holds so the last block is not lost."""
        if self.inlet is None:
            return
        try:
            while self._pull(timeout=0.0):
                pass
            self._measure_offset()
        except Exception:  # noqa: BLE001 - stopping anyway
            pass
        finally:
            try:
                self.inlet.close_stream()
            except Exception:  # noqa: BLE001
                pass
