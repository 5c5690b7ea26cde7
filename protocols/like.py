"""Re-record from an earlier recording: ``--like`` (the next session) and ``--resume``.

``--like`` repeats an earlier recording, or every block of an earlier session folder, for
the same participant in a new session: the same protocol (its stored copy), the **same
plan** (seed and expanded trial order), the same stream selection, device settings and
electrode scheme. Seed policy: the study design asks that the second session "repeats
the first exactly", and the order of an emotion block is part of what is repeated
(order effects such as fatigue or habituation then match between sessions, and trials
pair one-to-one). ``new_seed=True`` draws a fresh order for designs that want one.

Before anything is recorded the new setup is compared with the earlier one; any
difference (a setting overridden on the command line, a required stream missing, a
different channel count, channel labels or electrode scheme) refuses the block with a
one-line message naming it, unless ``force`` (then the differences are stored with the
recording, root attribute ``like_differences``).

``--resume`` continues an aborted protocol recording in a new run: same plan, from the
next unfinished trial, linked both ways (root attributes ``resumes`` and
``protocol_previous_run_id``; ``previous_run_id`` on every event).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pylsl

from mimicsync.acquisition.inlet_worker import InletWorker
from mimicsync.acquisition.stream_select import StreamSelector, parse_selectors, select
from mimicsync.dataset.layout import RecordingId
from mimicsync.dataset.stream_meta import StreamMeta
from mimicsync.protocols.device_setup import DeviceMismatch, DeviceSetup, OpenDevices
from mimicsync.protocols.plan import Plan, plan_trials
from mimicsync.protocols.resume import resume_point_from_events
from mimicsync.protocols.schema import load_protocol
from mimicsync.protocols.stored import (
    Earlier,
    EarlierError,
    StreamFacts,
    read_earlier,
    session_recordings,
)
from mimicsync.protocols.visit import PreparedBlock

SIMULATED_EMG = StreamSelector("type", "EMG")  # the in-process amplifier's role
PROBE_WAIT_S = 5.0


def _matches(selector: StreamSelector, stream: StreamFacts | StreamMeta) -> bool:
    return getattr(stream, selector.field) == selector.value


def probe_streams(selectors: Sequence[StreamSelector], required: Sequence[StreamSelector],
                  wait: float = PROBE_WAIT_S) -> list[StreamMeta]:
    """The full descriptions (channel tables) of the streams ``selectors`` find now."""
    deadline = time.monotonic() + wait
    while True:
        infos = select(list(pylsl.resolve_streams(wait_time=0.5)), list(selectors))
        found_all = all(any(r.matches(i) for i in infos) for r in required)
        if found_all or time.monotonic() >= deadline:
            break
    metas = []
    for info in infos:
        try:
            inlet, full = InletWorker.open_inlet(info, timeout=2.0)
        except Exception:  # noqa: BLE001 - a stream that does not open counts as missing
            continue
        metas.append(StreamMeta.from_info(full))
        inlet.close_stream()
    return metas


def stream_differences(earlier: Earlier, setup: DeviceSetup, live: Sequence[StreamMeta]) -> list[str]:
    """What differs between the streams recorded before and those on the network now."""
    wanted = [(s, True) for s in parse_selectors(list(setup.require))]
    wanted += [(s, False) for s in parse_selectors(list(setup.streams))]
    if setup.simulate:
        wanted.append((SIMULATED_EMG, True))
    diffs: list[str] = []
    for selector, required in wanted:
        before = [f for f in earlier.streams if _matches(selector, f)]
        if not before:
            continue  # nothing was recorded for it before: nothing to compare
        now = [m for m in live if _matches(selector, m)]
        b = before[0]
        if not now:
            if required:
                diffs.append(f"required stream {selector} missing (was '{b.name}')")
            continue
        n = now[0]
        labels = tuple(c.label for c in n.channels)
        schemes = tuple(c.scheme for c in n.channels)
        if n.channel_count != b.channel_count:
            diffs.append(f"stream {selector} has {n.channel_count} channels (was {b.channel_count})")
        elif labels != b.labels:
            i = next(i for i, (x, y) in enumerate(zip(labels, b.labels)) if x != y)
            diffs.append(f"stream {selector} channel {i + 1} label '{labels[i]}' (was '{b.labels[i]}': "
                         "another electrode scheme?)")
        elif schemes != b.schemes:
            i = next(i for i, (x, y) in enumerate(zip(schemes, b.schemes)) if x != y)
            diffs.append(f"stream {selector} channel {i + 1} ({labels[i]}) scheme "
                         f"'{schemes[i] or 'none'}' (was '{b.schemes[i] or 'none'}')")
    return diffs


def setup_differences(earlier: Earlier, setup: DeviceSetup) -> list[str]:
    """Settings that differ from the earlier setup, and the video it actually recorded."""
    diffs = earlier.setup.differences(setup)
    if diffs or setup.camera == "none":
        return diffs
    if earlier.camera is None:
        return [f"camera {setup.camera} (no video was recorded)"]
    w, h, fps = earlier.camera
    if (setup.width, setup.height) != (w, h):
        return [f"camera resolution {setup.width}x{setup.height} (was {w}x{h})"]
    if abs(setup.fps - fps) > 1e-6:
        return [f"camera fps {setup.fps:g} (was {fps:g})"]
    return []


def _check(earlier: Earlier) -> Any:
    def check(devices: OpenDevices) -> list[str]:
        live = probe_streams(devices.streams + devices.require, devices.require)
        return stream_differences(earlier, devices.setup, live)
    return check


FORCE = (("force", ""),)  # the setting that records despite a difference


def _refuse(field: str, earlier: Earlier, diffs: list[str], how: str) -> None:
    raise DeviceMismatch(field, f"{earlier.name} was recorded differently: {', '.join(diffs)}",
                         how, options=FORCE)


def like_blocks(path: str, session: str, *, participant: str | None = None,
                overrides: Mapping[str, Any] | None = None, new_seed: bool = False,
                force: bool = False, duration: float | None = None) -> list[PreparedBlock]:
    """The blocks that repeat ``path`` (a recording or a session folder) in ``session``."""
    earliers = session_recordings(path)
    first = earliers[0]
    who = participant or first.rid.participant
    if who == first.rid.participant and session == first.rid.session:
        nxt = _next_label(session)
        raise EarlierError("session", f"{session} is the session of {first.name}; a repeat is "
                           "recorded in the next session", f"choose the next session, e.g. {nxt}",
                           options=(("session", nxt),))
    blocks = []
    for e in earliers:
        setup = e.setup.replace(**dict(overrides or {}))
        diffs = setup_differences(e, setup)
        if diffs and not force:
            _refuse("earlier", e, diffs,
                    "drop the overriding option to reuse the earlier setting, or force it")
        plan = None
        if e.protocol_text is not None:
            protocol = e.protocol()
            plan = plan_trials(protocol, None) if new_seed else e.plan(protocol)
        limit = duration if duration is not None else (None if plan is not None else round(e.duration_s, 1) or None)
        attrs = {"like": e.name, **({"like_run_id": e.run_id} if e.run_id else {})}
        if diffs:
            attrs["like_differences"] = json.dumps(diffs)
        blocks.append(PreparedBlock(who, session, e.rid.task, e.rid.acq, setup, plan, limit,
                                    language=e.language, attrs=attrs, check=_check(e), force=force))
    return blocks


def resume_block(path: str, *, overrides: Mapping[str, Any] | None = None, force: bool = False,
                 duration: float | None = None) -> PreparedBlock:
    """The block that continues the aborted protocol recording ``path`` in a new run."""
    e = read_earlier(path)
    protocol = e.protocol()
    plan = e.plan(protocol)
    try:
        point = resume_point_from_events(e.events)
    except ValueError as err:
        raise EarlierError("resume", f"{e.name}: {err}",
                           "choose an aborted protocol recording") from None
    if point.next_index >= len(plan.trials):
        raise EarlierError("resume", f"{e.name}: all {len(plan.trials)} trials were completed; "
                           "nothing to resume", "record the block again from the earlier recording "
                           "or the protocol", options=(("earlier", ""), ("protocol", "")))
    setup = e.setup.replace(**dict(overrides or {}))
    diffs = setup_differences(e, setup)
    if diffs and not force:
        _refuse("resume", e, diffs, "drop the overriding option, or force it")
    attrs = {"resumes": e.name, **({"like_differences": json.dumps(diffs)} if diffs else {})}
    return PreparedBlock(e.rid.participant, e.rid.session, e.rid.task, e.rid.acq, setup, plan, duration,
                         resume_from=point, language=e.language, attrs=attrs,
                         check=_check(e), force=force)


def _next_label(label: str) -> str:
    if label.isdigit():
        return str(int(label) + 1).zfill(len(label))
    return label + "2"


@dataclass(frozen=True)
class EarlierPlan:
    """The plan a returning participant ran before, for the same task and acquisition."""

    earlier: Earlier
    plan: Plan

    def describe(self) -> str:
        e = self.earlier
        return (f"ses-{e.rid.session}: {self.plan.protocol.name}, seed {self.plan.seed}, "
                f"{len(self.plan.trials)} trials ({e.name})")


def find_earlier_plan(root: Path, rid: RecordingId) -> EarlierPlan | None:
    """The newest earlier session's protocol recording of ``rid``'s task/acq (file system)."""
    sub = Path(root) / f"sub-{rid.participant}"
    for ses in sorted((p for p in sub.glob("ses-*") if p.is_dir()), reverse=True):
        if ses.name == f"ses-{rid.session}":
            continue
        try:
            found = session_recordings(ses)
        except EarlierError:
            continue
        for e in found:
            if (e.rid.task, e.rid.acq) == (rid.task, rid.acq) and e.protocol_text is not None:
                try:
                    return EarlierPlan(e, e.plan(e.protocol()))
                except EarlierError:
                    continue
    return None


def protocol_block(root: Path, rid: RecordingId, setup: DeviceSetup, protocol: str | None,
                   seed: int | None = None, language: str = "en", *,
                   repeat_earlier: bool = True) -> tuple[PreparedBlock, EarlierPlan | None]:
    """The block the operator app records for ``rid``: a returning participant repeats the
    plan (seed, order, language) of the same task in the newest earlier session, as
    :func:`like_blocks` does, with setting differences stored and reported, not refused.

    Returns the block and the earlier plan it repeats (None for a fresh plan).
    """
    plan, earlier, attrs = None, None, {}
    if protocol:
        earlier = find_earlier_plan(root, rid) if repeat_earlier else None
        if earlier is not None and earlier.plan.protocol.name == protocol:
            plan, language = earlier.plan, earlier.earlier.language
            attrs = {"like": earlier.earlier.name,
                     **({"like_run_id": earlier.earlier.run_id} if earlier.earlier.run_id else {})}
            diffs = earlier.earlier.setup.differences(setup)
            if diffs:
                attrs["like_differences"] = json.dumps(diffs)
        else:
            earlier = None
            plan = plan_trials(load_protocol(protocol, study_root=root), seed)
    block = PreparedBlock(rid.participant, rid.session, rid.task, rid.acq, setup, plan,
                          language=language, attrs=attrs, force=True, run=rid.run)
    return block, earlier
