"""Find recordings in a study tree by BIDS entities, without opening any of them.

Two trees read alike: a mimicsync study (``sub-*/ses-*/…_recording.h5``) and a BIDS
export of one (``sub-*/ses-*/emg/…_emg.bdf`` with its sidecars, events and MP4;
:class:`~mimicsync.dataset.bids_recording.BidsRecording`). Selection works on file names
alone (:class:`~mimicsync.dataset.layout.RecordingId`), so listing a study of thousands
of recordings costs a directory walk; a file is opened only when asked
(:meth:`RecordingRef.open`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from mimicsync.dataset.layout import EXT, PART, SUFFIX, LabelError, RecordingId
from mimicsync.dataset.recording import Recording, RecordingError
from mimicsync.dataset.study_tree import read_tsv

Selector = str | int | Collection[str] | Collection[int] | None
BIDS_EMG = "sub-*/ses-*/emg/sub-*_emg.bdf"
_BIDS_NAME = re.compile(
    r"^sub-(?P<participant>[A-Za-z0-9]+)_ses-(?P<session>[A-Za-z0-9]+)_task-(?P<task>[A-Za-z0-9]+)"
    r"(?:_acq-(?P<acq>[A-Za-z0-9]+))?_run-(?P<run>\d+)_emg\.bdf$")


def recording_id(path: str | Path) -> RecordingId:
    """The entities of a recording file: a mimicsync ``…_recording.h5`` or an exported
    ``…_emg.bdf``.

    Raises
    ------
    LabelError
        The name is neither.
    """
    m = _BIDS_NAME.match(Path(path).name)
    if m is None:
        return RecordingId.from_path(path)
    d = m.groupdict()
    return RecordingId(d["participant"], d["session"], d["task"], int(d["run"]), d["acq"])


def study_root(path: str | Path) -> Path:
    """The root of the tree a recording file sits in (…/sub-x/ses-y[/emg]/file)."""
    p = Path(path).resolve()
    return p.parents[3] if p.suffix == ".bdf" else p.parents[2]


def open_recording(path: str | Path, **kw):
    """:class:`Recording` for a ``.h5`` file, :class:`BidsRecording` for an ``_emg.bdf``
    (``kw`` go to :class:`Recording`)."""
    if Path(path).suffix == ".bdf":
        from mimicsync.dataset.bids_recording import BidsRecording
        return BidsRecording(path)
    return Recording(path, **kw)


@dataclass(frozen=True)
class RecordingRef:
    """A recording in a study: its entities and its path (nothing opened)."""

    rid: RecordingId
    path: Path

    @property
    def finished(self) -> bool:
        return not self.path.name.endswith(PART)

    def open(self, **kw):
        """The open recording (:func:`open_recording`): use it as a context manager."""
        return open_recording(self.path, **kw)


def _matches(value: str | int | None, sel: Selector) -> bool:
    if sel is None:
        return True
    if isinstance(sel, (str, int)):
        sel = [sel]
    want = {str(s).removeprefix("sub-").removeprefix("ses-") for s in sel}
    if isinstance(value, int):
        return str(value) in want or f"{value:02d}" in want
    return (value or "") in want


class Study:
    """A study root (``sub-*/ses-*/…_recording.h5``) or a BIDS export of one
    (``sub-*/ses-*/emg/…_emg.bdf``): its participants table and recordings.

    Raises
    ------
    RecordingError
        ``root`` is not a folder, or is neither kind of tree.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise RecordingError("root", f"{self.root} is not a folder",
                                 "give the study root (the folder holding sub-*/)")
        self.kind = _kind(self.root)

    def __iter__(self) -> Iterator[RecordingRef]:
        return iter(self.recordings())

    @property
    def participants(self) -> list[dict[str, str]]:
        """Rows of the private ``participants.tsv`` (consent columns included)."""
        return read_tsv(self.root / "participants.tsv")

    def recordings(self, participant: Selector = None, session: Selector = None,
                   task: Selector = None, acq: Selector = None, run: Selector = None,
                   *, include_unfinished: bool = False) -> list[RecordingRef]:
        """Recordings whose entities match every given selector (a value or a collection
        of values; ``sub-``/``ses-`` prefixes are accepted), sorted by entities.

        Unfinished files (``.h5.part``, a crash not yet recovered) are left out unless
        ``include_unfinished``.
        """
        pattern = f"sub-*/ses-*/sub-*_{SUFFIX}{EXT}"
        if self.kind == "bids":
            paths = list(self.root.glob(BIDS_EMG))
        else:
            paths = list(self.root.glob(pattern))
            if include_unfinished:
                paths += self.root.glob(pattern + PART)
        out = []
        for p in paths:
            try:
                rid = recording_id(p)
            except LabelError:
                continue
            if (_matches(rid.participant, participant) and _matches(rid.session, session)
                    and _matches(rid.task, task) and _matches(rid.acq, acq)
                    and _matches(rid.run, run)):
                out.append(RecordingRef(rid, p))
        return sorted(out, key=lambda r: (r.rid.participant, r.rid.session, r.rid.task,
                                          r.rid.acq or "", r.rid.run, r.path.name))


def _kind(root: Path) -> str:
    """``"mimicsync"`` or ``"bids"``; a folder that is neither is refused."""
    pattern = f"sub-*/ses-*/sub-*_{SUFFIX}{EXT}"
    if next(root.glob(pattern), None) or next(root.glob(pattern + PART), None):
        return "mimicsync"
    if next(root.glob(BIDS_EMG), None):
        return "bids"
    if (root / "participants.tsv").exists() or (root / "dataset_description.json").exists():
        return "mimicsync"  # a study without recordings yet
    raise RecordingError("root", f"{root} is neither a mimicsync study nor a BIDS export "
                         "(no participants.tsv, sub-*/ses-*/*_recording.h5 or "
                         "sub-*/ses-*/emg/*_emg.bdf)", "give the folder that holds sub-*/")


def open_recordings(root: str | Path, **entities: Selector) -> list[RecordingRef]:
    """Shortcut: ``Study(root).recordings(**entities)``."""
    return Study(root).recordings(**entities)
