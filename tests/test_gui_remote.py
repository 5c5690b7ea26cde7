"""The operator app's remote control: off by default, and a script drives the window.

The script runs in its own thread (as a real one runs in another process) while the Qt
event loop runs here; it speaks plain TCP to the server the Setup checkbox starts.
"""

from __future__ import annotations

import socket
import threading

from lsl_helpers import unique
from test_gui import study, tick, wait_row, window  # noqa: F401 - fixtures
from test_remote_server import Client

from mimicsync.dataset.recording import Recording
from mimicsync.gui.recording_worker import IDLE, RECORDING


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_script(qtbot, port: int, *lines: str, during=None) -> list[str]:
    """Send ``lines`` from another thread while the UI runs; ``during`` must hold at some point."""
    replies: list[str] = []
    seen = []

    def script() -> None:
        c = Client(port)
        for line in lines:
            replies.append(c.ask(line))
            if line.startswith("annotate"):
                threading.Event().wait(1.0)
        c.close()

    t = threading.Thread(target=script, daemon=True)
    t.start()

    def done() -> bool:
        if during is not None and not seen and during():
            seen.append(True)
        return not t.is_alive()
    qtbot.waitUntil(done, timeout=30000)
    assert during is None or seen, "the window never showed the script's recording"
    return replies


def test_remote_control_is_off_by_default_and_a_script_records_through_the_window(
        qtbot, window, study, outlet_factory):  # noqa: F811
    w = window
    emg = outlet_factory(name=unique("guirc"), channels=2, srate=200.0)
    port = free_port()
    box = w.setup.remote
    assert not box.enabled.isChecked() and w.remote.server is None
    box.port.setValue(port)
    box.enabled.setChecked(True)
    assert w.remote.server is not None and box.state.text() == f"listening on 127.0.0.1:{port}"
    wait_row(qtbot, w, emg.name)

    tick(w, emg.name)
    replies = run_script(qtbot, port, "select none")  # (select all would tick every stream
    assert replies == ["OK select none: no stream ticked in the window"]  # of the shared network)
    assert w.setup.streams.selected_entries() == []
    tick(w, emg.name)
    replies = run_script(qtbot, port, f"filename {{root:{study}}} {{participant:07}} {{session:01}} "
                         "{task:rest}", "start", "annotate from the script", "status", "stop",
                         during=lambda: (w.setup.participant.text() == "07"
                                         and w.controller.state == RECORDING))
    assert replies[0].startswith("OK filename: sub-07 ses-01 task-rest"), replies
    assert replies[1].startswith("OK start: recording to "), replies
    assert replies[2].startswith("OK annotate"), replies
    assert replies[3].startswith('OK status {"recording":true'), replies
    assert replies[4].startswith("OK stop: saved "), replies
    assert w.controller.state == IDLE
    with Recording(w.controller.final_path) as rec:
        assert len(rec.stream(emg.name)) > 0
        assert [e.value for e in rec.events if e.trial_type == "annotation"] == ["from the script"]

    port = free_port()  # a new port takes effect once typed (not per keystroke)
    box.port.setValue(port)
    box.port.editingFinished.emit()
    assert w.remote.server.port == port and box.state.text() == f"listening on 127.0.0.1:{port}"
    assert run_script(qtbot, port, "status")[0].startswith('OK status {"recording":false')
    box.enabled.setChecked(False)
    assert w.remote.server is None
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        listening = True
    except OSError:
        listening = False
    assert not listening
