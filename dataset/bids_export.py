"""``mimicsync export``: the consenting participants of a study as a BIDS 1.11 dataset.

One work unit per recording (:func:`export_recording`), run here, on a local process
pool or on Dask (:mod:`.batch`). A unit writes into a staging folder inside the output,
is scanned for private values, then moved into place file by file (``os.replace``), so
the dataset never holds half a file. What is done is recorded after every unit in the
*private* root (``.mimicsync/exports/<hash of the output path>.json``), so an interrupted
export resumes where it stopped and ``--update`` redoes only what changed, and removes
what is no longer allowed (a withdrawn consent). The dataset-level files are written last.

The output holds ``.mimicsync-export/`` only while an export runs; its presence is what
lets a rerun resume without ``--update``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mimicsync.dataset import bids_files as bf
from mimicsync.dataset.batch import run_batch
from mimicsync.dataset.mne_raw import (
    first_sample_utc,
    on_sample_clock,
    sample_positions,
    to_mne_raw,
)
from mimicsync.dataset.privacy import (
    CONSENT_DATA,
    CONSENT_VIDEO,
    PRIVATE_DIR,
    consents,
    private_values,
    pseudonyms,
    public_participant_row,
    scan_for,
    without_public,
)
from mimicsync.dataset.recording import Recording, RecordingError
from mimicsync.dataset.study import Study
from mimicsync.dataset.study_tree import atomic_write_text
from mimicsync.dataset.video_export import write_mp4
from mimicsync.errors import MimicsyncError

log = logging.getLogger(__name__)
WORK_DIR = ".mimicsync-export"
BDF_DATE = dt.date(1985, 1, 1)  # EDF/BDF's own "anonymized" start date (01.01.85)


class ExportError(MimicsyncError, ValueError):
    """The export cannot run or did not finish; the message names what and the fix."""


class NothingToPublish(ExportError):
    """A recording with nothing its participant allowed to publish (skipped, not failed)."""


@dataclass(frozen=True)
class ExportConfig:
    """Dataset-level choices (``mimicsync export`` options)."""

    name: str = "mimicsync facial sEMG and video"
    license: str = "CC-BY-4.0"
    authors: tuple[str, ...] = ()
    line_freq: float = 50.0
    emg_reference: str = "n/a"  # not published for the lab's amplifier: say it here
    emg_ground: str = "n/a"
    video: bool = True  # False: never export video, whatever the consent
    crf: int = 18

    def digest(self) -> str:
        unit_fields = (self.line_freq, self.emg_reference, self.emg_ground, self.video, self.crf)
        return hashlib.sha256(repr(unit_fields).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ExportUnit:
    """One recording to export (picklable: travels to pool and Dask workers)."""

    source: str
    out: str
    sub: str  # public labels
    ses: str
    task: str
    acq: str | None
    run: int
    shift_days: int
    video: bool
    config: ExportConfig
    fingerprint: str
    needles: tuple[tuple[str, str], ...] = ()  # (private string, its field): never in its files

    @property
    def stem(self) -> str:
        acq = f"_acq-{self.acq}" if self.acq else ""
        return f"sub-{self.sub}_ses-{self.ses}_task-{self.task}{acq}_run-{self.run:02d}"


@dataclass
class UnitResult:
    stem: str
    sub: str
    ses: str
    files: list[str]  # relative to the output
    scans_filename: str
    acq_time: str  # shifted
    video: bool
    shared: list[str] = field(default_factory=list)  # session-level files (may be shared)
    sync_accuracy: str = "n/a"  # ms, 95 % (scans.tsv)


@dataclass
class ExportReport:
    out: Path
    exported: list[str]  # public stems
    skipped: list[str]  # one line each
    reused: int
    removed: list[str]


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


def _emg_facts(rec: Recording, unit: ExportUnit) -> tuple[bf.EmgFacts, object]:
    from mimicsync.format import desc_value
    s = rec.emg_stream()
    xml = str(s.attrs.get("info_xml", ""))
    t = rec.timeline(s.key)
    gaps = int(np.count_nonzero(np.diff(t) > 1.5 / s.srate)) if len(t) > 1 else 0
    facts = bf.EmgFacts(
        task=unit.task, srate=s.srate, n_samples=len(s), channels=s.channel_specs,
        manufacturer=desc_value(xml, "acquisition/manufacturer") or "n/a",
        model=desc_value(xml, "acquisition/model") or "n/a",
        hardware_filters=desc_value(xml, "acquisition/filtering") or "n/a",
        gaps=gaps, line_freq=unit.config.line_freq, reference=unit.config.emg_reference,
        ground=unit.config.emg_ground)
    return facts, s


def _stage_emg(rec: Recording, unit: ExportUnit, stage: Path, shifted_start: dt.datetime | None
               ) -> tuple[dict[str, Path], dict[str, Path], float]:
    """Write the EMG files into ``stage``; returns (per-recording, session-level, t0)."""
    import mne
    from mne_bids import BIDSPath
    facts, s = _emg_facts(rec, unit)
    t = rec.timeline(s.key)
    events = bf.public_events(rec.events)
    inside = [e for e in events if t[0] <= e.onset <= t[-1]]
    raw = to_mne_raw(rec, s.key, line_freq=unit.config.line_freq, events=inside)
    if shifted_start is not None:  # keep the time of day, anonymize the date
        tod = shifted_start.astimezone(dt.timezone.utc).time()
        raw.set_meas_date(dt.datetime.combine(BDF_DATE, tod, dt.timezone.utc))
    else:
        raw.set_meas_date(None)
    bp = BIDSPath(subject=unit.sub, session=unit.ses, task=unit.task, acquisition=unit.acq,
                  run=f"{unit.run:02d}", datatype="emg", suffix="emg", extension=".bdf")
    names = {
        "bdf": bp.basename,
        "emg_json": bp.copy().update(extension=".json").basename,
        "channels": bp.copy().update(suffix="channels", extension=".tsv").basename,
        "channels_json": bp.copy().update(suffix="channels", extension=".json").basename,
        "events": bp.copy().update(suffix="events", extension=".tsv").basename,
        "events_json": bp.copy().update(suffix="events", extension=".json").basename,
    }
    files = {k: stage / v for k, v in names.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # padding to whole data records is expected
        mne.export.export_raw(files["bdf"], raw, fmt="bdf", physical_range="channelwise",
                              overwrite=True, verbose="ERROR")
    bf.write_json(files["emg_json"], bf.emg_json(facts))
    bf.write_tsv(files["channels"], bf.channels_rows(facts))
    bf.write_json(files["channels_json"], bf.CHANNELS_JSON)
    samples = sample_positions(t, [e.onset for e in inside])
    rows = bf.events_rows(inside, samples, s.srate)
    bf.write_tsv(files["events"], rows, ["onset", "duration", "trial_type", "value", "sample",
                                         *bf.PUBLIC_EVENT_FIELDS])
    bf.write_json(files["events_json"], bf.events_json())
    shared = {}
    el_rows = bf.electrodes_rows(facts.channels)
    if el_rows:
        # electrodes.tsv takes no space entity; its coordinate_system column names the
        # coordsystem.json by that file's space entity
        ses_bp = bp.copy().update(task=None, run=None)
        shared = {"electrodes": stage / ses_bp.copy().update(suffix="electrodes",
                                                             extension=".tsv").basename,
                  "coordsystem": stage / ses_bp.copy().update(
                      suffix="coordsystem", extension=".json", space=bf.COORD_SYSTEM).basename}
        bf.write_tsv(shared["electrodes"], el_rows)
        bf.write_json(shared["coordsystem"], bf.coordsystem_json())
    return files, shared, float(t[0])


def _stage_beh(rec: Recording, unit: ExportUnit, stage: Path) -> tuple[dict[str, Path], float]:
    """A recording without sEMG (electrode-free reference video): events under ``beh/``."""
    t = rec.frame_times
    events = [e for e in bf.public_events(rec.events) if t[0] <= e.onset <= t[-1]]
    fps = rec.fps or 30.0
    files = {"events": stage / f"{unit.stem}_events.tsv",
             "events_json": stage / f"{unit.stem}_events.json"}
    bf.write_tsv(files["events"], bf.events_rows(events, np.array([(e.onset - t[0]) * fps for e in events]), fps),
                 ["onset", "duration", "trial_type", "value", "sample", *bf.PUBLIC_EVENT_FIELDS])
    bf.write_json(files["events_json"], {**bf.events_json(), "sample": {
        "Description": "Video frame position (0-based, at the nominal frame rate)"}})
    return files, float(t[0])


def export_recording(unit: ExportUnit) -> UnitResult:
    """Export one recording (the work unit; runs in any process)."""
    out = Path(unit.out)
    stage = out / WORK_DIR / "staging" / unit.stem
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        with Recording(unit.source) as rec:
            try:
                rec.emg_stream()
                has_emg = True
            except RecordingError:
                has_emg = False
            if not has_emg and not (unit.video and rec.has_video):
                raise NothingToPublish(f"skipped {Path(unit.source).name}: no EMG stream, and "
                                       "no video its participant allowed to publish")
            datatype = "emg" if has_emg else "beh"
            t_probe = rec.timeline(rec.emg_stream().key)[0] if has_emg else rec.frame_times[0]
            start = first_sample_utc(rec, float(t_probe))
            shifted = start - dt.timedelta(days=unit.shift_days) if start else None
            shared: dict[str, Path] = {}
            if has_emg:
                files, shared, t0 = _stage_emg(rec, unit, stage, shifted)
                scans_name = f"emg/{files['bdf'].name}"
            else:
                files, t0 = _stage_beh(rec, unit, stage)
                scans_name = f"beh/{files['events'].name}"
            with_video = unit.video and rec.has_video and rec.n_frames > 0
            if with_video:
                if has_emg:  # the BDF's sample clock, like the event onsets
                    s = rec.emg_stream()
                    times = on_sample_clock(rec.timeline(s.key), s.srate, rec.frame_times)
                else:
                    times = rec.frame_times - t0
                mp4 = stage / f"{unit.stem}_video.mp4"
                n = write_mp4(rec, mp4, times - times[0], crf=unit.config.crf)
                files["video"] = mp4
                files["video_json"] = stage / f"{unit.stem}_video.json"
                bf.write_json(files["video_json"], {
                    "StartTime": round(float(times[0]), 6), "FrameCount": n,
                    "NominalFrameRate": rec.fps, "Width": int(rec.video_attrs["width"]) // 2 * 2,
                    "Height": int(rec.video_attrs["height"]) // 2 * 2, "Codec": "H.264",
                    "Synchronized": rec.is_synced,
                    "SyncAccuracyMs": _sync_accuracy(rec),
                    "Description": "Frontal face video; presentation timestamps are seconds "
                                   "after StartTime, which is relative to the first sample "
                                   "of the data file beside it, on that file's sample clock "
                                   "(sample k at k / SamplingFrequency; variable frame "
                                   "rate). Synchronized: the video was aligned with the "
                                   "sEMG (mimicsync sync) before export; SyncAccuracyMs: "
                                   "95 % bound on any frame's error against the sEMG "
                                   "(null when not synchronized)."})
        hits = scan_for([*files.values(), *shared.values()], dict(unit.needles))
        if hits:
            raise ExportError(f"privacy: {hits[0].describe()}; nothing of this recording "
                              "was published (report this bug)")
        dest = out / f"sub-{unit.sub}" / f"ses-{unit.ses}" / datatype
        dest.mkdir(parents=True, exist_ok=True)
        for p in [*files.values(), *shared.values()]:
            os.replace(p, dest / p.name)
        rel = lambda p: str((dest / p.name).relative_to(out))  # noqa: E731
        acc = _sync_accuracy(rec)
        return UnitResult(unit.stem, unit.sub, unit.ses, [rel(p) for p in files.values()],
                          scans_name, _iso(shifted) if shifted else "n/a", with_video,
                          [rel(p) for p in shared.values()],
                          sync_accuracy="n/a" if acc is None else f"{acc:.2f}")
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _sync_accuracy(rec: Recording) -> float | None:
    """The recording's stored sync accuracy (ms, 95 %), None when not synchronized."""
    from mimicsync.dataset.sync_store import summary
    s = summary(rec.f) if rec.is_synced else None
    v = (s or {}).get("uncertainty_ms")
    return round(float(v), 3) if v is not None and np.isfinite(v) else None


