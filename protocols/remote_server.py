"""The remote-control TCP socket: LabRecorder's port 22345, one controlling client at a time.

Lines end with ``\\n`` (a ``\\r`` before it is dropped); each non-blank line gets exactly
one reply line from a :class:`~mimicsync.protocols.remote_control.RemoteController`. A line
longer than :data:`~mimicsync.protocols.remote_commands.MAX_LINE_BYTES` is answered with
one error as soon as it is too long and the rest of it is discarded, so a runaway sender
costs no memory. A second client is told who controls the recorder and closed; clients
that connect once per command (some scripts do) are fine, the previous one is given a
moment to go. A client that disconnects, even mid-recording, changes nothing: the
recording goes on until a ``stop`` (from this or a later client) or the server closes.

Loopback only by default: anyone who can reach the port can start and stop recordings.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from collections.abc import Callable

from mimicsync.errors import ErrorCode, MimicsyncError
from mimicsync.protocols.remote_commands import MAX_LINE_BYTES, error_reply, overlong_error
from mimicsync.protocols.remote_control import RemoteController

log = logging.getLogger(__name__)

DEFAULT_PORT = 22345  # LabRecorder's remote control port
LOOPBACK = ("127.0.0.1", "::1", "localhost")
MAX_UNREAD_BYTES = 1 << 20  # replies kept for a client that does not read them
LAST_COMMAND_S = 60.0  # how long a closed client's last command may keep the next one waiting


class RemoteServerError(MimicsyncError, RuntimeError):
    """The server could not listen (port taken, address not of this machine)."""

    default_code = ErrorCode.STATE


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


def _peer_closed(conn: socket.socket) -> bool:
    """True once the peer has closed and everything it sent has been read."""
    try:
        return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError, TimeoutError):  # nothing to read: still there
        return False
    except OSError:
        return True


def _tune(conn: socket.socket) -> None:
    """Replies leave at once (no Nagle delay); a peer that vanished without closing (a
    network cable pulled) is noticed within about a minute, so it does not keep control."""
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):  # Linux; other systems keep their defaults
            conn.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)


class _Client:
    """One connection's bytes: lines in (framed, overlong ones cut), replies out.

    Replies never block: a script that never reads them (LabRecorder's clients do not)
    fills its socket buffer after a few hundred replies; the rest wait here, up to
    :data:`MAX_UNREAD_BYTES`, and beyond that are dropped, but its commands still run.
    """

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.inbox = bytearray()
        self.outbox = bytearray()
        self.discarding = False  # inside a line already answered as too long
        self.dropped = 0
        conn.settimeout(0.2)

    def receive(self) -> list[bytes | None] | None:
        """The complete lines that arrived (None for one too long); None once closed."""
        self.flush()
        try:
            chunk = self.conn.recv(65536)
        except (TimeoutError, socket.timeout):
            return []
        if not chunk:
            return None
        self.inbox += chunk
        lines: list[bytes | None] = []
        while (end := self.inbox.find(b"\n")) >= 0:
            line = bytes(self.inbox[:end])
            del self.inbox[:end + 1]
            if self.discarding:
                self.discarding = False
            else:
                lines.append(None if len(line) > MAX_LINE_BYTES else line)
        if len(self.inbox) > MAX_LINE_BYTES:
            if not self.discarding:
                lines.append(None)
            self.discarding = True
            self.inbox.clear()
        return lines

    def reply(self, text: str) -> None:
        data = (text + "\n").encode("utf-8")
        if len(self.outbox) + len(data) > MAX_UNREAD_BYTES:
            self.dropped += 1
            return
        self.outbox += data
        self.flush()

    def flush(self) -> None:
        while self.outbox and select.select([], [self.conn], [], 0)[1]:
            sent = self.conn.send(self.outbox)
            del self.outbox[:sent]


class RemoteControlServer:
    """Listens on ``host:port`` and feeds each client line to ``controller``.

    Parameters
    ----------
    controller : RemoteController
        Turns a line into its reply.
    host : str
        The address to listen on; anything but loopback lets other machines in.
    port : int
        TCP port; 0 takes a free one (read :attr:`port` after :meth:`start`).
    on_log : callable, optional
        One line per connection, command and reply.
    handover_s : float
        How long a new client waits for the previous one to go before it is refused.
    """

    def __init__(self, controller: RemoteController, host: str = "127.0.0.1",
                 port: int = DEFAULT_PORT, *, on_log: Callable[[str], None] = log.info,
                 handover_s: float = 0.5) -> None:
        self.controller = controller
        self.host, self.port = host, port
        self.on_log = on_log
        self.handover_s = handover_s
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._client: socket.socket | None = None
        self._client_gone = threading.Event()
        self._client_gone.set()
        self._threads: list[threading.Thread] = []
        self._peer = ""

    def start(self) -> "RemoteControlServer":
        """Bind, listen and accept clients in a thread.

        Returns
        -------
        RemoteControlServer
            Itself, listening.

        Raises
        ------
        RemoteServerError
            The port is taken, or the address is not one of this machine.
        """
        try:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(4)
        except OSError as e:
            sock.close()
            if e.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
                raise RemoteServerError(
                    "port", f"{self.port} is in use on {self.host} (LabRecorder or another "
                    "mimicsync serve?)", "close that program or choose another {port}") from None
            raise RemoteServerError("bind", f"cannot listen on {self.host}:{self.port} ({e.strerror})",
                                    "give an address of this machine, e.g. 127.0.0.1") from None
        sock.settimeout(0.2)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._spawn(self._accept_loop, "remote-accept")
        return self

    def _spawn(self, target, name: str, *args) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        t.start()
        self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self._sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            _tune(conn)
            peer = f"{addr[0]}:{addr[1]}"
            if not self._client_gone.wait(self.handover_s) and not self._last_words():
                self._refuse(conn, peer)
                continue
            self._client, self._peer = conn, peer
            self._client_gone.clear()
            self.on_log(f"client {peer} connected")
            self._spawn(self._serve, "remote-client", conn, peer)

    def _last_words(self) -> bool:
        """The controlling client closed its side and only its last command still runs
        (``start`` takes seconds): wait for that, then the next client takes over, in order."""
        client = self._client
        if client is None or not _peer_closed(client):
            return self._client_gone.is_set()
        return self._client_gone.wait(LAST_COMMAND_S)

    def _refuse(self, conn: socket.socket, peer: str) -> None:
        e = MimicsyncError("client", f"another client ({self._peer}) controls this recorder",
                           "close that connection first (one controlling client at a time)",
                           code=ErrorCode.STATE)
        self.on_log(f"client {peer} refused: {self._peer} is connected")
        try:
            conn.sendall((error_reply(e) + "\n").encode())
        except OSError:
            pass
        conn.close()

    def _serve(self, conn: socket.socket, peer: str) -> None:
        client = _Client(conn)
        try:
            while not self._stop.is_set():
                lines = client.receive()
                if lines is None:  # closed: a last line without its newline still counts
                    if client.inbox and not client.discarding and not self._stop.is_set():
                        self._answer(client, peer, bytes(client.inbox))
                    return
                for line in lines:
                    if line is None:
                        client.reply(error_reply(overlong_error(MAX_LINE_BYTES + 1)))
                        self.on_log(f"client {peer}: line over {MAX_LINE_BYTES} bytes refused")
                    else:
                        self._answer(client, peer, line)
        except OSError as e:
            self.on_log(f"client {peer}: connection error ({e.strerror or e})")
        finally:
            conn.close()
            if client.dropped:
                self.on_log(f"client {peer} never read its replies: {client.dropped} dropped")
            self._client = None
            self.on_log(f"client {peer} disconnected")
            self._client_gone.set()

    def _answer(self, client: "_Client", peer: str, line: bytes) -> None:
        reply = self.controller.handle_line(line)
        if reply is None:
            return
        shown = line[:80].decode("utf-8", "replace")
        self.on_log(f"{peer}: {shown} -> {reply[:200]}")
        client.reply(reply)

    def close(self) -> None:
        """Stop listening and drop the client (a recording is the controller's business)."""
        self._stop.set()
        client = self._client
        if client is not None:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._sock is not None:
            self._sock.close()
        for t in self._threads:
            t.join(timeout=5)
