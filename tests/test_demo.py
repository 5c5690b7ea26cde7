"""`mimicsync demo`: the main job on simulated devices, as a new user runs it."""

from __future__ import annotations

import subprocess
import sys

from mimicsync.dataset.recording import Recording

MIMICSYNC = [sys.executable, "-m", "mimicsync.cli.main"]


def test_demo_records_emg_video_and_markers_and_prints_a_summary(tmp_path):
    out = subprocess.run(MIMICSYNC + ["demo", "--root", str(tmp_path), "--duration", "6",
                                      "--width", "320", "--height", "240", "--depth", "424x240:1.2"],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    path = next(tmp_path.glob("sub-demo/ses-01/*_recording.h5"))
    assert str(path.relative_to(tmp_path)) in out.stdout
    with Recording(path) as rec:
        summary = rec.summary()
        emg = next(s for s in summary["streams"].values() if s["type"] == "EMG")
        assert emg["samples"] > 5 * 4096 and abs(emg["effective_srate"] - 4096) < 5
        assert emg["gaps"] == 0
        assert summary["video"]["frames"] > 5 * 29 and summary["video"]["dropped"] == 0
        assert rec.color(10).shape == (240, 320, 3) and rec.depth(10).shape == (240, 424)
        assert rec.depth(10).max() <= 1200 and rec.f["video"].attrs["depth_max_m"] == 1.2
        # The demo runs a protocol: its cues are events, its marker stream is recorded.
        assert [e.trial_type for e in rec.events if e.trial_type == "perform"] == ["perform"] * 7
        assert any(s["type"] == "Markers" and s["samples"] > 30 for s in summary["streams"].values())
        labels = rec.stream(next(k for k, s in summary["streams"].items()
                                 if s["type"] == "EMG")).channel_labels
        assert len(labels) == 64 and "Zyg_L1" in labels and "E24" in labels and "TRIG" in labels
        # the demo ends synchronized: video onto the sEMG timeline, stored in /sync
        sy = rec.summary()["sync"]
        assert sy is not None and sy["confidence"] >= 0.5 and sy["events_used"] >= 4
    for needle in ("samples", "4096", "video:", "dropped frames: 0", "size:", "video offset:",
                   "written:"):
        assert needle in out.stdout
