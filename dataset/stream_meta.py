"""What the file keeps about an LSL stream, independent of a live pylsl object.

Built once from the inlet's *full* info (with its ``<desc>``), so the recording is
self-contained: channel table, scale factors, simulator ground truth, device serials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from mimicsync.format import (
    LSL_DTYPES,
    LSL_FORMAT_CODES,
    ChannelSpec,
    channels_from_xml,
    desc_value,
)


@dataclass
class StreamMeta:
    name: str
    type: str
    source_id: str
    hostname: str
    nominal_srate: float
    channel_format: str  # one of LSL_DTYPES
    channel_count: int
    uid: str = ""
    session_id: str = ""
    created_at: float = 0.0
    info_xml: str = ""
    channels: list[ChannelSpec] = field(default_factory=list)

    @property
    def dtype(self) -> np.dtype | None:
        code = LSL_DTYPES[self.channel_format]
        return None if code is None else np.dtype(code)

    @property
    def is_string(self) -> bool:
        return self.channel_format == "string"

    @property
    def can_drop_samples(self) -> bool:
        """Streams that may legitimately skip samples (video frame indices): never dejitter."""
        v = desc_value(self.info_xml, "can_drop_samples") if self.info_xml else None
        return (v or "").strip().lower() == "true"

    @property
    def identity(self) -> tuple[str, str, str]:
        """What makes a returning stream 'the same': source_id if set, else name + host."""
        return (self.source_id, "", "") if self.source_id else ("", self.name, self.hostname)

    @classmethod
    def from_info(cls, info) -> "StreamMeta":
        """From a ``pylsl.StreamInfo`` (ideally the full info from ``inlet.info()``)."""
        xml = info.as_xml()
        fmt = LSL_FORMAT_CODES.get(info.channel_format())
        if fmt is None:
            raise ValueError(f"stream '{info.name()}': unsupported LSL channel format "
                             f"{info.channel_format()}")
        return cls(
            name=info.name(), type=info.type(), source_id=info.source_id(),
            hostname=info.hostname(), nominal_srate=float(info.nominal_srate()),
            channel_format=fmt, channel_count=int(info.channel_count()), uid=info.uid(),
            session_id=info.session_id(), created_at=float(info.created_at()), info_xml=xml,
            channels=channels_from_xml(xml, int(info.channel_count())),
        )

    def key(self, taken: set[str]) -> str:
        """A unique HDF5-safe group name for this stream within one recording."""
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name).strip("_") or "stream"
        key, i = base, 2
        while key in taken:
            key, i = f"{base}_{i}", i + 1
        return key