# -- planning ---------------------------------------------------------------------------
def _state_path(root: Path, out: Path) -> Path:
    key = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
    return root / PRIVATE_DIR / "exports" / f"{key}.json"


def _load_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"units": {}}


def _fingerprint(src: Path, video: bool, pseudo: str, shift: int, cfg: ExportConfig) -> str:
    st = src.stat()
    return hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}:{video}:{pseudo}:{shift}:"
                          f"{cfg.digest()}".encode()).hexdigest()[:24]


def _recording_private_values(path: Path) -> dict[str, str]:
    """Operator, host and user names, real dates: never to be found in an export
    (value → the field it comes from, for the message)."""
    out = {path.name: "the recording's file name"}
    try:
        with Recording(path) as rec:
            a, prov = rec.attrs, rec.provenance
            for k in ("start_utc", "stop_utc"):
                out.setdefault(str(a.get(k, ""))[:10], f"the real date ({k})")
            out.setdefault(str(a.get("operator", "")), "the recording's operator")
            out.setdefault(str(prov.get("operator", "")), "the provenance's operator")
            out.setdefault(str(prov.get("host", "")), "the provenance's host name")
            out.setdefault(str(prov.get("user", "")), "the provenance's user name")
            for s in rec.streams.values():
                out.setdefault(str(s.attrs.get("hostname", "")),
                               f"the host name of stream {s.key}")
    except (RecordingError, OSError):
        pass
    return {v: f for v, f in out.items() if len(v) >= 3 and v != "n/a"}


