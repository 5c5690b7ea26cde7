"""The operator app's parts without devices: form rules, trace layout, stream list, cues."""

from __future__ import annotations

import numpy as np
import pylsl
from lsl_helpers import unique
from PySide6.QtCore import Qt

from mimicsync.acquisition.live.signal_quality import BAD, GOOD, NONE, WARN
from mimicsync.acquisition.live.stream_watch import StreamEntry
from mimicsync.dataset.electrodes import default_channels
from mimicsync.dataset.events import Event
from mimicsync.gui.cue_window import CueWindow
from mimicsync.gui.electrode_map import problems
from mimicsync.gui.session_form import SessionForm, task_from_protocol, validate
from mimicsync.gui.stream_table import NAME, REC, STATUS, StreamTable
from mimicsync.gui.trace_scale import AUTO, TraceScale, auto_gain, step
from mimicsync.gui.traces import channel_groups, stack_rows
from mimicsync.protocols import load_protocol


def test_form_rules_are_the_clis(tmp_path):
    ok = SessionForm(root=str(tmp_path / "s"), participant="07", session="01", task="smile")
    assert validate(ok) == {}
    bad = SessionForm(root="", participant="sub-07", session="", task="smile open", acq="a_b",
                      seed="x1")
    e = validate(bad)
    assert set(e) == {"root", "participant", "session", "task", "acq", "seed"}
    assert e["participant"].startswith("participant: 'sub-07' is not a BIDS label")
    assert "remove '-'" in e["participant"] and "e.g. '07'" in e["participant"]
    assert e["session"].startswith("session: a label is required")
    (tmp_path / "file").write_text("x")
    assert "is a file" in validate(SessionForm(root=str(tmp_path / "file" / "study"),
                                               participant="1", session="1", task="t"))["root"]
    assert task_from_protocol("emotions-reference") == "emotionsreference"


def test_typing_the_entity_prefix_suggests_the_bare_label(qtbot, tmp_path):
    """'sub-07' typed as participant: the app suggests '07' (the folder adds 'sub-'),
    not 'sub07', which would become sub-sub07."""
    from mimicsync.gui.app import AppOptions, MainWindow
    w = MainWindow(AppOptions(sim_suffix=unique("label")))
    qtbot.addWidget(w)
    w.show()
    s = w.setup
    s.root.setText(str(tmp_path / "study"))
    for field, typed, meant in (("participant", "sub-07", "07"), ("session", "ses-01", "01"),
                                ("task", "task_smile", "smile"), ("participant", "S 07", "S07")):
        getattr(s, field).setText(typed)
        err = s._errors[field]
        qtbot.waitUntil(lambda: err.isVisible() and typed in err.text(), timeout=3000)
        assert f"e.g. '{meant}'" in err.text(), err.text()
    s.participant.setText("07")  # taking the suggestion clears the message
    qtbot.waitUntil(lambda: not s._errors["participant"].isVisible(), timeout=3000)
    w.close()


def test_traces_grouped_by_scheme_and_side():
    chans = default_channels()
    groups = dict(channel_groups(chans))
    assert list(groups) == ["Fridlund · left", "Fridlund · right", "Kuramoto"]
    assert all(chans[i].side == "left" for i in groups["Fridlund · left"])
    assert len(groups["Fridlund · left"]) == len(groups["Fridlund · right"]) == 22
    kura = [chans[i] for i in groups["Kuramoto"]]
    assert len(kura) == 20 and kura[-1].label == "TRIG"  # the trigger joins the last column
    sides = [c.side for c in kura[:-1]]
    assert sides == sorted(sides, key=["left", "midline", "right"].index)
    generic = default_channels(schemes=(), n_channels=40)  # 39 generic EMG + trigger
    titles = [t for t, _ in channel_groups(generic)]
    assert titles == ["Channels 1-24", "Channels 25-40"]


