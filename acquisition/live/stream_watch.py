"""Keep an up-to-date list of the LSL streams on the network, off the caller's thread.

Resolving takes about a second and would freeze a window; a :class:`StreamWatcher`
resolves in its own thread and publishes immutable snapshots that a GUI timer (or
anything else) reads without waiting.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import pylsl

from mimicsync.acquisition.stream_select import identity
from mimicsync.format import LSL_FORMAT_CODES

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class StreamEntry:
    """What an operator needs to pick a stream (the columns of ``mimicsync streams``)."""

    name: str
    type: str
    srate: float
    channels: int
    host: str
    source_id: str
    fmt: str
    info: pylsl.StreamInfo = field(compare=False, repr=False, hash=False)

    @property
    def identity(self) -> tuple[str, str, str]:
        return identity(self.info)

    @classmethod
    def of(cls, info: pylsl.StreamInfo) -> "StreamEntry":
        return cls(info.name(), info.type(), float(info.nominal_srate()), info.channel_count(),
                   info.hostname(), info.source_id(), LSL_FORMAT_CODES.get(info.channel_format(), "?"),
                   info)


class StreamWatcher:
    """Resolves every ``interval`` s; :meth:`snapshot` returns ``(version, entries)``."""

    def __init__(self, interval: float = 1.0, wait: float = 0.5) -> None:
        self.interval, self.wait = interval, wait
        self._lock = threading.Lock()
        self._entries: tuple[StreamEntry, ...] = ()
        self._version = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "StreamWatcher":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="stream-watch", daemon=True)
            self._thread.start()
        return self

    def refresh(self) -> None:
        """Resolve again now instead of at the next interval."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                infos = pylsl.resolve_streams(wait_time=self.wait)
                entries = tuple(sorted((StreamEntry.of(i) for i in infos),
                                       key=lambda e: (e.type, e.name, e.source_id)))
            except Exception as e:  # noqa: BLE001 - keep the last list, try again
                log.warning("stream list: %s", e)
                entries = None
            if entries is not None:
                with self._lock:
                    if entries != self._entries:
                        self._entries = entries
                        self._version += 1
            self._wake.wait(self.interval)
            self._wake.clear()

    def snapshot(self) -> tuple[int, tuple[StreamEntry, ...]]:
        with self._lock:
            return self._version, self._entries

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
