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


def test_live_finds_the_led_itself_and_reports_its_earlier_edges(tmp_path_factory):
    """As the app runs it, with no LED box given: the LED is found in the frames, and every
    LED switch-on offline pairs is reported live, those before it was found included."""
    path = recording(shared_folder(tmp_path_factory), "dense")
    offline = synchronize(path)
    live, _, _ = play_live(path)
    x0, y0, x1, y1 = live.video.led_box
    ox0, oy0, ox1, oy1 = offline.led.roi
    assert x0 < ox1 and ox0 < x1 and y0 < oy1 and oy0 < y1  # the same LED
    live_on = np.array([e.time for e in live.events["video", "trigger_on"]])
    end = live.video.times[-1] - 1.0  # live reports an edge once the window is past it
    off_on = [p.video for p in offline.events.pairs if p.kind == "trigger_on" and p.video < end]
    assert len(off_on) >= 50
    assert all(np.abs(live_on - t).min() < 1.0 / 30 + 0.01 for t in off_on)
    assert min(off_on) - live_on.min() < 0.1  # the first edge too, before the LED was found