def test_stacked_rows_are_clipped_joined_and_have_no_gaps():
    mins = np.array([[-1.0, -100.0], [-2.0, 0.0], [3.0, -1.0], [3.0, -1.0]])
    maxs = mins + 1.0
    maxs[3, 0] = mins[3, 0]  # a flat column
    x, y = stack_rows(mins, maxs, gain=np.array([0.1, 0.1]), center=np.zeros(2), dt=0.5)
    assert len(x) == len(y) == 2 * 2 * 4  # one segment per column and channel
    seg = y.reshape(2, 4, 2)
    # rising, falling, ...; column 1 reaches up to column 0, column 2 down to column 1
    np.testing.assert_allclose(seg[0], [[-0.1, 0.0], [-0.1, -0.2], [-0.1, 0.4], [0.3, 0.3]])
    assert seg[1, 0, 0] == -1.5  # -100 µV clipped to the bottom of row 1 (centred at -1)
    xs = x.reshape(2, 4, 2)[0]
    np.testing.assert_allclose(xs, [[-2.0, -1.5], [-1.5, -1.0], [-1.0, -0.5], [-0.5, 0.0]])
    assert (xs[1:, 0] == xs[:-1, 1]).all()  # each segment starts where the last ended: no gap
    x = np.full((100, 2), 1.0)
    x[:1, 0] = 30.0  # a tap in one column does not set channel 0's scale ...
    x[:30, 1] = 20.0  # ... a burst sets channel 1's: it fills the row, not clipped
    g, c = auto_gain(-x, x)
    assert 0.5 / 1.6 < g[0] < 0.5 and list(c) == [0.0, 0.0]
    assert 0.4 < g[1] * 20.0 <= 0.5


def test_problem_electrodes_worst_first():
    chans = default_channels()
    grades = [GOOD] * len(chans)
    grades[5], grades[9], grades[-1] = WARN, BAD, NONE
    reasons = ["ok"] * len(chans)
    reasons[9] = "flat"
    found = problems(chans, grades, reasons)
    assert [i for i, _ in found] == [9, 5]
    assert found[0][1] == f"{chans[9].label}: flat"
    assert problems(chans, None, None) == []


def _entry(name: str, sid: str = "") -> StreamEntry:
    info = pylsl.StreamInfo(name, "EMG", 4, 500.0, pylsl.cf_float32, sid)
    return StreamEntry.of(info)


def test_stream_list_keeps_missing_selected_streams(qtbot):
    t = StreamTable()
    qtbot.addWidget(t)
    a, b, c = _entry(unique("a"), "sid-a"), _entry(unique("b")), _entry(unique("c"), "sid-c")
    t.update_entries((a, b, c))
    t.select(lambda e: e.name == a.name, required=True)
    t.select(lambda e: e.name == b.name)
    streams, require = t.selectors()
    assert [str(s) for s in require] == ["source_id=sid-a"]
    assert [str(s) for s in streams] == [f"name={b.name}"]  # no source_id: by name
    t.update_entries((c,))  # a and b disappear
    assert t.missing_required() == [a.name]
    assert t.rowCount() == 3 and [e.name for e in t.selected_entries()] == []
    t.set_own_source_ids({"sid-c"})  # the app's own camera stream: shown ticked, fixed
    t.update_entries((a, c))
    own = t.item(t.row_of(c.name), REC)
    assert own.checkState() == Qt.CheckState.Checked and not own.flags() & Qt.ItemFlag.ItemIsEnabled
    assert "this app's camera" in t.item(t.row_of(c.name), STATUS).text()
    assert c.name not in [e.name for e in t.selected_entries()] and t.missing_required() == []
    assert all(s.value != "sid-c" for s in t.selectors()[0] + t.selectors()[1])
    twin = _entry(a.name, "sid-a2")  # the same name, another machine/device
    t.update_entries((a, twin))
    names = {t.item(i, NAME).text() for i in range(t.rowCount())}
    assert {f"{a.name}  @{a.host} [sid-a]", f"{a.name}  @{twin.host} [sid-a2]"} <= names


def test_cue_window_speaks_the_protocols_language(qtbot):
    w = CueWindow()
    qtbot.addWidget(w)
    p = load_protocol("functional")
    w.set_protocol(p, "de")
    w.on_event(Event(0.0, 3.0, "instruction", "smile-open"))
    assert w.text.text() == p.step("smile-open").instruction.de
    w.on_event(Event(0.0, 2.0, "countdown", "smile-open"))
    w.on_countdown(2)
    assert (w.phase.text(), w.text.text(), w.countdown.text()) == ("Bereit machen", "Lächeln 2", "2")
    w.on_event(Event(0.0, 1.5, "tap_cue", "tap", {"tap": 2, "taps": 3}))
    assert w.phase.text() == "Tippen" and w.countdown.text() == "2/3"
    w.on_event(Event(0.0, 0.0, "run_end", "completed"))
    assert w.phase.text() == "Fertig, vielen Dank!"
    w.set_protocol(p, "en")
    w.on_event(Event(0.0, 3.0, "perform", "smile-open"))
    assert w.phase.text() == "Hold" and w.text.text() == p.step("smile-open").label.en


