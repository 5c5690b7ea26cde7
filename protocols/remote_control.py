"""What a remote-control command does, with one reply line for every outcome.

A :class:`RemoteController` keeps the remote side's state (the BIDS entities the
``filename`` command set, whether auto-start is armed) and turns each
:class:`~mimicsync.protocols.remote_commands.Command` into a call on a
:class:`RecordingBackend`: the recording itself is never done here. ``mimicsync serve``
uses :class:`~mimicsync.protocols.remote_recorder.HeadlessBackend` (the CLI's
``record_block``); the operator app hands in its own window. Every command returns one
line, ``OK …`` or ``ERROR <field>: <problem>; <fix>``; nothing raised here reaches the
socket, so no line can stop a recording.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from mimicsync.acquisition.stream_select import StreamSelector
from mimicsync.dataset.layout import RecordingId, check_label, next_free_run
from mimicsync.errors import ErrorCode, MimicsyncError, StopReason
from mimicsync.protocols.plan import Plan, plan_trials
from mimicsync.protocols.remote_commands import Command, decode_line, error_reply, ok, parse_command
from mimicsync.protocols.schema import load_protocol

log = logging.getLogger(__name__)

BIDS_TEMPLATE_PARTS = ("sub-%p", "ses-%s", "task-%b")
ENTITY_KEYS = {"participant": "participant", "session": "session", "task": "task",
               "acquisition": "acq"}
# A remote client changes these fields with a command: the command follows the fix.
_REMOTE_COMMANDS = {"run": "send filename {run:N} with a free run",
                    "root": "send filename {root:FOLDER}"}


@dataclass(frozen=True)
class Naming:
    """Where the next recording goes: study root and BIDS entities (``run`` None: next free)."""

    root: Path
    participant: str | None = None
    session: str | None = None
    task: str | None = None
    acq: str | None = None
    run: int | None = None

    def recording_id(self) -> RecordingId:
        """The entities as a :class:`RecordingId`; a missing one is a :class:`MimicsyncError`."""
        for name in ("participant", "session", "task"):
            if getattr(self, name) is None:
                raise MimicsyncError(name, "not set", "send e.g. 'filename {participant:07} "
                                     "{session:01} {task:emotions}' first")
        return RecordingId(self.participant, self.session, self.task, self.run or 1, self.acq)

    def describe(self) -> str:
        parts = [f"{k}-{getattr(self, n)}" for k, n in (("sub", "participant"), ("ses", "session"),
                                                        ("task", "task"), ("acq", "acq"))
                 if getattr(self, n)]
        run = f"run {self.run}" if self.run else "next free run"
        return (" ".join(parts) or "no entities yet") + f", {run}, root {self.root}"


class RecordingBackend(Protocol):
    """What the controller drives: the CLI's headless recorder or the operator app."""

    def naming(self, current: Naming) -> Naming:
        """The naming to use now (the operator app reads its fields; see :class:`BackendBase`)."""

    def show_naming(self, naming: Naming) -> None:
        """A ``filename`` command changed the naming (the operator app shows it)."""

    @property
    def recording(self) -> bool: ...

    def list_streams(self) -> list[str]:
        """The streams on offer now, one description each (``update``)."""

    def select_all(self) -> str:
        """Select the streams on offer now; returns what was selected."""

    def select_none(self) -> str:
        """Clear the selection; returns what a start would still record."""

    def required(self) -> list[StreamSelector]:
        """Streams that must be on the network to start (auto-start waits for them)."""

    def missing_required(self) -> list[StreamSelector]:
        """Of :meth:`required`, those not on the network now."""

    def start(self, root: Path, rid: RecordingId, plan: Plan | None) -> str:
        """Record (``rid.run`` is final); returns when recording, with a description."""

    def stop(self, reason: StopReason) -> str:
        """Stop and finalize; returns a description of the saved file."""

    def annotate(self, text: str) -> float:
        """An ``annotation`` event now; returns the seconds since the recording started."""

    def status(self) -> dict[str, Any]:
        """Recording or not, file, elapsed, streams, drops, sync-event counts."""


class BackendBase:
    """Defaults for a backend without fields of its own: the controller's naming is it."""

    def naming(self, current: Naming) -> Naming:
        return current

    def show_naming(self, naming: Naming) -> None:
        pass


