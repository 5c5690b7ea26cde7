"""The headless recorder behind ``mimicsync serve``: ``record_block`` in a worker thread.

Each ``start`` records one :class:`~mimicsync.protocols.visit.PreparedBlock` through
:func:`~mimicsync.protocols.visit.record_block`, exactly as ``mimicsync record`` does
(devices opened and closed per recording, the same file, attributes and checks); the
only difference is that a command, not Ctrl-C, ends it.

Stream selection follows LabRecorder's list, limited to what the operator offered: the
streams matching the configured selectors (or, with none configured, every stream on
the network). ``select all`` pins the streams on offer *now*, each by its identity
(``source_id``, else its name), and logs them: a stream that appears later is not added.
Without any selection, the configured selectors are recorded as ``mimicsync record``
would (late joiners that match included); with nothing configured either, ``start``
selects the streams listed now, as LabRecorder's remote ``start`` does.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pylsl

from mimicsync.acquisition.stream_select import (
    StreamSelector,
    identity,
    missing,
    parse_selectors,
    select,
)
from mimicsync.dataset.events import Event
from mimicsync.dataset.layout import RecordingId
from mimicsync.dataset.recording import Recording
from mimicsync.errors import ErrorCode, MimicsyncError, StopReason
from mimicsync.protocols import listeners as ev
from mimicsync.protocols.device_setup import DeviceSetup
from mimicsync.protocols.listeners import RunListener
from mimicsync.protocols.plan import Plan
from mimicsync.protocols.protocol_recording import ProtocolRecording, ProtocolRecordingResult
from mimicsync.protocols.remote_control import BackendBase
from mimicsync.protocols.visit import PreparedBlock, RecordOptions, record_block


class CueCounter(RunListener):
    """Counts the protocol's cues by type (the tap cues are the sync taps)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def on_event(self, event: Event) -> None:
        self.counts[event.trial_type] += 1


def _warm_imports() -> None:
    """Saving a file summarizes it through dataset.sync_store, which imports mimicsync.sync
    (scipy: 3-5 s on a busy machine); imported ahead, the first ``stop`` reply is not late."""
    from mimicsync.dataset import sync_store  # noqa: F401


def _describe_info(info: pylsl.StreamInfo) -> str:
    return f"{info.name()} ({info.type() or 'no type'}, {info.hostname()})"


def _pin(info: pylsl.StreamInfo) -> str:
    """A selector for exactly this stream: its source_id, else its name."""
    return f"source_id={info.source_id()}" if info.source_id() else f"name={info.name()}"


def describe_saved(result: ProtocolRecordingResult) -> str:
    """What the file on disk holds (read back, so the reply shows what was really saved)."""
    with Recording(result.path) as r:
        summary = r.summary()
        duration = float(r.attrs.get("duration_s", 0.0) or 0.0)
    counts = ", ".join(f"{s['name']} {s['samples']} samples" for s in summary["streams"].values())
    video = summary.get("video")
    if video:
        counts += f", video {video['frames']} frames ({video['dropped']} dropped)"
    stopped = f"; {result.stop_text}" if result.stop_text else ""
    return (f"saved {result.path} ({duration:.1f} s; {counts or 'no streams'}; "
            f"{summary['events']} events{stopped})")


def session_status(session: ProtocolRecording, recording: bool, cues: Counter[str],
                   annotations: int) -> dict[str, Any]:
    """The ``status`` reply of a recording session (``recording`` stays true until saved).

    Sync-event counts: the protocol's tap cues (``cues``, counted by trial type), samples
    of the recorded marker streams (the experiment's own triggers) and annotations.
    """
    rec = session.recorder
    st = rec.status()
    markers = sum(w.samples for w in list(rec.workers.values())
                  if w.meta.is_string and w.meta.source_id != session.source_id)
    protocol = None
    if session.runner is not None:
        protocol = {"name": session.plan.protocol.name, "seed": session.plan.seed,
                    "state": session.runner.state, "trials": len(session.plan.trials)}
    return {"recording": recording, "stopping": recording and not st.recording,
            "file": str(rec.final_path or rec.path), "elapsed_s": round(st.elapsed_s, 3),
            "file_bytes": st.file_bytes,
            "streams": [{"name": s.name, "type": s.type, "samples": s.samples,
                         "connected": s.connected} for s in st.streams],
            "frames": st.frames, "dropped_frames": st.dropped_frames, "events": st.events,
            "sync_events": {"tap_cues": cues[ev.TAP_CUE], "markers": markers,
                            "annotations": annotations},
            "protocol": protocol, "stop_reason": st.stop_reason, "errors": st.errors}


