"""Run blocking work (file system, device start/stop, the recorder) off the UI thread.

The window must never wait on I/O: every call that may block goes through
:func:`run_in_background`, and its result comes back to the UI thread as a queued Qt
signal, so slots run in the UI thread and may touch widgets.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Lives in the UI thread; its bound-method slots make the deliveries queued."""

    done = Signal(object)
    failed = Signal(object)

    def __init__(self, on_done: Callable[[Any], None] | None,
                 on_error: Callable[[BaseException], None] | None) -> None:
        super().__init__()
        self.on_done, self.on_error = on_done, on_error
        self.done.connect(self._done)
        self.failed.connect(self._failed)

    def _done(self, value: Any) -> None:
        self._finish(self.on_done, value)

    def _failed(self, exc: BaseException) -> None:
        self._finish(self.on_error, exc)

    def _finish(self, cb: Callable[[Any], None] | None, value: Any) -> None:
        with _lock:
            _alive.discard(self)
        owner = getattr(cb, "__self__", None)  # a widget's method: the window may be closed
        if cb is not None and (not isinstance(owner, QObject) or shiboken6.isValid(owner)):
            cb(value)


_alive: set[_Relay] = set()  # keep relays alive until their signal was delivered
_lock = threading.Lock()


def run_in_background(fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
                      on_error: Callable[[BaseException], None] | None = None,
                      name: str = "gui-background") -> threading.Thread:
    """Call ``fn()`` in a daemon thread; ``on_done(result)`` / ``on_error(exc)`` run in the UI thread."""
    relay = _Relay(on_done, on_error)
    with _lock:
        _alive.add(relay)

    def work() -> None:
        try:
            result = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the UI thread
            if on_error is None:
                log.exception("background task %s failed", name)
            relay.failed.emit(e)
            return
        relay.done.emit(result)

    t = threading.Thread(target=work, name=name, daemon=True)
    t.start()
    return t