class RemoteController:
    """Executes commands against ``backend``; thread-safe (one command at a time).

    Parameters
    ----------
    backend : RecordingBackend
        What records: :class:`~mimicsync.protocols.remote_recorder.HeadlessBackend` or the
        operator app's window.
    naming : Naming
        The study root and the entities known before any ``filename`` command.
    on_log : callable, optional
        Receives one line per notable event (auto-start); the server logs commands.
    """

    def __init__(self, backend: RecordingBackend, naming: Naming, *,
                 on_log: Callable[[str], None] = log.info) -> None:
        self.backend = backend
        self.naming = naming
        self.on_log = on_log
        self.auto_start = "off"
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._auto: threading.Thread | None = None

    # -- lines ---------------------------------------------------------------------
    def handle_line(self, raw: bytes) -> str | None:
        """The reply to one received line.

        Parameters
        ----------
        raw : bytes
            The line without its newline.

        Returns
        -------
        str or None
            ``OK …`` or ``ERROR <field>: <problem>; <fix>`` (no newline); None for a blank line.
        """
        try:
            text = decode_line(raw)
            if not text.strip():
                return None
            return self.execute(parse_command(text))
        except MimicsyncError as e:
            return error_reply(e)

    def execute(self, cmd: Command) -> str:
        """Run one command; every outcome, including a bug, is one reply line."""
        with self._lock:
            try:
                self.naming = self.backend.naming(self.naming)
                return ok(getattr(self, "_cmd_" + cmd.name.replace(" ", "_"))(cmd))
            except Exception as e:  # noqa: BLE001 - no error may reach the socket
                return error_reply(as_remote_error(e, cmd.name.split()[0]))

    # -- commands --------------------------------------------------------------------
    def _cmd_select_all(self, cmd: Command) -> str:
        return "select all: " + self.backend.select_all()

    def _cmd_select_none(self, cmd: Command) -> str:
        return "select none: " + self.backend.select_none()

    def _cmd_update(self, cmd: Command) -> str:
        found = self.backend.list_streams()
        return f"update: {len(found)} stream(s) on offer" + (": " + "; ".join(found) if found else "")

    def _cmd_filename(self, cmd: Command) -> str:
        self.naming, notes = apply_filename(self.naming, cmd.fields)
        self.backend.show_naming(self.naming)
        later = " (for the next recording; the current one continues)" if self.backend.recording else ""
        return f"filename: {self.naming.describe()}{later}" + "".join(f"; {n}" for n in notes)

    def _cmd_start(self, cmd: Command) -> str:
        return "start: " + self._start(None)

    def _cmd_protocol(self, cmd: Command) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", cmd.text):
            raise MimicsyncError("protocol", f"{cmd.text[:40]!r} is not a protocol name",
                                 "send the name of a protocol in the study's protocols/ folder "
                                 "or a shipped one, e.g. 'protocol emotions'")
        self._not_recording("protocol")
        plan = plan_trials(load_protocol(cmd.text, study_root=self.naming.root), cmd.seed)
        started = self._start(plan)
        return (f"protocol {plan.protocol.name}: seed {plan.seed}, {len(plan.trials)} trials, "
                f"~{plan.planned_duration:.0f} s; {started}; the recording stops when the "
                "protocol ends")

    def _cmd_stop(self, cmd: Command) -> str:
        if not self.backend.recording:
            raise MimicsyncError("stop", "not recording", "send start first",
                                 code=ErrorCode.STATE)
        return "stop: " + self.backend.stop(StopReason.REMOTE)

    def _cmd_status(self, cmd: Command) -> str:
        st = dict(self.backend.status())
        st["next"] = {"root": str(self.naming.root), "participant": self.naming.participant,
                      "session": self.naming.session, "task": self.naming.task,
                      "acq": self.naming.acq, "run": self.naming.run}
        st["auto_start"] = self.auto_start
        return "status " + json.dumps(st, separators=(",", ":"), default=str)

    def _cmd_annotate(self, cmd: Command) -> str:
        if not self.backend.recording:
            raise MimicsyncError("annotate", "not recording", "send start first",
                                 code=ErrorCode.STATE)
        at = self.backend.annotate(cmd.text)
        return f"annotate: noted at {at:.3f} s"

    # -- starting --------------------------------------------------------------------
    def _not_recording(self, what: str) -> None:
        if self.backend.recording:
            raise MimicsyncError(what, f"already recording ({self.backend.status().get('file', '')})",
                                 "send stop first", code=ErrorCode.STATE)

    def _start(self, plan: Plan | None) -> str:
        self._not_recording("start")
        rid = self.naming.recording_id()
        if self.naming.run is None:
            rid = rid.with_run(next_free_run(self.naming.root, rid))
        elif rid.path(self.naming.root).exists() or rid.part_path(self.naming.root).exists():
            raise MimicsyncError("run", f"run {rid.run} of {rid.task} exists "
                                 f"({rid.path(self.naming.root).name})",
                                 "send filename {run:N} with a free run, or leave run out for "
                                 "the next free one (recordings are never overwritten)",
                                 code=ErrorCode.EXISTS)
        self._disarm("a recording was started")
        described = self.backend.start(self.naming.root, rid, plan)
        self.naming = replace(self.naming, run=None)  # a run number is used once
        return described

    # -- auto-start ------------------------------------------------------------------
    def arm_auto_start(self, poll_interval: float = 0.5) -> None:
        """Start once by itself as soon as every required stream is on the network."""
        required = self.backend.required()
        if not required:
            raise MimicsyncError("auto-start", "no required streams to wait for",
                                 "name them as required streams (they decide when to start)")
        self.auto_start = "waiting for " + ", ".join(str(s) for s in required)
        self._auto = threading.Thread(target=self._auto_loop, args=(poll_interval,),
                                      name="remote-auto-start", daemon=True)
        self._auto.start()

    def _disarm(self, why: str) -> None:
        if self.auto_start.startswith("waiting"):
            self.auto_start = f"done ({why})"

    def _auto_loop(self, poll_interval: float) -> None:
        said = ""
        while not self._closed.wait(poll_interval) and self.auto_start.startswith("waiting"):
            gone = self.backend.missing_required()  # outside the lock: it looks for streams
            with self._lock:
                if not self.auto_start.startswith("waiting"):
                    return
                self.naming = self.backend.naming(self.naming)
                unset = [n for n in ("participant", "session", "task") if getattr(self.naming, n) is None]
                if gone or unset:
                    self.auto_start = "waiting for " + ", ".join(
                        [str(s) for s in gone] + [f"{n} (send filename)" for n in unset])
                    if not gone and said != self.auto_start:
                        said = self.auto_start
                        self.on_log(f"auto-start: the required streams are here, {self.auto_start}")
                    continue
                try:
                    reply = ok("start: " + self._start(None))
                    self.auto_start = "done (started by itself)"
                except Exception as e:  # noqa: BLE001 - reported, never raised in this thread
                    err = as_remote_error(e, "start")
                    self.auto_start = f"failed ({err})"
                    reply = error_reply(err)
            self.on_log(f"auto-start: {reply}")
            return

    def close(self) -> str | None:
        """Stop auto-start and a running recording (saved cleanly); what was saved, if any."""
        self._closed.set()
        if self._auto is not None:
            self._auto.join(timeout=5)
        with self._lock:
            if self.backend.recording:
                return self.backend.stop(StopReason.REMOTE_CLOSED)
        return None


