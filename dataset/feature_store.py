"""Read the feature store (:mod:`.features`), and fill it for a whole study.

:func:`load_features` maps the arrays of one recording (memory-mapped, read-only);
:func:`ensure_features` computes what is missing or stale for many recordings, on a
process pool or a Dask cluster (:mod:`.batch`), with a progress bar.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mimicsync.dataset.batch import run_batch
from mimicsync.dataset.features import (
    FeatureParams,
    FeatureResult,
    compute_features,
    feature_paths,
    is_fresh,
    write_description,
)
from mimicsync.dataset.recording import RecordingError
from mimicsync.dataset.study import RecordingRef, Study

MASKS = ("tap_block", "tap", "annotation")


@dataclass
class RecordingFeatures:
    """One recording's stored features (``emg`` and ``crops`` memory-mapped)."""

    sidecar: dict
    emg: np.ndarray  # (n, k) processed channels, stored dtype
    times: np.ndarray  # (n,) common timeline
    item_time: np.ndarray  # (items,)
    item_start: np.ndarray  # (items,) first row of each item's window in ``emg``
    item_frame: np.ndarray  # (items,) nearest recorded frame
    item_label: np.ndarray  # (items,) str
    masks: dict[str, np.ndarray]
    crops: np.ndarray | None  # (items, S, S, 3) uint8

    @property
    def channels(self) -> list[str]:
        return list(self.sidecar["Channels"])

    @property
    def window(self) -> int:
        return int(self.sidecar["WindowSamples"])

    def windows(self, items: np.ndarray | slice = slice(None)) -> np.ndarray:
        """``(m, window, k)`` windows of the given items (a copy)."""
        starts = np.atleast_1d(self.item_start[items])
        return np.stack([self.emg[s: s + self.window] for s in starts])


def load_features(sidecar: str | Path) -> RecordingFeatures:
    """The features a ``_features.json`` sidecar describes.

    Raises
    ------
    RecordingError
        A file of the set is missing or unreadable (compute the features again).
    """
    sidecar = Path(sidecar)
    stem = sidecar.name.removesuffix("_features.json")
    part = lambda name: sidecar.with_name(f"{stem}_{name}")  # noqa: E731
    try:
        meta = json.loads(sidecar.read_text())
        emg = np.load(part("emg.npy"), mmap_mode="r")
        times = np.load(part("times.npy"))
        with np.load(part("items.npz")) as z:
            items = {k: z[k] for k in z.files}
        crops_path = part("crops.npy")
        crops = np.load(crops_path, mmap_mode="r") if crops_path.name in meta["Files"] else None
    except (OSError, ValueError, KeyError) as e:
        raise RecordingError("features", f"{sidecar} is incomplete ({e})",
                             "compute them again (mimicsync features)") from None
    return RecordingFeatures(meta, emg, times, items["time"], items["start"], items["frame"],
                             items["label"], {k: items[f"mask_{k}"] for k in MASKS}, crops)


def ensure_features(recordings: Iterable[str | Path | RecordingRef], params: FeatureParams,
                    *, root: str | Path | None = None, workers: int = 1,
                    scheduler: str | None = None, progress: bool = True
                    ) -> list[FeatureResult]:
    """Compute the features of every recording that has none or stale ones (others are
    kept); returns one result per recording, in the given order.

    Raises
    ------
    RecordingError
        A recording failed (the message names it and why).
    """
    paths = [str(r.path if isinstance(r, RecordingRef) else r) for r in recordings]
    root_s = None if root is None else str(root)
    done: dict[str, FeatureResult] = {
        p: FeatureResult(p, str(feature_paths(p, params, root)["features"]), False)
        for p in paths if is_fresh(p, params, root)}
    jobs = [(p, params, root_s) for p in paths if p not in done]
    roots = {feature_paths(p, params, root).folder.parents[3] for p in paths}  # study roots
    from tqdm import tqdm
    bar = tqdm(total=len(jobs), unit="rec", desc=f"features {params.name}",
               disable=not progress or not jobs, dynamic_ncols=True)
    failed = []
    for job, res in run_batch(compute_features, jobs, workers=workers, scheduler=scheduler):
        bar.update(1)
        if isinstance(res, BaseException):
            failed.append(f"{Path(job[0]).name}: {res}")
        else:
            done[job[0]] = res
    bar.close()
    for r in roots:
        write_description(r)
    if failed:
        raise RecordingError("features", f"{len(failed)} of {len(paths)} recordings failed, "
                             f"first: {failed[0]}", "fix that recording and run again")
    return [done[p] for p in paths]


def study_features(root: str | Path, params: FeatureParams, **kw) -> list[FeatureResult]:
    """:func:`ensure_features` over the finished recordings of a study that have sEMG
    and video (electrode-free sessions have nothing to pair)."""
    refs = []
    for ref in Study(root).recordings():
        with ref.open() as rec:
            try:
                rec.emg_stream()
            except RecordingError:
                continue
            if rec.has_video and rec.n_frames:
                refs.append(ref)
    return ensure_features(refs, params, **kw)
