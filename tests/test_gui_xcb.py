"""The operator app on a real X server (Xvfb + a window manager), not Qt's offscreen.

Offscreen Qt needs none of the X libraries a lab's desktop needs: the app once failed
to start on a real display ("Could not load the Qt platform plugin xcb") while every
offscreen test passed. This test starts its own X server and window manager, runs the
README's screenshot script on it with ``QT_QPA_PLATFORM=xcb`` (every window opened: the
setup, the monitor at 1600x1000 and maximised, the participant window, the Abort
confirmation; a short protocol recorded) and checks the file and what the display showed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from mimicsync.dataset.recording import Recording
from mimicsync.gui.xvfb import NoXServer, virtual_display

REPO_PARENT = str(Path(__file__).resolve().parents[2])


@pytest.fixture
def x_display():
    """A fresh Xvfb (1920x1080) with openbox; yields the DISPLAY string."""
    try:
        with virtual_display(1920, 1080) as display:
            yield display
    except NoXServer as e:
        if os.environ.get("CI"):
            pytest.fail(str(e))
        pytest.skip(str(e))


def _image(path: Path) -> np.ndarray:
    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    assert not img.isNull(), path
    h, w = img.height(), img.width()
    rows = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h).reshape(h, -1)
    return rows[:, :3 * w].copy()  # a copy: the QImage owns the buffer


def test_app_on_a_real_x_server_records_and_takes_the_screenshots(x_display, tmp_path):
    out, study = tmp_path / "shots", tmp_path / "study"
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb",
           "PYTHONPATH": os.pathsep.join([REPO_PARENT, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "mimicsync.gui.screenshots", str(out),
                           "--study", str(study)], env=env, capture_output=True, text=True,
                          timeout=400)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "platform xcb, screens 1920x1080" in proc.stdout  # not offscreen

    sizes = {}
    for line in proc.stdout.splitlines():
        if line.endswith(".png") or ".png " in line:
            name, size = line.rsplit(" ", 1)
            sizes[Path(name).name] = tuple(map(int, size.split("x")))
    assert set(sizes) >= {"setup.png", "monitor-recording.png", "monitor-maximised.png",
                          "participant-cue.png"}
    w, h = sizes["monitor-recording.png"]
    assert 1600 <= w <= 1610 and 1000 <= h <= 1040  # the window as asked, plus its frame
    assert sizes["monitor-maximised.png"] == (1920, 1080)
    cw, ch = sizes["participant-cue.png"]
    assert cw < 1920 and ch < 1080  # one screen: a window, not full screen over the operator
    for name in sizes:
        px = _image(out / name)
        assert px.std() > 10, f"{name} is blank: the display showed nothing"  # e.g. unmapped
    cue = _image(out / "participant-cue.png")
    assert np.median(cue) < 60  # the participant window's dark background was on screen

    files = list(study.glob("sub-07/ses-01/*_recording.h5"))
    assert len(files) == 1, list(study.rglob("*"))
    with Recording(files[0]) as rec:
        assert rec.status == "complete" and rec.n_frames > 30
        kinds = [e.trial_type for e in rec.events]
        assert "perform" in kinds and "abort" in kinds  # the Abort confirmation was answered
