"""The public dataset read back like a recording: export → Study(bids) → the same
windows (within BDF resolution), frames (within H.264 loss), labels and frame times."""

from __future__ import annotations

import numpy as np
import pytest
from study_helpers import syncable_study

from mimicsync.cli.main import main
from mimicsync.dataset import FrameDataset, RecordingError, Study, WindowSpec
from mimicsync.dataset.bids_export import export_study
from mimicsync.dataset.mne_raw import on_sample_clock
from mimicsync.dataset.study_tree import update_participant
from mimicsync.dataset.sync_study import sync_study


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    root = syncable_study(tmp_path_factory.mktemp("private"), participants=("07",))
    assert {r.status for r in sync_study(root, progress=False)} == {"synced", "nothing to sync"}
    update_participant(root, "07", {"consent_data_public": "yes", "consent_video_public": "yes"})
    out = tmp_path_factory.mktemp("public") / "ds"
    export_study(root, out, progress=False)
    return root, out


def test_study_opens_the_export_with_the_same_views(trees):
    root, out = trees
    pub = Study(out)
    assert pub.kind == "bids" and Study(root).kind == "mimicsync"
    [ref] = pub.recordings(task="functional", acq="S")
    [src] = Study(root).recordings(acq="S")
    spec = WindowSpec(0.5, "start")
    a = FrameDataset([src], spec, require_synced=True)
    b = FrameDataset([ref], spec, require_synced=True)  # the export says it was synced
    assert len(a) == len(b) > 300 and a.classes == b.classes
    assert np.array_equal(a.labels, b.labels)
    with src.open() as rec_a, ref.open() as rec_b:
        s = rec_a.emg_stream()
        t = rec_a.timeline(s.key)
        # frame times on the BDF's sample clock, within the MP4's 1/90000 s
        expect = on_sample_clock(t, s.srate, rec_a.frame_times)
        assert np.abs(rec_b.frame_times - expect).max() < 1.5 / 90000
        x = s.physical()
        res = (x.max(axis=0) - x.min(axis=0)) / (2**24 - 1)  # BDF: 24 bit, channel range
    assert np.abs(a._start - b._start).max() <= 1  # a frame time on a sample edge may flip
    same = np.flatnonzero(a._start == b._start)
    assert len(same) > 0.9 * len(a)
    for i in same[:: max(1, len(same) // 20)]:
        ia, ib = a[int(i)], b[int(i)]
        assert ia["frame_index"] == ib["frame_index"] and ia["movement"] == ib["movement"]
        assert np.all(np.abs(ia["emg"] - ib["emg"]) <= res * 1.01 + 1e-6)
        err = np.abs(ia["frame"].astype(float) - ib["frame"].astype(float))
        assert ia["frame"].shape == ib["frame"].shape and err.mean() < 6  # H.264 at crf 18


def test_features_of_the_export(trees, capsys):
    _, out = trees
    assert main(["features", "--root", str(out), "--preset", "eifer", "--no-progress"]) == 0
    assert "1 computed" in capsys.readouterr().out
    ds = FrameDataset(Study(out).recordings(), features="eifer", frames=False)
    assert ds[0]["emg"].shape == (50, 22)


def test_a_folder_that_is_neither_is_one_line(tmp_path, capsys):
    (tmp_path / "notes").mkdir()
    with pytest.raises(RecordingError, match="neither a mimicsync study nor a BIDS export"):
        Study(tmp_path)
    assert main(["sync", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mimicsync: error: --root: ") and "\n" not in err
