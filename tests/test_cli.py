"""The command line as a user meets it: real subprocesses, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from lsl_helpers import unique

MIMICSYNC = [sys.executable, "-m", "mimicsync.cli.main"]


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(MIMICSYNC + list(args), capture_output=True, text=True, timeout=timeout)


def _assert_one_line_error(out: subprocess.CompletedProcess, *needles: str) -> None:
    assert out.returncode == 2, out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, out.stderr  # no traceback
    assert lines[0].startswith("mimicsync: error: ")
    for n in needles:
        assert n in lines[0], lines[0]


def _record_args(root, **over) -> list[str]:
    a = {"--root": str(root), "--participant": "01", "--session": "01", "--task": "rest"}
    a.update(over)
    return ["record", *[x for kv in a.items() for x in kv]]


@pytest.mark.parametrize("field,value,needle", [
    ("--participant", "sub_01", "participant: 'sub_01' is not a BIDS label"),
    ("--session", "0-1", "session: '0-1' is not a BIDS label"),
    ("--task", "smile open", "task: 'smile open'"),
    ("--acq", "with-electrodes", "acq: 'with-electrodes'"),
])
def test_invalid_labels_name_the_field_and_write_nothing(tmp_path, field, value, needle):
    root = tmp_path / "study"
    out = run(*_record_args(root, **{field: value}), "--stream", "type=EMG")
    _assert_one_line_error(out, needle, "letters and digits only")
    assert not root.exists()


def test_bad_selector_and_run(tmp_path):
    _assert_one_line_error(run(*_record_args(tmp_path), "--stream", "colour=red"),
                           "unknown key 'colour'", "name=, type=, source_id= or host=")
    _assert_one_line_error(run(*_record_args(tmp_path, **{"--run": "0"}), "--stream", "x"),
                           "--run: 0 is out of range; give a value between 1 and 9999")


def test_root_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "notafolder"
    f.write_text("x")
    _assert_one_line_error(run(*_record_args(f / "study"), "--stream", "x"),
                           "is not a folder", "--root")


def test_missing_required_stream_blocks_start(tmp_path):
    name = unique("absent")
    out = run(*_record_args(tmp_path / "s"), "--require", f"name={name}")
    _assert_one_line_error(out, f"required stream(s) not found: name={name}", "mimicsync streams")
    assert not (tmp_path / "s").exists()


def test_nothing_selected_is_refused(tmp_path):
    _assert_one_line_error(run(*_record_args(tmp_path / "s")), "nothing to record", "--stream")


def test_info_on_files_that_are_not_recordings(tmp_path):
    _assert_one_line_error(run("info", str(tmp_path / "nope.h5")), "does not exist")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all" * 100)
    _assert_one_line_error(run("info", str(junk)), "cannot be opened as HDF5", "mimicsync recover")


def test_streams_lists_a_published_stream(outlet_factory):
    o = outlet_factory(channels=7, srate=333.0)
    out = run("streams", "--wait", "1.5")
    assert out.returncode == 0
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith(o.name))
    assert "EMG" in line and "333" in line and " 7 " in line and o.source_id in line


def test_brainflow_board_recorded_end_to_end(tmp_path):
    """BrainFlow synthetic board -> `mimicsync brainflow` -> LSL -> `mimicsync record`."""
    from mimicsync.dataset.recording import Recording
    name = unique("bf")
    board = subprocess.Popen(MIMICSYNC + ["brainflow", "--board-id", "-1", "--name", name,
                                          "--duration", "20"], stderr=subprocess.PIPE, text=True)
    try:
        assert "publishing" in board.stderr.readline()
        out = run(*_record_args(tmp_path), "--require", f"name={name}", "--duration", "2")
        assert out.returncode == 0, out.stderr
        assert name in out.stdout and "/250 Hz" in out.stdout
        with Recording(next(tmp_path.glob("sub-01/ses-01/*.h5"))) as rec:
            s = rec.stream(name)
            assert len(s) > 300 and s.attrs["nominal_srate"] == 250.0
            assert s.channels["unit"][0] == b"microvolts"
            assert "BrainFlow" in s.attrs["info_xml"]
    finally:
        board.terminate()
        board.wait(timeout=10)


def test_realsense_without_a_camera_is_one_line_and_writes_nothing(tmp_path, outlet_factory):
    emg = outlet_factory()
    out = run(*_record_args(tmp_path / "s"), "--require", f"name={emg.name}",
              "--camera", "realsense", "--duration", "1")
    _assert_one_line_error(out, "no RealSense camera found", "--camera sim")
    assert not (tmp_path / "s").exists()
