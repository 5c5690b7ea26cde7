"""`mimicsync features`: processed windows, labels and face crops computed once into
derivatives/mimicsync-features/, read back by FrameDataset, recomputed when stale."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest
from scipy import signal

from mimicsync.acquisition.simulators.recordings import write_simulated_recording
from mimicsync.cli.main import main
from mimicsync.dataset import FrameDataset, Recording, RecordingError, Study
from mimicsync.dataset.feature_store import ensure_features, load_features
from mimicsync.dataset.features import (
    DERIVATIVES,
    FeatureParams,
    feature_paths,
    filter_block,
    is_fresh,
    preset,
    resample_ratio,
)
from mimicsync.dataset.frame_views import WindowSpec
from mimicsync.dataset.layout import RecordingId

pytestmark = pytest.mark.filterwarnings("ignore::mimicsync.dataset.UnsyncedWarning")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("feat")
    for i, p in enumerate(["01", "02"]):
        write_simulated_recording(root, RecordingId(p, "01", "functional", 1, "S"),
                                  duration_s=5.0, width=320, height=240, depth=False, seed=i)
    write_simulated_recording(root, RecordingId("01", "01", "functional", 1, "N"),
                              duration_s=3.0, width=160, height=120, depth=False, emg=False)
    return root


def test_features_command_writes_a_derivatives_tree_read_by_frame_dataset(study, capsys):
    assert main(["features", "--root", str(study), "--preset", "bioface", "--workers", "1",
                 "--no-progress"]) == 0
    assert "2 computed, 0 up to date" in capsys.readouterr().out
    desc = json.loads((study / DERIVATIVES / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "derivative" and desc["GeneratedBy"][0]["Name"] == "mimicsync"
    refs = Study(study).recordings(acq="S")
    ds = FrameDataset(refs, features="bioface")
    item = ds[len(ds) // 2]
    assert item["emg"].shape == (512, 63) and item["emg"].dtype == np.float16
    assert item["frame"].shape == (256, 256, 3) and item["frame"].dtype == np.uint8
    assert ds.feature_channels[0] == "medFront_L1" and len(ds.feature_channels) == 63
    assert np.allclose(np.diff(ds.times[ds.recordings == 0]), 1 / 20.0)
    picks = [len(ds) - 1, 0, len(ds) // 2]  # a whole batch at once gives the same items
    batch = ds[picks]
    assert batch["emg"].shape == (3, 512, 63) and batch["frame"].shape == (3, 256, 256, 3)
    for j, i in enumerate(picks):
        one = ds[i]
        assert np.array_equal(batch["emg"][j], one["emg"])
        assert np.array_equal(batch["frame"][j], one["frame"])
        assert batch["movement"][j] == one["movement"] and batch["time"][j] == one["time"]
    f = load_features(feature_paths(refs[0].path, preset("bioface"))["features"])
    lead = f.times[f.item_start] - f.item_time  # first processed sample at the item time
    assert lead.min() >= 0 and lead.max() < 1 / 1024 + 1e-9
    track = np.load(feature_paths(refs[0].path, preset("bioface"))["face"])
    seen = np.isfinite(track["detected"][track["probed"]]).all(axis=1)
    assert seen.mean() > 0.9 and np.isfinite(track["boxes"]).all()  # the cascade sees the face
    # the crop is the face: skin tones fill its centre, unlike the frame's corner
    with Recording(refs[0].path) as rec:
        corner = rec.color(int(f.item_frame[0]))[:20, :20].astype(float).mean(axis=(0, 1))
    centre = f.crops[0][96:160, 96:160].astype(float).mean(axis=(0, 1))
    assert centre[0] > centre[2] + 20 and np.abs(centre - corner).sum() > 40
    assert main(["features", "--root", str(study), "--no-progress"]) == 0
    assert "0 computed, 2 up to date" in capsys.readouterr().out


def test_blocks_and_resampling_match_one_pass_over_the_whole_stream(study):
    ref = Study(study).recordings(acq="S")[1]
    params = FeatureParams("blocks", rate_hz=1024.0, dtype="float32", block_s=1.5,
                           window=WindowSpec(0.25, "center"))
    [res] = ensure_features([ref], params, progress=False)
    f = load_features(res.sidecar)
    with Recording(ref.path) as rec:
        s = rec.emg_stream()
        x = s.physical().astype(float)
        x = np.nan_to_num(x - x.mean(axis=0))
        y, names = filter_block(x, s.srate, s.channel_specs, params)
        up, down = resample_ratio(s.srate, params.rate_hz)
        y = signal.resample_poly(y, up, down, axis=0)
    assert names == f.channels and f.emg.shape == y.shape
    inner = slice(1024, len(y) - 1024)  # the whole-stream pass has its own edges
    err = np.abs(f.emg[inner] - y[inner]).max() / np.abs(y[inner]).max()
    assert err < 1e-3, err


def test_stale_cache_is_detected_and_recomputed(study):
    ref = Study(study).recordings(acq="S")[0]
    params = FeatureParams("stale", dtype="float32", crops=False)
    [first] = ensure_features([ref], params, progress=False)
    assert first.computed and is_fresh(ref.path, params)
    [again] = ensure_features([ref], params, progress=False)
    assert not again.computed
    st = ref.path.stat()  # the recording changes (as `mimicsync sync` changes it)
    os.utime(ref.path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert not is_fresh(ref.path, params)
    [redo] = ensure_features([ref], params, progress=False)
    assert redo.computed and is_fresh(ref.path, params)
    changed = dataclasses.replace(params, band_hz=(20.0, 450.0))  # same name, new settings
    assert not is_fresh(ref.path, changed)
    [redo2] = ensure_features([ref], changed, progress=False)
    assert redo2.computed
    sidecar = json.loads(open(redo2.sidecar).read())
    assert sidecar["Parameters"]["band_hz"] == [20.0, 450.0]


def test_a_recording_without_video_is_refused_in_one_line(study):
    [ref] = Study(study).recordings(acq="N")
    with pytest.raises(RecordingError, match="has no video|no EMG stream"):
        ensure_features([ref], FeatureParams("novideo", crops=False), progress=False)
