"""A session plan in the operator app: the visit's blocks recorded one after another,
with a pause between them, on the app's running devices (the simulated lab), and the
same files `mimicsync record --plan` writes. A plan asking for other devices is refused
in one line before anything is written.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from lsl_helpers import unique
from PySide6.QtCore import Qt
from test_gui import TINY, fill, messages, study, window  # noqa: F401 - fixtures

from mimicsync.dataset.recording import Recording
from mimicsync.gui.recording_worker import IDLE, RECORDING

PLAN = """\
format = 1
name = "gui-visit"
language = "de"

[devices]
require = [{require}]
camera = "sim"
width = {width}
height = 240
fps = 15
simulate = true

[[blocks]]
task = "tiny"
acq = "S"
protocol = "tiny"

[[blocks]]
task = "tiny"
acq = "N"
protocol = "tiny"
seed = 7
"""


def lab_running(qtbot, w) -> None:
    s = w.setup
    s.camera.setCurrentIndex(s.camera.findData("sim"))
    s.simulated.setChecked(True)
    qtbot.waitUntil(lambda: w.devices.lab is not None and w.devices.streamer is not None,
                    timeout=10000)
    qtbot.waitUntil(lambda: [e.name for e in s.streams.selected_entries()]
                    == [w.devices.lab.emg.name], timeout=10000)


def record_until_saved(qtbot, w, before) -> None:
    qtbot.mouseClick(w.record, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.controller.state == RECORDING, timeout=15000)
    qtbot.waitUntil(lambda: w.controller.state == IDLE and w.controller.final_path is not None
                    and w.controller.final_path != before, timeout=30000)


def test_a_plan_records_its_blocks_with_a_pause_like_the_cli(qtbot, window, study, tmp_path):
    w, s = window, window.setup
    plan_file = tmp_path / "gui-visit.toml"
    # no required selector: `type=EMG` would also match other machines' amplifiers on
    # the shared network when the CLI opens its own simulated lab
    plan_file.write_text(PLAN.format(width=320, require=""), encoding="utf-8")
    fill(w, study, participant="07", session="01")
    lab_running(qtbot, w)
    s.choose_plan(plan_file)  # what Choose… does with the file picked
    qtbot.waitUntil(lambda: "gui-visit: 2 blocks, cues in de" in s.plan_hint.text(), timeout=5000)
    assert "1. tiny/S: protocol tiny" in s.plan_hint.text()
    assert "2. tiny/N: protocol tiny, seed 7" in s.plan_hint.text()
    assert not s.task.isEnabled() and not s.protocol.isEnabled()  # the plan decides them
    panel = w.monitor_view.protocol
    qtbot.waitUntil(lambda: "block 1/2 tiny/S" in panel.title.text(), timeout=5000)

    record_until_saved(qtbot, w, None)
    first = w.controller.final_path
    assert first.name == "sub-07_ses-01_task-tiny_acq-S_run-01_recording.h5"
    # the pause: nothing records until the operator starts the next block
    assert w.record.text() == "● Record block 2/2" and not s.end_visit.isHidden()
    assert not s.participant.isEnabled()  # the visit's labels stay fixed
    assert "next: block 2/2 tiny/N" in messages(w)
    qtbot.waitUntil(lambda: "block 2/2 tiny/N, seed 7" in panel.title.text(), timeout=5000)
    qtbot.wait(1000)
    assert w.controller.state == IDLE and len(list(study.glob("sub-07/ses-01/*.h5"))) == 1

    record_until_saved(qtbot, w, first)
    second = w.controller.final_path
    assert second.name == "sub-07_ses-01_task-tiny_acq-N_run-01_recording.h5"
    assert "visit gui-visit complete: 2 blocks recorded" in messages(w)
    assert w.record.text() == "● Record" and s.end_visit.isHidden()
    assert s.participant.isEnabled()

    cli_root = tmp_path / "cli-study"
    (cli_root / "protocols").mkdir(parents=True)
    (cli_root / "protocols" / "tiny.toml").write_text(TINY, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "mimicsync.cli.main", "record", "--root", str(cli_root),
         "--plan", str(plan_file), "--participant", "07", "--session", "01", "--no-pause"],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    cli = sorted(cli_root.glob("sub-07/ses-01/*.h5"))
    assert [p.name for p in cli] == sorted([first.name, second.name])
    for i, (gui_path, cli_path) in enumerate(((first, cli[1]), (second, cli[0])), start=1):
        with Recording(gui_path) as g, Recording(cli_path) as c:
            assert g.status == c.status == "complete"
            assert set(g.attrs) == set(c.attrs)
            assert g.attrs["visit_block"] == c.attrs["visit_block"] == i
            assert g.attrs["visit_plan"] == c.attrs["visit_plan"]
            for k in ("protocol_name", "protocol_language"):
                assert g.attrs[k] == c.attrs[k], k
            setup = json.loads(g.attrs["setup"])  # what ran: the app's camera and lab
            assert (setup["camera"], setup["width"], setup["height"], setup["fps"],
                    setup["simulate"]) == ("sim", 320, 240, 15, True)
            kinds = [e.trial_type for e in g.events]
            assert kinds.count("perform") == 2 and "run_end" in kinds
    with Recording(second) as g:
        assert json.loads(g.attrs["plan"])["seed"] == 7


@pytest.mark.parametrize("width, require, refused", [
    (1280, '"type=EMG"', "block 1 (tiny/S): camera width 1280 in the plan, 320 running"),
    (320, '"name={missing}"', "block 1 (tiny/S) requires a stream name={missing} that is not "
                              "selected for recording"),
])
def test_a_plan_for_other_devices_is_refused_before_the_visit(qtbot, window, study, tmp_path,
                                                              width, require, refused):
    w, s = window, window.setup
    missing = unique("nosuch")
    plan_file = tmp_path / "gui-visit.toml"
    plan_file.write_text(PLAN.format(width=width, require=require.format(missing=missing)),
                         encoding="utf-8")
    fill(w, study, participant="08", session="01")
    lab_running(qtbot, w)
    s.choose_plan(plan_file)
    qtbot.waitUntil(lambda: "2 blocks" in s.plan_hint.text(), timeout=5000)
    qtbot.mouseClick(w.record, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(w.banner.isVisible, timeout=15000)
    text = w.banner.text()
    assert "\n" not in text and text.startswith("Plan: gui-visit.toml: ")
    assert refused.format(missing=missing) in text
    assert w.controller.state == IDLE and s.participant.isEnabled()
    assert not list(study.glob("sub-*"))  # nothing written, not even participants.tsv
    assert not (study / "participants.tsv").exists()

    s.choose_plan(None)  # back to one recording of the form
    assert s.task.isEnabled() and "no plan" in s.plan_hint.text()


def test_a_bad_plan_is_shown_under_its_field_and_nothing_starts(qtbot, window, study, tmp_path):
    w, s = window, window.setup
    good = tmp_path / "gui-visit.toml"
    good.write_text(PLAN.format(width=320, require=""), encoding="utf-8")
    s.root.setText(str(study))
    s.choose_plan(good)  # chosen before the labels are typed: its blocks are listed anyway
    qtbot.waitUntil(lambda: "gui-visit: 2 blocks" in s.plan_hint.text(), timeout=5000)
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace('protocol = "tiny"\nseed = 7', 'protocol = "nosuch"'),
                   encoding="utf-8")
    s.choose_plan(bad)
    err = s._errors["plan"]
    qtbot.waitUntil(lambda: "nosuch" in err.text(), timeout=5000)
    assert err.text().startswith("bad.toml: block 2 (tiny/N): protocol") and "\n" not in err.text()
    fill(w, study, participant="09", session="01")  # typing re-checks the form ...
    qtbot.wait(600)
    assert not err.isHidden() and "nosuch" in err.text()  # ... and keeps the plan's message
    qtbot.mouseClick(w.record, Qt.MouseButton.LeftButton)
    assert w.controller.state == IDLE and "Cannot start" in w.banner.text()
    assert not list(study.glob("sub-*"))
