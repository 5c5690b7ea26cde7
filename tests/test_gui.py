"""The operator app driven as an operator would: fill the form, pick streams, record a
short protocol, stop; bad input; closing while recording; a stream lost mid-recording.

Everything runs offscreen on real LSL with the simulated lab; stream names are unique so
parallel test runs do not see each other's devices.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from lsl_helpers import unique
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from mimicsync.dataset.recording import Recording
from mimicsync.dataset.study_tree import read_participant
from mimicsync.gui.app import AppOptions, MainWindow
from mimicsync.gui.recording_worker import IDLE, RECORDING
from mimicsync.gui.stream_table import REC, REQ, STATUS

TINY = """\
format = 1
name = "tiny"
title = "Tiny test protocol"
order = "fixed"
repeat_instruction = false

[defaults]
repetitions = 1
timings = { instruction = 0.3, countdown = 0.3, hold = 0.3, relax = 0.3 }

[tap_block]
count = 2
interval = 0.3
instruction = 0.3
after = 0.3
text = { en = "Tap your cheek at each cue.", de = "Bei jedem Signal auf die Wange tippen." }

[[steps]]
id = "smile-open"
label = { en = "Big smile", de = "Lächeln 2" }
instruction = { en = "Smile with open mouth.", de = "Lächeln Sie mit offenem Mund." }

[[steps]]
id = "forehead"
label = { en = "Forehead", de = "Stirn runzeln" }
instruction = { en = "Raise your eyebrows.", de = "Ziehen Sie die Augenbrauen hoch." }
"""


@pytest.fixture
def study(tmp_path):
    root = tmp_path / "study"
    (root / "protocols").mkdir(parents=True)
    (root / "protocols" / "tiny.toml").write_text(TINY, encoding="utf-8")
    return root


@pytest.fixture
def window(qtbot):
    w = MainWindow(AppOptions(width=320, height=240, fps=15.0, sim_suffix=unique("gui"),
                              frame_ms=50, watch_interval=0.4))
    qtbot.addWidget(w)
    w.show()
    yield w
    if w.controller.state != IDLE:
        qtbot.waitUntil(lambda: w.controller.state in (IDLE, RECORDING), timeout=15000)
        w.controller.stop()
        qtbot.waitUntil(lambda: w.controller.state == IDLE, timeout=15000)
    w.close()


def fill(w: MainWindow, root, **fields) -> None:
    s = w.setup
    s.root.setText(str(root))
    for name in ("participant", "session", "task", "acq"):
        if name in fields:
            getattr(s, name).setText(fields[name])


def tick(w: MainWindow, name: str, column: int = REC) -> None:
    """Tick a stream's checkbox as the operator does (same signal path as a click)."""
    t = w.setup.streams
    t.item(t.row_of(name), column).setCheckState(Qt.CheckState.Checked)


def wait_row(qtbot, w: MainWindow, name: str) -> None:
    qtbot.waitUntil(lambda: w.setup.streams.row_of(name) >= 0, timeout=10000)


def messages(w: MainWindow) -> str:
    return "\n".join(w.messages.item(i).text() for i in range(w.messages.count()))


