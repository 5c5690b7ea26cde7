"""Command-line options of the operator app, without importing Qt.

``mimicsync gui`` (cli/main.py) and ``python -m mimicsync.gui.app`` share them; keeping
them Qt-free keeps every other ``mimicsync`` command fast to start.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", type=Path, help="study root folder")
    p.add_argument("--participant")
    p.add_argument("--session")
    p.add_argument("--task")
    p.add_argument("--acq")
    p.add_argument("--protocol", help="protocol name (study folder first, then shipped)")
    p.add_argument("--operator", default="")
    p.add_argument("--camera", choices=("realsense", "sim", "none"), default=None)
    p.add_argument("--simulate", action="store_true",
                   help="start the simulated lab (sEMG amplifier and camera): no hardware needed")
    p.add_argument("--width", type=int, default=1280, help="camera width (default 1280)")
    p.add_argument("--height", type=int, default=720, help="camera height (default 720)")
    p.add_argument("--fps", type=float, default=30.0, help="camera frame rate (default 30)")
