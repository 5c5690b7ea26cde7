"""The content of the BIDS EMG files of one recording, built from allowlists.

Everything here is a pure function from a recording's *public* facts to dicts and rows;
nothing is copied wholesale from the file's attributes or provenance, so a new private
attribute can never leak by accident. Field names follow BIDS 1.11 (EMG: BEP042).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mimicsync import __version__
from mimicsync.dataset import electrodes as el
from mimicsync.dataset.events import Event
from mimicsync.dataset.labels import decode_marker_event
from mimicsync.dataset.study_tree import BIDS_VERSION, atomic_write_text
from mimicsync.format import ChannelSpec

COORD_SYSTEM = "FaceFrontal2D"
COORD_DESCRIPTION = (
    "2-D frontal face plot of the electrode sites as the lab plots them: x = 0 on the "
    "facial midline, the participant's left side at positive x; y = 0 on the Frankfort "
    "plane, up positive. Nominal scheme positions (not digitized per participant).")
SCHEME_DESCRIPTION = {
    "fridlund": "Fridlund & Cacioppo (1986) facial sites, 11 muscles per side; two "
                "monopolar electrodes per site 10 mm apart along the fibres; bipolar "
                "channel = electrode 1 - electrode 2 (derived offline)",
    "kuramoto": "Kuramoto facial montage: 19 monopolar sites E1-E10, E13-E20, E24",
}
# Events that may be published, and which extra fields travel with them.
PUBLIC_TRIAL_TYPES = {
    "run_start", "tap_instruction", "tap_cue", "instruction", "countdown", "perform",
    "relax", "pause", "resume", "repeat", "skip", "abort", "run_end", "tap",
    "movement_start", "movement_end", "stream_lost", "stream_back",
}
PUBLIC_EVENT_FIELDS = {"trial": "Trial number within the run (1-based)",
                       "repetition": "Repetition of the movement within the run",
                       "protocol": "Protocol name"}
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9 _.:+-]{1,64}$")
BDF_UNITS = {"microvolts": "µV", "uv": "µV", "millivolts": "mV", "volts": "V"}


@dataclass
class EmgFacts:
    """What the export needs to know about a recording's sEMG stream (no private data)."""

    task: str
    srate: float
    n_samples: int
    channels: list[ChannelSpec]
    manufacturer: str = "n/a"
    model: str = "n/a"
    hardware_filters: str = "n/a"
    gaps: int = 0
    line_freq: float = 50.0
    reference: str = "n/a"
    ground: str = "n/a"
    extra: dict = field(default_factory=dict)


def bids_units(unit: str) -> str:
    return BDF_UNITS.get(unit.strip().lower(), unit.strip() or "n/a")


def bids_type(ch: ChannelSpec) -> str:
    t = ch.type.strip().upper()
    return t if t in {"EMG", "TRIG", "MISC", "ECG", "EOG", "SYSCLOCK", "ADC", "DAC", "REF"} else "MISC"


def emg_json(f: EmgFacts) -> dict:
    types = [bids_type(c) for c in f.channels]
    schemes = sorted({c.scheme for c in f.channels if c.scheme})
    return {
        "TaskName": f.task,
        "SamplingFrequency": f.srate,
        "PowerLineFrequency": f.line_freq,
        "SoftwareFilters": "n/a",
        "HardwareFilters": "n/a" if f.hardware_filters in ("", "n/a") else
                           {"AmplifierFilter": {"Description": f.hardware_filters}},
        "EMGReference": f.reference,
        "EMGGround": f.ground,
        "EMGPlacementScheme": "Other",
        "EMGPlacementSchemeDescription": "; ".join(SCHEME_DESCRIPTION.get(s, s) for s in schemes)
                                         or "n/a",
        "EMGChannelCount": types.count("EMG"),
        "TriggerChannelCount": types.count("TRIG"),
        "RecordingDuration": round(f.n_samples / f.srate, 6),
        "RecordingType": "discontinuous" if f.gaps else "continuous",
        "Manufacturer": f.manufacturer or "n/a",
        "ManufacturersModelName": f.model or "n/a",
        "SoftwareVersions": f"mimicsync {__version__}",
        **f.extra,
    }


def channels_rows(f: EmgFacts) -> list[dict[str, str]]:
    rows = []
    for c in f.channels:
        has_pos = c.x_mm == c.x_mm  # not NaN
        parsed = el.parse_fridlund_label(c.label)
        desc = "n/a"
        if parsed:
            key, side, n = parsed
            site = el.fridlund_label(key, side)
            desc = f"electrode {n} of site {site} (bipolar {site}1 - {site}2)"
        rows.append({
            "name": c.label, "type": bids_type(c), "units": bids_units(c.unit),
            "description": desc,
            "signal_electrode": c.label if has_pos else "n/a",
            "reference": "n/a",
            "group": c.scheme or "n/a",
            "target_muscle": c.muscle or "n/a",
            "site": el.site_label(c.label) or "n/a",
            "status": "good",
        })
    return rows


