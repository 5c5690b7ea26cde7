"""A session plan recorded on devices that are already running (the operator app's).

``mimicsync record --plan`` opens each block's devices itself. The operator app keeps
its devices running (the preview camera, the simulated lab) and records every block of
the plan on them, so the rule is: **the running devices are used for every block**, and
a block whose devices differ from them is refused before the first block records, with
one line naming the block and the difference. Compared: the camera (kind, width, height,
frame rate, depth; only when either side has one) and whether the lab is simulated. The
streams selected for recording are the app's; a stream a block requires must be among
them. How frames are stored (colour encoding, JPEG quality) stays the plan's. The setup
stored with each recording is what really ran.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pylsl

from mimicsync.acquisition.stream_select import missing, parse_selectors
from mimicsync.protocols.device_setup import DeviceMismatch, DeviceSetup, show_setting
from mimicsync.protocols.visit import PreparedBlock, prepare_visit
from mimicsync.protocols.visit_plan import VisitPlan

# device fields a block must share with the running devices
RUNNING_FIELDS = ("camera", "width", "height", "fps", "depth", "simulate", "sim_clock")
# fields the running devices decide for every block (the app's selection of streams too)
TAKEN_FIELDS = RUNNING_FIELDS + ("streams", "require")


def running_differences(planned: DeviceSetup, running: DeviceSetup) -> list[str]:
    """Where ``planned`` (a block's setup) asks for other devices than ``running``.

    Returns
    -------
    list of str
        One phrase per field, e.g. ``"camera width 1280 in the plan, 320 running"``.
    """
    return [f"{label} {show_setting(a)} in the plan, {show_setting(b)} running"
            for label, a, b in planned.changes(running, RUNNING_FIELDS)]


def visit_on_devices(plan: VisitPlan, participant: str, session: str, running: DeviceSetup,
                     selected: Sequence[pylsl.StreamInfo],
                     study_root: Path | str | None = None) -> list[PreparedBlock]:
    """The blocks of ``plan`` (:func:`~mimicsync.protocols.visit.prepare_visit`), each to
    be recorded on the running devices.

    Parameters
    ----------
    plan : VisitPlan
        The session plan.
    participant, session : str
        The visit's BIDS labels.
    running : DeviceSetup
        The running devices and the streams selected for recording.
    selected : sequence of pylsl.StreamInfo
        The streams selected for recording (a block's required streams must be among them).
    study_root : Path or str, optional
        Whose ``protocols/`` the plan names.

    Returns
    -------
    list of PreparedBlock
        Every block with the running devices in its setup (the rest is the plan's).

    Raises
    ------
    DeviceMismatch
        A block's devices differ from the running ones, or it requires a stream that is
        not selected; the message names the block and the first difference.
    """
    blocks = prepare_visit(plan, participant, session, study_root)
    where = plan.source.name if plan.source is not None else plan.name
    taken = {n: getattr(running, n) for n in TAKEN_FIELDS}
    out = []
    for i, block in enumerate(blocks, start=1):
        what = f"{where}: block {i} ({block.label})"
        diffs = running_differences(block.setup, running)
        if diffs:
            raise DeviceMismatch("plan", f"{what}: {'; '.join(diffs)}",
                                 "start the devices the plan names, or change the plan's "
                                 "[devices]")
        absent = missing(list(selected), parse_selectors(list(block.setup.require)))
        if absent:
            raise DeviceMismatch("plan", f"{what} requires a stream {absent[0]} that is not "
                                 "selected for recording",
                                 "select it, or change the plan's [devices]",
                                 options=(("stream", ""),))
        out.append(dataclasses.replace(block, setup=block.setup.replace(**taken)))
    return out
