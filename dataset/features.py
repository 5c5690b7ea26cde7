"""Derived features computed once: ``derivatives/mimicsync-features/`` of a study.

Per recording and preset (BIDS-derivatives naming, ``desc-<preset>``)::

    sub-X/ses-Y/sub-X_ses-Y_task-T[_acq-A]_run-NN_desc-<preset>_emg.npy     (n, k) processed
                                                             _times.npy   (n,) common timeline
                                                             _items.npz   per item: time,
                                      start (into _emg), frame, label, tap/annotation masks
                                                             _crops.npy   (items, S, S, 3) uint8
                                                             _face.npz    face track (boxes)
                                                             _features.json  parameters,
                                      input hash, channels, rate (written last: complete)

The ``.npy`` files are read memory-mapped, so DataLoader workers share the page cache and a
window is a slice. The input hash covers the recording file (size, modification time:
``mimicsync sync`` or ``recover`` change it), the parameters and :data:`FEATURES_VERSION`;
a sidecar with another hash is stale and is recomputed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy import signal

from mimicsync import __version__
from mimicsync.dataset.frame_views import (
    WindowSpec,
    channel_mean,
    item_times,
    per_frame_stream,
    window_starts,
)
from mimicsync.dataset.labels import context_masks, item_labels
from mimicsync.dataset.layout import SUFFIX
from mimicsync.dataset.processing import bandpass, bipolar, notch, sliding_rms
from mimicsync.dataset.recording import RecordingError
from mimicsync.dataset.study import open_recording, recording_id, study_root
from mimicsync.dataset.study_tree import BIDS_VERSION, atomic_write_text
from mimicsync.errors import check_option

FEATURES_VERSION = 1  # bump when the computation changes: every cache becomes stale
DERIVATIVES = Path("derivatives") / "mimicsync-features"


@dataclass(frozen=True)
class FeatureParams:
    """What a model needs from a recording; ``name`` is the preset (``desc-`` entity)."""

    name: str
    bipolar: bool = False  # True: the 22 Fridlund bipolar sites; False: monopolar EMG
    notch_hz: float | None = 50.0
    notch_q: float = 2.0
    band_hz: tuple[float, float] | None = (10.0, 500.0)
    fir_taps: int = 129
    envelope_s: float | None = None  # sliding RMS over this long (the envelope), or none
    rate_hz: float = 1024.0  # output rate of the processed channels
    dtype: str = "float16"
    window: WindowSpec = WindowSpec(0.5, "start", fps=20.0)
    crops: bool = False  # 256×256 face crops per item (Haar cascade, Kalman-smoothed box)
    crop_size: int = 256
    block_s: float = 20.0  # processing block (memory bound), with margins

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


PRESETS: dict[str, FeatureParams] = {
    # BioFace-3D: 20 fps, 0.5 s band-passed window starting at each frame, face crops
    "bioface": FeatureParams("bioface", crops=True),
    # EIFER: sEMG envelope of the Fridlund sites ending at each recorded frame
    "eifer": FeatureParams("eifer", bipolar=True, envelope_s=0.5, rate_hz=100.0,
                           dtype="float32", window=WindowSpec(0.5, "end")),
}


def preset(name: str) -> FeatureParams:
    """The named preset.

    Raises
    ------
    MimicsyncError
        Unknown name (the message lists the known ones).
    """
    check_option("preset", name, PRESETS)
    return PRESETS[name]


@dataclass(frozen=True)
class FeaturePaths:
    """The files of one recording's features for one preset."""

    folder: Path
    stem: str

    def __getitem__(self, part: str) -> Path:
        ext = {"emg": ".npy", "times": ".npy", "crops": ".npy", "items": ".npz",
               "face": ".npz", "features": ".json"}[part]
        return self.folder / f"{self.stem}_{part}{ext}"


