"""Drive the Qt event loop from a script (screenshots, benchmarks) without a test harness."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEventLoop, QTimer


def run_for(seconds: float) -> None:
    """Process events for ``seconds`` (the app keeps drawing and polling meanwhile)."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def wait_until(cond: Callable[[], bool], timeout: float, what: str, *, step: float = 0.05,
               who: str = "mimicsync") -> None:
    """Process events until ``cond()``; after ``timeout`` s exit with a one-line message."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(f"{who}: timed out waiting for {what}")
        run_for(step)
