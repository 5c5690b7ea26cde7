"""One log line per interval for something that happens per frame or per sample.

A camera that falls behind loses frames one by one; a line per lost frame filled the
operator's terminal (over a thousand lines in a session) and hid everything else.
:class:`CountedWarning` counts the occurrences and logs one line per ``interval``
seconds with the count in that interval and since the start.
"""

from __future__ import annotations

import logging
import threading
import time


class CountedWarning:
    """``add()`` per occurrence; logs ``"<what>: N in the last X s (T in total)"``.

    The first occurrence is logged at once (so a problem shows when it starts), the
    following ones at most once per ``interval``; :meth:`flush` logs what is pending
    (call it when the source stops).
    """

    def __init__(self, log: logging.Logger, what: str, interval: float = 10.0) -> None:
        self.log, self.what, self.interval = log, what, interval
        self.total = 0
        self._pending = 0
        self._since = 0.0
        self._last: float | None = None
        self._lock = threading.Lock()

    def add(self, n: int = 1) -> None:
        now = time.monotonic()
        with self._lock:
            self.total += n
            self._pending += n
            if self._last is None or now - self._last >= self.interval:
                self._emit(now)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._emit(time.monotonic())

    def _emit(self, now: float) -> None:
        span = now - self._last if self._last is not None else 0.0
        when = (f"in the last {span:.1f} s" if span < 10 else f"in the last {span:.0f} s"
                ) if self._last is not None else "now"
        self.log.warning("%s: %d %s (%d in total)", self.what, self._pending, when, self.total)
        self._pending, self._last = 0, now
