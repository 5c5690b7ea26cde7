"""What the operator filled in on the setup screen, and its validation.

Kept free of Qt so the rules are testable and identical to the CLI's: labels go through
:func:`mimicsync.dataset.layout.check_label`, the same check ``mimicsync record`` makes,
and every message names the field and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mimicsync.acquisition.camera import CameraStreamer
from mimicsync.acquisition.stream_select import StreamSelector
from mimicsync.dataset.layout import LabelError, RecordingId, check_label
from mimicsync.format import DEFAULT_DEPTH, DEFAULT_JPEG_QUALITY
from mimicsync.protocols.device_setup import DeviceSetup

LABEL_FIELDS = ("participant", "session", "task", "acq")
PLAN_FIELDS = ("task", "acq", "run", "protocol", "seed")  # decided by a session plan's blocks


@dataclass
class SessionForm:
    root: str = ""
    operator: str = ""
    participant: str = ""
    session: str = ""
    task: str = ""
    acq: str = ""
    run: int = 1
    protocol: str = ""  # "" = no protocol
    language: str = "en"
    seed: str = ""  # "" = a fresh seed
    consent_data: bool = False
    consent_video: bool = False
    camera: str = "none"  # realsense | sim | none
    simulated_lab: bool = False
    plan: str = ""  # a session plan file: its blocks decide task, acq, protocol and seed
    extra: dict = field(default_factory=dict)

    @property
    def root_path(self) -> Path:
        return Path(self.root).expanduser()

    def recording_id(self) -> RecordingId:
        """The RecordingId; raises LabelError like the CLI on bad input."""
        return RecordingId(self.participant, self.session, self.task, self.run, self.acq or None)

    def seed_value(self) -> int | None:
        return int(self.seed) if self.seed.strip() else None


def validate(form: SessionForm) -> dict[str, str]:
    """Field name -> one-line message, for every field that stops a recording from starting."""
    errors: dict[str, str] = {}
    if not form.root.strip():
        errors["root"] = "study root: choose the folder that holds the study (it is created if new)"
    else:
        p = form.root_path
        probe = next((q for q in [p, *p.parents] if q.exists()), None)
        if probe is not None and not probe.is_dir():
            errors["root"] = f"study root: {probe} is a file, not a folder; choose a folder"
    for name in LABEL_FIELDS:
        if form.plan and name in PLAN_FIELDS:
            continue
        try:
            check_label(name, getattr(form, name).strip() or None, optional=name == "acq")
        except LabelError as e:
            errors[name] = str(e)
    if form.run < 1:
        errors["run"] = "run: must be a whole number >= 1"
    if form.seed.strip() and not form.plan and not re.fullmatch(r"\d{1,10}", form.seed.strip()):
        errors["seed"] = "seed: a whole number >= 0, or empty for a fresh one"
    if form.language not in ("en", "de"):
        errors["language"] = "language: en or de"
    return errors


def task_from_protocol(name: str) -> str:
    """A BIDS task label for a protocol name (``emotions-reference`` -> ``emotionsreference``)."""
    return re.sub(r"[^A-Za-z0-9]", "", name)


def device_setup(form: "SessionForm", streams: list[StreamSelector], require: list[StreamSelector],
                 streamer: CameraStreamer | None, lab_emg_source_id: str | None,
                 depth: str = DEFAULT_DEPTH,
                 jpeg_quality: int = DEFAULT_JPEG_QUALITY) -> DeviceSetup:
    """The recording's devices as ``protocols.device_setup`` stores them.

    With the simulated lab the amplifier is not a selector (its name is per app run);
    ``simulate`` stands for it, as when the CLI opens the lab itself.
    """
    def keep(sel: StreamSelector) -> bool:
        return not (lab_emg_source_id and sel == StreamSelector("source_id", lab_emg_source_id))

    info = streamer.info if streamer is not None else None
    return DeviceSetup(
        streams=tuple(str(s) for s in streams if keep(s)),
        require=tuple(str(s) for s in require if keep(s)),
        camera=form.camera if info is not None else "none",
        width=info.width if info is not None else 1280,
        height=info.height if info is not None else 720,
        fps=int(round(info.fps)) if info is not None else 30,
        depth=depth, jpeg_quality=jpeg_quality,
        simulate=lab_emg_source_id is not None)


def app_devices(setup: DeviceSetup) -> dict[str, object]:
    """The settings the app decides (its streams and camera), as overrides of a stored
    setup: resuming a run compares them with the earlier recording's."""
    return {n: getattr(setup, n) for n in ("streams", "require", "camera", "width", "height",
                                           "fps", "depth", "jpeg_quality", "simulate")}
