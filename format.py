"""The recording format's types and constants: what a file holds, with no device import.

Everything the writer, the readers, sync and the exports agree on lives here, so reading a
file needs h5py and numpy only (no pylsl, pyrealsense2, brainflow or Qt; a test checks it).
``docs/format.md`` documents the layout these names describe.

- :class:`ChannelSpec`: one channel of a stream (label, unit, XDF type, scheme, muscle,
  side, face position, scale), parsed from LSL stream XML by :func:`channels_from_xml`;
- :class:`CameraInfo`: the static description of a camera stored in ``/video``;
- :class:`DepthMode`: which depth a recording takes (``off``, a D4xx resolution, a range);
- file constants: :data:`FORMAT_NAME`, :data:`FORMAT_VERSION`, the channel table dtype,
  the frame table columns, the frame-index stream's type and channels, LSL formats.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field, fields

import numpy as np

FORMAT_NAME = "mimicsync-recording"  # root attribute ``format`` of every recording
FORMAT_VERSION = 3  # 2: depth row-difference filtered; 3: depth ranked (docs/format.md)

VIDEO = "video"  # the stream key that means "the frames of /video"
SYNC_GROUP = "sync"  # where ``mimicsync sync`` stores its result

# LSL channel formats -> numpy dtypes; "string" streams are stored as ragged UTF-8.
LSL_DTYPES = {
    "float32": "f4", "double64": "f8", "int8": "i1", "int16": "i2", "int32": "i4",
    "int64": "i8", "string": None,
}
# liblsl's numeric channel-format codes (pylsl.cf_*), so no pylsl import is needed to name them.
LSL_FORMAT_CODES = {1: "float32", 2: "double64", 3: "string", 4: "int32", 5: "int16",
                    6: "int8", 7: "int64"}


@dataclass(frozen=True)
class ChannelSpec:
    """One channel as stored in a stream description and in the recording's channel table."""

    label: str
    unit: str = "microvolts"
    type: str = "EMG"  # XDF content type of the channel: EMG, TRIG, MISC, ...
    scheme: str = ""  # "fridlund", "kuramoto", "" (not part of a scheme)
    muscle: str = ""  # e.g. "zygomaticus major"
    side: str = ""  # "left", "right", "midline", ""
    x_mm: float = float("nan")
    y_mm: float = float("nan")
    scale: float = 1.0  # physical = raw * scale (1.0 for float streams)

    def as_dict(self) -> dict:
        return asdict(self)


CHANNEL_FIELDS = tuple(f.name for f in fields(ChannelSpec))


CHANNEL_DTYPE = np.dtype([
    ("label", "S64"), ("unit", "S32"), ("type", "S16"), ("scheme", "S16"), ("muscle", "S64"),
    ("side", "S16"), ("x_mm", "f8"), ("y_mm", "f8"), ("scale", "f8"),
])
assert CHANNEL_DTYPE.names == CHANNEL_FIELDS
# Columns of /video/frames, in order (docs/format.md says which instant each one marks).
# The first four are in every file; the metadata columns (NaN where the device does not
# report them) were added later, so readers look columns up by name (:func:`frame_column`).
FRAME_COLUMNS = ("host_index", "device_index", "device_time_ms", "host_time",
                 "sensor_time_ms", "exposure_ms", "arrival_ms", "frame_counter",
                 "auto_exposure", "gain")
FRAME_BASE_COLUMNS = FRAME_COLUMNS[:4]


def frame_column(frames: np.ndarray, columns: "tuple[str, ...] | list[str]", name: str) -> np.ndarray:
    """Column ``name`` of a frame table whose columns are ``columns`` (a float copy);
    all NaN when the table has no such column (files written before it existed)."""
    fr = np.asarray(frames, dtype=float)
    fr = fr.reshape(fr.shape[0], -1) if fr.size else fr.reshape(0, len(columns))
    if name in columns and list(columns).index(name) < fr.shape[1]:
        return fr[:, list(columns).index(name)].copy()
    return np.full(fr.shape[0], np.nan)

FRAME_INDEX_TYPE = "VideoFrames"
FRAME_INDEX_CHANNELS = [
    ChannelSpec("host_frame", unit="count", type="MISC"),
    ChannelSpec("device_frame", unit="count", type="MISC"),
    ChannelSpec("device_time", unit="milliseconds", type="MISC"),
    ChannelSpec("host_time", unit="seconds", type="MISC"),
]



@dataclass(frozen=True)
class CameraInfo:
    """Static description of a started camera, stored in the recording's ``/video`` group."""

    name: str  # e.g. "Intel RealSense D435" or "mimicsync camera simulator"
    serial: str
    width: int
    height: int
    fps: float
    depth_width: int = 0  # 0 = no depth stream
    depth_height: int = 0
    depth_scale_m: float = 0.001  # metres per depth unit
    color_intrinsics: dict = field(default_factory=dict)  # fx, fy, ppx, ppy, model, coeffs
    depth_intrinsics: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)  # device settings worth keeping (exposure, ...)
    firmware: str = ""



