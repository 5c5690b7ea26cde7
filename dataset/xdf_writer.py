"""A minimal XDF 1.0 writer (the LabRecorder file format), for tests, benchmarks and
for handing recordings to XDF tools.

Writes the chunks LabRecorder writes: FileHeader, StreamHeader, Samples (every sample
with its timestamp), ClockOffset, StreamFooter; Boundary chunks are optional in the spec
and left out. Layout from the XDF specification: a chunk is
``[NumLengthBytes][Length][Tag u16][content]``, lengths little-endian, variable-length
counts as ``[1|4|8][uint]``.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mimicsync.dataset.study_tree import atomic_write_bytes

_DTYPES = {"float32": "<f4", "double64": "<f8", "int8": "<i1", "int16": "<i2",
           "int32": "<i4", "int64": "<i8"}
SAMPLES_PER_CHUNK = 4096


@dataclass
class XdfStream:
    """One stream to write. ``info_xml`` is the stream's ``<info>`` (LSL ``as_xml``);
    a minimal one is made from the fields when it is empty."""

    name: str
    type: str
    channel_format: str  # float32, double64, int8..int64, string
    nominal_srate: float
    data: np.ndarray | Sequence[Sequence[str]]
    time_stamps: np.ndarray
    clock_offsets: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    info_xml: str = ""
    source_id: str = ""

    @property
    def channel_count(self) -> int:
        if self.channel_format == "string":
            return len(self.data[0]) if len(self.data) else 1
        return int(np.asarray(self.data).reshape(len(self.time_stamps), -1).shape[1])

    def header(self) -> str:
        if self.info_xml:
            return self.info_xml
        info = ET.Element("info")
        for k, v in (("name", self.name), ("type", self.type),
                     ("channel_count", self.channel_count),
                     ("nominal_srate", repr(float(self.nominal_srate))),
                     ("channel_format", self.channel_format), ("source_id", self.source_id)):
            ET.SubElement(info, k).text = str(v)
        ET.SubElement(info, "desc")
        return ET.tostring(info, encoding="unicode")


def _varlen(n: int) -> bytes:
    if n < 256:
        return struct.pack("<BB", 1, n)
    if n < 1 << 32:
        return struct.pack("<BI", 4, n)
    return struct.pack("<BQ", 8, n)


def _chunk(tag: int, content: bytes) -> bytes:
    n = len(content) + 2
    head = struct.pack("<BB", 1, n) if n < 256 else (
        struct.pack("<BI", 4, n) if n < 1 << 32 else struct.pack("<BQ", 8, n))
    return head + struct.pack("<H", tag) + content


def _sample_chunks(sid: int, s: XdfStream) -> Iterable[bytes]:
    ts = np.asarray(s.time_stamps, dtype="<f8")
    for a in range(0, len(ts), SAMPLES_PER_CHUNK):
        b = min(len(ts), a + SAMPLES_PER_CHUNK)
        parts = [struct.pack("<I", sid), _varlen(b - a)]
        if s.channel_format == "string":
            for t, row in zip(ts[a:b], s.data[a:b]):
                parts.append(b"\x08" + t.tobytes())
                for v in row:
                    raw = v.encode("utf-8")
                    parts.append(_varlen(len(raw)) + raw)
        else:
            x = np.asarray(s.data[a:b], dtype=_DTYPES[s.channel_format]).reshape(b - a, -1)
            # per sample: [8][timestamp][values]: one structured array, no Python loop
            rec = np.empty(b - a, dtype=[("n", "u1"), ("t", "<f8"), ("v", x.dtype, x.shape[1:])])
            rec["n"], rec["t"], rec["v"] = 8, ts[a:b], x
            parts.append(rec.tobytes())
        yield _chunk(3, b"".join(parts))


def _footer(s: XdfStream) -> str:
    ts = np.asarray(s.time_stamps, dtype=float)
    info = ET.Element("info")
    ET.SubElement(info, "first_timestamp").text = repr(float(ts[0])) if len(ts) else "0"
    ET.SubElement(info, "last_timestamp").text = repr(float(ts[-1])) if len(ts) else "0"
    ET.SubElement(info, "sample_count").text = str(len(ts))
    offs = ET.SubElement(info, "clock_offsets")
    for t, v in np.asarray(s.clock_offsets, dtype=float).reshape(-1, 2):
        o = ET.SubElement(offs, "offset")
        ET.SubElement(o, "time").text = repr(float(t))
        ET.SubElement(o, "value").text = repr(float(v))
    return ET.tostring(info, encoding="unicode")


def xdf_bytes(streams: Sequence[XdfStream], datetime: str = "") -> bytes:
    """The whole XDF file as bytes (streams get ids 1, 2, …)."""
    hdr = "<?xml version=\"1.0\"?><info><version>1.0</version>" + (
        f"<datetime>{datetime}</datetime>" if datetime else "") + "</info>"
    out = [b"XDF:", _chunk(1, hdr.encode())]
    for sid, s in enumerate(streams, start=1):
        out.append(_chunk(2, struct.pack("<I", sid) + s.header().encode("utf-8")))
    for sid, s in enumerate(streams, start=1):
        out.extend(_sample_chunks(sid, s))
        for t, v in np.asarray(s.clock_offsets, dtype=float).reshape(-1, 2):
            out.append(_chunk(4, struct.pack("<Idd", sid, t, v)))
    for sid, s in enumerate(streams, start=1):
        out.append(_chunk(6, struct.pack("<I", sid) + _footer(s).encode("utf-8")))
    return b"".join(out)


def write_xdf(path: str | Path, streams: Sequence[XdfStream], datetime: str = "") -> Path:
    """Write ``streams`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    atomic_write_bytes(path, xdf_bytes(streams, datetime))
    return path


def recording_streams(rec) -> list[XdfStream]:
    """A recording's LSL streams as :class:`XdfStream` (raw timestamps, clock offsets,
    full stream descriptions); the video pixels have no place in XDF."""
    out = []
    for s in rec.streams.values():
        a = s.attrs
        data = [v.split("\t") for v in s.data] if s.is_string else s.data
        out.append(XdfStream(str(a["name"]), str(a["type"]), str(a["channel_format"]),
                             float(a["nominal_srate"]), data, s.time_stamps, s.clock_offsets,
                             str(a.get("info_xml", "")), str(a.get("source_id", ""))))
    return out
