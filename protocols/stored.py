"""Read back what an earlier recording needs to be repeated or resumed.

A protocol recording stores its protocol (TOML), the expanded plan (seed and order), its
device setup and the runner's events (docs/format.md, root attributes). This module
turns those back into objects: :func:`read_earlier` for one file, :func:`session_recordings`
for a session folder. Recordings made before the ``setup`` attribute existed fall back
to the provenance's settings.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mimicsync.dataset.events import Event
from mimicsync.dataset.layout import EXT, LabelError, RecordingId
from mimicsync.dataset.recording import Recording, RecordingError
from mimicsync.errors import ErrorCode, MimicsyncError
from mimicsync.protocols.device_setup import DeviceSetup, SetupError, setup_from_provenance
from mimicsync.protocols.model import TIMING_FIELDS, Timings
from mimicsync.protocols.plan import Plan, Trial
from mimicsync.protocols.schema import Protocol, ProtocolError, loads_protocol


class EarlierError(MimicsyncError, ValueError):
    """An earlier recording cannot be repeated or resumed; the message says why and what to do."""


@dataclass(frozen=True)
class StreamFacts:
    """What a later session must find again: a recorded stream and its channel table."""

    key: str
    name: str
    type: str
    source_id: str
    hostname: str
    channel_count: int
    labels: tuple[str, ...]
    schemes: tuple[str, ...]


@dataclass(frozen=True)
class Earlier:
    """One earlier recording, as far as repeating or resuming it is concerned."""

    path: Path
    rid: RecordingId
    status: str
    start_utc: str
    duration_s: float
    setup: DeviceSetup
    streams: tuple[StreamFacts, ...]
    camera: tuple[int, int, float] | None  # width, height, fps of the recorded video
    language: str
    protocol_text: str | None
    plan_data: dict[str, Any] | None
    run_id: str | None
    events: tuple[Event, ...]

    @property
    def name(self) -> str:
        return self.path.name

    def protocol(self) -> Protocol:
        """The exact protocol the recording ran (its stored copy, not today's file)."""
        if self.protocol_text is None:
            raise EarlierError(f"{self.name}: no protocol was run in this recording; nothing to repeat or resume")
        try:
            return loads_protocol(self.protocol_text, f"{self.name}:protocol", check_media=False)
        except ProtocolError as e:
            raise EarlierError(f"{self.name}: its stored protocol does not load ({e})") from None

    def plan(self, protocol: Protocol | None = None) -> Plan:
        """The stored plan: the same seed and the same expanded order, trial by trial."""
        if self.plan_data is None:
            raise EarlierError(f"{self.name}: no plan stored; nothing to repeat or resume")
        return plan_from_dict(protocol or self.protocol(), self.plan_data, self.name)


def plan_from_dict(protocol: Protocol, d: dict[str, Any], where: str = "plan") -> Plan:
    """Rebuild a :class:`Plan` from ``Plan.to_dict()`` output, checked against ``protocol``.

    The stored order is used as it is (not re-shuffled from the seed), so a session is
    repeated exactly even if the shuffling code has changed since.
    """
    try:
        if d["protocol"] != protocol.name:
            raise EarlierError(f"{where}: the plan is for protocol {d['protocol']!r}, not {protocol.name!r}")
        trials = []
        for t in d["trials"]:
            step = protocol.step(t["step"])
            trials.append(Trial(
                index=int(t["index"]), step_id=step.id, step_number=protocol.step_number(step.id),
                repetition=int(t["repetition"]), repetitions=int(t["repetitions"]),
                timings=Timings(**{f: float(t[f]) for f in TIMING_FIELDS}),
                show_instruction=bool(t["show_instruction"])))
        if [t.index for t in trials] != list(range(len(trials))):
            raise EarlierError(f"{where}: the stored plan's trial indices are not 0..n-1")
        return Plan(protocol, int(d["seed"]), tuple(trials))
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, EarlierError):
            raise
        raise EarlierError(f"{where}: the stored plan is incomplete or damaged ({e})") from None


def _streams(rec: Recording) -> tuple[StreamFacts, ...]:
    out = []
    for key, s in rec.streams.items():
        a = s.attrs
        ch = s.channels
        out.append(StreamFacts(
            key, str(a["name"]), str(a["type"]), str(a.get("source_id", "")), str(a.get("hostname", "")),
            int(a["channel_count"]), tuple(x.decode() for x in ch["label"]),
            tuple(x.decode() for x in ch["scheme"])))
    return tuple(out)


def read_earlier(path: Path | str) -> Earlier:
    """Read one earlier recording (finished or recovered)."""
    path = Path(path)
    if not path.is_file():
        raise EarlierError(f"{path}: no such recording; give a finished recording file (…_recording.h5)")
    try:
        rid = RecordingId.from_path(path)
    except LabelError as e:
        raise EarlierError(str(e)) from None
    with Recording(path) as rec:
        if rec.status not in ("complete", "recovered"):
            raise EarlierError(f"{path.name}: status is '{rec.status}' (unfinished); run "
                               f"`mimicsync recover {path}` first")
        a = rec.attrs
        try:
            setup = DeviceSetup.from_attr(a["setup"], where=f"{path.name}: setup") \
                if "setup" in a else setup_from_provenance(rec.provenance)
        except SetupError as e:
            raise EarlierError(f"{path.name}: its stored device setup is unreadable ({e})") from None
        camera = None
        if rec.has_video:
            v = rec.video_attrs
            camera = (int(v["width"]), int(v["height"]), float(v["fps"]))
        plan_text = a.get("plan")
        duration = float(a.get("duration_s", 0.0) or 0.0)
        return Earlier(
            path=path, rid=rid, status=rec.status, start_utc=str(a.get("start_utc", "")),
            duration_s=duration if math.isfinite(duration) else 0.0, setup=setup,
            streams=_streams(rec), camera=camera, language=str(a.get("protocol_language", "en")),
            protocol_text=a.get("protocol") if isinstance(a.get("protocol"), str) else None,
            plan_data=json.loads(plan_text) if isinstance(plan_text, str) else None,
            run_id=a.get("protocol_run_id"), events=tuple(rec.events))


def session_recordings(path: Path | str) -> list[Earlier]:
    """The recordings to repeat: one file, or every finished one of a session folder in
    recording order, one per task/acq (a block recorded again, e.g. after an abort and a
    resume, counts once: its first recording holds the plan)."""
    path = Path(path)
    if path.is_file():
        return [read_earlier(path)]
    if not path.is_dir():
        raise EarlierError("earlier", f"{path} does not exist",
                           "give a recording (.h5) or a session folder (ses-XX)",
                           code=ErrorCode.NOT_FOUND)
    found = []
    for f in sorted(path.glob(f"*_recording{EXT}")):
        try:
            found.append(read_earlier(f))
        except (EarlierError, RecordingError):
            continue  # unfinished or foreign files are not templates
    if not found:
        raise EarlierError("earlier", f"no finished recording in {path}",
                           "give a recording or a session folder", code=ErrorCode.NOT_FOUND)
    found.sort(key=lambda e: (e.start_utc, e.name))
    seen: set[tuple[str, str | None]] = set()
    blocks = []
    for e in found:
        k = (e.rid.task, e.rid.acq)
        if k not in seen:
            seen.add(k)
            blocks.append(e)
    return blocks
