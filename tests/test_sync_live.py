"""Live detection chunk by chunk agrees with the offline sync, fast and with bounded state."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sync_helpers import recording, shared_folder

from mimicsync.dataset.recording import Recording
from mimicsync.dataset.sync_recording import synchronize
from mimicsync.sync.live import EmgTapStream, LiveSync, VideoTapStream
from mimicsync.sync.video_cells import decode_small


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    """The dense recording pushed through LiveSync as the recorder would (LSL-sized chunks,
    frames one by one), plus the offline result for comparison."""
    path = recording(shared_folder(tmp_path_factory), "dense")
    offline = synchronize(path)
    with Recording(path) as rec:
        s = rec.emg_stream()
        x, ts, fs = s.physical(), s.time_stamps, s.srate
        types = [c.type for c in s.channel_specs]
        emg = EmgTapStream(fs, x.shape[1], trigger_channel=types.index("TRIG"),
                           emg_channels=[i for i, t in enumerate(types) if t != "TRIG"])
        w = int(rec.f["video"].attrs["width"])
        h = int(rec.f["video"].attrs["height"])
        frames = [decode_small(j, w, h) for j in rec.iter_stored_color()]
        host = rec.frames[:, 3]
    scale = w / frames[0].shape[1]
    live = LiveSync(emg, VideoTapStream(30.0, scale=scale, led_box=offline.led.roi))
    t = time.perf_counter()
    chunk = 64  # 1/64 s, the simulated amplifier's LSL chunk
    for a in range(0, len(ts), chunk):
        live.push_emg(x[a:a + chunk], ts[a:a + chunk])
    emg_s = time.perf_counter() - t
    t = time.perf_counter()
    for when, g in zip(host, frames):
        live.push_frame(when, g)
    video_s = time.perf_counter() - t
    return live, offline, emg_s / (len(ts) / fs), video_s / len(frames)


def test_live_taps_match_offline(played):
    live, offline, _, _ = played
    st = live.final_status()
    off_emg = np.sort([p.emg for p in offline.events.pairs if p.kind == "tap"])
    assert len(st.emg_taps) == off_emg.size
    assert np.abs(np.array(st.emg_taps) - off_emg).max() < 0.5e-3  # within two samples
    off_video = np.sort([p.video for p in offline.events.pairs if p.kind == "tap"])
    # every offline video contact is found live, within a frame (live frames are on the
    # host arrival clock and carry no exposure metadata, offline on the device clock)
    live_v = np.array(st.video_taps)
    assert all(np.abs(live_v - t).min() < 1.0 / 30 + 0.01 for t in off_video)
    assert st.emg_triggers >= 50 and st.video_triggers >= 50


def test_live_agrees_with_offline_sync(played):
    live, offline, _, _ = played
    st = live.final_status()
    # the same decision, by the same rules and threshold, over all events (no cap)
    assert st.will_sync and st.state.startswith("will sync") and st.matched > 50
    # live: video host arrival times, so a few ms of transport jitter
    assert st.offset_ms == pytest.approx(offline.offset_s * 1e3, abs=5.0)


def test_live_is_cheap_and_bounded(played):
    live, _, emg_cost, frame_cost = played
    assert emg_cost < 0.1  # s of CPU per s of 64-channel sEMG at 4096 Hz
    assert frame_cost < 0.01  # s per frame (30 fps: a third of the frame interval)
    assert live.emg.env.cap < 4096 and live.video.light.maxlen <= 4 * 30
