"""import-xdf: a LabRecorder-style XDF becomes a recording that matches pyxdf's reading."""

from __future__ import annotations

import numpy as np
import pytest
import pyxdf

from mimicsync.cli.main import main as cli
from mimicsync.dataset import Recording, Study
from mimicsync.dataset import electrodes as el
from mimicsync.dataset.layout import RecordingId
from mimicsync.dataset.recording import RecordingError
from mimicsync.dataset.xdf_import import import_xdf
from mimicsync.dataset.xdf_writer import XdfStream, write_xdf

T0 = 5_000.0


def _emg_info(n: int) -> str:
    chans = "".join(
        f"<channel><label>{c.label}</label><unit>{c.unit}</unit><type>{c.type}</type>"
        f"<scheme>{c.scheme}</scheme><muscle>{c.muscle}</muscle><side>{c.side}</side>"
        + (f"<location><X>{c.x_mm}</X><Y>{c.y_mm}</Y><Z>0</Z></location>" if c.x_mm == c.x_mm else "")
        + "</channel>" for c in el.default_channels(("fridlund",))[:n])
    return (f"<?xml version=\"1.0\"?><info><name>BioSemi</name><type>EMG</type>"
            f"<channel_count>{n}</channel_count><nominal_srate>2048</nominal_srate>"
            f"<channel_format>float32</channel_format><source_id>amp-1</source_id>"
            f"<hostname>lab-pc-7</hostname><desc><channels>{chans}</channels>"
            f"<acquisition><manufacturer>Biosemi</manufacturer></acquisition></desc></info>")


@pytest.fixture
def xdf(tmp_path):
    rng = np.random.default_rng(3)
    n = 2048 * 3
    ts = T0 + np.arange(n) / 2048 + rng.normal(0, 2e-4, n)
    emg = rng.normal(0, 5, (n, 8)).astype(np.float32)
    clock = np.column_stack([T0 + np.arange(0, 4, 1.0), 0.25 + 1e-5 * np.arange(4)])
    counts = (rng.integers(-30000, 30000, (300, 2))).astype(np.int16)
    streams = [
        XdfStream("BioSemi", "EMG", "float32", 2048.0, emg, ts, clock, _emg_info(8)),
        XdfStream("Markers", "Markers", "string", 0.0,
                  [['{"trial_type":"perform","value":"smile-open","duration":1.5}'], ["beep"]],
                  np.array([T0 + 1.0, T0 + 2.5]), clock[:2] * [1, 0]),
        XdfStream("Aux", "MISC", "int16", 100.0, counts, T0 + np.arange(300) / 100.0),
    ]
    path = tmp_path / "lab.xdf"
    write_xdf(path, streams, datetime="2024-05-06T10:11:12+0200")
    return path


def test_import_matches_pyxdf_raw_reading(xdf, tmp_path):
    ref, _ = pyxdf.load_xdf(str(xdf), synchronize_clocks=False, dejitter_timestamps=False)
    by_name = {s["info"]["name"][0]: s for s in ref}
    path = import_xdf(xdf, tmp_path / "study", RecordingId("lab7", "01", "imported", 1))
    with Recording(path) as rec:
        assert rec.status == "complete" and rec.attrs["start_utc"].startswith("2024-05-06T08:11:12")
        for name, s in by_name.items():
            got = rec.stream(name)
            assert np.array_equal(got.time_stamps, s["time_stamps"])
            if got.is_string:
                assert got.data == ["\t".join(v) for v in s["time_series"]]
            else:
                assert got.data.dtype == np.asarray(s["time_series"]).dtype
                assert np.array_equal(got.data, s["time_series"])
            # XDF keeps the sender's clock; our rows keep the recorder's (= sender + offset)
            np.testing.assert_allclose(got.clock_offsets[:, 0] - got.clock_offsets[:, 1],
                                       s["clock_times"], rtol=0, atol=1e-9)
            assert np.array_equal(got.clock_offsets[:, 1], s["clock_values"])
        emg = rec.emg_stream()
        assert emg.name == "BioSemi" and emg.channel_labels[:2] == ["medFront_L1", "medFront_L2"]
        assert emg.channel_specs[0].muscle == "frontalis, medial"
        # the timeline is pyxdf's synchronized reading (same robust offset fit)
        synced, _ = pyxdf.load_xdf(str(xdf), dejitter_timestamps=False)
        want = next(s for s in synced if s["info"]["name"][0] == "BioSemi")["time_stamps"]
        assert np.abs(rec.timeline(emg.key) - want).max() < 1e-9
        markers = [e for e in rec.events if e.trial_type == "marker"]
        assert [m.value for m in markers][1] == "beep"
        assert abs(markers[0].onset - (T0 + 1.0)) < 1e-9  # marker clock offsets were 0
        assert [(m.movement, m.end - m.start) for m in rec.movements] == [("smile-open", 1.5)]
    assert Study(tmp_path / "study").recordings(participant="lab7")[0].path == path


def test_cli_import_picks_the_next_run_and_refuses_bad_input(xdf, tmp_path, capsys):
    root = tmp_path / "study"
    args = ["import-xdf", str(xdf), "--root", str(root), "--participant", "lab7"]
    assert cli(args) == 0 and cli(args) == 0  # the second import gets run 2
    runs = [r.rid.run for r in Study(root).recordings()]
    assert runs == [1, 2]
    cut = tmp_path / "cut.xdf"  # LabRecorder crashed: imported as far as it goes
    cut.write_bytes(xdf.read_bytes()[:200_000])  # inside the 2nd sample chunk
    capsys.readouterr()
    assert cli(["import-xdf", str(cut), "--root", str(root), "--participant", "lab7"]) == 0
    assert "ends early" in capsys.readouterr().err
    with Study(root).recordings(run=3)[0].open() as rec:
        assert rec.status == "recovered" and 0 < len(rec.emg_stream()) < 2048 * 3
    bad = tmp_path / "bad.xdf"
    bad.write_bytes(b"not an xdf file at all" * 10)
    assert cli(["import-xdf", str(bad), "--root", str(root), "--participant", "lab7"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mimicsync: error: ") and "\n" not in err
    assert cli(["import-xdf", str(xdf), "--root", str(root), "--participant", "lab-7"]) == 2
    assert "participant" in capsys.readouterr().err
    with pytest.raises(RecordingError, match="does not exist"):
        import_xdf(tmp_path / "none.xdf", root, RecordingId("x1", "01", "t", 9))
