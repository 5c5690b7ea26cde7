"""``mimicsync sync``: summary and report; bad input and refusals are one line, non-zero,
and leave the file byte for byte as it was."""

from __future__ import annotations

import hashlib
import shutil

import h5py
import pytest
from sync_helpers import recording, shared_folder

from mimicsync.cli.main import main


@pytest.fixture(scope="module")
def sims(tmp_path_factory):
    folder = shared_folder(tmp_path_factory)
    return lambda name: recording(folder, name)


def _copy(sims, name, tmp_path):
    path = tmp_path / f"{name}.h5"
    shutil.copy(sims(name), path)
    return path


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line_error(capsys, code, expected_code, *fragments) -> str:
    err = capsys.readouterr().err.strip()
    assert code == expected_code, err
    assert err.startswith("mimicsync: error: ") and "\n" not in err, err
    for f in fragments:
        assert f in err, err
    return err


def test_sync_prints_summary_writes_report_and_sync(sims, tmp_path, capsys):
    path = _copy(sims, "taps", tmp_path)
    png = tmp_path / "report.png"
    assert main(["sync", str(path), "--report", str(png)]) == 0
    out = capsys.readouterr().out
    for fragment in ("video offset:", "ppm", "residual RMS:", "confidence:", "events used: 6",
                     "rejected:", "written:"):
        assert fragment in out, out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    with h5py.File(path, "r") as f:
        assert f["sync"].attrs["complete"] and not f["sync"].attrs["forced"]


def test_info_shows_whether_and_how_a_recording_is_synchronized(sims, tmp_path, capsys):
    path = _copy(sims, "taps", tmp_path)
    assert main(["info", str(path)]) == 0
    assert "sync: not synchronized yet" in capsys.readouterr().out
    assert main(["sync", str(path)]) == 0
    capsys.readouterr()
    assert main(["info", str(path)]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("sync:"))
    with h5py.File(path, "r") as f:
        offset_ms = 1000 * float(f["sync"].attrs["offset_s"])
        accuracy = float(f["sync"].attrs["uncertainty_ms"])
    assert f"video offset {offset_ms:+.2f} ms" in line and "confidence" in line
    assert line.startswith(f"sync: accuracy ±{accuracy:.2f} ms (95 %)") and 0 < accuracy < 20


def test_dry_run_writes_nothing(sims, tmp_path, capsys):
    path = _copy(sims, "taps", tmp_path)
    before = _sha(path)
    assert main(["sync", str(path), "--dry-run"]) == 0
    assert "nothing written" in capsys.readouterr().out and _sha(path) == before


def test_no_taps_is_refused_and_file_unchanged(sims, tmp_path, capsys):
    path = _copy(sims, "no_events", tmp_path)
    before = _sha(path)
    code = main(["sync", str(path)])
    _one_line_error(capsys, code, 3, "sync refused: no taps or trigger pulses found in the sEMG",
                    "tap the electrode area", "unchanged")
    assert _sha(path) == before


def test_single_modality_is_bad_input(sims, tmp_path, capsys):
    path = _copy(sims, "no_camera", tmp_path)
    before = _sha(path)
    code = main(["sync", str(path)])
    _one_line_error(capsys, code, 2, "has no video", "record with a camera")
    assert _sha(path) == before


def test_truncated_file_is_bad_input(sims, tmp_path, capsys):
    path = _copy(sims, "taps", tmp_path)
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size // 3)
    before = _sha(path)
    code = main(["sync", str(path)])
    _one_line_error(capsys, code, 2, "mimicsync recover")
    assert _sha(path) == before


def test_recording_in_progress_is_bad_input(sims, tmp_path, capsys):
    path = _copy(sims, "taps", tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["status"] = "recording"
    before = _sha(path)
    code = main(["sync", str(path)])
    _one_line_error(capsys, code, 2, "still being recorded", "mimicsync recover")
    assert _sha(path) == before


def test_missing_file(tmp_path, capsys):
    code = main(["sync", str(tmp_path / "nope.h5")])
    _one_line_error(capsys, code, 2, "does not exist")


def test_low_confidence_refused_unless_forced(sims, tmp_path, capsys):
    path = _copy(sims, "sparse", tmp_path)
    before = _sha(path)
    png = tmp_path / "refused.png"
    code = main(["sync", str(path), "--min-confidence", "0.999", "--report", str(png)])
    _one_line_error(capsys, code, 3, "below 0.999", "--force", "unchanged")
    assert _sha(path) == before and png.exists()  # the figure shows what was found
    assert main(["sync", str(path), "--min-confidence", "0.999", "--force"]) == 0
    assert "forced:" in capsys.readouterr().out
    with h5py.File(path, "r") as f:
        assert f["sync"].attrs["forced"]


def test_sync_updates_the_sidecar_of_a_recording(sims, tmp_path, capsys):
    import json
    path = _copy(sims, "taps", tmp_path)
    from mimicsync.dataset.sidecar import write_sidecar
    side = write_sidecar(path)
    scans = tmp_path / "sub-sim_ses-1_scans.tsv"
    scans.write_text(f"filename\tacq_time\tstatus\n{path.name}\tn/a\tcomplete\n")
    assert json.loads(side.read_text())["sync"] is None
    assert main(["sync", str(path)]) == 0
    sync = json.loads(side.read_text())["sync"]
    assert sync["confidence"] > 0 and sync["uncertainty_ms"] > 0
    # scans.tsv states each recording's sync offset and accuracy; other columns stay
    head, row = (ln.split("\t") for ln in scans.read_text().splitlines())
    got = dict(zip(head, row))
    assert got["status"] == "complete"
    assert float(got["sync_accuracy_ms"]) == pytest.approx(sync["uncertainty_ms"], abs=0.01)
    assert float(got["sync_offset_ms"]) == pytest.approx(sync["offset_s"] * 1e3, abs=1e-3)
