"""Turn the operator's setup into what the shared recording glue takes.

The GUI records through :class:`mimicsync.protocols.protocol_recording.ProtocolRecording`, the glue the
CLI's ``record`` uses, and stores the same root attributes as ``protocols.visit``: the
device setup (``setup``), the protocol language, and for a returning participant the
link to the earlier recording whose plan is repeated (``like``, ``like_run_id``), so a
later ``mimicsync record --like`` works on GUI recordings too. The difference from the
CLI is only where the devices come from: the app keeps its camera and simulated lab
running between recordings (for the preview), so they are handed in, not opened here.
No Qt here: it runs in a worker thread and in tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mimicsync.acquisition.camera import CameraStreamer
from mimicsync.acquisition.recorder import RecorderConfig
from mimicsync.acquisition.stream_select import StreamSelector
from mimicsync.dataset.layout import RecordingId
from mimicsync.gui.session_form import SessionForm
from mimicsync.protocols import load_protocol, plan_trials
from mimicsync.protocols.device_setup import DeviceSetup
from mimicsync.protocols.plan import Plan
from mimicsync.protocols.stored import Earlier, EarlierError, session_recordings


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


@dataclass
class SessionSpec:
    """Everything one GUI recording needs besides its devices' live objects."""

    config: RecorderConfig
    plan: Plan | None
    language: str
    earlier: EarlierPlan | None = None
    notes: list[str] = field(default_factory=list)  # e.g. setting differences from the earlier session


def device_setup(form: SessionForm, streams: list[StreamSelector], require: list[StreamSelector],
                 streamer: CameraStreamer | None, lab_emg_source_id: str | None) -> DeviceSetup:
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
        simulate=lab_emg_source_id is not None)


def build_session(form: SessionForm, streams: list[StreamSelector], require: list[StreamSelector],
                  streamer: CameraStreamer | None, lab_emg_source_id: str | None,
                  repeat_earlier: bool = True) -> SessionSpec:
    """Config and plan of one recording (reads protocol files and the earlier session)."""
    rid = form.recording_id()
    setup = device_setup(form, streams, require, streamer, lab_emg_source_id)
    attrs: dict[str, Any] = {"setup": setup.to_attr()}
    plan, earlier, language, notes = None, None, form.language, []
    if form.protocol:
        earlier = find_earlier_plan(form.root_path, rid) if repeat_earlier else None
        if earlier is not None and earlier.plan.protocol.name == form.protocol:
            plan, language = earlier.plan, earlier.earlier.language
            attrs["like"] = earlier.earlier.name
            if earlier.earlier.run_id:
                attrs["like_run_id"] = earlier.earlier.run_id
            notes = earlier.earlier.setup.differences(setup)
            if notes:
                attrs["like_differences"] = json.dumps(notes)
        else:
            earlier = None
            plan = plan_trials(load_protocol(form.protocol, study_root=form.root_path),
                               form.seed_value())
        attrs["protocol_language"] = language
    settings: dict[str, Any] = {"app": "mimicsync gui", "camera": setup.camera,
                                "width": setup.width, "height": setup.height, "fps": setup.fps}
    if lab_emg_source_id is not None:
        settings["simulation"] = "simulated lab in the app, following the protocol"
    config = RecorderConfig(
        root=form.root_path, rid=rid, streams=list(streams), require=list(require),
        camera_streamer=streamer, operator=form.operator, resolve_wait=5.0,
        color_encoding=setup.color_encoding, jpeg_quality=setup.jpeg_quality,
        settings=settings, attrs=attrs)
    return SessionSpec(config, plan, language, earlier, notes)
