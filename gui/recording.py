"""Start, watch and stop the :class:`Recorder` without ever blocking the window.

``Recorder.start`` resolves streams and opens inlets (seconds), ``stop`` joins threads and
finalizes the file; both run in worker threads. A status thread takes a
``Recorder.status()`` snapshot twice a second (it stats the file) and free disk space
when idle; the window only reads the latest snapshot. A recorder that stops itself
(disk nearly full, writer failure) is finalized here, as the CLI does.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from mimicsync.acquisition.recorder import (Recorder, RecorderConfig, RecorderError,
                                            RecorderStatus)
from mimicsync.gui.background import run_in_background

IDLE, STARTING, RECORDING, STOPPING = "idle", "starting", "recording", "stopping"


# The shared errors name the fix in command-line words; in the window the same fix is a
# field or a control. Longest first, so "--camera sim / --camera none" wins over parts.
_CLI_WORDS = (
    ("--camera sim / --camera none", "camera 'Simulated' or 'None'"),
    ("use --camera sim", "choose camera 'Simulated'"),
    ("a camera with --camera", "a camera in Setup"),
    ("--camera sim", "camera 'Simulated'"),
    ("select streams with --stream", "tick Record for a stream"),
    ("your --stream selectors", "the streams ticked in Setup"),
    ("drop --require", "untick Required"),
    ("choose a folder with --root", "choose another study root"),
    ("with --root", "as study root"),
    ("another --root", "another study root"),
    ("another --run", "another run"),
    ("`mimicsync streams`", "the stream list in Setup"),
    ("start the device (or `mimicsync simulate`)", "start the device (or the simulated lab)"),
)


def gui_words(text: str) -> str:
    """A shared one-line error with its command-line hints put in the window's terms."""
    for cli, gui in _CLI_WORDS:
        text = text.replace(cli, gui)
    return text


def plain_error(e: BaseException) -> str:
    """An exception in words an operator can act on (our errors already are)."""
    if isinstance(e, (RecorderError, ValueError, OSError)):
        return gui_words(str(e))
    return f"unexpected {type(e).__name__}: {e} (please report it)"


class RecordingController(QObject):
    """One recording at a time; signals arrive in the UI thread."""

    started = Signal(str)  # path of the file being written
    stopped = Signal(str, str)  # final path, stop reason
    failed = Signal(str)  # start or stop failed, in plain words
    _recorder_wants_stop = Signal()  # from the status thread

    def __init__(self, poll_interval: float = 0.5) -> None:
        super().__init__()
        self.state = IDLE
        self.recorder: Recorder | None = None
        self.final_path: Path | None = None
        self.context: Any = None  # what prepare() returned besides the config
        self._status: RecorderStatus | None = None
        self._root: Path | None = None
        self._free: int | None = None
        self._auto_stop = False
        self._stop = threading.Event()
        self._poll_interval = poll_interval
        self._recorder_wants_stop.connect(self._stop_for_recorder)
        self._thread = threading.Thread(target=self._poll, name="gui-status", daemon=True)
        self._thread.start()

    # -- what the window reads --------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.state != IDLE

    @property
    def status(self) -> RecorderStatus | None:
        return self._status

    @property
    def free_bytes(self) -> int | None:
        """Free disk at the study root (from the recorder while recording)."""
        st = self._status
        return st.free_bytes if st is not None and self.state == RECORDING else self._free

    def watch_root(self, root: Path | None) -> None:
        self._root = root

    # -- commands ---------------------------------------------------------------------
    def start(self, prepare: Callable[[], tuple[RecorderConfig, Any]]) -> None:
        """Start recording. ``prepare()`` runs in the worker (it may read protocol files,
        write consent) and returns the config plus a context kept in ``self.context``."""
        if self.state != IDLE:
            return
        self.state = STARTING
        self._status = None

        def work() -> Recorder:
            cfg, self.context = prepare()
            rec = Recorder(cfg)
            rec.start()
            return rec

        run_in_background(work, self._started, self._start_failed, name="recorder-start")

    def _started(self, rec: Recorder) -> None:
        self.recorder, self.state = rec, RECORDING
        self._status = rec.status()
        self.started.emit(str(rec.part_path))

    def _start_failed(self, e: BaseException) -> None:
        self.state = IDLE
        self.failed.emit(plain_error(e))

    def stop(self, reason: str = "") -> None:
        if self.state != RECORDING or self.recorder is None:
            return
        self.state = STOPPING
        rec = self.recorder
        rec.request_stop(reason)
        run_in_background(rec.stop, self._stopped, self._stop_failed, name="recorder-stop")

    def _stopped(self, path: Path) -> None:
        rec = self.recorder
        self.final_path = Path(path)
        self._status = rec.status() if rec is not None else None
        self.recorder, self.state = None, IDLE
        self.stopped.emit(str(path), rec.stop_reason if rec is not None else "")

    def _stop_failed(self, e: BaseException) -> None:
        self.recorder, self.state = None, IDLE
        self.failed.emit(plain_error(e))

    def annotate(self, text: str) -> bool:
        """A free-text note becomes an ``annotation`` event (non-blocking queue put)."""
        if self.state != RECORDING or self.recorder is None:
            return False
        self.recorder.annotate(text)
        return True

    # -- status thread ------------------------------------------------------------------
    def _poll(self) -> None:
        while not self._stop.wait(self._poll_interval):
            rec = self.recorder
            try:
                if rec is not None and self.state == RECORDING:
                    self._status = rec.status()
                    if rec.stop_requested and not self._auto_stop:
                        self._auto_stop = True  # the recorder asked (disk low, writer failed)
                        self._recorder_wants_stop.emit()
                elif self._root is not None:
                    probe = next((p for p in [self._root, *self._root.parents] if p.exists()), None)
                    self._free = shutil.disk_usage(probe).free if probe is not None else None
            except Exception:  # noqa: BLE001 - a status hiccup must not end the thread
                continue

    def _stop_for_recorder(self) -> None:
        """Finalize a recorder that stopped itself, like the CLI does."""
        self._auto_stop = False
        self.stop()

    def shutdown(self) -> None:
        self._stop.set()
