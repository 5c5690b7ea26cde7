"""Keep the study root's BIDS bookkeeping files up to date.

``dataset_description.json``, ``participants.tsv``, ``sub-X/sub-X_sessions.tsv`` and
``sub-X/ses-Y/sub-X_ses-Y_scans.tsv``. The GUI and several CLI runs may touch them at
once, so every update takes an exclusive lock on ``<root>/.mimicsync.lock`` and replaces
the file atomically (write a temporary file, then rename).
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from mimicsync import __version__
from mimicsync.dataset.layout import RecordingId
from mimicsync.errors import MimicsyncError


class StudyFileError(MimicsyncError, ValueError):
    """A study table (participants.tsv, scans.tsv) cannot be read as it is."""

BIDS_VERSION = "1.11.0"


@contextmanager
def study_lock(root: Path):
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".mimicsync.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old or the new file, never half."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_tsv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh, delimiter="\t"))
    except UnicodeDecodeError as e:
        raise StudyFileError("file", f"{path} is not UTF-8 text (byte {e.object[e.start]:#04x} "
                             f"at position {e.start})", "save it as UTF-8 (tab-separated)") from None


def upsert_tsv(path: Path, key: str, row: dict[str, str]) -> None:
    """Insert or update the row whose ``key`` column equals ``row[key]``; keep other columns."""
    rows = read_tsv(path)
    columns: list[str] = list(rows[0].keys()) if rows else [key]
    for c in row:
        if c not in columns:
            columns.append(c)
    for r in rows:
        if r.get(key) == row[key]:
            r.update({k: str(v) for k, v in row.items()})
            break
    else:
        rows.append({k: str(v) for k, v in row.items()})
    lines = ["\t".join(columns)]
    lines += ["\t".join(r.get(c, "n/a") or "n/a" for c in columns) for r in rows]
    atomic_write_text(path, "\n".join(lines) + "\n")


def ensure_dataset_description(root: Path, name: str = "mimicsync study") -> None:
    path = root / "dataset_description.json"
    if path.exists():
        return
    desc = {
        "Name": name, "BIDSVersion": BIDS_VERSION, "DatasetType": "raw",
        "GeneratedBy": [{"Name": "mimicsync", "Version": __version__}],
    }
    atomic_write_text(path, json.dumps(desc, indent=2) + "\n")


def register_recording(root: Path, rid: RecordingId, acq_time: str, status: str) -> None:
    """Record a finished (or recovered) recording in the tree's TSV files."""
    root = Path(root)
    with study_lock(root):
        ensure_dataset_description(root)
        upsert_tsv(root / "participants.tsv", "participant_id",
                   {"participant_id": f"sub-{rid.participant}"})
        sub = root / f"sub-{rid.participant}"
        sessions = read_tsv(sub / f"sub-{rid.participant}_sessions.tsv")
        first = next((r for r in sessions if r.get("session_id") == f"ses-{rid.session}"), None)
        upsert_tsv(sub / f"sub-{rid.participant}_sessions.tsv", "session_id",
                   {"session_id": f"ses-{rid.session}",
                    "acq_time": (first or {}).get("acq_time") or acq_time})
        upsert_tsv(rid.session_dir(root) / f"sub-{rid.participant}_ses-{rid.session}_scans.tsv",
                   "filename", {"filename": rid.path(root).name, "acq_time": acq_time,
                                "status": status})


# -- participant attributes (consent) ----------------------------------------------------
#: Consent columns of participants.tsv ("yes"/"no"); export publishes only what they allow.
CONSENT_COLUMNS: dict[str, str] = {
    "consent_data_public": "The participant consented to publishing their de-identified "
                           "data (sEMG, events) in a public dataset.",
    "consent_video_public": "The participant consented to publishing their face video.",
}


def read_participant(root: Path, participant: str) -> dict[str, str] | None:
    """The participants.tsv row of ``participant`` (label without ``sub-``), or None."""
    for row in read_tsv(Path(root) / "participants.tsv"):
        if row.get("participant_id") == f"sub-{participant}":
            return row
    return None


def update_participant(root: Path, participant: str, fields: dict[str, str]) -> None:
    """Set columns of a participant's row (created if new), and describe known columns.

    ``participants.json`` (the BIDS sidecar) gets a description of the consent columns
    the first time they are written, so the file stays self-explanatory.
    """
    root = Path(root)
    with study_lock(root):
        ensure_dataset_description(root)
        upsert_tsv(root / "participants.tsv", "participant_id",
                   {"participant_id": f"sub-{participant}", **fields})
        sidecar = root / "participants.json"
        doc = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.exists() else {}
        added = {c: {"Description": d, "Levels": {"yes": "consented", "no": "not consented"}}
                 for c, d in CONSENT_COLUMNS.items() if c in fields and c not in doc}
        if added:
            atomic_write_text(sidecar, json.dumps({**doc, **added}, indent=2) + "\n")
