"""Training views: items on a target frame rate at exact times, tap/annotation labels
and masks, group-wise splits that never leak a participant."""

from __future__ import annotations

import numpy as np
import pytest

from mimicsync.acquisition.simulators.recordings import write_simulated_recording
from mimicsync.dataset import FrameDataset, Recording, Study, WindowSpec, group_split
from mimicsync.dataset.events import Event
from mimicsync.dataset.frame_views import frame_windows
from mimicsync.dataset.labels import context_intervals, item_labels
from mimicsync.dataset.layout import RecordingId
from mimicsync.errors import MimicsyncError

pytestmark = pytest.mark.filterwarnings("ignore::mimicsync.dataset.UnsyncedWarning")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("views")
    for i, (p, ses) in enumerate([("01", "01"), ("01", "02"), ("02", "01"), ("03", "01"),
                                  ("04", "01")]):
        write_simulated_recording(root, RecordingId(p, ses, "functional", 1, "S"),
                                  duration_s=4.0, width=160, height=120, depth=False, seed=i)
    return root


def test_target_fps_grid_windows_start_at_the_exact_grid_time(study):
    ref = Study(study).recordings()[0]
    with Recording(ref.path) as rec:
        w = frame_windows(rec, WindowSpec(0.5, "start", fps=20.0))
        t_emg = rec.timeline(rec.emg_stream().key)
        ft = rec.frame_times
    assert np.allclose(np.diff(w.times), 1 / 20.0)
    assert np.isclose(w.times[0], ft[0])
    lead = t_emg[w.starts] - w.times  # first sample at or after the grid time: < 1 sample
    assert lead.min() >= 0 and lead.max() < 1 / 4096 + 1e-9
    # the picture is the nearest recorded frame (its own time is not the item time)
    assert np.all(np.abs(ft[w.frames] - w.times) <= 0.5 / 30 + 1e-3)
    assert np.abs(ft[w.frames] - w.times).max() > 5e-3


def test_taps_are_labelled_and_masked_not_rest(study):
    ds = FrameDataset(Study(study).recordings(), WindowSpec(0.25, "center"), frames=False)
    tap = ds.masks["tap"]
    assert tap.sum() > 10
    assert np.all(np.array(ds.classes)[ds.labels[tap]] == "tap")
    with Recording(ds.paths[0]) as rec:
        taps = [e.onset for e in rec.events if e.trial_type == "tap_cue"]
    mine = ds.recordings == 0
    t = ds.times[mine]
    for onset in taps:
        inside = (t >= onset) & (t < onset + 0.5)
        assert inside.any() and tap[mine][inside].all()
    assert not tap[mine][(t < taps[0]) | ((t >= taps[0] + 0.5) & (t < taps[1]))].any()


def test_tap_blocks_and_annotations_from_runner_events():
    ev = [Event(10.0, 2.0, "tap_instruction", "start"),
          *(Event(12.0 + k, 1.0, "tap_cue", "tap", {"tap": k + 1}) for k in range(3)),
          Event(15.0, 3.0, "instruction", "smile-open"),
          Event(18.0, 2.0, "perform", "smile-open"),
          Event(18.5, 4.0, "annotation", "participant sneezed")]
    iv = context_intervals(ev)
    assert [(i.start, i.end) for i in iv["tap_block"]] == [(10.0, 15.0)]
    assert len(iv["tap"]) == 3 and iv["annotation"][0].end == 22.5
    labels = item_labels(ev, np.array([9.0, 11.0, 12.5, 19.0, 21.0, 23.0]))
    assert list(labels) == ["rest", "tap_block", "tap", "smile-open", "annotation", "rest"]


def test_group_split_never_puts_a_participant_in_two_parts(study):
    ds = FrameDataset(Study(study).recordings(), frames=False)
    assert set(ds.participants) == {"01", "02", "03", "04"}
    for seed in range(20):
        parts = group_split(ds.participants, (0.5, 0.25, 0.25), seed=seed)
        assert sum(len(p) for p in parts) == len(ds)
        assert len(np.unique(np.concatenate(parts))) == len(ds)
        seen = [set(ds.participants[p]) for p in parts]
        assert all(seen) and not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(40), rng.integers(50, 500, 40))
    train, test = group_split(groups, (0.8, 0.2), seed=3)
    assert not set(groups[train]) & set(groups[test])
    assert abs(len(test) / len(groups) - 0.2) < 0.05
    with pytest.raises(MimicsyncError, match="groups"):
        group_split(["a", "a", "b"], (1, 1, 1))
