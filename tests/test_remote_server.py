"""Remote control over real TCP on loopback, recording real LSL streams into real files.

Clients are plain sockets as in lab scripts: one that only sends LabRecorder's classic
lines and never reads, and one that reads every reply. The server runs in this process
(``mimicsync serve``'s own parts, port 0) except where the command line itself is the
point. Every server only offers streams with this test's unique names, since other test
runs share the LSL network.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from lsl_helpers import assert_exact_slice, unique

from mimicsync.dataset.recording import Recording
from mimicsync.protocols.device_setup import DeviceSetup
from mimicsync.protocols.remote_control import Naming, RemoteController
from mimicsync.protocols.remote_recorder import HeadlessBackend
from mimicsync.protocols.remote_server import RemoteControlServer
from mimicsync.protocols.visit import RecordOptions

MIMICSYNC = [sys.executable, "-m", "mimicsync.cli.main"]


class Client:
    """A reply-reading lab script: one line out, one line back."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.file = self.sock.makefile("rb")

    def send(self, line: bytes | str) -> None:
        self.sock.sendall(line.encode() + b"\n" if isinstance(line, str) else line)

    def reply(self) -> str:
        line = self.file.readline()
        assert line.endswith(b"\n"), f"no reply line: {line!r}"
        return line.decode().rstrip("\n")

    def ask(self, line: str) -> str:
        self.send(line)
        return self.reply()

    def status(self) -> dict:
        reply = self.ask("status")
        assert reply.startswith("OK status "), reply
        return json.loads(reply[len("OK status "):])

    def nothing_pending(self, wait: float = 0.3) -> bool:
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1, socket.MSG_PEEK) == b""
        except (TimeoutError, socket.timeout):
            return True
        finally:
            self.sock.settimeout(30)

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def serve(tmp_path: Path):
    """An in-process ``mimicsync serve`` on a free loopback port."""
    made: list[tuple[RemoteControlServer, RemoteController]] = []

    def make(streams=(), require=(), naming: Naming | None = None, auto_start=False):
        setup = DeviceSetup(streams=tuple(streams), require=tuple(require))
        options = RecordOptions(resolve_wait=1.0, console=None, on_note=lambda t: None)
        backend = HeadlessBackend(setup, options, list_wait=0.5)
        controller = RemoteController(backend, naming or Naming(tmp_path / "study"))
        server = RemoteControlServer(controller, "127.0.0.1", 0).start()
        if auto_start:
            controller.arm_auto_start(poll_interval=0.2)
        made.append((server, controller))
        return server, controller

    yield make
    for server, controller in made:
        server.close()
        controller.close()


def recordings(root: Path) -> list[Path]:
    return sorted(root.rglob("*_recording.h5"))


