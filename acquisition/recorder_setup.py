"""What a recording is configured with and reports, and the checks before it starts.

:class:`RecorderConfig` (what to record and how), :class:`RecorderStatus` (what the CLI
status line and the GUI show), the disk and folder checks every front end shares, and
the software versions kept in the provenance. :mod:`.recorder` runs the recording.
"""

from __future__ import annotations

import logging
import os
import re
import resource
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pylsl

from mimicsync import __version__
from mimicsync.acquisition.camera import Camera, CameraStreamer
from mimicsync.acquisition.disk_space import time_left
from mimicsync.acquisition.stream_select import StreamSelector
from mimicsync.dataset.layout import RecordingId
from mimicsync.errors import ErrorCode, MimicsyncError, check_number, check_option
from mimicsync.format import DEFAULT_DEPTH, DEFAULT_JPEG_QUALITY, DepthMode

log = logging.getLogger(__name__)
GiB = 1 << 30


DISK_MARGIN = 4 << 20  # bytes kept free: HDF5's own metadata, and closing the file


def room(path: Path) -> int:
    """Bytes ``path`` may still grow by: free disk, and the ``ulimit -f`` file-size limit."""
    free = shutil.disk_usage(path.parent).free
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY:
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        free = min(free, limit - size)
    return free


class RecorderError(MimicsyncError, RuntimeError):
    """Recording could not start or continue; the one-line message names the fix."""

    default_code = ErrorCode.STATE


@dataclass
class RecorderConfig:
    root: Path
    rid: RecordingId
    streams: list[StreamSelector] = field(default_factory=list)  # what to record
    require: list[StreamSelector] = field(default_factory=list)  # must be there to start
    camera: Camera | None = None
    # or a camera that is already streaming (e.g. the GUI's preview); the recorder adds its
    # sink and leaves the camera running when it stops
    camera_streamer: CameraStreamer | None = None
    camera_name: str = "mimicsync-camera"
    operator: str = ""
    resolve_wait: float = 2.0  # how long to look for streams at start
    clock_interval: float = 5.0  # LSL time_correction at least this often
    flush_interval: float = 0.5  # data on disk at least this often
    color_encoding: str = "jpeg"
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    # > 0: depth beyond this distance is stored as 0 (DepthMode.max_m); 0 = the full range
    depth_max_m: float = DepthMode.parse(DEFAULT_DEPTH).max_m
    min_free_bytes: int = 1 * GiB  # stop cleanly below this much free disk
    settings: dict = field(default_factory=dict)  # extra device/protocol settings to keep
    warn_minutes: float = 30.0  # warn at start when free disk holds less than this much
    attrs: dict = field(default_factory=dict)  # extra root attributes (protocol, plan, run link)
    # string streams kept as streams only, no `marker` events: their sender hands the recorder
    # the same cues as structured events (add_events), e.g. the protocol runner's marker stream
    no_marker_events: list[StreamSelector] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_number("min free disk", self.min_free_bytes / GiB, minimum=0, maximum=1 << 20,
                     unit="GiB")
        check_number("jpeg quality", self.jpeg_quality, minimum=1, maximum=100, integer=True)
        check_option("color encoding", self.color_encoding, ("jpeg", "lossless"))
        for name in ("resolve_wait", "clock_interval", "flush_interval"):
            check_number(name.replace("_", " "), getattr(self, name), minimum=0, maximum=3600)


@dataclass
class StreamStatus:
    key: str
    name: str
    type: str
    samples: int
    connected: bool
    error: str | None


@dataclass
class RecorderStatus:
    recording: bool
    elapsed_s: float
    path: str
    file_bytes: int
    free_bytes: int
    streams: list[StreamStatus]
    frames: int = 0
    dropped_frames: int = 0
    encoder_backlog: int = 0
    events: int = 0
    stop_reason: str = ""  # readable (StopReason.text)
    errors: list[str] = field(default_factory=list)
    bytes_per_minute: float = 0.0  # file growth (an estimate in the first 10 s)
    min_free_bytes: int = 0  # the recorder stops here

    @property
    def time_left(self) -> str:
        """E.g. ``2 h 05 min left at 620 MB/min``."""
        return time_left(self.free_bytes, self.min_free_bytes, self.bytes_per_minute)


def software_versions() -> dict[str, str]:
    import h5py
    versions = {"mimicsync": __version__, "python": sys.version.split()[0],
                "numpy": np.__version__, "h5py": h5py.__version__,
                "hdf5": h5py.version.hdf5_version, "pylsl": getattr(pylsl, "__version__", ""),
                "liblsl": str(pylsl.library_version())}
    for mod in ("pyrealsense2", "brainflow"):
        m = sys.modules.get(mod)
        if m is not None:
            versions[mod] = str(getattr(m, "__version__", "loaded"))
    return versions


def short_io_error(e: BaseException) -> str:
    """HDF5 errors carry the OS reason deep inside; operators need just that reason."""
    msg = str(e)
    m = re.search(r"error message = '([^']*)'", msg)
    return f"{msg.split(' (')[0]}: {m.group(1)}" if m else msg


def check_disk(root: Path, min_free: int) -> int:
    """Free bytes at ``root``; refuses below ``min_free``."""
    probe = root if root.exists() else next(p for p in root.parents if p.exists())
    free = shutil.disk_usage(probe).free
    if free < min_free:
        raise RecorderError(
            "root", f"only {free / GiB:.2f} GiB free at {probe} (need {min_free / GiB:.2f} GiB)",
            "free space or choose another study root", code=ErrorCode.IO)
    return free


def check_root_writable(root: Path) -> None:
    probe = root if root.exists() else next(p for p in root.parents if p.exists())
    if not probe.is_dir():
        raise RecorderError("root", f"{probe} is not a folder",
                            "choose a folder as the study root")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise RecorderError("root", f"{probe} is not writable (permission denied)",
                            "choose a folder you can write to as the study root",
                            code=ErrorCode.IO)
