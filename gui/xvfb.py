"""A private X server (Xvfb) with a window manager, for the app on a machine with no screen.

The GUI test, the screenshots and the frame-rate benchmark run the app on a real X
server (Qt's ``xcb`` platform, as on a lab's desktop), not Qt's ``offscreen`` one:
only then do the X libraries, window-manager behaviour (full screen, maximise, close)
and what the screen really shows get exercised. Xvfb picks a free display number
itself (``-displayfd``); openbox manages the windows. Both come from ``make system-deps``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator


class NoXServer(RuntimeError):
    """Xvfb or openbox is missing, or Xvfb did not start; the message says what to do."""


@contextlib.contextmanager
def virtual_display(width: int = 1920, height: int = 1080) -> Iterator[str]:
    """Run Xvfb (one ``width`` x ``height`` screen) and openbox; yields the DISPLAY string.

    Raises
    ------
    NoXServer
        When a program is missing (``make system-deps`` installs them) or Xvfb fails.
    """
    missing = [t for t in ("Xvfb", "openbox") if shutil.which(t) is None]
    if missing:
        raise NoXServer(f"{', '.join(missing)} not installed: run `make system-deps`")
    log = tempfile.TemporaryFile()
    r, w = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0",
                             f"{width}x{height}x24", "-nolisten", "tcp", "-noreset"],
                            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=log)
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    procs = [xvfb]
    try:
        if not number:
            log.seek(0)
            raise NoXServer("Xvfb did not start: " + log.read().decode(errors="replace")[-300:])
        display = f":{number}"
        procs.append(subprocess.Popen(["openbox", "--sm-disable"], env={**os.environ, "DISPLAY": display},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield display
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()
