"""kill -9 at random moments: the recording must be recoverable with <= 1 s lost."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pylsl
import pytest
from lsl_helpers import assert_exact_slice

from mimicsync.dataset.recording import Recording
from mimicsync.dataset.recover import recover
from mimicsync.dataset.study_tree import read_tsv

MIMICSYNC = [sys.executable, "-m", "mimicsync.cli.main"]


def _start_recording(root, source_id: str, extra: list[str] = ()) -> subprocess.Popen:
    cmd = MIMICSYNC + ["record", "--root", str(root), "--participant", "01", "--session", "01",
                       "--task", "crash", "--require", f"source_id={source_id}", *extra]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if "recording to" in line:
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"recorder did not start: {proc.stderr.read()}")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill9_at_random_moment_loses_at_most_one_second(tmp_path, outlet_factory, seed):
    emg = outlet_factory(channels=16, srate=2048.0, fmt=pylsl.cf_int16, chunk=32)
    video = (["--camera", "sim", "--width", "320", "--height", "240", "--depth", "424x240"]
             if seed != 2 else [])
    proc = _start_recording(tmp_path, emg.source_id, video)
    time.sleep(random.Random(seed).uniform(1.0, 4.0))
    os.kill(proc.pid, signal.SIGKILL)
    t_kill = pylsl.local_clock()
    proc.wait()
    part = next(tmp_path.glob("sub-01/ses-01/*.h5.part"))
    assert not list(tmp_path.glob("sub-01/ses-01/*.h5")), "a crashed file must not look finished"

    # the crashed file already opens, directly, as it is
    with Recording(part) as rec:
        assert rec.status == "recording"
        assert len(rec.stream(emg.name)) > 0
        before = [rec.depth(i) for i in range(rec.n_frames)] if video else []

    final = recover(part)
    assert final.name.endswith("_recording.h5") and not part.exists()
    with h5py.File(final, "r") as f:  # now a normal HDF5 file for any tool
        assert f.attrs["status"] == "recovered"
    with Recording(final) as rec:
        s = rec.stream(emg.name)
        sent, sent_ts = emg.sent()
        assert_exact_slice(s.data, s.time_stamps, sent, sent_ts)
        lost = t_kill - s.time_stamps[-1]
        assert lost <= 1.0, f"lost {lost:.2f} s of data before the kill"
        assert len(s.clock_offsets) >= 1
        if video:
            frames = rec.frames
            assert t_kill - frames[-1, 3] <= 1.0
            assert rec.color(rec.n_frames - 1).shape == (240, 320, 3)  # last frame decodes
            assert rec.depth(rec.n_frames - 1).shape == (240, 424)
            # every frame counted decodes, with its own value table, as it did before recover
            assert rec.n_frames >= len(before) > 0
            for i, d in enumerate(before):
                np.testing.assert_array_equal(rec.depth(i), d)
    scans = read_tsv(final.parent / "sub-01_ses-01_scans.tsv")
    assert scans[0]["filename"] == final.name and scans[0]["status"] == "recovered"


def test_recover_refuses_a_finished_file_and_leaves_it_alone(tmp_path, outlet_factory):
    emg = outlet_factory()
    proc = _start_recording(tmp_path, emg.source_id, ["--duration", "1"])
    assert proc.wait(timeout=30) == 0
    final = next(tmp_path.glob("sub-01/ses-01/*.h5"))
    before = final.read_bytes()
    out = subprocess.run(MIMICSYNC + ["recover", str(final)], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "already finished" in out.stderr
    assert final.read_bytes() == before


def test_sigterm_stops_cleanly(tmp_path, outlet_factory):
    emg = outlet_factory()
    proc = _start_recording(tmp_path, emg.source_id)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    final = next(tmp_path.glob("sub-01/ses-01/*.h5"))
    with Recording(final) as rec:
        assert rec.status == "complete"
        assert "SIGTERM" in rec.attrs["stop_reason"]
        s = rec.stream(emg.name)
        assert_exact_slice(s.data, s.time_stamps, *emg.sent())


@pytest.mark.parametrize("delay", [0.3, 0.6, 0.9, 1.2])
def test_kill9_while_starting_leaves_no_broken_recording(tmp_path, outlet_factory, delay):
    """A kill before data flows leaves nothing, or a .creating file the next start removes."""
    emg = outlet_factory()
    cmd = MIMICSYNC + ["record", "--root", str(tmp_path), "--participant", "01", "--session",
                       "01", "--task", "crash", "--require", f"source_id={emg.source_id}"]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    ses = tmp_path / "sub-01" / "ses-01"
    for part in ses.glob("*.h5.part"):  # if it got that far, it is a recoverable recording
        final = recover(part)
        with Recording(final) as rec:
            assert rec.status == "recovered"
    assert not list(ses.glob("*.h5.part"))
    if list(ses.glob("*.creating")):  # its owner is dead: the next start goes ahead at once
        out = subprocess.run(cmd + ["--duration", "1"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert not list(ses.glob("*.creating*"))


def test_creating_file_of_a_live_recorder_blocks_a_dead_ones_does_not(tmp_path, outlet_factory):
    """The start lock is decided by whether its owner lives, not by the file's age."""
    from mimicsync.acquisition.recorder import Recorder
    from mimicsync.acquisition.recorder_setup import RecorderConfig
    from mimicsync.acquisition.stream_select import StreamSelector
    from mimicsync.dataset.layout import RecordingId
    emg = outlet_factory()
    rid = RecordingId("01", "01", "crash", 1)
    creating = Path(str(rid.part_path(tmp_path)) + ".creating")
    creating.parent.mkdir(parents=True)
    creating.write_bytes(b"left by a crash")
    # a live owner: another process holds the lock
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl,os,sys,time; fd=os.open(sys.argv[1], os.O_RDWR|os.O_CREAT); "
        "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, str(os.getpid()).encode()); "
        "print('held', flush=True); time.sleep(60)"), str(creating) + ".lock"],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"

    def cfg():
        return RecorderConfig(root=tmp_path, rid=rid, resolve_wait=2.0,
                              require=[StreamSelector("name", emg.name)])

    try:
        with pytest.raises(FileExistsError, match=f"another recorder \\(process {holder.pid}\\)"):
            Recorder(cfg()).start()
        assert creating.exists()
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # the owner dies: its lock goes with it
        holder.wait()
    rec = Recorder(cfg())
    rec.start()  # at once, however fresh the file is
    assert not creating.exists() and rec.part_path.exists()
    assert not Path(str(creating) + ".lock").exists()
    path = rec.stop()
    with Recording(path) as r:
        assert len(r.stream(emg.name)) > 0
