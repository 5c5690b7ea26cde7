"""Find recordings in a study tree by BIDS entities, without opening any of them.

Selection works on file names alone (:class:`~mimicsync.dataset.layout.RecordingId`), so
listing a study of thousands of recordings costs a directory walk; a file is opened only
when asked (:meth:`RecordingRef.open`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from mimicsync.dataset.layout import EXT, PART, SUFFIX, LabelError, RecordingId
from mimicsync.dataset.recording import Recording, RecordingError
from mimicsync.dataset.study_tree import read_tsv

Selector = str | int | Collection[str] | Collection[int] | None


@dataclass(frozen=True)
class RecordingRef:
    """A recording in a study: its entities and its path (nothing opened)."""

    rid: RecordingId
    path: Path

    @property
    def finished(self) -> bool:
        return not self.path.name.endswith(PART)

    def open(self, **kw) -> Recording:
        return Recording(self.path, **kw)


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
    """A study root (``sub-*/ses-*/…_recording.h5``), its participants table and recordings."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise RecordingError(f"--root: {self.root} is not a folder; give the study root "
                                 "(the folder holding sub-*/)")

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
        paths = list(self.root.glob(pattern))
        if include_unfinished:
            paths += self.root.glob(pattern + PART)
        out = []
        for p in paths:
            try:
                rid = RecordingId.from_path(p)
            except LabelError:
                continue
            if (_matches(rid.participant, participant) and _matches(rid.session, session)
                    and _matches(rid.task, task) and _matches(rid.acq, acq)
                    and _matches(rid.run, run)):
                out.append(RecordingRef(rid, p))
        return sorted(out, key=lambda r: (r.rid.participant, r.rid.session, r.rid.task,
                                          r.rid.acq or "", r.rid.run, r.path.name))


def open_recordings(root: str | Path, **entities: Selector) -> list[RecordingRef]:
    """Shortcut: ``Study(root).recordings(**entities)``."""
    return Study(root).recordings(**entities)