def test_operator_records_a_protocol_like_the_cli(qtbot, window, study, outlet_factory, tmp_path):
    w = window
    extra = outlet_factory(channels=3, srate=200.0)  # a second device the operator ticks
    ignored = outlet_factory(channels=2, srate=100.0)  # on the network, never ticked
    fill(w, study, participant="07", session="01")
    s = w.setup
    qtbot.waitUntil(lambda: s.protocol.findData("tiny") >= 0, timeout=5000)
    s.protocol.setCurrentIndex(s.protocol.findData("tiny"))
    assert s.task.text() == "tiny"  # the task label follows the protocol
    s.language.setCurrentIndex(s.language.findData("de"))
    s.consent_data.setChecked(True)
    s.camera.setCurrentIndex(s.camera.findData("sim"))
    s.simulated.setChecked(True)

    # the simulated amplifier appears, ticked and required; the operator adds one stream
    qtbot.waitUntil(lambda: w.devices.lab is not None and w.devices.streamer is not None,
                    timeout=10000)
    lab = w.devices.lab
    wait_row(qtbot, w, lab.emg.name)
    qtbot.waitUntil(lambda: [e.name for e in s.streams.selected_entries()] == [lab.emg.name],
                    timeout=5000)
    wait_row(qtbot, w, extra.name)
    tick(w, extra.name)
    wait_row(qtbot, w, ignored.name)
    streams, require = s.streams.selectors()
    assert [str(x) for x in require] == [f"source_id={lab.emg.source_id}"]
    assert [str(x) for x in streams] == [f"source_id={extra.source_id}"]
    qtbot.waitUntil(lambda: s.run_hint.text() == "next free run: 1", timeout=5000)

    # live monitor shows video and traces before recording
    w.tabs.setCurrentWidget(w.monitor_view)
    qtbot.waitUntil(lambda: w.monitor_view.video.redraws > 3 and w.monitor_view.traces.redraws > 3,
                    timeout=10000)

    panel = w.monitor_view.protocol
    assert panel.start.isEnabled()  # Start records and runs the protocol, like Record
    qtbot.mouseClick(panel.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.controller.state == RECORDING, timeout=15000)
    assert w.tabs.currentWidget() is w.monitor_view
    assert not s.participant.isEnabled()  # the setup is fixed while recording
    w.note.setText("participant sneezed")
    qtbot.keyClick(w.note, Qt.Key.Key_Return)
    assert "note at" in messages(w)
    qtbot.waitUntil(lambda: w.cue.phase.text() == "Halten", timeout=10000)  # German cue
    assert w.cue.text.text() in ("Lächeln 2", "Stirn runzeln")
    assert panel.pause.isEnabled() and panel.abort.isEnabled()
    # the protocol ends, the recording stops by itself (as the CLI's does)
    qtbot.waitUntil(lambda: w.controller.state == IDLE and w.controller.final_path is not None,
                    timeout=20000)
    path = w.controller.final_path
    assert w.controller.result.report.status == "completed"
    assert w.monitor.taps.status().emg_taps  # the simulated participant tapped (found live)
    assert "completed" in panel.now.text()
    assert s.participant.isEnabled()
    qtbot.waitUntil(lambda: s.run_hint.text() == "next free run: 2", timeout=5000)
    row = read_participant(study, "07")
    assert row["consent_data_public"] == "yes" and row["consent_video_public"] == "no"
    with Recording(path) as g:
        plan = json.loads(g.attrs["plan"])

    # the same inputs through the CLI (same protocol, seed, language, streams, camera)
    cli_root = tmp_path / "cli-study"
    (cli_root / "protocols").mkdir(parents=True)
    (cli_root / "protocols" / "tiny.toml").write_text(TINY, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "mimicsync.cli.main", "record", "--root", str(cli_root),
         "--participant", "07", "--session", "01", "--task", "tiny", "--protocol", "tiny",
         "--seed", str(plan["seed"]), "--language", "de",
         "--require", f"source_id={lab.emg.source_id}", "--stream", f"source_id={extra.source_id}",
         "--camera", "sim", "--width", "320", "--height", "240", "--fps", "15"],
        capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr
    cli_path = next(cli_root.glob("sub-07/ses-01/*.h5"))
    assert path.name == cli_path.name == "sub-07_ses-01_task-tiny_run-01_recording.h5"

    def protocol_events(rec):
        return [(e.trial_type, e.value) for e in rec.events if e.extra.get("protocol") == "tiny"]

    with Recording(path) as g, Recording(cli_path) as c:
        assert g.status == c.status == "complete"
        # same groups: amplifier, extra device, camera frame index, protocol marker stream
        assert set(g.streams) == set(c.streams)
        assert len(g.streams) == 4 and "MimicSync_Protocol" in g.streams
        assert ignored.name not in {v.name for v in g.streams.values()}
        for key in g.streams:
            gs, cs = g.streams[key], c.streams[key]
            gc, cc = gs.channels, cs.channels  # identical channel tables (NaN = no position)
            assert gc.dtype == cc.dtype
            for field in gc.dtype.names:
                np.testing.assert_array_equal(gc[field], cc[field])
            assert set(gs.attrs) == set(cs.attrs)
            assert gs.is_string == cs.is_string
            assert gs.is_string or gs.group["data"].dtype == cs.group["data"].dtype
            assert len(gs) > 0
        assert set(g.attrs) == set(c.attrs)  # protocol, plan, setup, language, run links, ...
        for k in ("plan", "protocol", "protocol_name", "protocol_seed", "protocol_language"):
            assert g.attrs[k] == c.attrs[k], k
        assert set(json.loads(g.attrs["setup"])) == set(json.loads(c.attrs["setup"]))
        assert set(g.provenance) == set(c.provenance)
        assert set(g.provenance["settings"]) - set(c.provenance["settings"]) <= {"app", "simulation"}
        assert g.has_video and c.has_video
        assert set(g.f["video"].attrs) == set(c.f["video"].attrs)
        assert {k: g.f["events"][k].dtype for k in g.f["events"] if hasattr(g.f["events"][k], "dtype")} \
            == {k: c.f["events"][k].dtype for k in c.f["events"] if hasattr(c.f["events"][k], "dtype")}
        assert protocol_events(g) == protocol_events(c)  # the same cues in the same order
        emg = g.stream(lab.emg.name)
        assert emg.channel_labels == [ch.label for ch in lab.emg.channels]
        assert g.n_frames > 10
        assert [t["step"] for t in plan["trials"]] == ["smile-open", "forehead"]
        events = g.events
    kinds = [e.trial_type for e in events]
    assert kinds.count("perform") == 2 and kinds.count("tap_cue") == 4 and "run_end" in kinds
    run = [e for e in events if e.extra.get("protocol") == "tiny"]
    assert all(e.extra["seed"] == plan["seed"] for e in run)
    assert run == sorted(run, key=lambda e: e.onset)
    assert [e.value for e in events if e.trial_type == "annotation"] == ["participant sneezed"]

    # two weeks later: the returning participant repeats the same plan in session 02
    s.session.setText("02")
    w.tabs.setCurrentWidget(s)
    qtbot.waitUntil(s.repeat_earlier.isVisible, timeout=5000)
    assert f"seed {plan['seed']}" in s.earlier_hint.text()
    s.seed.setText("12345")  # a typed seed does not replace the stored order
    qtbot.mouseClick(w.record, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.controller.state == IDLE and w.controller.final_path is not None
                    and "ses-02" in w.controller.final_path.name, timeout=30000)
    with Recording(w.controller.final_path) as again:
        assert json.loads(again.attrs["plan"]) == plan
        assert again.attrs["like"] == path.name
        assert again.attrs["protocol_language"] == "de"


