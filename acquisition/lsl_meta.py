"""Channel metadata in LSL stream descriptions, following the XDF meta-data conventions.

Every adapter describes its channels the same way, so the recorder can store a channel
table for any stream and sync/export can find muscles, sides and positions:

``<desc><channels><channel>`` with ``label``, ``unit``, ``type`` (the XDF conventions),
plus ``scheme``, ``muscle``, ``side``, ``location`` (``X``/``Y``/``Z`` in mm, 2-D face
positions with Z = 0) and ``scale`` (physical value = raw * scale, for integer streams).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, fields

import pylsl


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


def _text(parent: pylsl.XMLElement, name: str, value: object) -> None:
    parent.append_child_value(name, str(value))


def add_channels(info: pylsl.StreamInfo, channels: list[ChannelSpec]) -> None:
    """Write ``channels`` into ``info``'s ``<desc><channels>`` block."""
    if len(channels) != info.channel_count():
        raise ValueError(
            f"channels: {len(channels)} specs for a stream of {info.channel_count()} channels; "
            "give one ChannelSpec per channel"
        )
    chans = info.desc().append_child("channels")
    for ch in channels:
        c = chans.append_child("channel")
        _text(c, "label", ch.label)
        _text(c, "unit", ch.unit)
        _text(c, "type", ch.type)
        if ch.scheme:
            _text(c, "scheme", ch.scheme)
        if ch.muscle:
            _text(c, "muscle", ch.muscle)
        if ch.side:
            _text(c, "side", ch.side)
        if ch.x_mm == ch.x_mm:  # not NaN
            loc = c.append_child("location")
            _text(loc, "X", ch.x_mm)
            _text(loc, "Y", ch.y_mm)
            _text(loc, "Z", 0.0)
        if ch.scale != 1.0:
            _text(c, "scale", repr(ch.scale))


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
