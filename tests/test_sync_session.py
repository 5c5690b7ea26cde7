"""Synchronising whole simulated recordings against their ground truth, and /sync itself.

The recordings come from the real simulators (sEMG amplifier with a wrong clock, camera
rendering the same scenario) written straight to a file (tests/sync_helpers.py). The
error is measured per frame: its time on the common timeline minus the time of the sEMG
sample taken at the same true instant.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
from pyxdf import pyxdf
from sync_helpers import errors, recording, shared_folder

from mimicsync.dataset.recording import Recording
from mimicsync.dataset.sync_recording import synchronize
from mimicsync.dataset.sync_store import GROUP, stored_times, summary, write_sync
from mimicsync.sync.stream_maps import map_stream


@pytest.fixture(scope="session")
def sims(tmp_path_factory):
    folder = shared_folder(tmp_path_factory)
    return lambda name: recording(folder, name)


@pytest.fixture(scope="session")
def synced(sims):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = synchronize(sims(name))
        return cache[name]
    return get


def test_dense_events_align_to_a_fraction_of_a_millisecond(sims, synced):
    r = synced("dense")
    err = errors(sims("dense"), r)
    assert np.median(err) < 0.5e-3 and err.max() < 2e-3, (np.median(err), err.max())
    assert r.confidence > 0.9 and r.events.n_used > 100
    # the sEMG's stamps run 120 ppm fast; the camera's clock is right
    assert r.drift_ppm == pytest.approx(-120, abs=30)
    assert r.events.fit.fitted_bias  # enough trigger edges to judge the taps' bias
    assert r.dropped_frames > 0 and len(r.frame_times) == len(r.video_clock)


def test_sparse_protocol_with_missed_taps_extra_peaks_and_dropped_frames(sims, synced):
    r = synced("sparse")
    err = errors(sims("sparse"), r)
    assert np.median(err) < 5e-3 and err.max() < 8e-3  # a quarter frame: 10 events only
    counts = r.events.counts
    assert counts["trigger_on"] == (2, 2, 2) and counts["trigger_off"] == (2, 2, 2)
    assert counts["tap"][0] == 6 and counts["tap"][2] == 5  # the dropped frames hid one
    rej = r.events.rejected
    # the sEMG tap whose frames were dropped has no counterpart; the two soft taps were
    # seen by the camera only; expressions were detected and rejected in both
    assert sum(1 for m, k, _, why in rej if m == "emg" and k == "tap" and "counterpart" in why) == 1
    assert sum(1 for m, k, _, why in rej if m == "video" and k == "tap" and "counterpart" in why) >= 2
    assert any("facial movement" in why for m, _, _, why in rej if m == "emg")
    assert r.confidence > 0.5 and not r.events.fit.fitted_bias


def test_clock_reset_and_host_offset(sims, synced):
    r = synced("reset")
    err = errors(sims("reset"), r)
    assert np.median(err) < 1e-3 and err.max() < 3e-3
    emg = r.streams[r.reference]
    assert emg.clock_resets == 1 and any("clock reset" in w for w in r.warnings)
    assert np.allclose(emg.clock_drift_ppm, -40, atol=5)  # seen by LSL's offsets, both segments
    # LED pulses while the sender was down have no sEMG counterpart
    n_emg, n_vid, n_match = r.events.counts["trigger_on"]
    assert n_match == n_emg < n_vid


def test_taps_only(sims, synced):
    r = synced("taps")
    err = errors(sims("taps"), r)
    assert err.max() < 8e-3
    assert r.led is None and any("no trigger LED" in w for w in r.warnings)
    assert r.events.counts["tap"][::2] == (6, 6) and r.confidence > 0.6


def test_clock_level_matches_pyxdf_with_recorder_time_offsets():
    """Stored rows are [recorder time, offset]; pyxdf fits against sender time (XDF)."""
    rng = np.random.default_rng(3)
    t_rec = 86_000.0 + np.arange(0, 600, 5.0)
    offset = -86_400.0 + 20e-6 * (t_rec - t_rec[0]) + rng.normal(0, 3e-5, t_rec.size)
    ts = np.sort(t_rec[0] - offset[0] + rng.uniform(0, 600, 2000))  # sender clock
    m = map_stream(ts, np.column_stack([t_rec, offset]), 0.0)
    stream = SimpleNamespace(time_stamps=ts.copy(), clock_times=list(t_rec - offset),
                             clock_values=list(offset), clock_segments=[])
    pyxdf._clock_sync({1: stream})
    assert m.basis == "timestamp" and m.clock_drift_ppm[0] == pytest.approx(20, abs=0.5)
    assert np.abs(m.times(ts) - stream.time_stamps).max() < 1e-6
    naive = SimpleNamespace(time_stamps=ts.copy(), clock_times=list(t_rec),
                            clock_values=list(offset), clock_segments=[])
    pyxdf._clock_sync({1: naive})  # fitting against recorder time is off by drift × offset
    assert np.abs(naive.time_stamps - stream.time_stamps).max() > 1e-3


def _digest(path, skip=GROUP) -> str:
    """Hash of every dataset and attribute outside ``skip``."""
    h = hashlib.sha256()
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if name.split("/")[0] == skip:
                return
            h.update(name.encode())
            for k in sorted(obj.attrs):
                h.update(k.encode() + repr(obj.attrs[k]).encode())
            if isinstance(obj, h5py.Dataset):
                h.update(obj[()].tobytes())
        f.visititems(visit)
        for k in sorted(f.attrs):
            h.update(k.encode() + repr(f.attrs[k]).encode())
    return h.hexdigest()


def test_sync_store_replaces_only_sync_and_readers_follow_it(sims, synced, tmp_path):
    import shutil
    path = tmp_path / "dense.h5"
    shutil.copy(sims("dense"), path)
    before = _digest(path)
    r = synced("dense")
    write_sync(path, r)
    with Recording(path) as rec:
        assert np.array_equal(rec.frame_times, r.frame_times)
        key = r.reference
        assert np.allclose(rec.timeline(key), r.streams[key].times(rec.stream(key).time_stamps))
        frame_key = rec.f["video"].attrs["frame_stream_key"]
        # the frame-index stream maps through the device clock onto the same times
        assert np.abs(rec.timeline(frame_key) - r.frame_times).max() < 1e-6
        g = rec.f[GROUP]
        assert g.attrs["complete"] and g.attrs["format"] == "mimicsync-sync"
        assert {"streams", "video", "events", "rejected"} <= set(g)
        ev = g["events"][:]
        assert ev.shape[0] == len(r.events.pairs) and set(ev["kind"]) >= {b"trigger_on", b"tap"}
        assert summary(rec.f)["confidence"] == pytest.approx(r.confidence)
    assert _digest(path) == before  # raw data, attributes and events untouched
    write_sync(path, r)  # re-run: replaced, no leftovers
    with h5py.File(path, "r") as f:
        assert [k for k in f if k.startswith(GROUP)] == [GROUP]


def test_half_written_sync_is_ignored_and_cleaned_up(sims, synced, tmp_path):
    import shutil
    path = tmp_path / "dense.h5"
    shutil.copy(sims("dense"), path)
    r = synced("dense")
    write_sync(path, r)
    with h5py.File(path, "r+") as f:  # a crash during a later run, and a crash mid-swap
        f.create_group(f"{GROUP}.new-dead").attrs["complete"] = False
        f[GROUP].attrs["complete"] = False
    with Recording(path) as rec:
        assert stored_times(rec, "video") is None  # not trusted: clock level instead
        assert not np.array_equal(rec.frame_times, r.frame_times)
    write_sync(path, r)
    with h5py.File(path, "r") as f:
        assert [k for k in f if k.startswith(GROUP)] == [GROUP] and f[GROUP].attrs["complete"]
