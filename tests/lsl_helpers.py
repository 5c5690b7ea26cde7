"""Test helpers: real LSL outlets on loopback that remember exactly what they sent."""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np
import pylsl


def unique(prefix: str) -> str:
    """Stream names must be unique: several test runs may share the LSL network."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class PushingOutlet:
    """Pushes sample k = (k + channel) * step in real time with explicit timestamps.

    ``sent()`` returns everything pushed so far, so tests compare the recording with the
    exact values and timestamps that went over LSL.
    """

    def __init__(self, name: str | None = None, *, stype: str = "EMG", channels: int = 4,
                 srate: float = 500.0, fmt: int = pylsl.cf_float32, source_id: str | None = None,
                 chunk: int = 10) -> None:
        self.name = name or unique("test")
        self.source_id = source_id if source_id is not None else self.name
        self.channels, self.srate, self.chunk, self.fmt = channels, srate, chunk, fmt
        self.dtype = {pylsl.cf_float32: np.float32, pylsl.cf_int16: np.int16,
                      pylsl.cf_int32: np.int32, pylsl.cf_double64: np.float64}[fmt]
        self.info = pylsl.StreamInfo(self.name, stype, channels, srate, fmt, self.source_id)
        self.outlet: pylsl.StreamOutlet | None = None
        self._data: list[np.ndarray] = []
        self._ts: list[np.ndarray] = []
        self._stop = threading.Event()
        self._pause = threading.Event()
        self._thread: threading.Thread | None = None
        self.k = 0

    def values(self, k0: int, n: int) -> np.ndarray:
        k = np.arange(k0, k0 + n)[:, None] + np.arange(self.channels)[None, :]
        return (k % 30000).astype(self.dtype)

    def start(self) -> "PushingOutlet":
        self.outlet = pylsl.StreamOutlet(self.info)
        self._t0 = pylsl.local_clock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            due = int((pylsl.local_clock() - self._t0) * self.srate)
            if due - self.k >= self.chunk and not self._pause.is_set():
                n = due - self.k
                x = self.values(self.k, n)
                ts = self._t0 + np.arange(self.k, due) / self.srate
                self.outlet.push_chunk(x, ts.tolist())
                self._data.append(x)
                self._ts.append(ts)
                self.k = due
            elif self._pause.is_set():
                self.k = due
            time.sleep(0.005)

    def drop_outlet(self) -> None:
        """Make the stream disappear (device unplugged)."""
        self._pause.set()
        time.sleep(0.05)
        self.outlet = None

    def restore_outlet(self) -> None:
        self.outlet = pylsl.StreamOutlet(self.info)
        self._pause.clear()

    def sent(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._data:
            return np.zeros((0, self.channels), self.dtype), np.zeros(0)
        return np.concatenate(self._data), np.concatenate(self._ts)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)
        self.outlet = None


def assert_exact_slice(recorded: np.ndarray, rec_ts: np.ndarray, sent: np.ndarray,
                       sent_ts: np.ndarray) -> int:
    """Recorded samples are a contiguous run of the sent ones, bit for bit; returns start."""
    assert len(recorded) > 0
    i0 = int(np.searchsorted(sent_ts, rec_ts[0]))
    assert sent_ts[i0] == rec_ts[0]
    n = len(recorded)
    np.testing.assert_array_equal(recorded, sent[i0:i0 + n])
    np.testing.assert_array_equal(rec_ts, sent_ts[i0:i0 + n])
    return i0