def apply_filename(naming: Naming, fields: dict[str, str]) -> tuple[Naming, list[str]]:
    """The naming after a ``filename`` command; every field is checked before any applies.

    Parameters
    ----------
    naming : Naming
        The naming before.
    fields : dict of str to str
        From :func:`~mimicsync.protocols.remote_commands.parse_filename`.

    Returns
    -------
    Naming
        The new naming (unchanged fields kept).
    list of str
        Notes for the reply (``template``/``modality`` ignored, and why).

    Raises
    ------
    MimicsyncError
        A label that is not a BIDS label, a run that is not a whole number >= 1, a root
        that is a file.
    """
    changes: dict[str, Any] = {}
    notes: list[str] = []
    for key, value in fields.items():
        if key in ENTITY_KEYS:
            name = ENTITY_KEYS[key]
            changes[name] = check_label(name, value)
        elif key == "run":
            if not re.fullmatch(r"\d{1,6}", value) or int(value) < 1:
                raise MimicsyncError("run", f"{value!r} is not a whole number >= 1",
                                     "send {run:1} or leave run out for the next free one")
            changes["run"] = int(value)
        elif key == "root":
            changes["root"] = _root(naming.root, value)
        elif key == "modality":
            notes.append(f"modality {value!r} ignored: one recording holds video and sEMG")
        elif key == "template":
            notes.append(_template_note(value))
    return replace(naming, **changes), notes


def _root(current: Path, value: str) -> Path:
    """A relative root is taken below the current one (the server's study root)."""
    p = Path(value).expanduser()
    p = p if p.is_absolute() else current / p
    probe = next((q for q in [p, *p.parents] if q.exists()), None)
    if probe is not None and not probe.is_dir():
        raise MimicsyncError("root", f"{probe} is a file, not a folder", "send {root:FOLDER}")
    return p


def _template_note(template: str) -> str:
    t = template.replace("\\", "/").lower()
    if all(part in t for part in BIDS_TEMPLATE_PARTS):
        return "template follows BIDS naming as ours does (sub-/ses-/task-/run-); the file is .h5"
    return (f"template {template!r} ignored: recordings are always named "
            "sub-<participant>/ses-<session>/sub-…_ses-…_task-…[_acq-…]_run-NN_recording.h5")


def as_remote_error(e: BaseException, command: str) -> MimicsyncError:
    """Any exception as a reply error: ours keep field, problem and fix; others say 'report it'.

    Parameters
    ----------
    e : BaseException
        What a command raised.
    command : str
        The command's first word: the field when the error names none.

    Returns
    -------
    MimicsyncError
        With a field always set; command-line hints put in remote-control words.
    """
    if isinstance(e, MimicsyncError):
        fix, how = e.fix, _REMOTE_COMMANDS.get(e.field)
        if how:
            fix = f"{fix} ({how})" if fix else how
        return MimicsyncError(e.field or command, e.problem, fix or "see the server's log",
                              code=e.code)
    if isinstance(e, OSError):
        where = f" ({e.filename})" if e.filename else ""
        return MimicsyncError("file", f"{e.strerror or e}{where}", "check the folder and its "
                              "permissions", code=ErrorCode.IO)
    return MimicsyncError(command, f"unexpected {type(e).__name__}: {e}",
                          "the recording, if any, continues; please report this")
