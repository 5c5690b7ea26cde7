"""End to end in real time: the simulated lab over LSL, the recorder, then `mimicsync sync`.

The amplifier's stamps are off by 0.25 s and 80 ppm on its own side, which LSL's clock
offsets cannot see (same host); only the events can. About 11 s.
"""

from __future__ import annotations

import time
import uuid

import numpy as np
import pylsl

from mimicsync.acquisition.recorder import Recorder
from mimicsync.acquisition.recorder_setup import RecorderConfig
from mimicsync.acquisition.simulators.devices import SimSettings, SimulatedLab
from mimicsync.acquisition.simulators.scenario import Scenario, Tap, Trigger
from mimicsync.acquisition.simulators.sync_recordings import alignment_error, read_truth
from mimicsync.acquisition.stream_select import StreamSelector
from mimicsync.cli.main import main
from mimicsync.dataset.layout import RecordingId
from mimicsync.dataset.recording import Recording


def test_record_in_real_time_then_sync(tmp_path, capsys):
    t0 = pylsl.local_clock()
    sc = Scenario()
    for i, at in enumerate((2.0, 3.5, 8.5, 10.0)):
        sc.add_tap(Tap(t0 + at, x_mm=45.0 if i % 2 == 0 else -45.0))
    for k in range(7):
        sc.add_trigger(Trigger(t0 + 4.5 + 0.5 * k + 0.037 * k, 0.12))
    settings = SimSettings(suffix=uuid.uuid4().hex[:8], emg_offset_s=0.25, emg_drift_ppm=80,
                           width=320, height=240, depth=False, markers=False, seed=7)
    lab = SimulatedLab(settings, scenario=sc)
    with lab:
        rec = Recorder(RecorderConfig(root=tmp_path, rid=RecordingId("01", "01", "sync"),
                                      require=[StreamSelector("name", lab.emg.name)],
                                      camera=lab.camera, resolve_wait=3.0))
        rec.start()
        time.sleep(max(0.0, t0 + 10.8 - pylsl.local_clock()))
        path = rec.stop()
    assert main(["sync", str(path)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "written:" in out
    with Recording(path) as r:
        truth = read_truth(r)
        err = np.abs(alignment_error(r.timeline(r.emg_stream().key), r.frame_times, truth))
        n_used = int(r.f["sync"].attrs["events_used"])
    assert n_used >= 12, out
    assert np.median(err) < 3e-3 and err.max() < 8e-3, (np.median(err), err.max())
