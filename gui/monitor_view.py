"""The live monitor: camera, sEMG traces, electrode quality, protocol and the figures that
tell the operator the recording is complete (drops, elapsed time, file size, free disk).

Two timers drive it from the window: a fast one (~30 Hz) copies the newest preview frame
and trace envelopes out of the live monitor's buffers and redraws; a slow one (2 Hz)
updates quality colours and figures. Neither waits on a device, the network or the disk:
every number comes from a snapshot another thread keeps up to date.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mimicsync.acquisition.camera import CameraStreamer
from mimicsync.acquisition.live.display import DisplaySettings
from mimicsync.acquisition.live.monitor import LiveMonitor, LiveSnapshot, PreviewSink
from mimicsync.acquisition.live.signal_quality import BAD, GOOD, NONE, WARN
from mimicsync.acquisition.recorder_setup import RecorderStatus
from mimicsync.gui.electrode_map import ElectrodeMap
from mimicsync.gui.protocol_panel import ProtocolPanel
from mimicsync.gui.style import GRADE_COLOR
from mimicsync.gui.trace_scale import SCALES
from mimicsync.gui.traces import TracePanel, derived_quality
from mimicsync.gui.video_view import VideoView

VIEWS = (("all channels", "all"), ("Fridlund bipolar pairs", "bipolar"), ("one channel", "single"))


def human_bytes(n: float | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB") else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def dropped_html(dropped: int, frames: int) -> str:
    """A drop count in the colour of its share: none (green), under 1 % (amber: the sync
    bridges single gaps), 1 % or more (red: check the cable, USB port, CPU load)."""
    share = dropped / max(dropped + frames, 1)
    color = GRADE_COLOR[GOOD] if dropped == 0 else GRADE_COLOR[WARN] if share < 0.01 else GRADE_COLOR[BAD]
    pct = f" ({100 * share:.1f} %)" if dropped else ""
    return f"<b style='color:{color}'>{dropped}{pct}</b>"


def clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}"


class MonitorView(QWidget):
    def __init__(self, monitor: LiveMonitor, preview: PreviewSink,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.monitor, self.preview = monitor, preview
        self.video = VideoView()
        self.map = ElectrodeMap()
        self.map.setMinimumHeight(300)
        self.traces = TracePanel(window_s=monitor.window_s)
        self.protocol = ProtocolPanel()
        self._build_trace_controls()
        self.quality = QLabel("quality: waiting for data")
        self.quality.setTextFormat(Qt.TextFormat.RichText)
        self.quality.setWordWrap(True)
        self.figures = QLabel("")
        self.figures.setTextFormat(Qt.TextFormat.RichText)
        self.figures.setWordWrap(True)  # long lines (taps, offset) wrap instead of widening
        self.figures.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.stream_lines = QLabel("")
        self.stream_lines.setTextFormat(Qt.TextFormat.RichText)
        self.stream_lines.setWordWrap(True)
        self.stream_lines.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._camera: CameraStreamer | None = None
        self._tick = 0
        self.trace_every = 2
        self._fps = (time.monotonic(), 0, 0.0)  # (t, preview count, fps)
        self._idle_drops: list[tuple[float, int, int]] = []  # (t, camera dropped, frames)

        self._lay_out()

    def _build_trace_controls(self) -> None:
        """The bar above the traces: stream, view, channel, scale, zoom, display filters."""
        self.stream_choice = QComboBox()
        self.stream_choice.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.stream_choice.setMinimumContentsLength(24)
        self.stream_choice.setToolTip("the stream the traces show; hover a channel's square "
                                      "for its quality figures")
        self.scale = QComboBox()
        for text, value in SCALES:
            self.scale.addItem(text, value)
        self.scale.currentIndexChanged.connect(lambda: self.traces.set_scale(self.scale.currentData()))
        self.view_choice = QComboBox()
        for text, value in VIEWS:
            self.view_choice.addItem(text, value)
        self.channel_choice = QComboBox()
        self.channel_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.channel_choice.hide()
        self.zoom_in, self.zoom_out = QToolButton(), QToolButton()
        for b, text, tip, zoom_in in ((self.zoom_in, "+", "zoom in (smaller µV per row)", True),
                                      (self.zoom_out, "−", "zoom out (larger µV per row)", False)):
            b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(lambda _=False, z=zoom_in: self.zoom(z))
        self.notch = QCheckBox("50 Hz notch")
        self.highpass = QCheckBox("20 Hz high-pass")
        for box in (self.notch, self.highpass):
            box.setToolTip("display only: the recording keeps the raw signal")
            box.toggled.connect(self._display_changed)
        self.view_choice.currentIndexChanged.connect(self._display_changed)
        self.channel_choice.currentIndexChanged.connect(self._single_changed)

    def _lay_out(self) -> None:
        """Camera and electrodes left; protocol, figures and traces right."""
        left = QVBoxLayout()
        vbox = QGroupBox("Camera")
        QVBoxLayout(vbox).addWidget(self.video)
        left.addWidget(vbox)
        mbox = QGroupBox("Electrodes (frontal view)")
        mv = QVBoxLayout(mbox)
        mv.addWidget(self.map, 1)
        mv.addWidget(self.quality)
        mv.addWidget(QLabel(" ".join(f"<span style='color:{GRADE_COLOR[g]}'>■</span> {t}"
                                     for g, t in ((GOOD, "good"), (WARN, "check"), (BAD, "bad"),
                                                  (NONE, "not graded")))
                            ))
        left.addWidget(mbox, 1)

        sbox = QGroupBox("Recording")
        sg = QVBoxLayout(sbox)
        sg.addWidget(self.figures)
        sg.addWidget(self.stream_lines, 1)
        head = QHBoxLayout()
        head.addWidget(self.protocol, 3)
        head.addWidget(sbox, 2)
        right = QVBoxLayout()
        right.addLayout(head)
        tbox = QGroupBox("sEMG")
        tv = QVBoxLayout(tbox)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("stream"))
        bar.addWidget(self.stream_choice)
        bar.addSpacing(12)
        bar.addWidget(QLabel("view"))
        bar.addWidget(self.view_choice)
        bar.addWidget(self.channel_choice)
        bar.addSpacing(12)
        bar.addWidget(QLabel("scale"))
        bar.addWidget(self.scale)
        bar.addWidget(self.zoom_out)
        bar.addWidget(self.zoom_in)
        bar.addSpacing(12)
        bar.addWidget(self.notch)
        bar.addWidget(self.highpass)
        bar.addStretch(1)
        tv.addLayout(bar)
        tv.addWidget(self.traces, 1)
        right.addWidget(tbox, 1)

        top = QHBoxLayout(self)
        lw = QWidget()
        lw.setLayout(left)
        # camera and map take 2/7 of the width: a maximised window enlarges the video too
        lw.setMinimumWidth(360)
        lw.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
        top.addWidget(lw, 2)
        top.addLayout(right, 5)

    def set_camera(self, streamer: CameraStreamer | None, message: str = "no camera") -> None:
        self._camera = streamer
        if streamer is None:
            self.video.clear(message)

    # -- fast tick: video and traces ----------------------------------------------------
    # -- what the traces show ------------------------------------------------------------
    def set_view(self, view: str) -> None:
        """``all``, ``bipolar`` or ``single`` (the channel picked beside it)."""
        self.view_choice.setCurrentIndex(max(0, self.view_choice.findData(view)))

    def zoom(self, zoom_in: bool) -> None:
        """Step the µV ladder; the menu shows the fixed scale now in force."""
        uv = self.traces.scale.zoom(zoom_in)
        self.scale.blockSignals(True)
        i = self.scale.findData(uv)
        if i < 0:
            self.scale.addItem(f"±{uv:g} µV", uv)
            i = self.scale.count() - 1
        self.scale.setCurrentIndex(i)
        self.scale.blockSignals(False)

    def _display_changed(self) -> None:
        view = self.view_choice.currentData()
        self.monitor.set_display(DisplaySettings(
            bipolar=view == "bipolar", notch_hz=50.0 if self.notch.isChecked() else None,
            highpass_hz=20.0 if self.highpass.isChecked() else None))
        self.channel_choice.setVisible(view == "single")
        self._single_changed()

    def _single_changed(self) -> None:
        single = self.view_choice.currentData() == "single"
        self.traces.set_single(max(0, self.channel_choice.currentIndex()) if single else None)

    def _chosen_stream(self):
        """The monitored stream picked in the menu (None if it has no traces)."""
        key = self.stream_choice.currentData()
        return next((ms for ms in self.monitor.streams()
                     if ms.key == key and ms.envelope is not None), None)

    def tick_fast(self) -> None:
        """Called every ~16 ms: a new camera frame is drawn at once (no aliasing between the
        timer and the camera rate); traces redraw every ``trace_every`` ticks (~30 Hz)."""
        if not self.isVisible():  # another tab is shown: nothing to draw
            return
        count, frame = self.preview.latest()
        if self._camera is not None:
            self.video.show_frame(count, frame)
        self._tick += 1
        if self._tick % self.trace_every:
            return
        ms = self._chosen_stream()
        if ms is None:
            self.traces.show_stream(None, [], None, None, 0.0)
            return
        d = ms.display
        mins, maxs, _ = d.envelope.snapshot()
        self.traces.show_stream(ms.key, d.channels, mins, maxs,
                                d.envelope.bin_size / ms.meta.nominal_srate)

    # -- slow tick: quality, figures ------------------------------------------------------
    def tick_slow(self, status: RecorderStatus | None, recording: bool,
                  free_bytes: int | None) -> None:
        views = self.monitor.snapshot()
        self._update_choices(views)
        view = next((v for v in views if v.key == self.stream_choice.currentData()), None)
        q = view.quality if view is not None else None
        if view is not None:
            self.map.set_channels(view.channels)
            self.traces.set_lost(not view.connected)
        found = self.map.set_quality(q.grade if q else None, q.reasons if q else None)
        ms = self._chosen_stream()
        if ms is not None:
            d = ms.display
            self._update_channels(d.channels)
            self.traces.show_quality(*derived_quality(q, d.sources, d.channels))
        if q is not None:
            c = q.counts()
            more = c[WARN] + c[BAD] - len(found)
            self.quality.setText(
                f"quality (last {self.monitor.quality_s:g} s): " + " · ".join(
                    f"<b style='color:{GRADE_COLOR[g]}'>{c[g]}</b> {t}"
                    for g, t in ((GOOD, "good"), (WARN, "check"), (BAD, "bad")))
                + "".join(f"<br><small>{line}</small>" for line in found[:4])
                + (f"<br><small>… and {len(found) - 4 + more} more (hover the map)</small>"
                   if len(found) > 4 or more > 0 else ""))
        elif view is None:
            self.quality.setText("quality: no sEMG stream selected")
        self._figures(status, recording, free_bytes)
        self._stream_lines(views, status if recording else None)

    def _update_channels(self, channels) -> None:
        labels = [c.label for c in channels]
        if labels == [self.channel_choice.itemText(i) for i in range(self.channel_choice.count())]:
            return
        current = self.channel_choice.currentText()
        self.channel_choice.blockSignals(True)
        self.channel_choice.clear()
        self.channel_choice.addItems(labels)
        self.channel_choice.setCurrentIndex(max(0, labels.index(current) if current in labels else 0))
        self.channel_choice.blockSignals(False)
        self._single_changed()

    def _update_choices(self, views: list[LiveSnapshot]) -> None:
        numeric = [v for v in views if not v.is_string and v.srate > 0 and v.type != "VideoFrames"]
        keys = [v.key for v in numeric]
        if keys == [self.stream_choice.itemData(i) for i in range(self.stream_choice.count())]:
            return
        current = self.stream_choice.currentData()
        self.stream_choice.blockSignals(True)
        self.stream_choice.clear()
        hosts = {m.key: m.meta.hostname for m in self.monitor.streams()}
        names = [v.name for v in numeric]
        for v in numeric:  # the same name from two machines: say which is which
            at = f" @{hosts.get(v.key, '?')}" if names.count(v.name) > 1 else ""
            self.stream_choice.addItem(f"{v.name}{at} ({len(v.channels)} ch, {v.srate:g} Hz)", v.key)
        emg = next((v.key for v in numeric if v.is_emg), keys[0] if keys else None)
        i = self.stream_choice.findData(current if current in keys else emg)
        self.stream_choice.setCurrentIndex(max(i, 0))
        self.stream_choice.blockSignals(False)

    def _figures(self, st: RecorderStatus | None, recording: bool, free: int | None) -> None:
        now = time.monotonic()
        t0, n0, fps = self._fps
        if now - t0 >= 1.0:
            count = self.preview.count
            fps = (count - n0) / (now - t0)
            self._fps = (now, count, fps)
        cam = self._camera
        rows = []
        if recording and st is not None:
            rows.append(("elapsed", f"<b>{clock(st.elapsed_s)}</b>"))
            rows.append(("file", human_bytes(st.file_bytes)))
        left = f" · {st.time_left}" if recording and st is not None else ""
        rows.append(("free disk", f"{human_bytes(free)}{left}"))
        if cam is not None and cam.info is not None:
            if recording and st is not None:  # this recording's, as the file will say
                drops = f"dropped {dropped_html(st.dropped_frames, st.frames)} · recorded {st.frames}"
            else:  # before recording: the last 10 s of the preview
                self._idle_drops = [x for x in self._idle_drops if now - x[0] <= 10.0]
                self._idle_drops.append((now, cam.dropped, cam.frames))
                _, d0, f0 = self._idle_drops[0]
                drops = f"dropped {dropped_html(cam.dropped - d0, cam.frames - f0)} in the last 10 s"
            rows.append(("video", f"{cam.info.width}×{cam.info.height} · {fps:.0f} fps · {drops}"))
        if recording and st is not None:
            rows.append(("events", str(st.events)))
        t = self.monitor.taps.status() if self.monitor.taps is not None else None
        if t is not None:  # what offline sync would decide, by its own rules
            off = f"<b>{t.state}</b>" if t.will_sync else f"<b style='color:#b00'>{t.state}</b>"
            trig = (f" · triggers {t.emg_triggers}/{t.video_triggers}"
                    if t.emg_triggers or t.video_triggers else "")
            rows.append(("taps", f"sEMG {len(t.emg_taps)} · video {len(t.video_taps)}{trig} · {off}"))
        self.figures.setText("<table>" + "".join(
            f"<tr><td style='color:#555;padding-right:8px'>{k}</td><td>{v}</td></tr>"
            for k, v in rows) + "</table>")

    def _stream_lines(self, views: list[LiveSnapshot], st: RecorderStatus | None) -> None:
        recorded = {s.name: s for s in st.streams} if st is not None else {}
        lines = []
        for v in views:
            if v.is_string:
                last = v.markers[-1][1][:40] if v.markers else "—"
                detail = f"{v.samples} markers · last: {last}"
            else:
                detail = f"{v.samples:,} samples · dropped <b>{v.dropped}</b>"
                if v.clock_offset is not None:
                    detail += f" · clock offset {v.clock_offset * 1e3:.2f} ms"
            if v.name in recorded:
                detail += f" · recorded {recorded[v.name].samples:,}"
            state = ("<b style='color:#2e9d4a'>live</b>" if v.connected
                     else "<b style='color:#d1302f'>LOST</b>")
            lines.append(f"{state} <b>{v.name}</b><br>&nbsp;&nbsp;{detail}")
        self.stream_lines.setText("<br>".join(lines) or "no streams selected")