def _check_output(out: Path, update: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ExportError("out", f"{out} is a file", "give a folder")
    if out.exists() and any(out.iterdir()) and not update and not (out / WORK_DIR).exists():
        raise ExportError("out", f"{out} is not empty",
                          "update that export, or give an empty folder",
                          options=(("update", ""),))


def export_study(root: str | Path, out: str | Path, *, update: bool = False, workers: int = 1,
                 scheduler: str | None = None, config: ExportConfig = ExportConfig(),
                 progress: bool = True, say: Callable[[str], None] | None = None) -> ExportReport:
    """Export the study at ``root`` to ``out`` (see module doc); returns what happened."""
    say = say or (lambda line: print(line, file=sys.stderr))
    root, out = Path(root), Path(out)
    study = Study(root)
    _check_output(out, update)
    people = {r.get("participant_id", "").removeprefix("sub-"): r for r in study.participants}
    refs = study.recordings(include_unfinished=True)
    skipped, allowed = [], {}
    for p in sorted({r.rid.participant for r in refs}):
        row = people.get(p)
        if row is None:
            skipped.append(f"skipped sub-{p}: not in participants.tsv (no consent recorded)")
        elif not consents(row, CONSENT_DATA):
            skipped.append(f"skipped sub-{p}: {CONSENT_DATA} is not 'yes' in participants.tsv")
        else:
            allowed[p] = row
    for line in skipped:
        say(line)
    if not allowed:
        raise ExportError(f"nothing to export: no participant has {CONSENT_DATA}=yes in "
                          f"{root / 'participants.tsv'} (the GUI records consent)")
    names = pseudonyms(root, sorted(allowed))
    needles_all = private_values(root, study.participants)
    needles_unit: dict[Path, dict[str, str]] = {}
    units: list[ExportUnit] = []
    for ref in refs:
        p = ref.rid.participant
        if p not in allowed:
            continue
        if not ref.finished:
            line = f"skipped {ref.path.name}: unfinished; run `mimicsync recover {ref.path}`"
            say(line)
            skipped.append(line)
            continue
        video = config.video and consents(allowed[p], CONSENT_VIDEO)
        ps = names[p]
        needles = without_public({**_recording_private_values(ref.path), **needles_all},
                                 (ref.rid.task, ref.rid.acq or "", ref.rid.session))
        needles_unit[ref.path] = needles
        units.append(ExportUnit(
            str(ref.path), str(out), ps.label, ref.rid.session, ref.rid.task, ref.rid.acq,
            ref.rid.run, ps.shift_days, video, config,
            _fingerprint(ref.path, video, ps.label, ps.shift_days, config),
            tuple(sorted(needles.items()))))

    state_path = _state_path(root, out)
    state = _load_state(state_path)
    done = state["units"]
    wanted = {u.stem for u in units}
    removed = []
    for stem in [s for s in done if s not in wanted]:  # consent withdrawn, recording gone
        for rel in done[stem]["result"]["files"]:
            (out / rel).unlink(missing_ok=True)
            removed.append(rel)
        del done[stem]
    todo = [u for u in units if not (
        u.stem in done and done[u.stem]["fingerprint"] == u.fingerprint
        and all((out / f).exists() for f in done[u.stem]["result"]["files"]))]
    (out / WORK_DIR).mkdir(parents=True, exist_ok=True)
    for u in todo:  # redone from scratch: nothing stale (e.g. a video now withdrawn) stays
        for rel in done.pop(u.stem, {}).get("result", {}).get("files", []):
            (out / rel).unlink(missing_ok=True)
    atomic_write_text(state_path, json.dumps(state, indent=1))
    failures = []
    bar = _progress(len(todo), progress)
    for unit, res in run_batch(export_recording, todo, workers=workers, scheduler=scheduler):
        bar.update(1)
        if isinstance(res, NothingToPublish):
            say(str(res))
            skipped.append(str(res))
            continue
        if isinstance(res, BaseException):
            failures.append(f"{Path(unit.source).name}: {res}")
            continue
        done[unit.stem] = {"fingerprint": unit.fingerprint, "result": dataclasses.asdict(res)}
        atomic_write_text(state_path, json.dumps(state, indent=1))
    bar.close()
    atomic_write_text(state_path, json.dumps(state, indent=1))
    if failures:
        raise ExportError(f"{len(failures)} of {len(todo)} recordings failed, first: "
                          f"{failures[0]}; fix it and run the same command again to resume")
    results = [UnitResult(**done[u.stem]["result"]) for u in units if u.stem in done]
    if not results:
        raise ExportError("nothing to export: no recording of a consenting participant has "
                          "data they allowed to publish (see the skipped lines)")
    _prune(out, results)
    _write_dataset_files(out, results, allowed, names, config)
    # every file against the participants' values; the dataset-level files (participants,
    # scans, README …) also against every recording's own values (each recording's files
    # were checked against those when staged: a host called like another recording's
    # protocol is no leak there)
    public = {x for u in units for x in (u.task, u.acq or "", u.ses)}
    files = [p for p in out.rglob("*") if WORK_DIR not in p.parts and p.is_file()]
    unit_files = {out / f for r in results for f in [*r.files, *r.shared]}
    every = without_public({k: v for n in needles_unit.values() for k, v in n.items()}, public)
    hits = scan_for(files, without_public(needles_all, public)) + scan_for(
        [p for p in files if p not in unit_files], every)
    if hits:
        said = f"{hits[0].describe()} ({hits[0].path.relative_to(out)}, deleted)"
        for leak in hits:
            leak.path.unlink(missing_ok=True)
        raise ExportError(f"privacy: {said}; the export is incomplete (report this bug)")
    shutil.rmtree(out / WORK_DIR, ignore_errors=True)
    return ExportReport(out, sorted(wanted), skipped, len(units) - len(todo), removed)


def _write_dataset_files(out: Path, results: list[UnitResult], allowed: dict[str, dict],
                         names: dict, config: ExportConfig) -> None:
    by_label = {names[p].label: p for p in allowed}
    first: dict[str, str] = {}
    sessions: dict[tuple[str, str], list[UnitResult]] = {}
    for r in results:
        sessions.setdefault((r.sub, r.ses), []).append(r)
        if r.acq_time != "n/a" and (r.sub not in first or r.acq_time < first[r.sub]):
            first[r.sub] = r.acq_time
    for (sub, ses), rs in sessions.items():
        bf.write_tsv(out / f"sub-{sub}" / f"ses-{ses}" / f"sub-{sub}_ses-{ses}_scans.tsv",
                     [{"filename": r.scans_filename, "acq_time": r.acq_time,
                       "sync_accuracy_ms": r.sync_accuracy}
                      for r in sorted(rs, key=lambda r: r.scans_filename)])
    rows = []
    for sub in sorted({r.sub for r in results}):
        p = by_label[sub]
        shifted_first = dt.datetime.fromisoformat(first[sub]) if sub in first else None
        real_first = (shifted_first + dt.timedelta(days=names[p].shift_days)
                      if shifted_first else None)
        rows.append({"participant_id": f"sub-{sub}",
                     **public_participant_row(allowed[p], real_first)})
    bf.write_tsv(out / "participants.tsv", rows, ["participant_id", "age", "sex", "handedness"])
    bf.write_json(out / "participants.json", bf.PARTICIPANTS_JSON)
    bf.write_json(out / "dataset_description.json",
                  bf.dataset_description(config.name, config.license, config.authors))
    n_video = len({r.sub for r in results if r.video})
    atomic_write_text(out / "README.md", bf.readme(config.name, len(rows), n_video))
    atomic_write_text(out / "LICENSE", bf.license_text(config.license))
    atomic_write_text(out / ".bidsignore", bf.BIDSIGNORE)


def _prune(out: Path, results: list[UnitResult]) -> None:
    """Remove subjects and sessions with no exported recording (withdrawn, deleted),
    including their session-level files, then empty folders."""
    keep = {(r.sub, r.ses) for r in results}
    for d in out.glob("sub-*"):
        if d.is_dir() and d.name[4:] not in {s for s, _ in keep}:
            shutil.rmtree(d)
    for d in out.glob("sub-*/ses-*"):
        if d.is_dir() and (d.parent.name[4:], d.name[4:]) not in keep:
            shutil.rmtree(d)
    for d in sorted((p for p in out.glob("sub-*/**") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(d.iterdir()):
            d.rmdir()


class _NoBar:
    def update(self, n: int) -> None: ...
    def close(self) -> None: ...


def _progress(total: int, enabled: bool):
    if not enabled or total == 0:
        return _NoBar()
    from tqdm import tqdm
    return tqdm(total=total, unit="rec", desc="export", file=sys.stderr, dynamic_ncols=True)