class HeadlessBackend(BackendBase):
    """One recording at a time from ``setup``'s devices, recorded with ``options``.

    Parameters
    ----------
    setup : DeviceSetup
        Streams on offer (``streams``), required streams, camera, simulation.
    options : RecordOptions
        How to record (operator, free-disk limit, console cues, callbacks), as for
        ``mimicsync record``; ``controls`` is not used (no keyboard or signals in a worker).
    language : str
        Cue language of ``protocol`` runs.
    list_wait : float
        Seconds ``update``/``select all`` look for streams.
    """

    def __init__(self, setup: DeviceSetup, options: RecordOptions, *, language: str = "en",
                 list_wait: float = 1.0) -> None:
        self.setup = setup
        self.language = language
        self.options = options
        self.list_wait = list_wait
        self._offered = parse_selectors(list(setup.streams) + list(setup.require))
        self._pinned: list[str] | None = None  # None: nothing chosen by a client yet
        self._thread: threading.Thread | None = None
        self._session: ProtocolRecording | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.result: ProtocolRecordingResult | None = None
        self._cues = CueCounter()
        self._annotations = 0
        self._last: dict[str, Any] = {}
        threading.Thread(target=_warm_imports, name="warm-imports", daemon=True).start()

    # -- streams ---------------------------------------------------------------------
    def _on_offer(self, wait: float | None = None) -> list[pylsl.StreamInfo]:
        infos = list(pylsl.resolve_streams(wait_time=self.list_wait if wait is None else wait))
        if self._offered:
            return select(infos, self._offered)
        return list({identity(i): i for i in infos}.values())

    def list_streams(self) -> list[str]:
        return [_describe_info(i) for i in sorted(self._on_offer(), key=lambda i: i.name())]

    def select_all(self) -> str:
        infos = sorted(self._on_offer(), key=lambda i: i.name())
        self._pinned = [_pin(i) for i in infos]
        if not infos:
            return "no stream on offer now, nothing selected (start the devices, then select again)"
        return (f"{len(infos)} stream(s): " + "; ".join(_describe_info(i) for i in infos)
                + " (streams that appear later are not added)")

    def select_none(self) -> str:
        self._pinned = []
        still = [f"{s} (required)" for s in self.required()]
        if self.setup.camera != "none":
            still.append(f"camera {self.setup.camera}")
        return "selection cleared" + (f"; a start still records {', '.join(still)}" if still else "")

    def required(self) -> list[StreamSelector]:
        return parse_selectors(list(self.setup.require))

    def missing_required(self) -> list[StreamSelector]:
        return missing(list(pylsl.resolve_streams(wait_time=0.5)), self.required())

    def _streams_for_start(self) -> tuple[tuple[str, ...], str]:
        """The stream selectors of the next recording, and a note on how they were chosen."""
        s = self.setup
        if self._pinned is not None:
            if not self._pinned and not s.require and s.camera == "none" and not s.simulate:
                raise MimicsyncError("streams", "none selected ('select none' was sent)",
                                     "send 'select all' (the streams listed now)")
            return tuple(self._pinned), ""
        if s.streams or s.require or s.camera != "none" or s.simulate:
            return s.streams, ""
        infos = self._on_offer()
        if not infos:
            raise MimicsyncError("streams", "nothing selected and no LSL stream on the network",
                                 "start the devices, then send 'select all'")
        return (tuple(_pin(i) for i in infos),
                f"; nothing was selected, so the {len(infos)} stream(s) listed now are recorded")

    # -- recording -------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self._ready.is_set() and self._thread is not None and self._thread.is_alive()

    def start(self, root: Path, rid: RecordingId, plan: Plan | None) -> str:
        streams, note = self._streams_for_start()
        block = PreparedBlock(rid.participant, rid.session, rid.task, rid.acq,
                              self.setup.replace(streams=streams), plan, run=rid.run,
                              language=self.language)
        self._cues, self._annotations, self._error, self.result = CueCounter(), 0, None, None
        self._session = None
        self._ready.clear()
        options = dataclasses.replace(self.options, on_started=self._started, controls=None,
                                      listeners=[*self.options.listeners, self._cues])
        self._thread = threading.Thread(target=self._life, args=(root, block, options),
                                        name="remote-recording", daemon=True)
        self._thread.start()
        while not self._ready.wait(0.05) and self._thread.is_alive():
            pass
        if not self._ready.is_set():
            self._thread.join()
            error, self._error = self._error, None
            raise error if error is not None else MimicsyncError(
                "start", "the recording ended before it started", "see the server's log")
        rec = self._session.recorder
        names = ", ".join(w.meta.name for w in list(rec.workers.values())) or "no streams"
        return f"recording to {rec.path} ({names}){note}"

    def _started(self, session: ProtocolRecording) -> None:
        self._session = session
        if self.options.on_started is not None:
            self.options.on_started(session)
        self._ready.set()

    def _life(self, root: Path, block: PreparedBlock, options: RecordOptions) -> None:
        try:
            self.result = record_block(root, block, options)
        except BaseException as e:  # noqa: BLE001 - reported by start/stop/status
            self._error = e
        finally:
            if self._session is not None:
                self._last = self._snapshot(self._session, recording=False)

    def stop(self, reason: StopReason) -> str:
        session, thread = self._session, self._thread
        if not self.recording or session is None or thread is None:
            raise MimicsyncError("stop", "not recording", "send start first",
                                 code=ErrorCode.STATE)
        session.request_stop(reason)
        thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return describe_saved(self.result)

    def annotate(self, text: str) -> float:
        session = self._session
        if not self.recording or session is None:
            raise MimicsyncError("annotate", "not recording", "send start first",
                                 code=ErrorCode.STATE)
        session.recorder.annotate(text)
        self._annotations += 1
        return pylsl.local_clock() - session.recorder.start_lsl

    # -- status ----------------------------------------------------------------------
    def _snapshot(self, session: ProtocolRecording, recording: bool) -> dict[str, Any]:
        return session_status(session, recording, self._cues.counts, self._annotations)

    def status(self) -> dict[str, Any]:
        session = self._session
        if self.recording and session is not None:
            return self._snapshot(session, recording=True)
        last = dict(self._last)
        out: dict[str, Any] = {"recording": False, "file": "", "last": last or None}
        if self._error is not None:
            out["error"] = str(self._error)
        return out
