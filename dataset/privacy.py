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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mimicsync.dataset.study_tree import read_tsv, study_lock, upsert_tsv

CONSENT_DATA = "consent_data_public"
CONSENT_VIDEO = "consent_video_public"
PUBLIC_COLUMNS = {"sex": {"M", "F", "O", "n/a", "m", "f", "o", "male", "female", "other"},
                  "handedness": {"R", "L", "A", "n/a", "r", "l", "a", "right", "left",
                                 "ambidextrous"}}
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
    for col, allowed in PUBLIC_COLUMNS.items():
        v = (row.get(col) or "").strip()
        out[col] = v if v in allowed else "n/a"
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


def scan_for(paths: Iterable[Path], needles: Iterable[str]) -> list[tuple[Path, str]]:
    """Files whose bytes contain any needle (UTF-8 and UTF-16-LE, case-insensitive for
    text), e.g. names, birth dates, real IDs, host names; empty list = clean."""
    pats = []
    for n in {n for n in needles if n and len(n.strip()) >= 3}:
        for enc in ("utf-8", "utf-16-le"):
            pats.append((n, n.lower().encode(enc)))
    hits = []
    for p in paths:
        if not p.is_file():
            continue
        data = p.read_bytes().lower()
        for n, pat in pats:
            if pat in data:
                hits.append((p, n))
    return hits


def private_values(root: Path, participants: list[dict[str, str]], extra: Iterable[str] = ()
                   ) -> set[str]:
    """Strings that must never appear in an export: real IDs, names, birth dates, notes,
    and anything else in the private participant table except consent and public
    columns, plus ``extra`` (operators, host names, user names …)."""
    skip = {CONSENT_DATA, CONSENT_VIDEO, *PUBLIC_COLUMNS, "age"}
    out = set(extra)
    for row in participants:
        for k, v in row.items():
            if k in skip or not v or v == "n/a":
                continue
            out.add(v)
            if k == "participant_id":
                out.add(v.removeprefix("sub-"))
    return {v for v in out if len(v.strip()) >= 3}