CHANNELS_JSON = {"site": {
    "Description": "Site number used by the facial-EMG community's tools: Fridlund & "
                   "Cacioppo sites F1-F22 (lab channel order, muscle by muscle, left before "
                   "right; both electrodes of a site carry its number), Kuramoto K<n> for "
                   "site E<n>; n/a for other channels"}}


def electrodes_rows(channels: Sequence[ChannelSpec]) -> list[dict[str, str]]:
    return [{"name": c.label, "x": f"{c.x_mm:g}", "y": f"{c.y_mm:g}",
             "coordinate_system": COORD_SYSTEM, "group": c.scheme or "n/a"}
            for c in channels if c.x_mm == c.x_mm and c.y_mm == c.y_mm]


def coordsystem_json() -> dict:
    """Named by the ``space-<COORD_SYSTEM>`` entity of its file, as electrodes.tsv's
    ``coordinate_system`` column requires."""
    return {"EMGCoordinateSystem": "Other", "EMGCoordinateUnits": "mm",
            "EMGCoordinateSystemDescription": COORD_DESCRIPTION}


def public_events(events: Sequence[Event]) -> list[Event]:
    """Only allowlisted trial types, markers decoded; annotations (free text) never."""
    out = []
    for e in events:
        d = decode_marker_event(e) if e.trial_type == "marker" else e
        if d is not None and d.trial_type in PUBLIC_TRIAL_TYPES:
            out.append(d)
    return sorted(out, key=lambda e: e.onset)


def events_rows(events: Sequence[Event], samples: np.ndarray, srate: float) -> list[dict[str, str]]:
    """Rows of ``_events.tsv``: onset = sample position / rate (as in the BDF)."""
    rows = []
    for e, s in zip(events, samples):
        value = e.value if e.trial_type not in ("stream_lost", "stream_back") else ""
        row = {"onset": f"{s / srate:.6f}", "duration": f"{max(e.duration, 0.0):.6f}",
               "trial_type": e.trial_type,
               "value": value if _SAFE_VALUE.match(value or "") else "n/a",
               "sample": str(int(s))}
        for k in PUBLIC_EVENT_FIELDS:
            v = str(e.extra.get(k, "n/a"))
            row[k] = v if _SAFE_VALUE.match(v) else "n/a"
        rows.append(row)
    return rows


def events_json() -> dict:
    return {
        "trial_type": {"Description": "Protocol cue or event kind: perform (movement held), "
                       "instruction, countdown, relax, tap_cue, tap, run_start, run_end, ..."},
        "value": {"Description": "Movement id for protocol cues (e.g. smile-open), else n/a"},
        "sample": {"Description": "Sample index in the EMG data file (0-based)"},
        **{k: {"Description": v} for k, v in PUBLIC_EVENT_FIELDS.items()},
    }


def dataset_description(name: str, license_id: str, authors: Sequence[str]) -> dict:
    return {"Name": name, "BIDSVersion": BIDS_VERSION, "DatasetType": "raw",
            "License": license_id, "Authors": list(authors) or ["n/a"],
            "GeneratedBy": [{"Name": "mimicsync", "Version": __version__,
                             "Description": "mimicsync export (public subset)"}]}


PARTICIPANTS_JSON = {
    "participant_id": {"Description": "Pseudonymous participant label"},
    "age": {"Description": "Age at the first published session", "Units": "year"},
    "sex": {"Description": "Sex as reported", "Levels": {"M": "male", "F": "female", "O": "other"}},
    "handedness": {"Description": "Handedness as reported",
                   "Levels": {"R": "right", "L": "left", "A": "ambidextrous"}},
}

BIDSIGNORE = "*_video.mp4\n*_video.json\n"


def readme(name: str, n_participants: int, with_video: int) -> str:
    return (f"# {name}\n\nFacial surface EMG (sEMG) recorded with synchronized facial "
            "video by mimicsync, exported as BIDS (EMG).\n\n"
            f"- {n_participants} participants who consented to publication, "
            "pseudonymized; dates shifted per participant into 1925 or earlier.\n"
            "- sEMG: `*_emg.bdf` with `_channels.tsv`, `_electrodes.tsv` (2-D face "
            "positions, mm) and `_coordsystem.json`; Fridlund electrodes are monopolar, "
            "bipolar channels are site electrode 1 minus electrode 2.\n"
            "- Events: `_events.tsv` from the protocol cues (`perform` = movement held).\n"
            f"- Video ({with_video} participants who consented to it): `*_video.mp4` "
            "(H.264) beside the EMG, listed in `.bidsignore`; frame times in the MP4 are "
            "seconds after `StartTime` (in `*_video.json`), which is relative to the "
            "first EMG sample.\n")


def license_text(license_id: str) -> str:
    return (f"This dataset is licensed under {license_id}.\n"
            f"See https://spdx.org/licenses/{license_id}.html for the full text.\n")


def write_json(path: Path, obj: dict) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def write_tsv(path: Path, rows: Sequence[dict[str, str]], columns: Sequence[str] | None = None) -> None:
    cols = list(columns or (rows[0].keys() if rows else []))
    lines = ["\t".join(cols)] + ["\t".join(str(r.get(c, "n/a")) for c in cols) for r in rows]
    atomic_write_text(path, "\n".join(lines) + "\n")