def test_command_line_prefills_the_form(qtbot, tmp_path):
    from mimicsync.gui.app import AppOptions, MainWindow, build_parser, fill_from_args
    args = build_parser().parse_args(["--root", str(tmp_path), "--participant", "07", "--session",
                                      "02", "--task", "emotions", "--simulate"])
    w = MainWindow(AppOptions(sim_suffix=unique("args")))
    qtbot.addWidget(w)
    fill_from_args(w, args)
    f = w.setup.form()
    assert (f.root, f.participant, f.session, f.task) == (str(tmp_path), "07", "02", "emotions")
    assert f.simulated_lab and f.camera == "sim"
    qtbot.waitUntil(lambda: w.devices.lab is not None and not w.devices.busy, timeout=15000)
    w.close()
    assert w.devices.lab is None and w.devices.streamer is None  # closing stops the devices


def test_mimicsync_gui_subcommand_takes_the_apps_options():
    from mimicsync.cli.main import build_parser
    args = build_parser().parse_args(["gui", "--simulate", "--root", "s", "--participant", "07",
                                      "--width", "640"])
    assert args.command == "gui" and args.simulate and args.participant == "07"
    assert args.width == 640 and args.camera is None


def test_participant_window_on_a_single_screen(qtbot):
    """One laptop screen: the participant window must not hide the operator's window,
    Escape gets out of it, and closing it by its X unticks the toggle."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication

    from mimicsync.gui.app import AppOptions, MainWindow
    assert len(QGuiApplication.screens()) == 1
    w = MainWindow(AppOptions(sim_suffix=unique("cue")))
    qtbot.addWidget(w)
    w.show()
    cue = w.cue
    assert w.setup.fullscreen.isChecked()  # asked for, but there is no second screen
    qtbot.mouseClick(w.cue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(cue.isVisible, timeout=3000)
    assert not cue.isFullScreen()
    screen = cue.screen().availableGeometry()
    assert cue.width() <= screen.width() // 2 and cue.height() < screen.height()
    assert "full screen only on a second screen" in w.messages.item(0).text()

    cue.activateWindow()
    qtbot.keyClick(cue, Qt.Key.Key_F11)  # the operator may still choose full screen
    qtbot.waitUntil(cue.isFullScreen, timeout=3000)
    qtbot.keyClick(cue, Qt.Key.Key_Escape)  # Escape leaves full screen ...
    qtbot.waitUntil(lambda: not cue.isFullScreen(), timeout=3000)
    assert cue.isVisible() and w.cue_button.isChecked()
    qtbot.keyClick(cue, Qt.Key.Key_Escape)  # ... and closes a window
    qtbot.waitUntil(lambda: not cue.isVisible(), timeout=3000)
    assert not w.cue_button.isChecked()

    qtbot.mouseClick(w.cue_button, Qt.MouseButton.LeftButton)  # the next click opens it again
    qtbot.waitUntil(cue.isVisible, timeout=3000)
    cue.close()  # as the window manager's X does
    assert not cue.isVisible() and not w.cue_button.isChecked()
    w.close()


def test_common_trace_scale_fits_bursts_and_does_not_pump():
    """One µV scale for every row (with a scale bar): round values, grows with a burst
    at once, shrinks only when far too large; zoom steps the same ladder."""
    sc = TraceScale()
    assert sc.mode == AUTO
    emg = np.ones(10, bool)
    rest = np.full((200, 10), 3.0)
    g, _ = sc.gains(-rest, rest, emg)
    assert sc.row_uv == 5.0 and np.allclose(g, 0.5 / 5.0)
    burst = rest.copy()
    burst[:60, :4] = 80.0  # 4 of 10 channels active: the loud ones fit
    sc.gains(-burst, burst, emg)
    assert sc.row_uv == 100.0
    rest30 = np.full((200, 10), 30.0)
    sc.gains(-rest30, rest30, emg)
    assert sc.row_uv == 100.0  # 50 would do, but one step is not worth a jump
    sc.gains(-rest, rest, emg)
    assert sc.row_uv == 5.0
    assert sc.zoom(zoom_in=False) == 10.0 and sc.mode == "fixed"
    assert step(10.0, zoom_in=True) == 5.0
