"""The recorder: selected LSL streams + the local camera -> one crash-safe HDF5 recording.

Threads: one :class:`InletWorker` per stream, the camera's own thread, one JPEG encoder,
one discovery thread for late joiners, and one writer that owns the HDF5 file. The writer
flushes at least every ``flush_interval`` s, so a crash loses at most about that much.
The CLI, the GUI and the protocol runner all drive this one class.

One class holds the threads and the state they share (LabRecorder keeps its recording in
one file for the same reason); its configuration, status and checks are in
:mod:`.recorder_setup`.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import platform
import queue
import shutil
import socket
import sys
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pylsl

from mimicsync.acquisition.camera import CameraError, CameraStreamer, Frame
from mimicsync.acquisition.disk_space import minutes_left, time_left
from mimicsync.acquisition.inlet_worker import InletWorker
from mimicsync.acquisition.recorder_setup import (
    DISK_MARGIN,
    GiB,
    RecorderConfig,
    RecorderError,
    RecorderStatus,
    StreamStatus,
    check_disk,
    check_root_writable,
    room,
    short_io_error,
    software_versions,
)
from mimicsync.acquisition.stream_select import identity, missing, select
from mimicsync.acquisition.write_queue import (
    AddStream,
    Events,
    Message,
    Rediscover,
    VideoFrame,
    WriteBatch,
)
from mimicsync.dataset import depth_codec
from mimicsync.dataset.events import Event
from mimicsync.dataset.recording_writer import RecordingWriter, fsync_dir
from mimicsync.dataset.sidecar import write_sidecar
from mimicsync.dataset.stream_meta import StreamMeta
from mimicsync.dataset.study_tree import register_recording
from mimicsync.errors import ErrorCode, StopReason

log = logging.getLogger(__name__)
# JPEG bytes per pixel at quality 80/85/90/95/100 on photo footage through a D4xx's YUY2
# link, for the disk estimate before the rate is measured (bench/storage.py)
JPEG_QUALITIES = (80, 85, 90, 95, 100)
JPEG_BYTES_PER_PX = (0.13, 0.16, 0.22, 0.37, 1.22)


class Recorder:
    """Records one run. ``start()`` validates and opens; ``stop()`` finalizes atomically."""

    def __init__(self, config: RecorderConfig) -> None:
        self.cfg = config
        self.root = Path(config.root)
        self.path = config.rid.path(self.root)
        self.part_path = config.rid.part_path(self.root)
        self.writer: RecordingWriter | None = None
        self.workers: dict[str, InletWorker] = {}
        self.camera: CameraStreamer | None = None
        self._q: queue.Queue = queue.Queue()
        self._frames: queue.Queue = queue.Queue(maxsize=int(30 * 10))
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._camera_done = threading.Event()  # no more frames will reach the encoder
        self._threads: list[threading.Thread] = []
        self._keys_lock = threading.Lock()
        self._identities: set[tuple[str, str, str]] = set()
        self._keys: set[str] = set()
        self.start_utc = ""
        self.start_lsl = 0.0
        self.stop_reason: StopReason | None = None  # the first reason asked for wins
        self.stop_detail = ""
        self.errors: list[str] = []
        self.frames_written = 0
        self.events_written = 0
        self.encoder_dropped = 0
        # frames the camera lost during this recording (device-index gaps between frames
        # that reached the recorder), not since the camera started: a shared camera (the
        # GUI's preview) runs long before and after a recording
        self.camera_dropped = 0
        self._last_device_index: int | None = None
        self._free = 0
        self._created_dirs: list[Path] = []
        self._owns_camera = True
        self.write_error = ""
        self.warnings: list[str] = []
        self.final_path: Path | None = None
        self._estimate = 0.0

    # -- start ----------------------------------------------------------------------
    def _resolve(self) -> list[pylsl.StreamInfo]:
        """Matching streams now; waits up to ``resolve_wait`` for required ones."""
        selectors = self.cfg.streams + self.cfg.require
        deadline = time.monotonic() + self.cfg.resolve_wait
        while True:
            infos = list(pylsl.resolve_streams(wait_time=min(1.0, self.cfg.resolve_wait)))
            chosen = select(infos, selectors)
            if not missing(chosen, self.cfg.require) or time.monotonic() >= deadline:
                break
        gone = missing(chosen, self.cfg.require)
        if gone:
            raise RecorderError(
                "require", "required stream(s) not found: " + ", ".join(str(s) for s in gone),
                "start the device (or the simulated lab), check `mimicsync streams`, "
                "or stop requiring it", code=ErrorCode.NOT_FOUND, options=(("require", ""),))
        return chosen

    def start(self) -> None:
        cfg = self.cfg
        if not cfg.streams and not cfg.require and cfg.camera is None and cfg.camera_streamer is None:
            raise RecorderError("stream", "nothing to record",
                                "select streams to record or a camera",
                                options=(("stream", ""), ("camera", "")))
        check_root_writable(self.root)
        if self.path.exists():
            raise RecorderError("run", f"recording exists: {self.path}",
                                "choose another run (recordings are never overwritten)",
                                code=ErrorCode.EXISTS)
        if self.part_path.exists():
            raise RecorderError("run", f"an unfinished recording exists: {self.part_path}",
                                f"recover it (`mimicsync recover {self.part_path}`) or "
                                "choose another run", code=ErrorCode.EXISTS)
        self._free = check_disk(self.root, cfg.min_free_bytes)
        if cfg.camera_streamer is not None:
            if cfg.camera_streamer.info is None or cfg.camera_streamer.outlet is None:
                raise RecorderError("camera: the shared camera is not streaming; start it first")
            self.camera = cfg.camera_streamer
            self._owns_camera = False
        elif cfg.camera is not None:
            self.camera = CameraStreamer(cfg.camera, name=cfg.camera_name,
                                         source_id=f"{cfg.camera_name}-{uuid.uuid4().hex[:12]}")
            try:
                self.camera.start()
            except CameraError as e:
                raise RecorderError(e.field, e.problem, e.fix, code=e.code,
                                    options=e.options) from None
            except Exception as e:  # noqa: BLE001 - any driver error is a camera failure
                raise RecorderError("camera", f"failed to start ({e})",
                                    "check the cable or use the simulated camera or none",
                                    code=ErrorCode.DEVICE,
                                    options=(("camera", "sim"), ("camera", "none"))) from None
        try:
            self._open(self._resolve())
        except BaseException:
            self._release_camera()
            raise

    def _release_camera(self) -> None:
        if self.camera is None:
            return
        if self._owns_camera:
            self.camera.stop()
        else:
            self.camera.remove_sink(self._on_frame)

    def _open(self, infos: list[pylsl.StreamInfo]) -> None:
        cfg = self.cfg
        opened: list[tuple[pylsl.StreamInfo, Any, StreamMeta]] = []
        for info in infos:
            try:
                inlet, full = InletWorker.open_inlet(info)
            except Exception as e:  # noqa: BLE001
                if any(r.matches(info) for r in cfg.require):
                    raise RecorderError(f"required stream '{info.name()}' did not open ({e}); "
                                        "check the device and the network") from None
                self.errors.append(f"stream '{info.name()}' did not open: {e}")
                continue
            opened.append((info, inlet, StreamMeta.from_info(full)))
        if not opened and self.camera is None:
            raise RecorderError("stream", "no selected stream is on the network",
                                "check `mimicsync streams` and the selected streams",
                                code=ErrorCode.NOT_FOUND)
        frame_info = None
        if self.camera is not None:
            frame_info = self._camera_stream_info()
            inlet, full = InletWorker.open_inlet(frame_info)
            opened.append((frame_info, inlet, StreamMeta.from_info(full)))
        self._make_dirs()
        self.start_lsl = pylsl.local_clock()
        self.start_utc = dt.datetime.now(dt.timezone.utc).isoformat()
        attrs = {"participant": cfg.rid.participant, "session": cfg.rid.session,
                 "task": cfg.rid.task, "acq": cfg.rid.acq or "", "run": cfg.rid.run,
                 "start_utc": self.start_utc,
                 "start_lsl": self.start_lsl, "operator": cfg.operator, **cfg.attrs}
        try:
            self.writer = RecordingWriter(self.part_path, self.path, attrs, self._provenance(opened))
            for info, inlet, meta in opened:
                key = self._claim_key(info, meta)
                self.writer.add_stream(meta, key)
                w = InletWorker(key, info, meta, self._q.put, cfg.clock_interval,
                                marker_events=self._marker_events(info))
                w.inlet = inlet
                self.workers[key] = w
            if self.camera is not None:
                fkey = next(k for k, w in self.workers.items() if w.info is frame_info)
                self.writer.add_video(self.camera.info, fkey, cfg.color_encoding, cfg.jpeg_quality,
                                      cfg.depth_max_m)
            self.writer.start_swmr()
        except BaseException:
            if self.writer is not None:
                self.writer.abort()
            self._remove_created_dirs()
            raise
        fsync_dir(self.part_path.parent)
        self._warn_disk([m for _, _, m in opened])
        for w in self.workers.values():
            w.start()
        if self.camera is not None:
            self.camera.add_sink(self._on_frame)
            self._spawn(self._encode_loop, "encoder")
        self._spawn(self._writer_loop, "writer")
        self._spawn(self._discovery_loop, "discovery")

    def estimated_bytes_per_minute(self, metas: list[StreamMeta]) -> float:
        """Data rate from the stream layouts and camera, for the start-up disk warning:
        JPEG 0.13/0.16/0.22/0.37/1.22 B/px at q80/85/90/95/100 and ranked depth ~0.42 B/px (~0.09
        B/px with a depth range) on realistic footage (bench/storage.py); a measured rate
        replaces it after 10 s."""
        rate = 0.0
        for m in metas:
            item = 64 if m.is_string else m.dtype.itemsize
            rate += (m.nominal_srate or 1.0) * (m.channel_count * item + 8)
        if self.camera is not None and self.camera.info is not None:
            ci = self.camera.info
            depth = 0.09 if self.cfg.depth_max_m > 0 else 0.42
            color = float(np.interp(self.cfg.jpeg_quality, JPEG_QUALITIES, JPEG_BYTES_PER_PX))
            rate += ci.fps * (color * ci.width * ci.height + depth * ci.depth_width * ci.depth_height)
        return 60.0 * rate

    def _warn_disk(self, metas: list[StreamMeta]) -> None:
        self._estimate = per_min = self.estimated_bytes_per_minute(metas)
        if minutes_left(self._free, self.cfg.min_free_bytes, per_min) < self.cfg.warn_minutes:
            self.warnings.append(
                f"disk: {self._free / GiB:.1f} GiB free: "
                f"{time_left(self._free, self.cfg.min_free_bytes, per_min)}; the recording "
                "stops cleanly before the disk is full")
            log.warning(self.warnings[-1])

    def bytes_per_minute(self, file_bytes: int, elapsed_s: float) -> float:
        """The rate the file grows at (measured after 10 s; the estimate before)."""
        if elapsed_s >= 10.0 and file_bytes > 0:
            return 60.0 * file_bytes / elapsed_s
        return self._estimate

    def _camera_stream_info(self) -> pylsl.StreamInfo:
        sid = self.camera.outlet.get_info().source_id()
        for _ in range(50):
            found = pylsl.resolve_bypred(f"source_id='{sid}'", minimum=1, timeout=0.2)
            if found:
                return found[0]
        raise RecorderError("camera: its frame-index LSL stream did not appear; check that "
                            "LSL works on this machine (`mimicsync streams`)")

    def _marker_events(self, info: pylsl.StreamInfo) -> bool:
        return not any(s.matches(info) for s in self.cfg.no_marker_events)

    def _claim_key(self, info: pylsl.StreamInfo, meta: StreamMeta) -> str:
        """Reserve a unique group name and mark the stream's identity as recorded."""
        with self._keys_lock:
            self._identities.add(identity(info))
            key = meta.key(self._keys)
            self._keys.add(key)
            return key

    def _make_dirs(self) -> None:
        d = self.part_path.parent
        missing_dirs = [p for p in [d, *d.parents] if not p.exists()]
        d.mkdir(parents=True, exist_ok=True)
        self._created_dirs = sorted(missing_dirs, key=lambda p: len(p.parts), reverse=True)

    def _remove_created_dirs(self) -> None:
        for p in self._created_dirs:
            try:
                p.rmdir()
            except OSError:
                break

    def _provenance(self, opened) -> dict:
        devices: dict[str, Any] = {"streams": [
            {"name": m.name, "type": m.type, "source_id": m.source_id, "hostname": m.hostname,
             "nominal_srate": m.nominal_srate, "channel_count": m.channel_count}
            for _, _, m in opened]}
        if self.camera is not None:
            devices["camera"] = asdict(self.camera.info)
        return {"software": software_versions(), "host": socket.gethostname(),
                "platform": platform.platform(), "user": getpass.getuser(),
                "command": sys.argv, "operator": self.cfg.operator, "devices": devices,
                "settings": {"selected": [str(s) for s in self.cfg.streams],
                             "required": [str(s) for s in self.cfg.require],
                             "clock_interval_s": self.cfg.clock_interval,
                             "flush_interval_s": self.cfg.flush_interval,
                             "color_encoding": self.cfg.color_encoding,
                             "jpeg_quality": self.cfg.jpeg_quality, **self.cfg.settings}}

    def _spawn(self, target, name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    # -- producers ------------------------------------------------------------------
    def add_events(self, events: list[Event]) -> None:
        """Thread-safe: protocol cues, annotations, detected taps become session events."""
        self._q.put(Events(list(events)))

    def annotate(self, text: str) -> None:
        self.add_events([Event(pylsl.local_clock(), 0.0, "annotation", text)])

    def _on_frame(self, frame: Frame) -> None:
        last, self._last_device_index = self._last_device_index, frame.device_index
        if last is not None and frame.device_index > last + 1:
            self.camera_dropped += frame.device_index - last - 1
        try:
            self._frames.put_nowait(frame)
        except queue.Full:  # 10 s of backlog: the machine cannot keep up
            self.encoder_dropped += 1

    def _encoder_error(self) -> list[str]:
        if not self.encoder_dropped:
            return []
        return [f"video encoder fell behind: {self.encoder_dropped} frame(s) not stored; "
                "close other programs or use a lower resolution"]

    def _encode_loop(self) -> None:
        jpeg = self.cfg.color_encoding == "jpeg"
        info = self.camera.info
        depth_filter = self.writer.depth_filter
        scale_m = info.depth_scale_m if info is not None else 0.0
        while not (self._camera_done.is_set() and self._frames.empty()):
            try:
                fr = self._frames.get(timeout=0.1)
            except queue.Empty:
                continue
            color = self.writer.encode_color(fr.color) if jpeg else fr.color
            row = fr.row()
            depth = fr.depth
            if depth is not None:  # compressed here, so the writer thread only copies bytes
                depth = depth_codec.within_range(depth, self.cfg.depth_max_m, scale_m)
                depth = depth_codec.encode_frame(depth, depth_filter)
            self._q.put(VideoFrame(row, color, depth))

    def _discovery_loop(self) -> None:
        """Late joiners: a selected stream that appears after the start is added."""
        selectors = self.cfg.streams + self.cfg.require
        while not self._stop.wait(1.0):
            try:
                infos = select(list(pylsl.resolve_streams(wait_time=0.5)), selectors)
            except Exception:  # noqa: BLE001
                continue
            for info in infos:
                if identity(info) in self._identities or self._stop.is_set():
                    continue
                try:
                    inlet, full = InletWorker.open_inlet(info, timeout=2.0)
                except Exception as e:  # noqa: BLE001
                    log.debug("late stream %s did not open: %s", info.name(), e)
                    continue
                meta = StreamMeta.from_info(full)
                key = self._claim_key(info, meta)
                w = InletWorker(key, info, meta, self._q.put, self.cfg.clock_interval,
                                marker_events=self._marker_events(info))
                w.inlet = inlet
                self._q.put(AddStream(key, meta, w))

    # -- the writer -----------------------------------------------------------------
    def _writer_loop(self) -> None:
        """Phases, in turn until stopped: collect messages, flush every ``flush_interval``,
        check the free disk every 2 s; a failed write (disk full) stops the recording."""
        wr = self.writer
        batch = WriteBatch()
        jpeg = self.cfg.color_encoding == "jpeg"
        last_flush = time.monotonic()
        last_disk = 0.0

        def write_all() -> None:
            if self.stop_reason is StopReason.DISK_FULL:
                return  # no room: what is on disk is kept, the file can still be finished
            need = batch.nbytes() + DISK_MARGIN
            free = room(self.part_path)
            if free < need:  # HDF5 must never see ENOSPC/EFBIG: it cannot recover from it
                self.request_stop(StopReason.DISK_FULL, f"{free / 1e6:.1f} MB left for the file; "
                                  "it is saved up to the last flush; free space before the "
                                  "next recording")
                lost = batch.nbytes()
                batch.clear()
                log.warning("disk full: %d bytes not written", lost)
                return
            frames, events = batch.write(wr, jpeg)
            self.frames_written += frames
            self.events_written += events

        def handle(msg: Message) -> None:
            if isinstance(msg, AddStream):
                if self._stop.is_set():
                    return
                write_all()
                wr.add_stream(msg.meta, msg.key)
                self.workers[msg.key] = msg.worker
                batch.events.append(Event(pylsl.local_clock(), 0.0, "stream_added",
                                          msg.meta.name, {"stream": msg.key}))
                msg.worker.start()
            elif isinstance(msg, Rediscover):
                self._identities.discard(identity(self.workers[msg.key].info))
            else:
                batch.add(msg)

        try:
            while True:
                try:
                    handle(self._q.get(timeout=0.05))
                    while True:
                        handle(self._q.get_nowait())
                except queue.Empty:
                    pass
                now = time.monotonic()
                if now - last_flush >= self.cfg.flush_interval:
                    write_all()
                    last_flush = now
                if now - last_disk >= 2.0:
                    last_disk = now
                    self._free = shutil.disk_usage(self.part_path.parent).free
                    if self._free < self.cfg.min_free_bytes and not self._stop.is_set():
                        self.request_stop(StopReason.DISK_LOW, f"{self._free / GiB:.2f} GiB free")
                        batch.events.append(Event(pylsl.local_clock(), 0.0,
                                                  "recording_stopped", "disk_low"))
                if self._stopped.is_set() and self._q.empty():
                    write_all()
                    return
        except Exception as e:  # noqa: BLE001 - e.g. disk full: keep what is flushed
            wr.mark_failed()
            self.write_error = short_io_error(e)
            self.errors.append(f"writer failed: {self.write_error}")
            self.stop_reason, self.stop_detail = StopReason.WRITER_FAILED, self.write_error
            log.debug("writer failed", exc_info=True)
            self._stop.set()

    # -- stop -----------------------------------------------------------------------
    @property
    def is_recording(self) -> bool:
        return self.writer is not None and not self._stopped.is_set()

    @property
    def stop_requested(self) -> bool:
        """True once a stop was asked for (operator, signal, full disk, writer failure)."""
        return self._stop.is_set()

    def wait(self, duration: float | None = None) -> None:
        """Block until ``duration`` elapsed or a stop was requested (e.g. disk low)."""
        self._stop.wait(duration)

    def request_stop(self, reason: StopReason | None = None, detail: str = "") -> None:
        """Stop soon; the first ``reason`` given is the one the file keeps."""
        if reason is not None and self.stop_reason is None:
            self.stop_reason, self.stop_detail = reason, detail
        self._stop.set()

    @property
    def stop_text(self) -> str:
        """Why it stopped, readable (what the file's ``stop_reason`` holds)."""
        return self.stop_reason.text(self.stop_detail) if self.stop_reason else ""

    def stop(self) -> Path:
        """Stop every thread, write the rest, finalize atomically; returns the final path."""
        if self.writer is None:
            raise RecorderError("not recording")
        if self.final_path is not None:
            return self.final_path
        # Order matters: inlets first (they drain what LSL holds, the frame-index stream
        # included, so it does not look lost), then the camera, then the encoder's backlog.
        self._stop.set()
        for w in list(self.workers.values()):
            w.stop_event.set()
        for w in list(self.workers.values()):
            w.join(timeout=5)
        self._release_camera()
        self._camera_done.set()
        for t in self._threads:
            if t.name == "encoder":
                t.join(timeout=10)
        self._stopped.set()
        for t in self._threads:
            t.join(timeout=30)
        stop_lsl = pylsl.local_clock()
        final_attrs = {"stop_utc": dt.datetime.now(dt.timezone.utc).isoformat(),
                       "stop_lsl": stop_lsl, "duration_s": stop_lsl - self.start_lsl,
                       "stop_reason": self.stop_text or StopReason.OPERATOR.text(),
                       "dropped_frames_encoder": self.encoder_dropped}
        if self.write_error:
            raise RecorderError(
                f"writing failed ({self.write_error}); everything up to the last flush is in "
                f"{self.part_path}: free disk space, then run `mimicsync recover {self.part_path}`")
        if any(t.is_alive() for t in self._threads if t.name == "writer"):
            raise RecorderError(f"writer did not finish; the data is in {self.part_path} "
                                f"(run `mimicsync recover {self.part_path}`)")
        try:
            video_attrs = ({"settings": self.camera.info.settings}
                           if self.camera is not None and self.camera.info else None)
            self.final_path = self.writer.finalize(final_attrs, video_attrs)
        except Exception as e:  # noqa: BLE001 - e.g. disk full while finalizing
            raise RecorderError(f"finalizing failed ({e}); the data is in {self.part_path} "
                                f"(run `mimicsync recover {self.part_path}`)") from None
        write_sidecar(self.final_path)
        register_recording(self.root, self.cfg.rid, self.start_utc, "complete")
        return self.final_path

    # -- status ---------------------------------------------------------------------
    def status(self) -> RecorderStatus:
        """A snapshot for the GUI/CLI; cheap and safe from any thread."""
        path = self.final_path or self.part_path
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        streams = [StreamStatus(k, w.meta.name, w.meta.type, w.samples, w.connected, w.error)
                   for k, w in list(self.workers.items())]
        errors = list(self.errors) + self._encoder_error() + [s.error for s in streams if s.error]
        if self.camera is not None and self.camera.error:
            errors.append(self.camera.error)
        elapsed = pylsl.local_clock() - self.start_lsl if self.start_lsl else 0.0
        return RecorderStatus(
            recording=self.is_recording, elapsed_s=elapsed,
            path=str(path), file_bytes=size, free_bytes=self._free, streams=streams,
            frames=self.frames_written,
            dropped_frames=self.camera_dropped + self.encoder_dropped,
            encoder_backlog=self._frames.qsize(), events=self.events_written,
            stop_reason=self.stop_text, errors=errors,
            bytes_per_minute=self.bytes_per_minute(size, elapsed),
            min_free_bytes=self.cfg.min_free_bytes)
