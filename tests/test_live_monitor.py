"""Live monitor buffers and inlets: exact ring contents, decimation, lost streams."""

from __future__ import annotations

import time

import numpy as np
import pytest

from mimicsync.acquisition.camera import Frame
from mimicsync.acquisition.live.monitor import (
    LiveMonitor,
    MinMaxEnvelope,
    MonitoredStream,
    PreviewSink,
    SampleRing,
    minmax_columns,
)
from mimicsync.acquisition.live.stream_watch import StreamWatcher
from mimicsync.acquisition.write_queue import Samples
from mimicsync.dataset.stream_meta import StreamMeta


def test_ring_keeps_the_newest_samples_across_wraparound():
    ring = SampleRing(10, 2)
    sent = np.arange(46, dtype=np.float32).reshape(23, 2)
    for a, b in [(0, 3), (3, 11), (11, 12), (12, 23)]:
        ring.extend(sent[a:b], np.arange(a, b, dtype=float))
    data, ts = ring.latest(100)
    np.testing.assert_array_equal(data, sent[-10:])
    np.testing.assert_array_equal(ts, np.arange(13, 23))
    np.testing.assert_array_equal(ring.latest(4)[0], sent[-4:])
    assert ring.total == 23
    ring.extend(np.zeros((25, 2), np.float32), np.arange(25.0))  # larger than capacity
    assert ring.latest(10)[1][-1] == 24 and ring.total == 48


def test_minmax_columns_keep_every_extreme():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((10_000, 3)).astype(np.float32)
    x[4321, 1] = 50.0  # a tap spike must survive decimation
    mins, maxs = minmax_columns(x, 300)
    assert mins.shape == (300, 3)
    assert maxs.max() == 50.0 and maxs[:, 1].argmax() == 4321 * 300 // 10_000
    assert mins.min() == x.min() and maxs.min(axis=0).tolist() <= x.max(axis=0).tolist()


