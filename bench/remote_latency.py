"""Remote-control command round trip over loopback, against a bare TCP echo baseline.

Starts the ``mimicsync serve`` parts in this process (port 0) with one real LSL stream
(64 ch at 4096 Hz by default), connects a plain-socket client like a lab script's, and
times send -> reply line for ``status`` and ``filename`` (idle and while recording),
``annotate`` (recording), and ``start``/``stop`` (which look for streams and finalize
the file). The baseline is a one-line echo server on loopback measured in the same run,
so the ratio shows what the command handling adds on this (possibly shared) machine.

Prints figures; asserts nothing.  Usage: python bench/remote_latency.py [--n 500]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from lsl_helpers import PushingOutlet, unique  # noqa: E402

from mimicsync.protocols.device_setup import DeviceSetup  # noqa: E402
from mimicsync.protocols.remote_control import Naming, RemoteController  # noqa: E402
from mimicsync.protocols.remote_recorder import HeadlessBackend  # noqa: E402
from mimicsync.protocols.remote_server import RemoteControlServer  # noqa: E402
from mimicsync.protocols.visit import RecordOptions  # noqa: E402


def echo_server() -> tuple[socket.socket, int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve() -> None:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = conn.makefile("rb")
        for line in f:
            conn.sendall(b"OK " + line)
    threading.Thread(target=serve, daemon=True).start()
    return srv, srv.getsockname()[1]


class Timer:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")

    def once(self, line: str) -> tuple[float, str]:
        t0 = time.perf_counter()
        self.sock.sendall(line.encode() + b"\n")
        reply = self.file.readline().decode()
        return time.perf_counter() - t0, reply

    def many(self, line: str, n: int) -> list[float]:
        out = []
        for _ in range(n):
            dt, reply = self.once(line)
            assert reply.startswith("OK"), reply
            out.append(dt)
        return out


def show(label: str, times: list[float], base: float | None = None) -> float:
    med = statistics.median(times)
    p99 = sorted(times)[int(0.99 * (len(times) - 1))]
    ratio = f"  ({med / base:.1f}x echo)" if base else ""
    print(f"{label:<34} median {med * 1e3:7.3f} ms  p99 {p99 * 1e3:7.3f} ms  n={len(times)}{ratio}")
    return med


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--srate", type=float, default=4096.0)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    srv, eport = echo_server()
    base = show("bare TCP echo (baseline)", Timer(eport).many("status", args.n))
    srv.close()

    emg = PushingOutlet(unique("bench-rc"), channels=args.channels, srate=args.srate, chunk=64).start()
    with tempfile.TemporaryDirectory() as tmp:
        backend = HeadlessBackend(DeviceSetup(streams=(f"name={emg.name}",)),
                                  RecordOptions(console=None, resolve_wait=1.0, on_note=lambda t: None))
        controller = RemoteController(backend, Naming(Path(tmp), "01", "01", "bench"))
        server = RemoteControlServer(controller, "127.0.0.1", 0).start()
        c = Timer(server.port)
        show("status, idle", c.many("status", args.n), base)
        show("filename {task:..}, idle", c.many("filename {task:bench}", args.n), base)
        dt, reply = c.once("start")
        print(f"{'start (looks for streams ~1 s)':<34} {dt * 1e3:7.1f} ms  {reply.strip()[:60]}")
        show("status, recording", c.many("status", args.n), base)
        show("annotate, recording", c.many("annotate bench", args.n), base)
        show("filename {task:..}, recording", c.many("filename {task:bench}", args.n), base)
        dt, reply = c.once("stop")
        print(f"{'stop (finalizes the file)':<34} {dt * 1e3:7.1f} ms  {reply.strip()[:60]}")
        for _ in range(3):  # short recordings: start and stop alone
            t_start, _r = c.once("start")
            time.sleep(1.0)
            t_stop, _r = c.once("stop")
            print(f"{'start / stop of a 1 s recording':<34} {t_start * 1e3:7.1f} / {t_stop * 1e3:.1f} ms")
        server.close()
        controller.close()
    emg.stop()
    print(f"load average after: {os.getloadavg()[0]:.2f} (machine shared with other runs)")


if __name__ == "__main__":
    main()
