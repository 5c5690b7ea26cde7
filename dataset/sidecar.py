"""The JSON sidecar beside each recording: what a person or an indexer reads without HDF5."""

from __future__ import annotations

import json
from pathlib import Path

from mimicsync.dataset.recording import Recording
from mimicsync.dataset.study_tree import atomic_write_text

_ROOT_KEYS = ("participant", "session", "task", "acq", "run", "status", "start_utc", "stop_utc",
              "duration_s", "operator", "format", "format_version")


def write_sidecar(h5_path: Path) -> Path:
    """Write ``<stem>.json`` from the finished recording; returns its path."""
    h5_path = Path(h5_path)
    with Recording(h5_path) as rec:
        attrs = rec.attrs
        summary = rec.summary()
        prov = rec.provenance
    side = {k: attrs[k] for k in _ROOT_KEYS if k in attrs}
    side["TaskName"] = str(attrs.get("task", ""))
    side["streams"] = summary["streams"]
    if "video" in summary:
        side["video"] = summary["video"]
    side["events"] = summary["events"]
    side["sync"] = summary.get("sync")
    side["software"] = prov.get("software", {})
    side["devices"] = prov.get("devices", {})
    out = h5_path.with_name(h5_path.name[: -len(".h5")] + ".json")
    atomic_write_text(out, json.dumps(side, indent=2, default=str) + "\n")
    return out