def feature_paths(recording: str | Path, params: FeatureParams,
                  root: str | Path | None = None) -> FeaturePaths:
    """Where the features of ``recording`` go (under its study root by default)."""
    rid = recording_id(recording)
    root = Path(root) if root is not None else study_root(recording)
    stem = rid.stem.removesuffix(f"_{SUFFIX}") + f"_desc-{params.name}"
    return FeaturePaths(rid.session_dir(root / DERIVATIVES), stem)


def input_hash(recording: str | Path, params: FeatureParams) -> str:
    st = Path(recording).stat()
    key = f"{st.st_size}:{st.st_mtime_ns}:{params.digest()}:{FEATURES_VERSION}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def is_fresh(recording: str | Path, params: FeatureParams, root: str | Path | None = None
             ) -> bool:
    """True when the stored features were computed from this file with these parameters."""
    side = feature_paths(recording, params, root)["features"]
    try:
        return json.loads(side.read_text())["InputHash"] == input_hash(recording, params)
    except (OSError, ValueError, KeyError):
        return False


@dataclass
class FeatureResult:
    recording: str
    sidecar: str
    computed: bool  # False: the stored features were fresh
    items: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def compute_features(job: tuple[str, FeatureParams, str | None]) -> FeatureResult:
    """Compute (or keep, when fresh) one recording's features; the batch work unit."""
    import time
    path_s, params, root = job
    paths = feature_paths(path_s, params, root)
    if is_fresh(path_s, params, root):
        return FeatureResult(path_s, str(paths["features"]), False)
    t0 = time.monotonic()
    paths.folder.mkdir(parents=True, exist_ok=True)
    tmp = {k: p.with_name(f".{p.name}.tmp{p.suffix}") for k, p in
           ((k, paths[k]) for k in ("emg", "times", "items", "crops", "face"))}
    with open_recording(path_s) as rec:
        rec.check_synced()
        sidecar = _write_arrays(rec, params, tmp)
    done = [k for k in tmp if tmp[k].exists()]
    for k in done:
        os.replace(tmp[k], paths[k])
    for k in set(tmp) - set(done):
        paths[k].unlink(missing_ok=True)  # e.g. crops of an earlier run with crops on
    sidecar.update(InputHash=input_hash(path_s, params), Parameters=params.to_dict(),
                   Files=[paths[k].name for k in done], Source=Path(path_s).name,
                   GeneratedBy={"Name": "mimicsync", "Version": __version__},
                   CreatedUTC=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    atomic_write_text(paths["features"], json.dumps(sidecar, indent=1) + "\n")
    return FeatureResult(path_s, str(paths["features"]), True, sidecar["Items"],
                         time.monotonic() - t0, sidecar.get("Notes", []))


def _write_arrays(rec, params: FeatureParams, tmp: dict[str, Path]) -> dict:
    s = per_frame_stream(rec)  # refuses a recording without video
    t_emg = rec.timeline(s.key)
    names, n_out = process_stream(s, params, tmp["emg"])
    pos = np.arange(n_out) * s.srate / params.rate_hz
    t_out = np.interp(pos, np.arange(len(t_emg)), t_emg)
    np.save(tmp["times"], t_out)
    times, frames = item_times(rec, params.window)
    n_win = params.window.samples(params.rate_hz)
    starts = window_starts(t_out, times, n_win, params.window.anchor)
    ok = (starts >= 0) & (starts + n_win <= n_out)
    idx = np.flatnonzero(ok)
    span = t_out[starts[idx] + n_win - 1] - t_out[starts[idx]]
    ok[idx] = span <= (n_win - 1) / params.rate_hz * params.window.max_gap_factor
    keep = np.flatnonzero(ok)
    events = rec.events
    masks = context_masks(events, times[keep])
    np.savez(tmp["items"], time=times[keep], start=starts[keep].astype(np.int64),
             frame=frames[keep], label=item_labels(events, times[keep]).astype(str),
             **{f"mask_{k}": v for k, v in masks.items()})
    notes: list[str] = []
    if params.crops and len(keep):
        from mimicsync.dataset.face_crops import write_crops
        notes += write_crops(rec, frames[keep], params.crop_size, tmp["crops"], tmp["face"])
    return {"Channels": names, "SamplingFrequency": params.rate_hz, "WindowSamples": n_win,
            "Items": int(len(keep)), "Samples": int(n_out), "Dtype": params.dtype,
            "Synced": rec.is_synced, "Notes": notes}


def resample_ratio(fs: float, rate: float) -> tuple[int, int]:
    """``(up, down)`` with ``rate / fs == up / down``."""
    r = Fraction(rate).limit_denominator(10_000) / Fraction(fs).limit_denominator(10_000)
    return r.numerator, r.denominator


def process_stream(s, params: FeatureParams, out_path: Path) -> tuple[list[str], int]:
    """Filter the whole sEMG stream block by block into ``out_path`` (``.npy``, memory
    mapped while written); returns (channel names, output samples).

    Blocks start on multiples of the resampling ``down`` factor, with margins for the
    zero-phase filters, the envelope and the resampling filter, so block edges do not show.
    """
    fs, n = s.srate, len(s)
    up, down = resample_ratio(fs, params.rate_hz)
    env = int(round(params.envelope_s * fs)) if params.envelope_s else 0
    margin = -(-max(int(fs), env, 20 * down // max(up, 1)) // down) * down
    block = max(1, int(params.block_s * fs) // down) * down
    mean = channel_mean(s, n, params.block_s)
    n_out = -(-n * up // down)
    chans = s.channel_specs
    out, names = None, []
    for a in range(0, n, block):
        lo, hi = max(0, a - margin), min(n, a + block + margin)
        x = np.nan_to_num(np.asarray(s.physical(lo, hi), dtype=float) - mean, nan=0.0)
        y, names = filter_block(x, fs, chans, params)
        if (up, down) != (1, 1):
            y = signal.resample_poly(y, up, down, axis=0)
        if out is None:
            out = np.lib.format.open_memmap(out_path, "w+", np.dtype(params.dtype),
                                            (n_out, y.shape[1]))
        o0, o1 = a * up // down, min(n_out, -(-min(n, a + block) * up // down))
        out[o0:o1] = y[o0 - lo * up // down: o1 - lo * up // down]
    if out is None:
        raise RecordingError("file", f"stream {s.key} has no samples to process",
                             "record sEMG, or leave this recording out")
    out.flush()
    del out
    return names, n_out


def filter_block(x: np.ndarray, fs: float, chans, params: FeatureParams
                 ) -> tuple[np.ndarray, list[str]]:
    """Channel selection (bipolar or monopolar EMG), notch, band-pass, envelope."""
    if params.bipolar:
        x, names = bipolar(x, chans)
    else:
        keep = [i for i, c in enumerate(chans) if c.type.upper() == "EMG"]
        x, names = x[:, keep], [chans[i].label for i in keep]
    if params.notch_hz:
        x = notch(x, fs, params.notch_hz, params.notch_q)
    if params.band_hz:
        x = bandpass(x, fs, params.band_hz, params.fir_taps)
    if params.envelope_s:
        x = sliding_rms(x, int(round(params.envelope_s * fs)))
    return x, names


def write_description(root: str | Path) -> Path:
    """``derivatives/mimicsync-features/dataset_description.json`` (BIDS derivatives)."""
    path = Path(root) / DERIVATIVES / "dataset_description.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({
        "Name": "mimicsync features", "BIDSVersion": BIDS_VERSION, "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "mimicsync", "Version": __version__,
                         "Description": "processed sEMG windows, labels and face crops "
                                        "per frame (mimicsync features)"}],
        "SourceDatasets": [{"URL": "../../"}]}, indent=2) + "\n")
    return path
