"""Record blocks: one recording per block, on its devices, guided by its protocol.

A :class:`PreparedBlock` is everything one recording needs, decided before any device is
touched: who and what (BIDS entities), the device setup, the plan (seed and order, or
the stored plan for ``--like``/``--resume``), links to earlier recordings, and a check
that refuses when the live devices differ from an earlier session. Blocks come from a
plan file (:func:`prepare_visit`), from ``--like``/``--resume``
(:mod:`mimicsync.protocols.like`) or from plain command-line flags. :func:`record_block`
records one; :func:`record_visit` records them in order with an operator pause between.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ContextManager, TextIO

import pylsl

from mimicsync.acquisition.recorder_setup import GiB, RecorderConfig, RecorderStatus
from mimicsync.acquisition.simulators.scenario import demo_scenario
from mimicsync.dataset.layout import RecordingId, check_label, next_free_run
from mimicsync.errors import check_duration, check_number
from mimicsync.format import DepthMode
from mimicsync.protocols.console import ConsolePresenter
from mimicsync.protocols.device_setup import DeviceMismatch, DeviceSetup, OpenDevices, open_devices
from mimicsync.protocols.listeners import RunListener
from mimicsync.protocols.markers import MARKER_STREAM_NAME
from mimicsync.protocols.plan import Plan, plan_trials
from mimicsync.protocols.protocol_recording import ProtocolRecording, ProtocolRecordingResult
from mimicsync.protocols.resume import ResumePoint
from mimicsync.protocols.schema import load_protocol
from mimicsync.protocols.visit_plan import VisitPlan, dumps_visit_plan


@dataclass(frozen=True)
class PreparedBlock:
    """One recording, fully decided; ``run`` None takes the next free run at start."""

    participant: str
    session: str
    task: str
    acq: str | None
    setup: DeviceSetup
    plan: Plan | None = None  # None: a plain recording
    duration: float | None = None  # plain: its length (None: until stopped); protocol: a limit
    resume_from: ResumePoint | None = None
    language: str = "en"
    attrs: Mapping[str, Any] = field(default_factory=dict)  # links: like, resumes, visit_plan ...
    check: Callable[[OpenDevices], list[str]] | None = None  # live-device differences (``--like``)
    force: bool = False  # record despite differences (they are stored and printed)
    run: int | None = None

    def __post_init__(self) -> None:
        for name in ("participant", "session", "task"):
            check_label(name, getattr(self, name))
        check_label("acq", self.acq, optional=True)
        if self.duration is not None:
            check_duration(self.duration)
        if self.run is not None:
            check_number("run", self.run, minimum=1, maximum=9999, integer=True)

    @property
    def label(self) -> str:
        return self.task + (f"/{self.acq}" if self.acq else "")

    def recording_id(self, root: Path) -> RecordingId:
        base = RecordingId(self.participant, self.session, self.task, 1, self.acq)
        return base.with_run(self.run if self.run is not None else next_free_run(root, base))

    def describe(self) -> str:
        """One line for the operator: block, protocol, trials, planned length."""
        if self.plan is None:
            what = f"plain recording, {format_length(self.duration)}" if self.duration else "plain recording"
        else:
            start = self.resume_from.next_index if self.resume_from else 0
            left = self.plan.trials[start:]
            planned = 2 * self.plan.protocol.tap_block.total + sum(t.planned_duration for t in left)
            what = (f"protocol {self.plan.protocol.name}, seed {self.plan.seed}, {len(left)} trials"
                    + (f" from trial {start + 1}" if start else "") + f", ~{format_length(planned)}")
        return f"{self.label}: {what}"


def format_length(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


@dataclass
class RecordOptions:
    """How blocks are recorded (the same for every block of a visit)."""

    operator: str = ""
    bell: bool = False
    min_free_bytes: int = GiB
    resolve_wait: float = 5.0
    console: TextIO | None = field(default_factory=lambda: sys.stdout)  # None: no console cues
    listeners: Sequence[RunListener] = ()  # e.g. the GUI's cue display
    marker_name: str = MARKER_STREAM_NAME
    tail_s: float = 0.5
    on_status: Callable[[RecorderStatus], None] | None = None
    on_started: Callable[[ProtocolRecording], None] | None = None  # recording, before the first cue
    # e.g. keyboard controls and signal handlers, active while the block records
    controls: Callable[[ProtocolRecording], ContextManager[Any]] | None = None
    on_note: Callable[[str], None] = lambda text: print(f"note: {text}", file=sys.stderr)
    app: str = "mimicsync record"  # which front end recorded it (provenance settings)


def prepare_visit(plan: VisitPlan, participant: str, session: str,
                  study_root: Path | str | None = None, duration: float | None = None) -> list[PreparedBlock]:
    """The blocks of a plan file, each protocol loaded and planned (fresh seed unless fixed).

    Everything is validated here, so a typo in the last block fails before the first records.
    """
    text = dumps_visit_plan(plan)
    study_root = study_root if study_root is not None else plan.study_root
    blocks = []
    for i, b in enumerate(plan.blocks):
        run_plan = None
        if b.protocol is not None:
            run_plan = plan_trials(load_protocol(b.protocol, study_root=study_root), b.seed)
        limit = b.duration if duration is None else (min(duration, b.duration) if b.duration else duration)
        blocks.append(PreparedBlock(
            participant, session, b.task, b.acq, plan.block_setup(b), run_plan, limit,
            language=plan.language, attrs={"visit_plan": text, "visit_block": i + 1}))
    return blocks


def block_recording(root: Path, block: PreparedBlock, devices: OpenDevices,
                    options: RecordOptions | None = None) -> ProtocolRecording:
    """The recording of one block on running ``devices``: checked, configured, not started.

    The one place that decides what a recording stores besides its streams (root
    attributes: setup, links to earlier recordings, their differences, the protocol
    language; provenance settings) and which listeners follow its protocol. The command
    line (:func:`record_block`) and the operator app both build their recordings here.

    Parameters
    ----------
    root : Path
        The study root.
    block : PreparedBlock
        Who, what, the device setup and the plan.
    devices : OpenDevices
        The live devices (opened by :func:`record_block`, or kept running by the app).
    options : RecordOptions, optional
        How to record (listeners, console cues, callbacks).

    Returns
    -------
    ProtocolRecording
        Call ``start()``, ``wait()`` and ``stop()`` on it.

    Raises
    ------
    DeviceMismatch
        The live devices differ from the earlier recording and ``block.force`` is not set.
    """
    options = options or RecordOptions()
    root = Path(root)
    attrs: dict[str, Any] = {**block.attrs, "setup": block.setup.to_attr()}
    earlier = attrs.get("like") or attrs.get("resumes") or "the earlier recording"
    diffs = block.check(devices) if block.check is not None else []
    if diffs and not block.force:
        raise DeviceMismatch("devices", f"{earlier} was recorded differently: {', '.join(diffs)}",
                             "connect the same devices, or force it to record anyway",
                             options=(("force", ""),))
    known = json.loads(attrs.get("like_differences", "[]"))
    for d in known + diffs:
        options.on_note(f"recording despite a difference from {earlier}: {d}")
    if known or diffs:
        attrs["like_differences"] = json.dumps(known + diffs)
    listeners: list[RunListener] = list(devices.listeners())
    if block.plan is not None:
        attrs["protocol_language"] = block.language
        if options.console is not None:
            listeners.append(ConsolePresenter(block.plan.protocol, block.language, options.bell,
                                              options.console))
    listeners += list(options.listeners)
    config = RecorderConfig(
        root=root, rid=block.recording_id(root), streams=devices.streams,
        require=devices.require, camera=devices.camera, camera_streamer=devices.camera_streamer,
        operator=options.operator, resolve_wait=options.resolve_wait,
        color_encoding=block.setup.color_encoding, jpeg_quality=block.setup.jpeg_quality,
        depth_max_m=DepthMode.parse(block.setup.depth).max_m,
        min_free_bytes=options.min_free_bytes,
        settings={"app": options.app, **devices.settings()}, attrs=attrs)
    return ProtocolRecording(
        config, block.plan, resume_from=block.resume_from, listeners=listeners,
        max_duration=block.duration, marker_name=options.marker_name, tail_s=options.tail_s,
        on_status=options.on_status, on_ready=options.on_started)


def record_block(root: Path, block: PreparedBlock, options: RecordOptions | None = None) -> ProtocolRecordingResult:
    """Open the block's devices, check them, record, and close them again."""
    options = options or RecordOptions()
    # Without a protocol, simulated devices act out the demo script (movements, taps, triggers).
    script = None if block.plan is not None else demo_scenario(pylsl.local_clock() + 1.0, block.duration or 60.0)
    devices = open_devices(block.setup, script=script)
    devices.start()
    try:
        session = block_recording(root, block, devices, options)
        session.start()
        try:
            with (options.controls(session) if options.controls else contextlib.nullcontext()):
                session.wait()
        finally:
            result = session.stop()
        return result
    finally:
        devices.stop()


def record_visit(root: Path, blocks: Sequence[PreparedBlock], options: RecordOptions | None = None,
                 between: Callable[[int, PreparedBlock], bool] | None = None,
                 on_result: Callable[[PreparedBlock, ProtocolRecordingResult], None] | None = None) -> list[ProtocolRecordingResult]:
    """Record ``blocks`` in order; ``between(i, next_block)`` returning False ends the visit.

    A block stopped from outside the protocol (signal, GUI stop, full disk) ends the visit too.
    """
    results = []
    for i, block in enumerate(blocks):
        if i > 0 and between is not None and not between(i, block):
            break
        result = record_block(root, block, options)
        results.append(result)
        if on_result is not None:
            on_result(block, result)
        if result.interrupted:
            break
    return results
