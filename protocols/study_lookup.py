"""What a study already holds for a recording's labels: the next free run, the
participant's earlier sessions and consent row, and the plan of the same block in an
earlier session.

The operator app looks this up whenever the labels change (off its UI thread: it reads
the file system); the rules are the CLI's (:func:`~mimicsync.dataset.layout.next_free_run`,
:func:`~mimicsync.protocols.like.find_earlier_plan`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mimicsync.dataset.layout import RecordingId, next_free_run
from mimicsync.dataset.study_tree import read_participant
from mimicsync.protocols.like import EarlierPlan, find_earlier_plan


@dataclass(frozen=True)
class LabelLookup:
    """The study's answer for one set of labels."""

    next_run: int  # the next free run for these labels
    taken: bool  # the chosen run exists (complete or unfinished)
    sessions: tuple[str, ...]  # the participant's session labels in the study
    participant_row: dict | None  # their participants.tsv row, if any
    earlier: EarlierPlan | None  # the plan of the same task/acq in an earlier session


def look_up_labels(root: Path, rid: RecordingId) -> LabelLookup:
    """Look ``rid`` up in the study at ``root`` (file system: call off a UI thread).

    Parameters
    ----------
    root : Path
        The study root.
    rid : RecordingId
        The labels and run the operator chose.

    Returns
    -------
    LabelLookup
    """
    sub = Path(root) / f"sub-{rid.participant}"
    sessions = sorted(p.name[4:] for p in sub.glob("ses-*") if p.is_dir()) if sub.is_dir() else []
    taken = rid.path(root).exists() or rid.part_path(root).exists()
    return LabelLookup(next_free_run(root, rid), taken, tuple(sessions),
                       read_participant(root, rid.participant), find_earlier_plan(root, rid))