def test_envelope_built_incrementally_equals_batch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5000, 4)).astype(np.float32)
    ts = np.arange(5000) / 1000.0
    env = MinMaxEnvelope(4, bin_size=16, n_bins=100)
    i = 0
    for n in rng.integers(1, 60, 400):
        env.extend(x[i:i + n], ts[i:i + n])
        i += n
        if i >= 5000:
            break
    mins, maxs, t = env.snapshot()
    full = (min(i, 5000) // 16) * 16
    ref = x[:full].reshape(-1, 16, 4)
    np.testing.assert_array_equal(mins, ref.min(axis=1)[-100:])
    np.testing.assert_array_equal(maxs, ref.max(axis=1)[-100:])
    np.testing.assert_array_equal(t, ts[15:full:16][-100:])


def test_gaps_in_timestamps_count_as_dropped_samples():
    class Info:  # the few StreamInfo methods StreamMeta.from_info uses
        def as_xml(self): return "<info/>"
        def channel_format(self): return 1
        def name(self): return "x"
        def type(self): return "EMG"
        def source_id(self): return "x"
        def hostname(self): return "h"
        def nominal_srate(self): return 1000.0
        def channel_count(self): return 2
        def uid(self): return ""
        def session_id(self): return ""
        def created_at(self): return 0.0
    ms = MonitoredStream("x", StreamMeta.from_info(Info()), 2.0, 100, 2.0)
    ts = np.arange(0, 1000) / 1000.0
    keep = np.r_[0:300, 350:1000]  # 50 samples lost
    jitter = np.random.default_rng(0).normal(0, 2e-4, len(keep))  # jitter is not a gap
    for part in np.array_split(keep, 7):
        ms.put(Samples("x", np.ones((len(part), 2)), ts[part] + jitter[np.isin(keep, part)]))
    assert ms.dropped == 50


def test_preview_sink_downscales_and_counts():
    sink = PreviewSink(max_width=640)
    color = np.arange(720 * 1280 * 3, dtype=np.uint32).astype(np.uint8).reshape(720, 1280, 3)
    sink(Frame(0, 0, 0.0, 1.0, color))
    sink(Frame(1, 1, 33.0, 1.033, color))
    count, small = sink.latest()
    assert count == 2 and small.shape == (360, 640, 3) and small.flags.c_contiguous
    np.testing.assert_array_equal(small, color[::2, ::2])
    bgrx = PreviewSink(max_width=440, bgrx=True)  # the window's: 32-bit pixels Qt paints as is
    bgrx(Frame(0, 0, 0.0, 1.0, color))
    _, px = bgrx.latest()
    assert px.shape == (240, 427, 4) and (px[..., 3] == 255).all()
    np.testing.assert_array_equal(px[..., 2::-1], color[::3, ::3])  # B G R order


def _wait(cond, timeout=8.0):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_monitor_reads_selected_streams_and_shows_a_lost_one(outlet_factory):
    emg = outlet_factory(channels=6, srate=1000.0)
    other = outlet_factory(channels=2, srate=100.0)
    watcher = StreamWatcher(interval=0.3).start()
    mon = LiveMonitor(window_s=2.0, columns=200)
    try:
        assert _wait(lambda: {emg.name, other.name} <= {e.name for e in watcher.snapshot()[1]})
        infos = [e.info for e in watcher.snapshot()[1] if e.name in (emg.name, other.name)]
        mon.set_streams(infos)
        assert _wait(lambda: len(mon.snapshot()) == 2 and all(v.samples > 500 or v.srate < 500
                                                              for v in mon.snapshot()))
        ms = next(m for m in mon.streams() if m.meta.name == emg.name)
        data, ts = ms.ring.latest(300)
        sent, sent_ts = emg.sent()
        i0 = int(np.searchsorted(sent_ts, ts[0]))
        np.testing.assert_array_equal(data, sent[i0:i0 + 300])  # exact values, in order
        mins, maxs, _ = ms.envelope.snapshot()
        assert mins.shape[1] == 6 and len(mins) > 50 and (maxs >= mins).all()
        view = next(v for v in mon.snapshot() if v.name == emg.name)
        assert view.connected and view.dropped == 0 and len(view.channels) == 6

        mon.set_streams([i for i in infos if i.name() == emg.name])  # deselect one
        assert _wait(lambda: [v.name for v in mon.snapshot()] == [emg.name])

        emg.drop_outlet()  # unplugged: shown as lost, not removed
        assert _wait(lambda: not mon.snapshot()[0].connected)
        emg.restore_outlet()
        assert _wait(lambda: mon.snapshot()[0].connected)
    finally:
        mon.stop()
        watcher.stop()


@pytest.mark.parametrize("bad", [[], None])
def test_monitor_with_nothing_selected_is_empty(bad):
    mon = LiveMonitor()
    mon.set_streams(bad or [])
    assert mon.snapshot() == [] and mon.pending == 0
    mon.stop()


def test_live_taps_give_the_running_offset():
    """Taps filmed by the simulated camera (auto exposure, rolling shutter) and synthetic
    sEMG taps, pushed as the app does: sEMG in LSL-sized chunks, frames one by one through
    the camera sink (sync.live does the detection and offline sync's verdict)."""
    from mimicsync.acquisition.live.sync_status import LiveTaps
    from mimicsync.acquisition.simulators.camera import SimulatedCamera
    from mimicsync.acquisition.simulators.scenario import Scenario, Tap
    from mimicsync.acquisition.simulators.signals import synthetic_emg
    from mimicsync.dataset.electrodes import TRIGGER
    from mimicsync.format import ChannelSpec
    rng = np.random.default_rng(3)
    fs, t0, dur = 4096.0, 100.0, 19.0
    taps = 1.5 + 1.4 * np.arange(12) + rng.uniform(0, 0.1, 12)  # the 6 + 6 protocol
    emg = synthetic_emg(dur, fs, 16, taps + t0, t0=t0, rng=rng).astype(np.float32)
    emg = np.column_stack([emg, np.zeros(len(emg), np.float32)])  # + a quiet trigger channel
    ts = t0 + np.arange(len(emg)) / fs
    cam = SimulatedCamera(Scenario(taps=[Tap(t0 + x, 45.0 if i % 2 else -45.0)
                                         for i, x in enumerate(taps)]),
                          width=320, height=180, depth=False, realtime=False, seed=2)
    cam.start()
    cam.t_start = t0
    frames = [cam.read() for _ in range(int(dur * 30))]
    live = LiveTaps()
    live(frames[0])  # not started: ignored
    assert live.status() is None
    live.start(fs, [ChannelSpec(f"E{i}", type="EMG") for i in range(16)] + [TRIGGER], fps=30.0)
    fed = 0
    for a in range(0, len(ts), 64):
        live.push_emg(emg[a:a + 64], ts[a:a + 64])
        while fed < len(frames) and frames[fed].host_time <= ts[min(a + 63, len(ts) - 1)]:
            live(frames[fed])
            fed += 1
    st = live.status(final=True)
    assert len(st.emg_taps) >= 10 and len(st.video_taps) >= 10
    assert all(np.abs(taps + t0 - t).min() < 0.002 for t in st.emg_taps)
    # live frames are instants of their arrival: exposure + readout + latency later
    late = float(np.median([f.host_time - cam.exposure_time(f.device_index) for f in frames]))
    assert all(np.abs(taps + t0 + late - t).min() < 0.05 for t in st.video_taps)
    assert st.matched >= 10 and st.will_sync and st.state.startswith("will sync"), st.state
    # ... and the cheek's rows start exposing readout·row/H after the first row: the live
    # clock (frames as instants of arrival, no metadata) is ahead of them by that much
    row = cam.renderer.geom.px(45.0, -20.0)[1] / 180
    expected = late - cam.physics.readout_s * row
    assert st.offset_ms == pytest.approx(expected * 1e3, abs=10.0)
    live.stop()
    assert live.status() == st and not live.running  # the last figures stay readable
