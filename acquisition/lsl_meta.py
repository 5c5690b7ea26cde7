"""Channel metadata in LSL stream descriptions, following the XDF meta-data conventions.

Every adapter describes its channels the same way, so the recorder can store a channel
table for any stream and sync/export can find muscles, sides and positions:

``<desc><channels><channel>`` with ``label``, ``unit``, ``type`` (the XDF conventions),
plus ``scheme``, ``muscle``, ``side``, ``location`` (``X``/``Y``/``Z`` in mm, 2-D face
positions with Z = 0) and ``scale`` (physical value = raw * scale, for integer streams).
"""

from __future__ import annotations

import pylsl

from mimicsync.format import ChannelSpec


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


