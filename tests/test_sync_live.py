"""Live detection chunk by chunk agrees with the offline sync, fast and with bounded state."""

from __future__ import annotations

import numpy as np
import pytest
from sync_helpers import play_live, recording, shared_folder

from mimicsync.dataset.sync_recording import synchronize


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    """The dense recording pushed through LiveSync, plus the offline result."""
    path = recording(shared_folder(tmp_path_factory), "dense")
    offline = synchronize(path)
    live, emg_cost, frame_cost = play_live(path, led_box=offline.led.roi)
    return live, offline, emg_cost, frame_cost


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


def test_live_state_is_bounded(played):
    """However long the recording, the live detector keeps a bounded window (its CPU cost
    per second and per frame is measured in bench/realtime_budget.py)."""
    live, _, _, _ = played
    assert live.emg.env.cap < 4096 and live.video.light.maxlen <= 4 * 30
