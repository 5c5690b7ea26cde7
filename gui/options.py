"""Command-line options of the operator app, without importing Qt.

``mimicsync gui`` (cli/main.py) and ``python -m mimicsync.gui.app`` share them; keeping
them Qt-free keeps every other ``mimicsync`` command fast to start.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mimicsync.format import DEFAULT_DEPTH, DEFAULT_JPEG_QUALITY, DepthMode


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
    p.add_argument("--depth", default=DEFAULT_DEPTH, metavar="MODE",
                   help=f"off, a D4xx depth mode, optionally :MAX metres (default {DEFAULT_DEPTH}; "
                        "see mimicsync record --help)")
    p.add_argument("--color-quality", "--jpeg-quality", dest="jpeg_quality", type=int,
                   default=DEFAULT_JPEG_QUALITY, metavar="Q",
                   help=f"JPEG quality 1-100 (default {DEFAULT_JPEG_QUALITY})")


def camera_option_error(args: argparse.Namespace) -> str | None:
    """The one-line problem with ``--depth`` / ``--color-quality``, or None."""
    try:
        DepthMode.parse(args.depth)
    except ValueError as e:
        return f"--{e}"
    if not 1 <= args.jpeg_quality <= 100:
        return f"--color-quality: must be a whole number from 1 to 100, got {args.jpeg_quality}"
    return None
