"""`mimicsync export` / `validate`: consent, pseudonyms, privacy, BIDS validity, BDF
round trip, resume, --update, withdrawn consent, and the batch back-ends."""

from __future__ import annotations

import datetime as dt
import shutil

import mne
import numpy as np
import pytest
from dataset_helpers import OPERATOR, PEOPLE, make_study

from mimicsync.cli.main import main as cli
from mimicsync.dataset import Recording, Study, bids_export
from mimicsync.dataset.batch import BatchError
from mimicsync.dataset.bids_export import WORK_DIR, ExportConfig, ExportError, export_study
from mimicsync.dataset.bids_validate import validate
from mimicsync.dataset.privacy import pseudonym_path, scan_for
from mimicsync.dataset.study_tree import read_tsv, upsert_tsv


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("private"))


@pytest.fixture(scope="module")
def exported(study, tmp_path_factory):
    out = tmp_path_factory.mktemp("public") / "ds"
    code = cli(["export", "--root", str(study), "--out", str(out), "--workers", "2",
                "--no-progress", "--author", "A. Author", "--author", "B. Author",
                "--emg-reference", "common reference on the left mastoid"])
    assert code == 0
    return out


def _mapping(study) -> dict[str, str]:
    return {r["pseudonym"]: r["participant_id"].removeprefix("sub-")
            for r in read_tsv(pseudonym_path(study))}


def test_only_consenting_participants_pseudonymized(study, exported, capfd):
    rows = read_tsv(exported / "participants.tsv")
    mapping = _mapping(study)
    real = sorted(mapping[r["participant_id"].removeprefix("sub-")] for r in rows)
    assert real == ["jena0042", "jena0043"]
    assert {r["sex"] for r in rows} == {"F", "M"} and all(r["age"].isdigit() for r in rows)
    videos = list(exported.rglob("*_video.mp4"))
    assert {mapping[v.name.split("_")[0][4:]] for v in videos} == {"jena0042"}  # video consent
    assert len(videos) == 2 and "*_video.mp4" in (exported / ".bidsignore").read_text()
    for r in read_tsv(next(exported.rglob("*_scans.tsv"))):
        assert int(r["acq_time"][:4]) <= 1925
        assert r["sync_accuracy_ms"] == "n/a" or float(r["sync_accuracy_ms"]) > 0
    assert not (exported / WORK_DIR).exists()


def test_official_validator_passes_with_zero_errors(exported, capsys):
    rep = validate(exported)
    assert rep.official_ran and rep.errors == [] and rep.problems == []
    assert cli(["validate", str(exported)]) == 0
    assert "valid: 0 mimicsync problems; official validator: 0 errors" in capsys.readouterr().out


def test_no_private_value_leaves_the_private_tree(study, exported):
    needles = {OPERATOR, "simulated-host", "simulated-user", str(study),
               dt.date.today().isoformat()}
    for p, name, birth, _cd, _cv, _sex, _hand, notes in PEOPLE:
        needles |= {p, name, birth, notes, name.split()[1]}
    files = [p for p in exported.rglob("*") if p.is_file()]
    assert len(files) > 20
    assert scan_for(files, needles) == []
    assert not any("pseudonym" in p.name for p in files)


def test_bdf_round_trip_within_resolution(study, exported):
    mapping = _mapping(study)
    bdfs = sorted(exported.rglob("*_emg.bdf"))
    assert len(bdfs) == 3
    for bdf in bdfs:
        pseudo, ses, task = (bdf.name.split("_")[i].split("-")[1] for i in range(3))
        ref = Study(study).recordings(participant=mapping[pseudo], session=ses, task=task)[0]
        raw = mne.io.read_raw_bdf(bdf, preload=True, verbose="ERROR")
        with Recording(ref.path) as rec:
            x = rec.emg_stream().physical().astype(float)  # µV
            moves = rec.movements
        got = raw.get_data()[:, : len(x)].T * 1e6
        lo, hi = x.min(axis=0), x.max(axis=0)
        resolution = np.maximum(hi - lo, 1.0) / (2 ** 24 - 1)  # channelwise physical range
        assert np.all(np.abs(got - x) <= resolution + 1e-9)
        ev = read_tsv(bdf.with_name(bdf.name.replace("_emg.bdf", "_events.tsv")))
        perform = [r for r in ev if r["trial_type"] == "perform"]
        assert [r["value"] for r in perform] == [m.movement for m in moves]
        ch = read_tsv(bdf.with_name(bdf.name.replace("_emg.bdf", "_channels.tsv")))
        assert ch[0]["target_muscle"] == "frontalis, medial" and ch[0]["group"] == "fridlund"
        assert ch[-1]["type"] == "TRIG" and ch[0]["units"] == "µV"


