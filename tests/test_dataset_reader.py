"""Reading API: study selection, common timeline, per-frame windows and labels, the
published processing chain, MNE, and one-line errors for damaged files."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from scipy import signal

from mimicsync.acquisition.simulators.recordings import write_simulated_recording
from mimicsync.dataset import FrameDataset, Recording, RecordingError, Study, WindowSpec
from mimicsync.dataset import electrodes as el
from mimicsync.dataset.frame_views import frame_features, frame_windows
from mimicsync.dataset.layout import RecordingId
from mimicsync.dataset.processing import bandpass, notch, process_emg, remove_mean, sliding_rms

T0 = 1000.0


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    for p, ses, task, acq in [("01", "01", "functional", "S"), ("01", "02", "emotions", "S"),
                              ("02", "01", "functional", "N")]:
        write_simulated_recording(root, RecordingId(p, ses, task, 1, acq), duration_s=4.0,
                                  width=160, height=120, seed=int(p) + int(ses), t0=T0,
                                  emg_offset_s=0.05, emg_drift_ppm=100.0)
    return root


def test_study_selects_by_entities_without_opening(study):
    s = Study(study)
    assert len(s.recordings()) == 3
    assert [r.rid.session for r in s.recordings(participant="sub-01")] == ["01", "02"]
    assert len(s.recordings(task="functional", acq=["S", "N"])) == 2
    assert [r.rid.participant for r in s.recordings(acq="N", run=1)] == ["02"]
    assert s.recordings(participant="03") == []
    with pytest.raises(RecordingError, match="^root: .*nope is not a folder") as e:
        Study(study / "nope")
    assert "--" not in str(e.value)  # library errors name fields, not flags


def test_timeline_undoes_the_emg_clock_error(study):
    with Study(study).recordings(participant="01", session="01")[0].open() as rec:
        s = rec.emg_stream()
        t = rec.timeline(s.key)
        true = T0 + np.arange(len(t)) / s.srate  # the simulator's ground truth
        assert np.abs(s.time_stamps - true).max() > 0.04  # raw stamps are 50 ms off
        # within 10 µs (a 100 ppm drift over the 50 ms offset), far below a sample (244 µs)
        assert np.abs(t - true).max() < 1e-5
        # camera, before event sync: the middle of the first row's exposure as the host
        # saw it, i.e. plus the readout and the 30 ms latency, refitted on the device clock
        ft = rec.frame_times
        assert len(ft) == rec.n_frames and np.all(np.diff(ft) > 0)
        readout = json.loads(rec.f["video"].attrs["settings"])["readout_ms"] / 1e3
        e0 = rec.frame_column("exposure_ms")[0] / 1e3
        assert abs(ft[0] - (T0 + e0 / 2 + readout + 0.03)) < 1e-3


def test_sync_hook_takes_over_when_sync_results_exist(tmp_path):
    p = write_simulated_recording(tmp_path, RecordingId("09", "01", "t", 1), duration_s=2.0,
                                  camera=False, t0=T0)
    with h5py.File(p, "r+") as f:  # the /sync layout of docs/format.md, by hand
        n = f["streams/mimicsync-emg-sim/time_stamps"].shape[0]
        g = f.create_group("sync")
        g.attrs["format"], g.attrs["complete"] = "mimicsync-sync", True
        s = g.create_group("streams/mimicsync-emg-sim")
        s.attrs["basis"], s.attrs["n"] = "index", n
        s.create_dataset("pieces", data=[[0, n - 1, 0.0, 1e-3]])
    with Recording(p) as rec:
        assert np.allclose(rec.timeline("mimicsync-emg-sim"), np.arange(n) * 1e-3, atol=1e-12)
    with h5py.File(p, "r+") as f:
        f["sync"].attrs["complete"] = False  # a half-written result is not trusted
    with Recording(p) as rec:
        assert rec.timeline("mimicsync-emg-sim")[0] > 100


@pytest.mark.parametrize("anchor", ["start", "center", "end"])
def test_frame_windows_anchor_and_labels(study, anchor):
    with Study(study).recordings(participant="01", session="01")[0].open() as rec:
        spec = WindowSpec(0.25, anchor)
        v = frame_windows(rec, spec)
        t = rec.timeline(v.stream_key)
        n = spec.samples(4096)
        assert v.n_samples == n == 1024 and len(v.frames) > 0.8 * rec.n_frames
        first = t[v.starts]
        offset = {"start": 0.0, "center": -(n // 2) / 4096, "end": -(n - 1) / 4096}[anchor]
        assert np.abs(first - (v.times + offset)).max() <= 1 / 4096 + 1e-9
        moves = {iv.movement: iv for iv in rec.movements}
        assert "forehead" in moves and set(v.labels) >= {"rest", "forehead"}
        inside = (v.times >= moves["forehead"].start) & (v.times < moves["forehead"].end)
        assert set(v.labels[inside]) == {"forehead"}


def test_window_spec_refuses_bad_values():
    with pytest.raises(ValueError, match="anchor"):
        WindowSpec(0.5, "middle")
    with pytest.raises(ValueError, match="length_s"):
        WindowSpec(0.0)


def test_processing_chain_steps_match_scipy_definitions():
    fs, n = 4096.0, 8192
    rng = np.random.default_rng(0)
    chans = el.default_channels(("fridlund",), trigger=True)
    x = rng.normal(0, 1, (n, len(chans))).astype(np.float32) + 5.0
    x[10, 3] = np.nan
    y = remove_mean(x)
    assert np.all(np.isfinite(y)) and np.abs(y.mean(axis=0)).max() < 1e-3 and y[10, 3] == 0
    # a 50 Hz tone is removed by the notch, 100 Hz passes
    t = np.arange(n) / fs
    tone = np.sin(2 * np.pi * 50 * t)[:, None]
    assert np.abs(notch(tone, fs)[1000:-1000]).max() < 0.05
    assert np.abs(notch(np.sin(2 * np.pi * 150 * t)[:, None], fs)[1000:-1000]).max() > 0.9
    b = signal.firwin(129, [10, 500], pass_zero=False, window="hamming", fs=fs)
    assert np.allclose(bandpass(y[:, :2], fs), signal.filtfilt(b, [1.0], y[:, :2], axis=0))
    const = np.full((5000, 1), 3.0)
    assert np.allclose(sliding_rms(const, 2048)[1500:3500], 3.0)
    feats, labels = process_emg(x, fs, chans, rate=30.0)
    assert labels[:2] == ["medFront_L", "medFront_R"] and len(labels) == 22
    assert feats.shape == (60, 22) and feats.dtype == np.float32


def test_frame_features_follow_the_movements(study):
    with Study(study).recordings(participant="01", session="01")[0].open() as rec:
        f = frame_features(rec)
        assert f.values.shape == (rec.n_frames, 22)
        v = frame_windows(rec)
        zyg = f.values[v.frames, f.channels.index("medFront_L")]
        assert np.nanmean(zyg[v.labels == "forehead"]) > 4 * np.nanmean(zyg[v.labels == "rest"])


def test_frame_dataset_items(study):
    ds = FrameDataset(Study(study).recordings(), WindowSpec(0.5, "start"), depth=True)
    assert len(ds) > 200 and ds.classes[0] == "rest"
    item = ds[3]
    assert item["emg"].shape == (2048, 64) and item["emg"].dtype == np.float32
    assert item["frame"].shape == (120, 160, 3) and item["depth"].shape == (120, 160)
    assert ds.classes[item["label"]] == item["movement"]
    with Recording(ds.paths[item["recording"]]) as rec:
        s = rec.emg_stream()
        t = rec.timeline(s.key)
        i0 = int(np.searchsorted(t, rec.frame_times[item["frame_index"]]))
        assert np.array_equal(item["emg"], s.data[i0:i0 + 2048])
    with pytest.raises(IndexError):
        ds[len(ds)]
    ds.close()


def test_to_mne_raw_types_units_annotations(study):
    with Study(study).recordings(participant="01", session="01")[0].open() as rec:
        raw = rec.to_mne_raw()
        s = rec.emg_stream()
        types = raw.get_channel_types()
        assert types.count("emg") == 63 and types[-1] == "stim"
        assert np.allclose(raw.get_data()[5], s.data[:, 5] * 1e-6)
        assert raw.info["line_freq"] == 50.0 and raw.info["meas_date"] is not None
        desc = list(raw.annotations.description)
        assert "perform/forehead" in desc and "tap_cue/tap" in desc
        fh = next(e for e in rec.movements if e.movement == "forehead")
        onset = raw.annotations.onset[desc.index("perform/forehead")]
        t = rec.timeline(s.key)
        assert abs(t[int(round(onset * 4096))] - fh.start) < 1 / 4096


def test_truncated_and_corrupt_files_give_one_line_errors_with_recovery_hint(study, tmp_path):
    src = Study(study).recordings()[0].path
    truncated = tmp_path / src.name
    truncated.write_bytes(src.read_bytes()[: src.stat().st_size // 3])
    with pytest.raises(RecordingError) as e:
        Recording(truncated)
    msg = str(e.value)
    assert "\n" not in msg and f"mimicsync recover {truncated}" in msg
    garbage = tmp_path / "sub-01_ses-01_task-x_run-01_recording.h5"
    garbage.write_bytes(b"\x00" * 4096)
    with pytest.raises(RecordingError, match="recover"):
        FrameDataset([garbage])
    # a file whose compressed depth chunk was overwritten: header fine, frame damaged
    damaged = tmp_path / "damaged" / src.name
    damaged.parent.mkdir()
    damaged.write_bytes(src.read_bytes())
    with h5py.File(damaged) as f:
        info = f["video/depth"].id.get_chunk_info(2)
    with open(damaged, "r+b") as fh:
        fh.seek(info.byte_offset)
        fh.write(b"\xff" * min(info.size, 256))
    ds = FrameDataset([damaged], depth=True)
    row = int(np.flatnonzero(ds._frame == 2)[0])
    with pytest.raises(RecordingError) as e:
        ds[row]
    assert "\n" not in str(e.value) and "mimicsync recover" in str(e.value)
    assert ds[row + 1]["depth"].shape == (120, 160)


def test_clock_correction_uses_the_senders_clock_for_large_offsets():
    """A device clock an hour off with 50 ppm drift: rows are [recorder time, offset]."""
    from mimicsync.dataset.timeline import clock_corrected
    a, b = 3600.0, 50e-6
    sender_t = np.arange(0.0, 600.0, 5.0)  # sender clock when each offset was measured
    offset = a + b * sender_t
    rows = np.column_stack([sender_t + offset, offset])
    ts = np.linspace(0.0, 600.0, 1001)  # sample timestamps on the sender's clock
    np.testing.assert_allclose(clock_corrected(ts, rows), ts + a + b * ts, rtol=0, atol=1e-6)
