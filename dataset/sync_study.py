"""Synchronise every recording of a study: one work unit per file, on a process pool or
a Dask cluster (:mod:`.batch`), skipping files already synchronised; a row per file for
the summary table.

A unit never raises: what happened (synced, refused, cannot be synced, failed) is its
result, so one bad file does not stop the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mimicsync.dataset.batch import run_batch
from mimicsync.dataset.recording import Recording, RecordingError
from mimicsync.dataset.study import Study

SYNCED, ALREADY, REFUSED, CANNOT, FAILED = ("synced", "already synced", "refused",
                                            "cannot sync", "failed")
NOT_APPLICABLE = "nothing to sync"  # no sEMG or no video (e.g. an electrode-free session)


@dataclass(frozen=True)
class SyncRow:
    """The outcome for one recording (numbers NaN when there is no result)."""

    name: str
    status: str
    offset_ms: float = float("nan")
    drift_ppm: float = float("nan")
    confidence: float = float("nan")
    residual_ms: float = float("nan")
    note: str = ""


def _row(path: Path, status: str, summary: dict | None, note: str = "") -> SyncRow:
    s = summary or {}
    get = lambda k, f=1.0: float(s[k]) * f if k in s else float("nan")  # noqa: E731
    return SyncRow(path.name, status, get("offset_s", 1e3), get("drift_ppm"),
                   get("confidence"), get("residual_rms_ms"), note)


def sync_unit(job: tuple[str, object, bool]) -> SyncRow:
    """Synchronise one file and store ``/sync`` (runs in any process)."""
    from mimicsync.dataset.sync_recording import SyncError, synchronize
    from mimicsync.dataset.sync_store import summary, write_sync
    from mimicsync.sync.match import SyncRefused
    path_s, params, force = job
    path = Path(path_s)
    try:
        result = synchronize(path, params, force=force)
    except SyncError as e:
        return _row(path, CANNOT, None, str(e))
    except SyncRefused as e:
        return _row(path, REFUSED, None, e.reason)
    write_sync(path, result, forced=force)
    with Recording(path) as rec:
        return _row(path, SYNCED, summary(rec.f), "; ".join(result.warnings))


def sync_study(root: str | Path, params=None, *, force: bool = False, workers: int = 1,
               scheduler: str | None = None, progress: bool = True) -> list[SyncRow]:
    """Synchronise the finished recordings of the study at ``root`` not yet synchronised.

    Returns
    -------
    list of SyncRow
        One row per recording, sorted by file name.

    Raises
    ------
    RecordingError
        ``root`` is not a study folder.
    BatchError
        The Dask scheduler cannot be reached (or Dask is not installed).
    """
    from mimicsync.dataset.sync_recording import SyncParams
    from mimicsync.dataset.sync_store import summary
    params = params or SyncParams()
    rows, todo = [], []
    for ref in Study(root).recordings():
        try:
            with ref.open() as rec:
                done = rec.is_synced
                s = summary(rec.f) if done else None
                what = _missing(rec)
        except RecordingError as e:
            rows.append(_row(ref.path, CANNOT, None, str(e)))
            continue
        if what:
            rows.append(_row(ref.path, NOT_APPLICABLE, None, what))
        elif done:
            rows.append(_row(ref.path, ALREADY, s))
        else:
            todo.append((str(ref.path), params, force))
    bar = _bar(len(todo), progress)
    for job, res in run_batch(sync_unit, todo, workers=workers, scheduler=scheduler):
        bar.update(1)
        if isinstance(res, BaseException):
            res = _row(Path(job[0]), FAILED, None, f"{type(res).__name__}: {res}")
        rows.append(res)
    bar.close()
    return sorted(rows, key=lambda r: r.name)


def _missing(rec: Recording) -> str:
    """What a recording lacks to be synchronised ("" when it has both modalities)."""
    try:
        rec.emg_stream()
    except RecordingError:
        return "no sEMG stream"
    return "" if rec.has_video and rec.n_frames else "no video"


def _bar(total: int, enabled: bool):
    from tqdm import tqdm
    return tqdm(total=total, unit="rec", desc="sync", disable=not enabled or total == 0,
                dynamic_ncols=True)


def table_lines(rows: list[SyncRow]) -> list[str]:
    """The summary table: one line per recording, then the counts."""
    width = max([len(r.name) for r in rows] + [9])
    out = [f"{'recording':<{width}}  {'result':<14} {'offset ms':>9} {'drift ppm':>9} "
           f"{'conf':>5} {'resid ms':>8}  note"]
    num = lambda v, w, d: f"{v:>{w}.{d}f}" if v == v else f"{'-':>{w}}"  # noqa: E731
    for r in rows:
        out.append(f"{r.name:<{width}}  {r.status:<14} {num(r.offset_ms, 9, 1)} "
                   f"{num(r.drift_ppm, 9, 1)} {num(r.confidence, 5, 2)} "
                   f"{num(r.residual_ms, 8, 1)}  {r.note}")
    counts = {s: sum(r.status == s for r in rows)
              for s in (SYNCED, ALREADY, NOT_APPLICABLE, REFUSED, CANNOT, FAILED)}
    out.append(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no recordings")
    return out
