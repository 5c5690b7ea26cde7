"""Bring a LabRecorder XDF recording into the study tree as a mimicsync session file.

Read with pyxdf *without* its clock synchronisation and dejitter, so the file keeps what
a mimicsync recording keeps: raw timestamps and the measured clock offsets (ClockOffset
chunks; the StreamFooter's list is ignored, as pyxdf does). Sync and the readers then treat the
import like any recording. String streams become ``marker`` events too, with the onset on
the recorder clock, as the recorder does live. XDF holds no video pixels; a frame-index
stream, if recorded, comes along as a stream.

The recording start: the XDF header's ``datetime`` (LabRecorder writes it) for
``start_utc``, and the earliest clock-corrected first timestamp for ``start_lsl``.
"""

from __future__ import annotations

import datetime as dt
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mimicsync import __version__
from mimicsync.dataset.events import Event
from mimicsync.dataset.layout import RecordingId
from mimicsync.dataset.recording import RecordingError
from mimicsync.dataset.recording_writer import RecordingWriter
from mimicsync.dataset.sidecar import write_sidecar
from mimicsync.dataset.stream_meta import StreamMeta
from mimicsync.dataset.study_tree import register_recording
from mimicsync.dataset.timeline import clock_corrected
from mimicsync.format import LSL_DTYPES, channels_from_xml

BLOCK = 65536  # samples appended per write


def _add(parent: ET.Element, tag: str, value) -> None:
    """pyxdf's parsed XML (dicts of lists of str/dict/None) back to elements."""
    for v in value if isinstance(value, list) else [value]:
        el = ET.SubElement(parent, tag)
        if isinstance(v, dict):
            for k, sub in v.items():
                _add(el, k, sub)
        elif v is not None:
            el.text = str(v)


def info_xml(info: dict) -> str:
    root = ET.Element("info")
    for k, v in info.items():
        if not k.startswith("_"):  # pyxdf adds private keys
            _add(root, k, v)
    return ET.tostring(root, encoding="unicode")


def _first(info: dict, key: str, default: str = "") -> str:
    v = info.get(key) or [default]
    return default if v[0] is None else str(v[0])


def stream_meta(info: dict) -> StreamMeta:
    xml = info_xml(info)
    fmt = _first(info, "channel_format", "float32")
    if fmt not in LSL_DTYPES:
        raise RecordingError(f"stream '{_first(info, 'name')}': channel_format '{fmt}' is not "
                             f"an LSL format ({', '.join(LSL_DTYPES)})")
    n = int(_first(info, "channel_count", "1"))
    return StreamMeta(
        name=_first(info, "name", "stream"), type=_first(info, "type"),
        source_id=_first(info, "source_id"), hostname=_first(info, "hostname"),
        nominal_srate=float(_first(info, "nominal_srate", "0")), channel_format=fmt,
        channel_count=n, uid=_first(info, "uid"), session_id=_first(info, "session_id"),
        created_at=float(_first(info, "created_at", "0") or 0), info_xml=xml,
        channels=channels_from_xml(xml, n))


def clock_offsets(stream: dict) -> np.ndarray:
    """``(m, 2)`` [recorder time, offset] from the ClockOffset chunks.

    XDF's CollectionTime is on the *sender's* clock (LabRecorder writes ``now - offset``);
    our files keep the recorder's time (docs/format.md), so the offset is added back. The
    StreamFooter's offset list is ignored, as pyxdf ignores it: LabRecorder fills it from
    the chunks, and a footer alone (two values, often far apart) extrapolated over the
    recording moved a real file's timeline by thousands of seconds.
    """
    t, v = stream.get("clock_times") or [], stream.get("clock_values") or []
    if not len(t):
        return np.zeros((0, 2))
    sender, offset = np.asarray(t, float), np.asarray(v, float)
    return np.column_stack([sender + offset, offset]).reshape(-1, 2)


def _header_utc(header: dict, fallback: Path) -> str:
    raw = (header.get("info", {}).get("datetime") or [""])[0] or ""
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return dt.datetime.strptime(raw.strip(), fmt).astimezone(dt.timezone.utc).isoformat()
        except ValueError:
            continue
    try:
        return dt.datetime.fromisoformat(raw.strip()).astimezone(dt.timezone.utc).isoformat()
    except ValueError:
        return dt.datetime.fromtimestamp(os.path.getmtime(fallback), dt.timezone.utc).isoformat()