def wait_for(predicate, timeout: float = 20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_labrecorder_style_client_that_never_reads_records_a_valid_file(tmp_path, outlet_factory):
    """The real ``mimicsync serve`` and a script that only sends the classic lines."""
    emg = outlet_factory(name=unique("rcs-emg"), srate=500.0)
    root = tmp_path / "study"
    proc = subprocess.Popen(MIMICSYNC + ["serve", "--root", str(root), "--port", "0",
                                         "--stream", f"name={emg.name}"],
                            stderr=subprocess.PIPE, text=True)
    try:
        port = wait_for(lambda: _listening_port(proc), timeout=60)
        s = socket.create_connection(("127.0.0.1", port))
        for line in ("select all", "filename {root:" + str(root) + "} {template:exp%n/block_%b.xdf} "
                     "{participant:P001} {session:S001} {task:Default} {run:1} {acquisition:A} "
                     "{modality:eeg}", "start"):
            s.sendall(line.encode() + b"\r\n")
        wait_for(lambda: list(root.rglob("*.h5.part")), timeout=60)  # the test looks, not the client
        time.sleep(2.0)
        s.sendall(b"stop\r\n")
        s.close()  # never read a byte
        path = wait_for(lambda: recordings(root), timeout=30)[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert path.name == "sub-P001_ses-S001_task-Default_acq-A_run-01_recording.h5"
    with Recording(path) as rec:
        assert rec.status == "complete"
        s = rec.stream(emg.name)
        duration = float(rec.attrs["duration_s"])
        assert duration > 1.5 and len(s) > 0.7 * duration * 500, (duration, len(s))
        assert_exact_slice(s.data, s.time_stamps, *emg.sent())
        assert rec.attrs["participant"] == "P001" and rec.attrs["acq"] == "A"


def _listening_port(proc: subprocess.Popen) -> int | None:
    line = proc.stderr.readline()
    if "listening on" in line:
        return int(line.split("127.0.0.1:")[1].split()[0])
    assert proc.poll() is None, line
    return None


def test_reply_reading_client_sees_every_outcome(serve, outlet_factory, tmp_path):
    emg = outlet_factory(name=unique("rcs-emg"))
    server, _ = serve(streams=[f"name={emg.name}"])
    c = Client(server.port)
    assert c.status()["recording"] is False
    assert c.ask("start").startswith("ERROR participant: not set; send e.g. 'filename")
    assert c.ask("filename {participant:07} {session:01} {task:resting_state}").startswith(
        "ERROR task: 'resting_state' is not a BIDS label")
    assert c.status()["next"]["participant"] is None  # a refused line changes nothing
    assert c.ask("filename {participant:07} {session:01} {task:rest} {run:two}").startswith("ERROR run: ")
    assert c.ask("filename {participant:07} {session:01} {task:rest}").startswith(
        "OK filename: sub-07 ses-01 task-rest, next free run")
    assert c.ask("annotate too early") == "ERROR annotate: not recording; send start first"
    assert c.ask("stop") == "ERROR stop: not recording; send start first"
    reply = c.ask("update")
    assert reply.startswith("OK update: 1 stream(s) on offer: ") and emg.name in reply
    assert emg.name in c.ask("select all")
    reply = c.ask("start")
    assert reply.startswith("OK start: recording to ") and "run-01_recording.h5" in reply
    assert c.ask("start").startswith("ERROR start: already recording")
    assert c.ask("protocol quick").startswith("ERROR protocol: already recording")
    assert c.ask("annotate eyes closed").startswith("OK annotate: noted at ")
    time.sleep(1.0)
    st = c.status()
    assert st["recording"] and st["streams"][0]["samples"] > 0
    assert st["sync_events"]["annotations"] == 1
    reply = c.ask("stop")
    assert reply.startswith("OK stop: saved ") and f"{emg.name} " in reply, reply
    assert c.ask("filename {run:1}").startswith("OK filename")
    assert c.ask("start").startswith("ERROR run: run 1 of rest exists")
    assert c.ask("protocol ../../etc/x").startswith("ERROR protocol: '../../etc/x' is not a protocol name")
    assert c.ask("protocol nosuch").startswith("ERROR nosuch.toml: no protocol named 'nosuch'")
    assert c.ask("filename {task:next}").startswith("OK filename: sub-07 ses-01 task-next, run 1")
    assert "task-next_run-01_recording.h5" in c.ask("start")
    assert c.ask("filename {task:later}").endswith("(for the next recording; the current one continues)")
    assert "task-next_run-01_recording.h5" in c.ask("stop")
    c.close()
    rest = [p for p in recordings(tmp_path / "study") if "task-rest" in p.name]
    with Recording(rest[0]) as rec:
        assert [e.value for e in rec.events if e.trial_type == "annotation"] == ["eyes closed"]


def test_missing_required_stream_is_an_error_reply(serve, tmp_path):
    absent = unique("rcs-absent")
    server, _ = serve(require=[f"name={absent}"], naming=Naming(tmp_path / "study", "07", "01", "rest"))
    c = Client(server.port)
    reply = c.ask("start")
    assert reply.startswith("ERROR require: required stream(s) not found: name=" + absent), reply
    assert c.status()["recording"] is False
    assert not list((tmp_path / "study").rglob("*.h5*"))  # nothing half-written
    c.close()


def test_client_disconnecting_mid_recording_leaves_it_running(serve, outlet_factory, tmp_path):
    emg = outlet_factory(name=unique("rcs-emg"))
    server, _ = serve(streams=[f"name={emg.name}"], naming=Naming(tmp_path / "study", "07", "01", "rest"))
    a = Client(server.port)
    assert a.ask("start").startswith("OK start")
    a.close()  # the script ends without stop
    time.sleep(2.0)
    b = wait_for(lambda: _connect(server.port))
    st = b.status()
    assert st["recording"] and st["elapsed_s"] > 1.5
    assert b.ask("stop").startswith("OK stop: saved")
    with Recording(recordings(tmp_path / "study")[0]) as rec:
        s = rec.stream(emg.name)
        assert rec.attrs["duration_s"] > 1.8
        assert np.diff(s.time_stamps).max() < 0.1  # no hole where the client went away
        assert_exact_slice(s.data, s.time_stamps, *emg.sent())


def _connect(port: int) -> Client | None:
    """A client once the server takes one (it may still be seeing the last one go)."""
    c = Client(port)
    if c.ask("status").startswith("OK status"):
        return c
    c.close()
    return None


def test_garbage_binary_and_1mb_lines_get_one_error_each_and_recording_goes_on(
        serve, outlet_factory, tmp_path):
    emg = outlet_factory(name=unique("rcs-emg"))
    server, _ = serve(streams=[f"name={emg.name}"], naming=Naming(tmp_path / "study", "07", "01", "rest"))
    c = Client(server.port)
    assert c.ask("start").startswith("OK start")
    c.send(b"hello world\n")
    c.send(b"\xff\xfe\x00\x01binary\x00\n")
    c.send(b"x" * 1_000_000 + b"\n")
    c.send(b"{participant:07}}}{{\n")
    replies = [c.reply() for _ in range(4)]
    assert replies[0].startswith("ERROR command: unknown command 'hello world'")
    assert replies[1].startswith("ERROR line: ") and "not UTF-8" in replies[1]
    assert replies[2].startswith("ERROR line: longer than 65536 bytes")
    assert replies[3].startswith("ERROR command: unknown command")
    assert c.nothing_pending()  # exactly one reply per line
    assert c.status()["recording"] is True
    assert c.ask("stop").startswith("OK stop")
    with Recording(recordings(tmp_path / "study")[0]) as rec:
        assert len(rec.stream(emg.name)) > 0


def test_second_client_is_refused_with_a_reply_and_closed(serve):
    server, _ = serve()
    a = Client(server.port)
    assert a.status()["recording"] is False
    b = Client(server.port)
    reply = b.reply()
    assert reply.startswith("ERROR client: another client (127.0.0.1:") and "one controlling client" in reply
    assert b.file.readline() == b""  # closed
    assert a.status()["recording"] is False  # the first one still controls
    a.close()
    c = wait_for(lambda: _connect(server.port))
    assert c.status()["recording"] is False
    c.close()


def test_auto_start_records_once_every_required_stream_is_there(serve, outlet_factory, tmp_path):
    name = unique("rcs-late")
    server, controller = serve(require=[f"name={name}"], auto_start=True,
                               naming=Naming(tmp_path / "study", "07", "01", "rest"))
    c = Client(server.port)
    time.sleep(0.6)
    st = c.status()
    assert not st["recording"] and st["auto_start"] == f"waiting for name={name}"
    emg = outlet_factory(name=name)
    st = wait_for(lambda: (s := c.status())["recording"] and s, timeout=30)
    assert st["auto_start"] == "done (started by itself)"
    time.sleep(1.0)
    assert c.ask("stop").startswith("OK stop: saved")
    time.sleep(0.6)
    assert c.status()["recording"] is False  # once: it does not start again by itself
    with Recording(recordings(tmp_path / "study")[0]) as rec:
        assert_exact_slice(rec.stream(name).data, rec.stream(name).time_stamps, *emg.sent())


def test_select_all_takes_the_streams_listed_now_not_later_ones(serve, outlet_factory, tmp_path):
    kind = unique("rcstype")
    first = outlet_factory(name=unique("rcs-a"), stype=kind)
    server, _ = serve(streams=[f"type={kind}"], naming=Naming(tmp_path / "study", "07", "01", "rest"))
    c = Client(server.port)
    assert first.name in c.ask("select all")
    late = outlet_factory(name=unique("rcs-b"), stype=kind)
    time.sleep(0.5)
    assert late.name in c.ask("update")
    reply = c.ask("start")
    assert first.name in reply and late.name not in reply
    time.sleep(2.5)  # long enough for the recorder's late-joiner discovery
    c.ask("stop")
    with Recording(recordings(tmp_path / "study")[0]) as rec:
        assert [s.name for s in rec.streams.values()] == [first.name]


def test_protocol_command_runs_a_protocol_that_ends_the_recording(serve, outlet_factory, tmp_path):
    from test_protocol_recording import QUICK
    root = tmp_path / "study"
    (root / "protocols").mkdir(parents=True)
    (root / "protocols" / "quick.toml").write_text(QUICK, encoding="utf-8")
    emg = outlet_factory(name=unique("rcs-emg"))
    server, _ = serve(streams=[f"name={emg.name}"], naming=Naming(root, "07", "01", "quick"))
    c = Client(server.port)
    reply = c.ask("protocol quick 7")
    assert reply.startswith("OK protocol quick: seed 7, 6 trials"), reply
    assert c.status()["protocol"]["name"] == "quick"
    st = wait_for(lambda: (s := c.status())["recording"] is False and s, timeout=60)
    assert st["last"]["stop_reason"] == "protocol completed"
    assert st["last"]["sync_events"]["tap_cues"] == 4  # 2 tap blocks x 2 taps
    with Recording(st["last"]["file"]) as rec:
        assert rec.attrs["protocol_name"] == "quick" and int(rec.attrs["protocol_seed"]) == 7
        assert sum(e.trial_type == "perform" for e in rec.events) == 6
        assert len(rec.stream(emg.name)) > 0


def test_serve_refuses_a_taken_port_and_warns_for_a_non_loopback_address(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    out = subprocess.run(MIMICSYNC + ["serve", "--root", str(tmp_path), "--port", str(port)],
                         capture_output=True, text=True, timeout=60)
    taken.close()
    assert out.returncode == 2
    assert out.stderr.strip() == (f"mimicsync: error: --port: {port} is in use on 127.0.0.1 (LabRecorder "
                                  "or another mimicsync serve?); close that program or choose another --port")
    proc = subprocess.Popen(MIMICSYNC + ["serve", "--root", str(tmp_path), "--port", "0",
                                         "--bind", "0.0.0.0"], stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert first.startswith("warning: remote control listens on 0.0.0.0:") and "trusted" in first
    assert proc.returncode == 0


def test_the_readme_client_example_records(serve, outlet_factory, tmp_path, capsys):
    """The PsychoPy-style example in the README, run as printed (only the port differs)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Remote control from experiment scripts", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) == 10
    emg = outlet_factory(name=unique("rcs-readme"))
    server, _ = serve(streams=[f"name={emg.name}"])
    exec(compile(code.replace("22345", str(server.port)), "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("OK start: recording to ") and "sub-07_ses-01_task-emotions_run-01" in out[0]
    assert out[1].startswith("OK stop: saved ")
    with Recording(recordings(tmp_path / "study")[0]) as rec:
        assert len(rec.stream(emg.name)) > 0
        assert [e.value for e in rec.events if e.trial_type == "annotation"] == ["block 1"]


def test_scripts_that_connect_once_per_command_work(serve, outlet_factory, tmp_path):
    """connect, send, close per command (no reading): the next connection waits its turn."""
    emg = outlet_factory(name=unique("rcs-emg"))
    server, _ = serve(streams=[f"name={emg.name}"], naming=Naming(tmp_path / "study", "07", "01", "rest"))
    for line in (b"filename {task:percmd}\n", b"start\n"):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(line)
        s.close()  # start takes about a second; the next client comes at once
    c = Client(server.port)
    st = c.status()
    assert st["recording"] and st["file"].endswith("task-percmd_run-01_recording.h5")
    assert c.ask("stop").startswith("OK stop: saved")
    c.close()


def test_a_client_that_never_reads_thousands_of_replies_is_still_obeyed(serve, outlet_factory, tmp_path):
    """Its socket buffer fills up; the server keeps reading and running its commands."""
    emg = outlet_factory(name=unique("rcs-emg"))
    server, controller = serve(streams=[f"name={emg.name}"],
                               naming=Naming(tmp_path / "study", "07", "01", "rest"))
    s = socket.create_connection(("127.0.0.1", server.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills after a few replies
    s.sendall(b"status\n" * 5000 + b"filename {task:flood}\nstart\n")  # ~3 MB of replies unread
    wait_for(lambda: controller.backend.recording, timeout=60)
    s.sendall(b"stop\n")
    wait_for(lambda: recordings(tmp_path / "study"), timeout=60)
    s.close()
    assert recordings(tmp_path / "study")[0].name.startswith("sub-07_ses-01_task-flood_run-01")


def test_random_bytes_in_random_chunks_get_one_reply_per_line_and_recording_goes_on(
        serve, outlet_factory, tmp_path):
    rng = np.random.default_rng(15)
    emg = outlet_factory(name=unique("rcs-emg"))
    server, _ = serve(streams=[f"name={emg.name}"], naming=Naming(tmp_path / "study", "07", "01", "rest"))
    c = Client(server.port)
    assert c.ask("start").startswith("OK start")
    alphabet = np.frombuffer(b"abc {}:?*\t \r\x00\xff\xfe\x1b" + bytes(range(32, 127)), np.uint8)
    lines = [bytes(rng.choice(alphabet, rng.integers(0, 300))).replace(b"\n", b"") for _ in range(300)]
    lines += [b"", b"   ", b"\t", b"\r", b"start", b"x" * 70_000]  # blanks get no reply
    stream = b"\n".join(lines) + b"\n"
    cuts = np.sort(rng.integers(0, len(stream), 60))
    for piece in np.split(np.frombuffer(stream, np.uint8), cuts):
        c.sock.sendall(piece.tobytes())
    expected = sum(1 for ln in lines if ln.removesuffix(b"\r").strip(b" \t"))
    replies = [c.reply() for _ in range(expected)]
    assert all(r.startswith(("OK ", "ERROR ")) for r in replies)
    assert "ERROR start: already recording" in replies[-2] and replies[-1].startswith("ERROR line: longer")
    st = c.status()  # the next reply is the status: no extra or missing line before it
    assert st["recording"] is True
    assert c.ask("stop").startswith("OK stop: saved")
