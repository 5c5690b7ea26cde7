"""The recorder over real LSL on loopback, into real HDF5 files."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pylsl
import pytest
from lsl_helpers import assert_exact_slice, unique

from mimicsync.acquisition.recorder import Recorder
from mimicsync.acquisition.recorder_setup import RecorderConfig, RecorderError
from mimicsync.acquisition.stream_select import StreamSelector
from mimicsync.dataset.layout import RecordingId
from mimicsync.dataset.recording import Recording
from mimicsync.dataset.study_tree import read_tsv


def _config(root: Path, *selectors: str, **kw) -> RecorderConfig:
    return RecorderConfig(root=root, rid=RecordingId("01", "01", "rest", kw.pop("run", 1)),
                          streams=[StreamSelector.parse(s) for s in selectors],
                          resolve_wait=kw.pop("resolve_wait", 3.0), **kw)


def _record(cfg: RecorderConfig, seconds: float, during=None) -> Path:
    rec = Recorder(cfg)
    rec.start()
    if during:
        during(rec)
    time.sleep(seconds)
    return rec.stop()


def test_records_exact_values_timestamps_and_clock_offsets(tmp_path, outlet_factory):
    emg = outlet_factory(channels=6, srate=1000.0, fmt=pylsl.cf_int16)
    aux = outlet_factory(channels=3, srate=250.0, fmt=pylsl.cf_double64, stype="AUX")
    path = _record(_config(tmp_path, f"source_id={emg.source_id}", aux.name,
                           clock_interval=0.5), 2.5)
    with Recording(path) as rec:
        s = rec.stream(emg.name)
        assert s.group["data"].dtype == np.int16  # native dtype, no float conversion
        assert_exact_slice(s.data, s.time_stamps, *emg.sent())
        a = rec.stream(aux.name)
        assert a.group["data"].dtype == np.float64
        assert_exact_slice(a.data, a.time_stamps, *aux.sent())
        assert len(s) > 0.8 * 2.5 * 1000
        offsets = s.clock_offsets
        assert len(offsets) >= 4  # every 0.5 s, plus one at the end
        assert np.all(np.abs(offsets[:, 1]) < 0.01)  # loopback: same clock
        assert rec.status == "complete"
        assert rec.attrs["participant"] == "01"
        assert "pylsl" in rec.provenance["software"]
    sidecar = path.with_name(path.name.replace(".h5", ".json"))
    assert sidecar.exists()
    scans = read_tsv(path.parent / "sub-01_ses-01_scans.tsv")
    assert [r["filename"] for r in scans] == [path.name]
    assert read_tsv(tmp_path / "participants.tsv")[0]["participant_id"] == "sub-01"


def test_markers_become_stream_and_events(tmp_path, outlet_factory):
    emg = outlet_factory()
    name = unique("markers")
    mk = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0, pylsl.cf_string, name))
    sent = []

    def push(_rec):
        time.sleep(0.5)
        for text in ("start smile", "ünïcode ✓", "stop"):
            t = pylsl.local_clock()
            mk.push_sample([text], t)
            sent.append((text, t))
            time.sleep(0.2)

    path = _record(_config(tmp_path, emg.name, "type=Markers"), 0.5, during=push)
    with Recording(path) as rec:
        s = rec.stream(name)
        assert s.data == [t for t, _ in sent]
        np.testing.assert_allclose(s.time_stamps, [t for _, t in sent], atol=1e-9)
        markers = [e for e in rec.events if e.trial_type == "marker" and e.extra["stream"] == s.key]
        assert [e.value for e in markers] == [t for t, _ in sent]
        np.testing.assert_allclose([e.onset for e in markers], [t for _, t in sent], atol=2e-3)


def test_stream_that_disappears_is_a_gap_and_is_picked_up_again(tmp_path, outlet_factory):
    emg = outlet_factory(srate=500.0)
    other = outlet_factory(srate=200.0, stype="AUX")

    def unplug(_rec):
        time.sleep(1.0)
        emg.drop_outlet()
        time.sleep(4.0)
        emg.restore_outlet()

    path = _record(_config(tmp_path, emg.name, other.name), 2.5, during=unplug)
    with Recording(path) as rec:
        s = rec.stream(emg.name)
        kinds = [(e.trial_type, e.extra.get("stream")) for e in rec.events]
        assert ("stream_lost", s.key) in kinds and ("stream_back", s.key) in kinds
        ts = s.time_stamps
        gap = np.diff(ts).max()
        assert gap > 3.0  # the unplugged period is a gap, not invented samples
        sent, sent_ts = emg.sent()
        before = ts[: int(np.argmax(np.diff(ts))) + 1]
        after = ts[int(np.argmax(np.diff(ts))) + 1:]
        assert len(after) > 500  # it recorded again after the device came back
        assert set(before).issubset(set(sent_ts)) and set(after).issubset(set(sent_ts))
        # the other device kept recording throughout, without a gap
        o = rec.stream(other.name).time_stamps
        assert np.diff(o).max() < 0.5 and o[-1] - o[0] > 6.0
        assert rec.summary()["streams"][s.key]["disconnects"] == 1


def test_late_joining_stream_is_added(tmp_path, outlet_factory):
    first = outlet_factory(stype="EMG")
    tag = unique("late")
    late = {}

    def join(_rec):
        time.sleep(1.0)
        late["o"] = outlet_factory(name=tag, stype="EMG")

    path = _record(_config(tmp_path, "type=EMG", resolve_wait=1.0), 3.0, during=join)
    with Recording(path) as rec:
        assert {first.name, tag} <= {s.name for s in rec.streams.values()}
        s = rec.stream(tag)
        assert_exact_slice(s.data, s.time_stamps, *late["o"].sent())
        assert any(e.trial_type == "stream_added" and e.value == tag for e in rec.events)
        # the first stream kept going across the file reopen
        f = rec.stream(first.name)
        assert np.diff(f.time_stamps).max() < 0.2
        assert_exact_slice(f.data, f.time_stamps, *first.sent())


def test_required_stream_missing_refuses_and_writes_nothing(tmp_path):
    cfg = _config(tmp_path / "study", resolve_wait=0.5)
    cfg.require = [StreamSelector("name", unique("absent"))]
    with pytest.raises(RecorderError, match=r"required stream\(s\) not found: name=absent"):
        Recorder(cfg).start()
    assert not (tmp_path / "study").exists()


def test_never_overwrites_an_existing_recording(tmp_path, outlet_factory):
    emg = outlet_factory()
    path = _record(_config(tmp_path, emg.name), 0.5)
    before = path.read_bytes()
    with pytest.raises(RecorderError, match="^run: recording exists.*choose another run"):
        Recorder(_config(tmp_path, emg.name)).start()
    assert path.read_bytes() == before
    # an unfinished file of the same run is not replaced either
    part = RecordingId("01", "01", "rest", 2).part_path(tmp_path)
    part.write_bytes(b"crashed")
    with pytest.raises(RecorderError, match="unfinished recording exists.*mimicsync recover"):
        Recorder(_config(tmp_path, emg.name, run=2)).start()
    assert part.read_bytes() == b"crashed"


def test_final_name_taken_during_recording_keeps_new_data_in_part(tmp_path, outlet_factory):
    emg = outlet_factory()
    rec = Recorder(_config(tmp_path, emg.name))
    rec.start()
    time.sleep(0.5)
    rec.path.write_bytes(b"someone else")  # e.g. a second recorder with the same run
    with pytest.raises(RecorderError, match="finalizing failed.*mimicsync recover"):
        rec.stop()
    assert rec.path.read_bytes() == b"someone else"
    assert rec.part_path.exists() and rec.part_path.stat().st_size > 1000


def test_low_disk_stops_cleanly_and_keeps_the_file(tmp_path, outlet_factory, monkeypatch):
    """The disk 'fills' as the recording grows (a real disk cannot be filled here, and its
    free space moves with other programs): free = 3 MB above the limit minus our files."""
    import shutil
    emg = outlet_factory(channels=64, srate=4096.0, chunk=64)
    limit, budget = 1 << 30, 3_000_000
    real_usage = shutil.disk_usage

    def filling_disk(path):
        ours = sum(p.stat().st_size for p in tmp_path.rglob("*.h5*") if p.is_file())
        return real_usage(path)._replace(free=limit + budget - ours)

    monkeypatch.setattr(shutil, "disk_usage", filling_disk)
    rec = Recorder(_config(tmp_path, emg.name, min_free_bytes=limit))
    rec.start()
    deadline = time.monotonic() + 30
    while not rec.stop_requested and time.monotonic() < deadline:
        time.sleep(0.2)
    assert rec.stop_requested, "the recorder did not notice the disk limit"
    path = rec.stop()
    with Recording(path) as r:
        assert r.status == "complete"
        assert "disk nearly full" in r.attrs["stop_reason"]
        assert any(e.trial_type == "recording_stopped" for e in r.events)
        assert len(r.stream(emg.name)) > 4096


def test_low_disk_for_the_planned_time_warns_at_start(tmp_path, outlet_factory):
    emg = outlet_factory(channels=64, srate=4096.0, chunk=64)
    rec = Recorder(_config(tmp_path, emg.name, warn_minutes=1e9))
    rec.start()
    rec.stop()
    assert len(rec.warnings) == 1
    w = rec.warnings[0]
    assert w.startswith("disk: ") and " min left at " in w  # the time left at this rate
    per_min = float(w.split(" left at ")[1].split(" MB/min")[0])
    assert 60 < per_min < 70  # 64 ch float32 + timestamps at 4096 Hz = 64.9 MB/min
    quiet = Recorder(_config(tmp_path, emg.name, run=2, warn_minutes=0.0))
    quiet.start()
    quiet.stop()
    assert quiet.warnings == []
