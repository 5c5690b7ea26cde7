"""Choose LSL streams explicitly, by name, type, source_id or host.

A recorder never takes "everything on the network": in a shared lab, another group's
stream would silently end up in a participant's file. Selectors are written
``key=value`` (``type=EMG``, ``source_id=amp-1``, ``host=lab-pc``) or a bare name.
"""

from __future__ import annotations

from dataclasses import dataclass

import pylsl

from mimicsync.errors import MimicsyncError

KEYS = {"name": "name", "type": "type", "source_id": "source_id", "host": "hostname",
        "hostname": "hostname"}


class SelectorError(MimicsyncError, ValueError):
    """A malformed stream selector; the message names the fix."""


@dataclass(frozen=True)
class StreamSelector:
    field: str  # name | type | source_id | hostname
    value: str

    @classmethod
    def parse(cls, text: str) -> "StreamSelector":
        if "=" in text:
            k, _, v = text.partition("=")
            k, v = k.strip().lower(), v.strip()
            if k not in KEYS:
                raise SelectorError("stream", f"unknown key '{k}' in '{text}'",
                                    "use name=, type=, source_id= or host=")
            if not v:
                raise SelectorError("stream", f"'{text}' has no value after '='",
                                    "give the value, e.g. type=EMG")
            return cls(KEYS[k], v)
        if not text.strip():
            raise SelectorError("stream", "empty selector", "give a stream name or key=value")
        return cls("name", text.strip())

    def matches(self, info: pylsl.StreamInfo) -> bool:
        return getattr(info, self.field)() == self.value

    def __str__(self) -> str:
        return f"{'host' if self.field == 'hostname' else self.field}={self.value}"


def parse_selectors(texts: list[str] | None) -> list[StreamSelector]:
    return [StreamSelector.parse(t) for t in (texts or [])]


def identity(info: pylsl.StreamInfo) -> tuple[str, str, str]:
    """What makes a stream the same one after a reconnect: source_id, else name + host."""
    sid = info.source_id()
    return (sid, "", "") if sid else ("", info.name(), info.hostname())


def identity_predicate(info: pylsl.StreamInfo) -> str:
    """An LSL XPath predicate that finds the same stream again."""
    def q(s: str) -> str:
        return s.replace("'", "")
    sid = info.source_id()
    if sid:
        return f"source_id='{q(sid)}'"
    return f"name='{q(info.name())}' and hostname='{q(info.hostname())}'"


def discover(wait: float = 1.0) -> list[pylsl.StreamInfo]:
    """All streams visible on the network within ``wait`` seconds (for listing only)."""
    return list(pylsl.resolve_streams(wait_time=wait))


def select(infos: list[pylsl.StreamInfo],
           selectors: list[StreamSelector]) -> list[pylsl.StreamInfo]:
    """The streams matched by any selector, one per identity (first seen wins)."""
    out: dict[tuple[str, str, str], pylsl.StreamInfo] = {}
    for info in infos:
        if any(s.matches(info) for s in selectors):
            out.setdefault(identity(info), info)
    return list(out.values())


def missing(infos: list[pylsl.StreamInfo],
            required: list[StreamSelector]) -> list[StreamSelector]:
    return [r for r in required if not any(r.matches(i) for i in infos)]
