"""``mimicsync validate``: our own checks of an export, then the official BIDS validator.

Our checks cover what the official validator cannot know: an export that was
interrupted, private files that must never be published, BDF signal counts against
``_channels.tsv``, videos that the validator would reject unless ``.bidsignore`` hides
them. The official one is ``bids-validator-deno`` (PyPI; its wheel carries the binary,
which runs offline with its bundled schema).
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mimicsync.dataset.bids_export import WORK_DIR
from mimicsync.dataset.study_tree import read_tsv
from mimicsync.errors import ErrorCode, MimicsyncError


class ValidatorMissing(MimicsyncError, FileNotFoundError):
    """The official BIDS validator is not installed (our own checks still run)."""

EMG_REQUIRED = ("TaskName", "SamplingFrequency", "PowerLineFrequency", "SoftwareFilters",
                "EMGReference", "EMGPlacementScheme")
PRIVATE_PATTERNS = ("*_recording.h5", "*_recording.h5.part", "*_recording.json",
                    "pseudonyms.tsv", ".mimicsync.lock")
VALIDATOR = "bids-validator-deno"


@dataclass
class ValidationReport:
    problems: list[str] = field(default_factory=list)  # our checks, one line each
    errors: list[str] = field(default_factory=list)  # official validator errors
    warnings: list[str] = field(default_factory=list)
    official_ran: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and not self.errors


def _bdf_signal_count(path: Path) -> int:
    """Number of signals from the BDF header (bytes 252-256), annotations excluded."""
    with open(path, "rb") as fh:
        head = fh.read(256)
        n = int(head[252:256].decode("ascii").strip())
        labels = fh.read(16 * n).decode("latin-1")
    return sum(1 for i in range(n) if "Annotations" not in labels[16 * i:16 * i + 16])


def own_checks(root: Path) -> list[str]:
    root = Path(root)
    out = []
    if (root / WORK_DIR).exists():
        out.append(f"{WORK_DIR}/: an export is unfinished; run the same `mimicsync export` "
                   "again to complete it")
    for name in ("dataset_description.json", "participants.tsv", "LICENSE"):
        if not (root / name).is_file():
            out.append(f"{name}: missing; rerun `mimicsync export --update`")
    if not any(root.glob("README*")):
        out.append("README: missing; rerun `mimicsync export --update`")
    for pat in PRIVATE_PATTERNS:
        for p in root.rglob(pat):
            out.append(f"{p.relative_to(root)}: a private mimicsync file must not be "
                       "published; delete it")
    ignore = [ln.strip() for ln in (root / ".bidsignore").read_text().splitlines()
              if ln.strip() and not ln.startswith("#")] if (root / ".bidsignore").exists() else []
    for p in root.rglob("*_video.mp4"):
        if not any(fnmatch.fnmatch(p.name, g.lstrip("/")) for g in ignore):
            out.append(f"{p.relative_to(root)}: not matched by .bidsignore; add '*_video.mp4'")
    for bdf in root.rglob("*_emg.bdf"):
        rel = bdf.relative_to(root)
        side = bdf.with_name(bdf.name.replace("_emg.bdf", "_emg.json"))
        try:
            meta = json.loads(side.read_text())
            missing = [k for k in EMG_REQUIRED if k not in meta]
            if missing:
                out.append(f"{side.relative_to(root)}: missing {', '.join(missing)}")
        except (OSError, ValueError):
            out.append(f"{rel}: no readable _emg.json beside it")
        ch = bdf.with_name(bdf.name.replace("_emg.bdf", "_channels.tsv"))
        if ch.exists():
            n_tsv, n_bdf = len(read_tsv(ch)), _bdf_signal_count(bdf)
            if n_tsv != n_bdf:
                out.append(f"{ch.relative_to(root)}: {n_tsv} rows for {n_bdf} BDF signals")
    listed = {r.get("participant_id", "") for r in read_tsv(root / "participants.tsv")}
    present = {p.name for p in root.glob("sub-*") if p.is_dir()}
    for s in sorted(present - listed):
        out.append(f"participants.tsv: {s} has data but no row")
    for s in sorted(listed - present):
        out.append(f"participants.tsv: {s} has a row but no data")
    for scans in root.rglob("*_scans.tsv"):
        for r in read_tsv(scans):
            if not (scans.parent / r.get("filename", "")).exists():
                out.append(f"{scans.relative_to(root)}: lists {r.get('filename')} which is missing")
    return out


def find_validator() -> str | None:
    here = Path(sys.executable).parent / VALIDATOR
    return str(here) if here.exists() else shutil.which(VALIDATOR)


def official(root: Path, timeout: float = 600.0) -> tuple[list[str], list[str]]:
    """Errors and warnings of the official validator, one line per issue code and file."""
    exe = find_validator()
    if exe is None:
        raise ValidatorMissing("validator", f"{VALIDATOR} is not installed",
                               f"pip install {VALIDATOR} or skip the official validator",
                               code=ErrorCode.NOT_FOUND, options=(("no official", ""),))
    res = subprocess.run([exe, str(root), "--format", "json"], capture_output=True, text=True,
                         timeout=timeout)
    try:
        issues = json.loads(res.stdout)["issues"]["issues"]
    except (ValueError, KeyError):
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{VALIDATOR} failed (exit {res.returncode}): {tail[0]}") from None
    errors, warnings = [], []
    for i in issues:
        line = f"{i.get('code')}: {i.get('location', '')} {i.get('subCode') or ''}".strip()
        (errors if i.get("severity") == "error" else warnings).append(line)
    return errors, warnings


def validate(root: str | Path, *, run_official: bool = True) -> ValidationReport:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"DIR: {root} is not a folder; give the exported dataset")
    rep = ValidationReport(problems=own_checks(root))
    if run_official:
        rep.errors, rep.warnings = official(root)
        rep.official_ran = True
    return rep
