"""Who may be published, under which name, with which dates — and a check that nothing
private slipped out.

**Consent columns** of the private ``participants.tsv`` (the GUI writes them; ``yes`` /
``no``, also ``true``/``false``/``1``/``0``; anything else or missing means no):

- ``consent_data_public``: the participant's sEMG, events and recording metadata may be
  published (pseudonymized);
- ``consent_video_public``: their face video may be published too (only together with
  ``consent_data_public``).

**Other private columns** the GUI may write: ``name``, ``birth_date`` (YYYY-MM-DD),
``notes`` and anything else. Only :data:`PUBLIC_COLUMNS` ever leave the tree, plus
``age`` (whole years at the first exported session) derived from ``birth_date`` or
copied from an ``age`` column.

**Pseudonyms** are random labels, kept with each participant's date shift in
``<root>/.mimicsync/pseudonyms.tsv`` (private, never exported), so repeated exports give
every participant the same public ID and the same shift. Dates are shifted by a whole
number of days per participant into 1925 or earlier (the BIDS convention that marks
shifted dates), which keeps time of day and intervals between a participant's sessions.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mimicsync.dataset.study_tree import read_tsv, study_lock, upsert_tsv

CONSENT_DATA = "consent_data_public"
CONSENT_VIDEO = "consent_video_public"
# The words accepted in the private table -> the level participants.json declares.
PUBLIC_COLUMNS = {"sex": {"m": "M", "male": "M", "f": "F", "female": "F", "o": "O",
                          "other": "O", "n/a": "n/a"},
                  "handedness": {"r": "R", "right": "R", "l": "L", "left": "L", "a": "A",
                                 "ambidextrous": "A", "n/a": "n/a"}}
PRIVATE_DIR = ".mimicsync"
PSEUDONYM_FILE = "pseudonyms.tsv"
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud safely
# Shift into 1925 or earlier: at least 101 years back, plus up to ~10 random years.
MIN_SHIFT_DAYS = 101 * 366
SHIFT_SPAN_DAYS = 3650
YES = {"yes", "y", "true", "1"}


def consents(row: dict[str, str], column: str) -> bool:
    return (row.get(column) or "").strip().lower() in YES


@dataclass(frozen=True)
class Pseudonym:
    participant: str  # private label (without sub-)
    label: str  # public label (without sub-)
    shift_days: int  # subtract this many days from every date

    def shift(self, when: dt.datetime) -> dt.datetime:
        return when - dt.timedelta(days=self.shift_days)


def pseudonym_path(root: Path) -> Path:
    return Path(root) / PRIVATE_DIR / PSEUDONYM_FILE


def pseudonyms(root: Path, participants: Iterable[str]) -> dict[str, Pseudonym]:
    """The stable pseudonym of each participant, new ones drawn and stored first."""
    root = Path(root)
    path = pseudonym_path(root)
    with study_lock(root):
        rows = {r["participant_id"]: r for r in read_tsv(path)}
        taken = {r["pseudonym"] for r in rows.values()}
        for p in participants:
            if f"sub-{p}" in rows:
                continue
            while (label := "".join(secrets.choice(_ALPHABET) for _ in range(6))) in taken:
                pass
            taken.add(label)
            row = {"participant_id": f"sub-{p}", "pseudonym": label,
                   "shift_days": str(MIN_SHIFT_DAYS + secrets.randbelow(SHIFT_SPAN_DAYS)),
                   "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
            upsert_tsv(path, "participant_id", row)
            rows[row["participant_id"]] = row
    return {p: Pseudonym(p, rows[f"sub-{p}"]["pseudonym"], int(rows[f"sub-{p}"]["shift_days"]))
            for p in participants}


def public_participant_row(row: dict[str, str], first_session: dt.datetime | None) -> dict[str, str]:
    """The columns that may be published, from a private participants.tsv row."""
    out = {}
    for col, levels in PUBLIC_COLUMNS.items():
        out[col] = levels.get((row.get(col) or "").strip().lower(), "n/a")
    out["age"] = "n/a"
    birth = (row.get("birth_date") or "").strip()
    if birth and first_session is not None:
        try:
            b = dt.date.fromisoformat(birth)
            d = first_session.date()
            out["age"] = str(d.year - b.year - ((d.month, d.day) < (b.month, b.day)))
        except ValueError:
            pass
    elif (row.get("age") or "").strip().isdigit():
        out["age"] = row["age"].strip()
    return out


@dataclass(frozen=True)
class Leak:
    """A private value found in a file: which field it came from, and where it is."""

    path: Path
    field: str  # e.g. "participants.tsv column 'name' of sub-jena0042"
    offset: int  # byte offset of the first occurrence

    def where(self) -> str:
        """``<file> line N`` for text files, ``<file> byte N`` for binary ones."""
        if self.path.suffix in TEXT_SUFFIXES:
            with open(self.path, "rb") as f:
                line = f.read(self.offset).count(b"\n") + 1
            return f"{self.path.name} line {line}"
        return f"{self.path.name} byte {self.offset}"

    def describe(self) -> str:
        return f"the value of {self.field} is in {self.where()}"


TEXT_SUFFIXES = {".tsv", ".json", ".md", ".txt", ""}


def scan_for(paths: Iterable[Path], needles: Iterable[str] | Mapping[str, str]) -> list[Leak]:
    """Every (file, private value) found: bytes in UTF-8 and UTF-16-LE, case-insensitive
    for text (names, birth dates, real IDs, host names); empty list = clean.

    ``needles``: the private values, or a mapping value → the field it came from (the
    :class:`Leak` then names that field, never the value itself).
    """
    fields = dict(needles) if isinstance(needles, Mapping) else {n: "a private value"
                                                                 for n in needles}
    pats = []
    for n, field_name in fields.items():
        if not n or len(n.strip()) < 3:
            continue
        for enc in ("utf-8", "utf-16-le"):
            pats.append((field_name, n.lower().encode(enc)))
    hits = []
    for p in paths:
        if not p.is_file():
            continue
        data = p.read_bytes().lower()
        for field_name, pat in pats:
            at = data.find(pat)
            if at >= 0:
                hits.append(Leak(p, field_name, at))
    return hits


def private_values(root: Path, participants: list[dict[str, str]],
                   extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Strings that must never appear in an export, each with the field it came from:
    real IDs, names, birth dates, notes and anything else in the private participant
    table except consent and public columns, plus ``extra`` (value → field: operators,
    host names, user names …)."""
    skip = {CONSENT_DATA, CONSENT_VIDEO, *PUBLIC_COLUMNS, "age"}
    out = dict(extra or {})
    for row in participants:
        who = row.get("participant_id", "?")
        for k, v in row.items():
            if k in skip or not v or v == "n/a":
                continue
            out.setdefault(v, f"participants.tsv column '{k}' of {who}")
            if k == "participant_id":
                out.setdefault(v.removeprefix("sub-"), f"participants.tsv column '{k}'")
    return {v: f for v, f in out.items() if len(v.strip()) >= 3}


def without_public(needles: Mapping[str, str], public: Iterable[str]) -> dict[str, str]:
    """``needles`` less the values that are public by design in this export (task,
    acquisition and session labels): a participant or operator called like the task
    ("demo" in ``mimicsync demo``) cannot be told apart from the task name, and the
    task name must be published."""
    pub = {p.lower() for p in public if p}
    return {v: f for v, f in needles.items() if v.lower() not in pub}