def load_xdf(path: str | Path) -> tuple[list[dict], dict]:
    """pyxdf's reading with raw timestamps (no clock sync, no dejitter)."""
    import pyxdf
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"FILE: {path} does not exist; give a LabRecorder .xdf file")
    try:
        return pyxdf.load_xdf(str(path), synchronize_clocks=False, dejitter_timestamps=False,
                              handle_clock_resets=False)
    except Exception as e:  # noqa: BLE001 - pyxdf raises many kinds on a bad file
        raise RecordingError(f"FILE: {path} is not a readable XDF file ({type(e).__name__}: "
                             f"{e}); check that it is a complete LabRecorder recording") from None


def import_xdf(xdf_path: str | Path, root: str | Path, rid: RecordingId, *,
               operator: str = "", say: Callable[[str], None] | None = None) -> Path:
    """Convert ``xdf_path`` into ``rid``'s recording under ``root``; returns its path.

    Never overwrites: an existing recording for ``rid`` is refused (choose another run).
    An XDF cut short (LabRecorder crashed: no StreamFooter) is imported as far as pyxdf
    reads it, marked ``status = recovered``, and ``say`` is told.
    """
    root, xdf_path = Path(root), Path(xdf_path)
    streams, header = load_xdf(xdf_path)
    if not streams:
        raise RecordingError(f"FILE: {xdf_path} holds no streams; nothing to import")
    incomplete = [_first(s["info"], "name") for s in streams if not s.get("footer")]
    if incomplete and say:
        say(f"note: {xdf_path.name} ends early (no footer for {', '.join(incomplete)}); "
            "imported what could be read, marked as recovered")
    metas = [stream_meta(s["info"]) for s in streams]
    offsets = [clock_offsets(s) for s in streams]
    stamps = [np.asarray(s["time_stamps"], dtype=float) for s in streams]
    firsts = [clock_corrected(ts[:1], o)[0] for ts, o in zip(stamps, offsets) if len(ts)]
    start_lsl = float(min(firsts)) if firsts else 0.0
    start_utc = _header_utc(header, xdf_path)
    last = max((clock_corrected(ts[-1:], o)[0] for ts, o in zip(stamps, offsets) if len(ts)),
               default=start_lsl)
    attrs = {"participant": rid.participant, "session": rid.session, "task": rid.task,
             "acq": rid.acq or "", "run": rid.run, "start_utc": start_utc,
             "start_lsl": start_lsl, "operator": operator, "imported_from": xdf_path.name}
    prov = {"software": {"mimicsync": __version__, "pyxdf": _pyxdf_version()},
            "import": {"format": "xdf", "file": xdf_path.name,
                       "header": {k: v[0] for k, v in header.get("info", {}).items()
                                  if isinstance(v, list) and v and isinstance(v[0], str)}},
            "operator": operator,
            "devices": {"streams": [{"name": m.name, "type": m.type, "source_id": m.source_id,
                                     "nominal_srate": m.nominal_srate,
                                     "channel_count": m.channel_count} for m in metas]}}
    rid.session_dir(root).mkdir(parents=True, exist_ok=True)
    w = RecordingWriter(rid.part_path(root), rid.path(root), attrs, prov)
    try:
        keys = [w.add_stream(m) for m in metas]
        w.start_swmr()
        events = []
        for key, m, s, ts, offs in zip(keys, metas, streams, stamps, offsets):
            series = s["time_series"]
            for a in range(0, len(ts), BLOCK):
                b = min(len(ts), a + BLOCK)
                if m.is_string:
                    w.append_samples(key, ["\t".join(map(str, row)) for row in series[a:b]], ts[a:b])
                else:
                    w.append_samples(key, np.asarray(series[a:b]), ts[a:b])
            if len(offs):
                w.append_clock_offsets(key, offs)
            if m.is_string and len(ts):
                onsets = clock_corrected(ts, offs)
                events += [Event(float(t), 0.0, "marker", "\t".join(map(str, row)), {"stream": key})
                           for t, row in zip(onsets, series)]
        w.append_events(sorted(events, key=lambda e: e.onset))
    except BaseException:
        w.abort()
        raise
    stop_utc = (dt.datetime.fromisoformat(start_utc) + dt.timedelta(seconds=last - start_lsl))
    path = w.finalize({"stop_utc": stop_utc.isoformat(), "stop_lsl": last,
                       "duration_s": last - start_lsl, "stop_reason": "imported from XDF"})
    if incomplete:
        import h5py
        with h5py.File(path, "r+", libver="latest") as f:
            f.attrs["status"] = "recovered"
    write_sidecar(path)
    register_recording(root, rid, start_utc, "recovered" if incomplete else "complete")
    return path


def _pyxdf_version() -> str:
    try:
        from importlib.metadata import version
        return version("pyxdf")
    except Exception:  # noqa: BLE001
        return "unknown"