def test_bad_input_is_shown_inline_and_nothing_starts(qtbot, window, study, outlet_factory):
    w = window
    o = outlet_factory(channels=2, srate=100.0)
    fill(w, study, participant="sub_01", session="01", task="rest")
    err = w.setup._errors["participant"]
    qtbot.waitUntil(err.isVisible, timeout=3000)  # shown while typing
    assert "participant: 'sub_01' is not a BIDS label" in err.text()
    wait_row(qtbot, w, o.name)
    tick(w, o.name, REQ)
    w.tabs.setCurrentWidget(w.monitor_view)
    qtbot.mouseClick(w.record, Qt.MouseButton.LeftButton)
    assert w.controller.state == IDLE
    assert w.tabs.currentWidget() is w.setup and w.banner.isVisible()
    assert "Cannot start" in w.banner.text()

    w.setup.participant.setText("01")  # fixed: the banner goes by itself
    qtbot.waitUntil(lambda: not w.banner.isVisible(), timeout=3000)
    # now the required device disappears
    o.drop_outlet()
    t = w.setup.streams
    qtbot.waitUntil(lambda: t.item(t.row_of(o.name), STATUS).text() == "MISSING (required)",
                    timeout=10000)
    qtbot.mouseClick(w.record, Qt.MouseButton.LeftButton)
    assert w.controller.state == IDLE
    assert w.setup._errors["streams"].isVisible()
    assert f"required stream(s) missing: {o.name}" in w.setup._errors["streams"].text()
    assert not list(study.glob("sub-*"))  # nothing written

    # the list says online, but the device is gone by the time the recorder looks:
    # the recorder's own one-line error appears in the window, nothing is written
    o.restore_outlet()
    qtbot.waitUntil(lambda: t.item(t.row_of(o.name), STATUS).text() == "online", timeout=10000)
    w.watcher.stop()  # freeze the list
    o.drop_outlet()
    w.clear_error()
    qtbot.mouseClick(w.record, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=15000)
    assert w.controller.state == IDLE
    assert f"required stream(s) not found: source_id={o.source_id}" in w.banner.text()
    assert "untick Required" in w.banner.text() and "--require" not in w.banner.text()
    assert w.setup.participant.isEnabled()  # unlocked again for a retry
    assert not list(study.glob("sub-*/ses-*/*.h5*"))


def test_lost_stream_is_shown_and_closing_asks_first(qtbot, window, study, outlet_factory,
                                                     monkeypatch):
    w = window
    a = outlet_factory(channels=4, srate=250.0)
    b = outlet_factory(channels=2, srate=100.0)
    fill(w, study, participant="02", session="01", task="rest")
    for o in (a, b):
        wait_row(qtbot, w, o.name)
        tick(w, o.name)
    qtbot.mouseClick(w.record, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.controller.state == RECORDING, timeout=15000)
    qtbot.waitUntil(lambda: w.controller.status is not None
                    and all(s.samples > 0 for s in w.controller.status.streams), timeout=10000)
    panel = w.monitor_view.protocol  # a free recording: no trial count
    assert "free recording" in panel.title.text() and not panel.progress.isVisible()

    b.drop_outlet()  # unplugged mid-recording
    qtbot.waitUntil(lambda: w.banner.isVisible() and "is lost" in w.banner.text(), timeout=15000)
    assert b.name in w.banner.text() and "keep recording" in w.banner.text()
    assert "LOST" in w.state.text()
    n_a = next(s.samples for s in w.controller.status.streams if s.name == a.name)
    qtbot.waitUntil(lambda: next(s.samples for s in w.controller.status.streams
                                 if s.name == a.name) > n_a + 100, timeout=5000)
    b.restore_outlet()
    qtbot.waitUntil(lambda: f"stream '{b.name}' is back" in messages(w), timeout=15000)

    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    w.close()
    assert asked and "recording is running" in asked[0]
    assert w.isVisible() and w.controller.state == RECORDING  # still recording
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    w.close()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=20000)
    path = w.controller.final_path
    with Recording(path) as r:
        kinds = [e.trial_type for e in r.events]
        assert "stream_lost" in kinds and "stream_back" in kinds
        assert r.attrs["stop_reason"] == "app closed by operator"