# Depth resolutions a D4xx streams at 30 fps; 848x480 is its optimal (most accurate) mode.
D4XX_DEPTH_SIZES = ("1280x720", "848x480", "640x480", "640x360", "480x270", "424x240")
# Depth of the participant's space, up to 1.5 m: the protocol films a seated face at about
# 0.5-0.8 m, and the room behind it is stereo noise no analysis uses that costs ~250 MB/min
# lossless (bench/storage.py). Depth within the range is stored bit-exact; "848x480" keeps
# the camera's full range.
DEFAULT_DEPTH = "848x480:1.5"
# JPEG quality 85 (4:4:4) keeps colour above 40 dB PSNR against a D4xx's frames at
# 1280x720 on photographic footage with sensor noise (40.4 dB, 269 MB/min; bench/storage.py).
# A D4xx sends colour as YUY2, so its chroma is already smooth across pixel pairs; a camera
# sending full RGB needs about q90 for the same 40 dB. 4:4:4 beats 4:2:2 at equal PSNR even
# on YUY2 frames (JPEG's chroma filters are not the camera's): 4:2:2 q90 is 304 MB/min.
DEFAULT_JPEG_QUALITY = 85
# How colour crosses the camera's link (CameraInfo.settings["color_transport"]): "yuyv"
# (every D4xx: luma per pixel, one chroma pair per two pixels; librealsense unpacks it to
# RGB8) or "rgb8".
COLOR_TRANSPORTS = ("yuyv", "rgb8")


@dataclass(frozen=True)
class DepthMode:
    """Depth to record: ``width`` x ``height`` (0 x 0 = off), and ``max_m`` > 0 to store
    depth beyond that distance as 0 (the wall behind a participant is most of a frame's
    bytes: its stereo noise does not compress)."""

    width: int = 848
    height: int = 480
    max_m: float = 0.0

    @property
    def enabled(self) -> bool:
        return self.width > 0

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    def __str__(self) -> str:
        if not self.enabled:
            return "off"
        return f"{self.width}x{self.height}" + (f":{self.max_m:g}" if self.max_m else "")

    @classmethod
    def parse(cls, text: str) -> "DepthMode":
        """Parse a depth mode.

        Parameters
        ----------
        text : str
            ``off``, ``WxH`` (a D4xx depth mode) or ``WxH:MAX`` (metres, 0.1–65).

        Returns
        -------
        DepthMode

        Raises
        ------
        ValueError
            One line naming ``depth`` and what is allowed.
        """
        t = str(text).strip().lower()
        if t == "off":
            return cls(0, 0)
        size, _, limit = t.partition(":")
        if size not in D4XX_DEPTH_SIZES:
            raise ValueError(f"depth: '{text}' is not off or a D4xx depth mode "
                             f"({', '.join(D4XX_DEPTH_SIZES)}), optionally with :MAX metres "
                             "(e.g. 848x480:1.5)")
        try:
            max_m = float(limit) if limit else 0.0
        except ValueError:
            max_m = -1.0
        if limit and not 0.1 <= max_m <= 65.0:
            raise ValueError(f"depth: range '{limit}' in '{text}' must be a distance in metres "
                             "from 0.1 to 65, e.g. 848x480:1.5")
        w, h = (int(v) for v in size.split("x"))
        return cls(w, h, max_m)


def channels_from_xml(info_xml: str, channel_count: int) -> list[ChannelSpec]:
    """Parse the channel table out of a stream's full XML description.

    Streams without a ``<channels>`` block (or with fewer entries) get generic specs
    ``ch1..chN`` so every stored stream has a complete channel table.
    """
    specs: list[ChannelSpec] = []
    try:
        root = ET.fromstring(info_xml)
    except ET.ParseError:
        root = None
    chans = root.find("./desc/channels") if root is not None else None
    if chans is not None:
        for c in chans.findall("channel"):
            loc = c.find("location")

            def num(el: ET.Element | None, tag: str) -> float:
                v = el.findtext(tag) if el is not None else None
                try:
                    return float(v) if v not in (None, "") else float("nan")
                except ValueError:
                    return float("nan")

            specs.append(
                ChannelSpec(
                    label=c.findtext("label") or f"ch{len(specs) + 1}",
                    unit=c.findtext("unit") or "",
                    type=c.findtext("type") or "",
                    scheme=c.findtext("scheme") or "",
                    muscle=c.findtext("muscle") or "",
                    side=c.findtext("side") or "",
                    x_mm=num(loc, "X"),
                    y_mm=num(loc, "Y"),
                    scale=num(c, "scale") if c.findtext("scale") else 1.0,
                )
            )
    specs = specs[:channel_count]
    for i in range(len(specs), channel_count):
        specs.append(ChannelSpec(label=f"ch{i + 1}", unit="", type=""))
    return specs


def desc_value(info_xml: str, path: str) -> str | None:
    """Text of ``./desc/<path>`` in a stream's XML, or None (e.g. ``simulation/offset_s``)."""
    try:
        root = ET.fromstring(info_xml)
    except ET.ParseError:
        return None
    return root.findtext(f"./desc/{path}")
