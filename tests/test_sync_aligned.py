"""Aligned access: after sync, a frame's EMG window starts at the sample taken when the
frame was exposed; features are evaluated at each frame's own time."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from sync_helpers import recording, shared_folder

from mimicsync.acquisition.simulators.sync_recordings import read_truth
from mimicsync.dataset.frame_views import WindowSpec, frame_features, frame_windows
from mimicsync.dataset.processing import ChainParams, bandpass, bipolar, notch, remove_mean
from mimicsync.dataset.recording import Recording, RecordingError
from mimicsync.dataset.sync_recording import synchronize
from mimicsync.dataset.sync_store import write_sync


@pytest.fixture(scope="module")
def synced_copy(tmp_path_factory):
    src = recording(shared_folder(tmp_path_factory), "dense")
    path = tmp_path_factory.mktemp("aligned") / "dense.h5"
    shutil.copy(src, path)
    write_sync(path, synchronize(path))
    return src, path


def test_windows_start_at_the_sample_taken_with_the_frame(synced_copy):
    raw, path = synced_copy
    with Recording(path) as rec:
        assert rec.is_synced
        w = frame_windows(rec, WindowSpec(0.5, "start"), require_synced=True)
        truth = read_truth(rec)
        fs = rec.emg_stream().srate
        # true time of each window's first sample vs the frame's true exposure time
        lag = truth.emg_times[w.starts] - truth.frame_times[w.frames]
        assert w.n_samples == 2048 and len(w.frames) > 0.9 * rec.n_frames
        assert lag.min() > -2e-3 and lag.max() < 1 / fs + 2e-3  # sync error + one sample
        assert np.array_equal(w.times, rec.frame_times[w.frames])
    with Recording(raw) as rec:
        with pytest.raises(RecordingError, match="not synchronised.*mimicsync sync"):
            frame_windows(rec, require_synced=True)
        w = frame_windows(rec)  # clock level only: the camera latency stays
        truth = read_truth(rec)
        lag = truth.emg_times[w.starts] - truth.frame_times[w.frames]
        assert np.median(np.abs(lag)) > 0.1


def test_features_at_frame_times_match_a_direct_computation(synced_copy):
    _, path = synced_copy
    with Recording(path) as rec:
        spec = WindowSpec(0.25, "center")
        f = frame_features(rec, spec, block_s=7.0)  # several blocks: margins must not show
        s = rec.emg_stream()
        x = remove_mean(s.physical())
        x, labels = bipolar(x, s.channel_specs)
        p = ChainParams()
        x = bandpass(notch(x, s.srate, p.notch_hz, p.notch_q), s.srate, p.band_hz, p.fir_taps)
        t_emg, t_fr = rec.timeline(s.key), rec.frame_times
    assert f.channels == labels and f.values.shape == (len(t_fr), len(labels))
    assert f.valid.sum() > 0.95 * len(t_fr)
    for j in np.flatnonzero(f.valid)[:: max(1, f.valid.sum() // 25)]:
        a = np.searchsorted(t_emg, t_fr[j] - 0.125)
        b = np.searchsorted(t_emg, t_fr[j] + 0.125)
        direct = np.sqrt(np.mean(x[a:b] ** 2, axis=0))
        assert np.allclose(f.values[j], direct, rtol=0.02), j
    assert not f.valid[0]  # the first frame's centred window starts before the sEMG