def test_qt_binding_keeps_none_alive(qtbot):
    """PySide6 6.12.0 on Python < 3.12 drops a reference to None per void call: the app
    died within seconds. This guards against that wheel coming back."""
    from PySide6.QtWidgets import QLabel
    lab = QLabel()
    qtbot.addWidget(lab)
    before = sys.getrefcount(None)
    for i in range(500):
        lab.setText(str(i))
    assert sys.getrefcount(None) > before - 50


def test_aborted_run_is_resumed_from_the_gui(qtbot, window, study, monkeypatch):
    """Abort asks first; the aborted run is offered in Setup, and Resume records the
    remaining trials in the next run, linked as `mimicsync record --resume` links them."""
    slow = TINY.replace('name = "tiny"', 'name = "tinyslow"').replace(
        "instruction = 0.3, countdown = 0.3, hold = 0.3, relax = 0.3",
        "instruction = 0.5, countdown = 0.5, hold = 0.5, relax = 1.5")
    (study / "protocols" / "tinyslow.toml").write_text(slow, encoding="utf-8")
    w = window
    fill(w, study, participant="05", session="01")
    s = w.setup
    qtbot.waitUntil(lambda: s.protocol.findData("tinyslow") >= 0, timeout=5000)
    s.protocol.setCurrentIndex(s.protocol.findData("tinyslow"))
    s.simulated.setChecked(True)
    qtbot.waitUntil(lambda: w.devices.lab is not None, timeout=10000)
    qtbot.waitUntil(lambda: [e.name for e in s.streams.selected_entries()] == [w.devices.lab.emg.name],
                    timeout=10000)
    panel = w.monitor_view.protocol
    # chosen, not yet recording: the Monitor tab already shows the run and its length
    qtbot.waitUntil(lambda: "2 trials, planned 0:" in panel.title.text(), timeout=5000)
    qtbot.mouseClick(w.record, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.progress.value() >= 1, timeout=20000)  # trial 1 held
    w.note.setFocus()
    qtbot.keyClicks(w.note, "p")  # typing a note is not a shortcut ...
    assert w.note.text() == "p" and "PAUSED" not in panel.now.text()
    w.record.setFocus()
    qtbot.keyClick(w, Qt.Key.Key_P)  # ... p elsewhere pauses, as in the CLI
    qtbot.waitUntil(lambda: "PAUSED" in panel.now.text(), timeout=3000)
    qtbot.keyClick(w, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: "PAUSED" not in panel.now.text(), timeout=3000)
    qtbot.waitUntil(lambda: panel.progress.value() == 1 and "HOLD" not in panel.now.text(),
                    timeout=10000)  # the paused trial 2 runs again from its start
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    qtbot.mouseClick(panel.abort, Qt.MouseButton.LeftButton)
    assert asked and w.protocol_running()  # "No": nothing aborted
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(panel.abort, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.controller.state == IDLE and w.controller.final_path is not None,
                    timeout=20000)
    first = w.controller.final_path
    assert w.controller.result.report.status == "aborted"
    assert s.resume.isEnabled() and "aborted after 1 of 2 trials" in s.resume_hint.text()

    s.participant.setText("99")  # the resumed run records under the aborted run's labels
    qtbot.mouseClick(s.resume, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.controller.state == IDLE and w.controller.final_path != first,
                    timeout=30000)
    second = w.controller.final_path
    assert second.name == "sub-05_ses-01_task-tinyslow_run-02_recording.h5"
    assert w.controller.result.report.status == "completed"
    assert not s.resume.isEnabled()  # nothing left to resume
    with Recording(first) as a, Recording(second) as b:
        assert b.attrs["resumes"] == first.name
        assert json.loads(b.attrs["plan"]) == json.loads(a.attrs["plan"])
        done_a = [e.value for e in a.events if e.trial_type == "relax"]
        done_b = [e.value for e in b.events if e.trial_type == "relax"]
        assert done_a == ["smile-open"] and done_b == ["forehead"]
        start = next(e for e in b.events if e.trial_type == "run_start")
        assert start.extra["start_trial"] == 1
