"""Single-key operator controls for a protocol run in a terminal (p, r, s, a).

Only active when stdin is a terminal: headless scripts (stdin a pipe or /dev/null) run
straight through. The terminal is put in cbreak mode (keys arrive without Enter, Ctrl-C
still works) and restored on exit, also after an error.
"""

from __future__ import annotations

import os
import select
import sys
import threading
from typing import Protocol as TypingProtocol
from typing import TextIO

from mimicsync.protocols.protocol_recording import OPERATOR_KEYS as KEYS

HELP = "keys: p pause/resume, r repeat trial, s skip, a abort"


class Controllable(TypingProtocol):
    def toggle_pause(self) -> None: ...
    def repeat(self) -> None: ...
    def skip(self) -> None: ...
    def abort(self) -> None: ...


def handle_key(key: str, target: Controllable) -> bool:
    """Apply one key press; False when the key means nothing."""
    action = KEYS.get(key.lower())
    if action is None:
        return False
    getattr(target, action)()
    return True


class KeyboardControls:
    """Context manager: reads keys in a thread and calls the target's controls."""

    def __init__(self, target: Controllable, stream: TextIO | None = None) -> None:
        self.target = target
        self.stream = stream if stream is not None else sys.stdin
        self.active = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved = None

    def __enter__(self) -> "KeyboardControls":
        try:
            fd = self.stream.fileno()
            interactive = os.isatty(fd)
        except (AttributeError, OSError, ValueError):
            interactive = False
        if not interactive:
            return self
        import termios
        import tty
        self._saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
        self.active = True
        self._thread = threading.Thread(target=self._read, args=(fd,), name="keyboard", daemon=True)
        self._thread.start()
        print(HELP, file=sys.stderr)
        return self

    def _read(self, fd: int) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                key = os.read(fd, 1).decode(errors="ignore")
                if key:
                    handle_key(key, self.target)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
        if self._saved is not None:
            import termios
            termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)