def test_refuses_nonempty_output_then_update_redoes_nothing(study, exported):
    with pytest.raises(ExportError, match="^out: .* is not empty; update that export") as e:
        export_study(study, exported, progress=False)
    assert e.value.options == (("update", ""),)  # the CLI shows it as --update
    same = ExportConfig(emg_reference="common reference on the left mastoid")
    rep = export_study(study, exported, update=True, progress=False, config=same)
    assert rep.reused == 3 and len(rep.exported) == 3
    other = ExportConfig(emg_reference="Cz")  # a setting that changes the files: redone
    assert export_study(study, exported, update=True, progress=False, config=other).reused == 0
    side = next(exported.rglob("*_emg.json")).read_text()
    assert '"EMGReference": "Cz"' in side


def test_interrupted_export_resumes(study, tmp_path, monkeypatch):
    out = tmp_path / "ds"
    real = bids_export.export_recording
    calls = []

    def flaky(unit):
        calls.append(unit.stem)
        if len(calls) == 2:
            raise OSError("disk unplugged")
        return real(unit)

    monkeypatch.setattr(bids_export, "export_recording", flaky)
    with pytest.raises(ExportError, match="run the same command again"):
        export_study(study, out, progress=False)
    assert (out / WORK_DIR).exists()
    monkeypatch.setattr(bids_export, "export_recording", real)
    rep = export_study(study, out, progress=False)  # no --update needed to resume
    assert rep.reused == 2 and len(rep.exported) == 3 and not (out / WORK_DIR).exists()
    assert validate(out, run_official=False).problems == []


def test_withdrawn_consent_removes_the_participant_on_update(study, tmp_path):
    root = tmp_path / "private"
    shutil.copytree(study, root)
    out = tmp_path / "ds"
    export_study(root, out, progress=False)
    gone = _mapping(root)
    assert len(list(out.rglob("*_video.mp4"))) == 2
    upsert_tsv(root / "participants.tsv", "participant_id",  # video consent withdrawn
               {"participant_id": "sub-jena0042", "consent_video_public": "no"})
    rep = export_study(root, out, update=True, progress=False)
    assert rep.reused == 1 and list(out.rglob("*_video*")) == [] and validate(out).ok
    upsert_tsv(root / "participants.tsv", "participant_id",
               {"participant_id": "sub-jena0042", "consent_data_public": "no"})
    # a crashed, unrecovered recording of a consenting participant is skipped with a hint
    src = Study(root).recordings(participant="jena0043")[0].path
    part = src.with_name(src.name.replace("run-01", "run-02") + ".part")
    shutil.copy(src, part)
    lines = []
    rep = export_study(root, out, update=True, progress=False, say=lines.append)
    assert len(rep.removed) > 5 and len(rep.exported) == 1
    assert any("jena0042" in ln and "consent_data_public" in ln for ln in lines)
    assert any("mimicsync recover" in ln for ln in lines)
    left = {r["participant_id"] for r in read_tsv(out / "participants.tsv")}
    assert len(left) == 1 and all(gone[s.removeprefix("sub-")] == "jena0043" for s in left)
    assert sorted(p.name for p in out.glob("sub-*")) == sorted(left)
    assert validate(out).ok


