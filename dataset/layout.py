"""Where a recording lives in the study tree, and which names are allowed.

The tree is BIDS-like so export is a copy-and-convert, not a reorganisation::

    <root>/sub-<p>/ses-<s>/sub-<p>_ses-<s>_task-<t>[_acq-<a>]_run-<NN>_recording.h5

Labels follow BIDS: letters and digits only. Validation happens before anything is
written, with a one-line message that names the field and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mimicsync.errors import MimicsyncError, check_number

SUFFIX = "recording"
EXT = ".h5"
PART = ".part"  # an unfinished (recording or crashed) file: <final>.part
_LABEL = re.compile(r"^[A-Za-z0-9]+$")
_NAME = re.compile(
    r"^sub-(?P<participant>[A-Za-z0-9]+)_ses-(?P<session>[A-Za-z0-9]+)_task-(?P<task>[A-Za-z0-9]+)"
    r"(?:_acq-(?P<acq>[A-Za-z0-9]+))?_run-(?P<run>\d+)_" + SUFFIX + r"\.h5(?:\.part)?$"
)


MAX_LABEL = 64  # characters per label: with the longest names the file name stays < 255 bytes
MAX_NAME = 255  # bytes in one file name on every common file system (ext4, NTFS, APFS)
_LONGEST_SUFFIX = len(".h5.part.creating")


class LabelError(MimicsyncError, ValueError):
    """An invalid BIDS label or entity; the message names the field and the fix."""


# a label typed with its entity: "sub-07", "ses_01", "task-smile", "run 2", "acq-S"
_ENTITY_PREFIX = re.compile(r"^(sub|ses|task|acq|run)[-_ ]+", re.IGNORECASE)


def check_label(field: str, value: str | None, *, optional: bool = False) -> str | None:
    """Return ``value`` if it is a valid BIDS label, else raise :class:`LabelError`."""
    if value is None or value == "":
        if optional:
            return None
        raise LabelError(f"{field}: a label is required (letters and digits only, e.g. 01)")
    if not isinstance(value, str):
        raise LabelError(field, f"{value!r} is not text", "give letters and digits, e.g. 01")
    if len(value) > MAX_LABEL:
        raise LabelError(field, f"'{value[:12]}…' has {len(value)} characters (at most "
                         f"{MAX_LABEL})", "give a shorter label")
    if not _LABEL.match(value):
        bad = sorted({c for c in value if not c.isascii() or not c.isalnum()})
        raise LabelError(
            f"{field}: '{value}' is not a BIDS label (letters and digits only; remove "
            f"{' '.join(repr(c) for c in bad)}), e.g. '{suggest_label(value)}'"
        )
    return value


def suggest_label(value: str) -> str:
    """What the operator probably meant: without a BIDS entity prefix (``sub-07`` -> ``07``:
    the folder name adds ``sub-``, so ``sub07`` would become ``sub-sub07``), then only
    letters and digits."""
    stripped = _ENTITY_PREFIX.sub("", value.strip())
    return re.sub(r"[^A-Za-z0-9]", "", stripped) or re.sub(r"[^A-Za-z0-9]", "", value) or "01"


@dataclass(frozen=True)
class RecordingId:
    """The BIDS entities that name one recording."""

    participant: str
    session: str
    task: str
    run: int = 1
    acq: str | None = None

    def __post_init__(self) -> None:
        check_label("participant", self.participant)
        check_label("session", self.session)
        check_label("task", self.task)
        check_label("acq", self.acq, optional=True)
        if not isinstance(self.run, int) or isinstance(self.run, bool):
            raise LabelError("run", f"{self.run!r} is not a whole number", "give a whole number")
        try:
            check_number("run", self.run, minimum=1, maximum=9999, integer=True)
        except MimicsyncError as e:
            raise LabelError(e.field, e.problem, e.fix) from None
        name = len((self.stem).encode("utf-8")) + _LONGEST_SUFFIX
        if name > MAX_NAME:
            raise LabelError("participant", f"the labels make a file name of {name} characters "
                             f"(at most {MAX_NAME})", "shorten the participant, session, task "
                             "or acquisition label")

    @property
    def stem(self) -> str:
        acq = f"_acq-{self.acq}" if self.acq else ""
        return (f"sub-{self.participant}_ses-{self.session}_task-{self.task}{acq}"
                f"_run-{self.run:02d}_{SUFFIX}")

    def session_dir(self, root: Path) -> Path:
        return Path(root) / f"sub-{self.participant}" / f"ses-{self.session}"

    def path(self, root: Path) -> Path:
        return self.session_dir(root) / (self.stem + EXT)

    def part_path(self, root: Path) -> Path:
        return self.session_dir(root) / (self.stem + EXT + PART)

    def sidecar_path(self, root: Path) -> Path:
        return self.session_dir(root) / (self.stem + ".json")

    @classmethod
    def from_path(cls, path: str | Path) -> "RecordingId":
        m = _NAME.match(Path(path).name)
        if not m:
            raise LabelError(
                f"file: '{Path(path).name}' is not a mimicsync recording name "
                f"(sub-<p>_ses-<s>_task-<t>[_acq-<a>]_run-<NN>_{SUFFIX}.h5)")
        d = m.groupdict()
        return cls(d["participant"], d["session"], d["task"], int(d["run"]), d["acq"])

    def with_run(self, run: int) -> "RecordingId":
        return RecordingId(self.participant, self.session, self.task, run, self.acq)


def next_free_run(root: Path, rid: RecordingId) -> int:
    """The smallest run number with neither a finished nor an unfinished file."""
    run = 1
    while rid.with_run(run).path(root).exists() or rid.with_run(run).part_path(root).exists():
        run += 1
    return run


def root_of(path: str | Path) -> Path:
    """The study root of a recording file inside the tree (…/sub-x/ses-y/file)."""
    return Path(path).resolve().parent.parent.parent
