"""`mimicsync sync --root`: every recording of a study, skipping those done, one table;
readers warn once per unsynchronised recording, or refuse with require_synced=True."""

from __future__ import annotations

import warnings

import pytest
from study_helpers import syncable_study

from mimicsync.cli.main import main
from mimicsync.dataset import FrameDataset, Recording, RecordingError, Study, UnsyncedWarning
from mimicsync.dataset.frame_views import WindowSpec


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return syncable_study(tmp_path_factory.mktemp("study"))


def _emg_refs(root):
    return Study(root).recordings(acq="S")


def test_readers_warn_once_per_unsynchronised_recording(study):
    refs = _emg_refs(study)
    with pytest.raises(RecordingError, match=f"{refs[0].path.name} is not synchronised"):
        FrameDataset(refs, frames=False, require_synced=True)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        FrameDataset(refs, frames=False)
        FrameDataset(refs, WindowSpec(0.25, "center", fps=20.0), frames=False)  # again: silent
    unsynced = [str(w.message) for w in got if issubclass(w.category, UnsyncedWarning)]
    assert sorted(m.split()[1] for m in unsynced) == sorted(r.path.name for r in refs)


def test_sync_root_synchronises_the_study_then_skips_what_is_done(study, capsys):
    code = main(["sync", "--root", str(study), "--workers", "2", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.strip().splitlines()
    assert lines[0].split()[:2] == ["recording", "result"] and lines[-1] == (
        "2 synced, 1 nothing to sync")
    assert sum("  synced  " in line for line in lines) == 2
    assert "acq-N" in next(line for line in lines if "nothing to sync" in line)
    for ref in _emg_refs(study):
        with Recording(ref.path) as rec:
            assert rec.is_synced
    stamps = {r.path: r.path.stat().st_mtime_ns for r in _emg_refs(study)}
    assert main(["sync", "--root", str(study), "--no-progress"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "2 already synced, 1 nothing to sync"
    assert stamps == {r.path: r.path.stat().st_mtime_ns for r in _emg_refs(study)}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsyncedWarning)  # synchronised: no warning
        ds = FrameDataset(_emg_refs(study), frames=False, require_synced=True)
    assert len(ds) > 0


def test_sync_needs_a_file_or_a_root(capsys, study):
    assert main(["sync"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mimicsync: error: ") and "--root" in err and "\n" not in err