def test_nothing_to_export_and_bad_output_are_one_line_errors(tmp_path, study, capsys):
    root = tmp_path / "private"
    shutil.copytree(study, root)
    for p, *_ in PEOPLE:
        upsert_tsv(root / "participants.tsv", "participant_id",
                   {"participant_id": f"sub-{p}", "consent_data_public": "no"})
    assert cli(["export", "--root", str(root), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("mimicsync: error: nothing to export")
    (tmp_path / "file").write_text("x")
    assert cli(["export", "--root", str(study), "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_dask_scheduler(study, tmp_path, capsys, monkeypatch):
    try:
        from dask.distributed import LocalCluster
    except ImportError:
        assert cli(["export", "--root", str(study), "--out", str(tmp_path / "o"),
                    "--scheduler", "tcp://127.0.0.1:1"]) == 2
        assert "mimicsync[dask]" in capsys.readouterr().err
        return
    monkeypatch.setattr("mimicsync.dataset.batch.CONNECT_TIMEOUT", "1s")
    with pytest.raises(BatchError, match="cannot reach"):
        export_study(study, tmp_path / "x", scheduler="tcp://127.0.0.1:9", progress=False)
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        rep = export_study(study, tmp_path / "o", scheduler=cluster.scheduler_address,
                           progress=False)
    assert len(rep.exported) == 3 and validate(tmp_path / "o", run_official=False).ok


def test_electrode_free_session_goes_to_beh_with_video(tmp_path):
    from mimicsync.acquisition.simulators.recordings import write_simulated_recording
    from mimicsync.dataset.layout import RecordingId
    root = tmp_path / "private"
    write_simulated_recording(root, RecordingId("jena0050", "01", "functional", 1, "N"),
                              emg=False, duration_s=3.0, width=160, height=120, depth=False)
    upsert_tsv(root / "participants.tsv", "participant_id", {
        "participant_id": "sub-jena0050", "consent_data_public": "yes",
        "consent_video_public": "yes"})
    rep = export_study(root, tmp_path / "ds", progress=False)
    beh = sorted(p.name.split("_")[-1] for p in (tmp_path / "ds").rglob("beh/*"))
    assert len(rep.exported) == 1 and beh == ["events.json", "events.tsv", "video.json",
                                              "video.mp4"]
    rep = validate(tmp_path / "ds")
    assert rep.ok, (rep.problems, rep.errors)
    # without video consent there is nothing publishable: a line, and no dataset
    upsert_tsv(root / "participants.tsv", "participant_id",
               {"participant_id": "sub-jena0050", "consent_video_public": "no"})
    lines = []
    with pytest.raises(ExportError, match="nothing to export"):
        export_study(root, tmp_path / "ds2", progress=False, say=lines.append)
    assert any("no EMG stream, and no video" in ln for ln in lines)


def test_operator_and_participant_named_like_the_task_export(tmp_path):
    """`mimicsync demo` names participant, task and operator "demo": the task name is
    public by design, so it is not a leak of the other two."""
    from mimicsync.acquisition.simulators.recordings import write_simulated_recording
    from mimicsync.dataset.layout import RecordingId
    root = tmp_path / "private"
    write_simulated_recording(root, RecordingId("demo", "01", "demo", 1), operator="demo",
                              duration_s=3.0, width=160, height=120, depth=False)
    upsert_tsv(root / "participants.tsv", "participant_id", {
        "participant_id": "sub-demo", "consent_data_public": "yes",
        "consent_video_public": "yes"})
    rep = export_study(root, tmp_path / "ds", progress=False)
    assert len(rep.exported) == 1 and "task-demo" in rep.exported[0]
    assert not list((tmp_path / "ds").glob("sub-demo"))


def test_privacy_check_names_the_field_and_where_not_the_value(tmp_path):
    p = tmp_path / "x_events.tsv"
    p.write_text("onset\tvalue\n1.0\tsmile\n2.0\tasked anna müller twice\n", encoding="utf-8")
    b = tmp_path / "x_emg.bdf"
    b.write_bytes(b"\0" * 100 + "Olga".encode("utf-16-le"))
    hits = scan_for([p, b], {"Anna Müller": "participants.tsv column 'name' of sub-jena0042",
                             "olga": "the recording's operator", "Bernd": "other"})
    said = sorted(h.describe() for h in hits)
    assert said == ["the value of participants.tsv column 'name' of sub-jena0042 is in "
                    "x_events.tsv line 3", "the value of the recording's operator is in "
                    "x_emg.bdf byte 100"]


def test_channels_carry_the_site_numbers_the_field_uses(study, exported):
    rows = {r["name"]: r for r in read_tsv(next(exported.rglob("*_channels.tsv")))}
    assert rows["medFront_L1"]["site"] == rows["medFront_L2"]["site"] == "F1"
    assert rows["Zyg_L1"]["site"] == "F13" and rows["Mass_R2"]["site"] == "F22"
    assert rows["E13"]["site"] == "K13" and rows["TRIG"]["site"] == "n/a"
    with Recording(Study(study).recordings()[0].path) as rec:
        s = rec.emg_stream()
        assert dict(zip(s.channel_labels, s.sites))["Zyg_R2"] == "F14"
