"""Scrolling multi-channel sEMG traces, grouped by electrode scheme and face side.

Each group (Fridlund left, Fridlund right, Kuramoto, ...) is one plot with one curve:
all its channels stacked, separated by NaN breaks, drawn from the min/max envelope the
live monitor keeps (two points per display column). The rows share one µV scale with a
scale bar, or each channel has its own (:mod:`.trace_scale`); a stroke is clipped to its
row so a tap spike never paints over its neighbours. One channel can be shown alone
(the whole height). Channel names and a coloured square per channel (its quality grade)
sit beside each plot in a static widget; hovering a row shows its figures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolTip, QVBoxLayout, QWidget

from mimicsync.acquisition.live.signal_quality import BAD, NONE, WARN, QualityReport
from mimicsync.format import ChannelSpec
from mimicsync.gui.style import GRADE_COLOR, GRADE_TEXT, GRID_PEN, SCALEBAR_PEN, TRACE_PEN
from mimicsync.gui.trace_scale import TraceScale

MAX_GENERIC_ROWS = 24
ROW_MARGIN = 0.6  # rows of space above the first and below the last trace


def channel_groups(channels: Sequence[ChannelSpec]) -> list[tuple[str, list[int]]]:
    """Display groups ``(title, channel indices)``: a column per scheme and side.

    Fridlund electrodes split by side (left = participant's left); other schemes in one
    column ordered left, midline, right; channels outside a scheme (trigger, generic)
    join the last column when few, else fill columns of their own.
    """
    order = {"left": 0, "midline": 1, "right": 2}
    groups: dict[str, list[int]] = {}
    rest: list[int] = []
    for i, c in enumerate(channels):
        if c.scheme == "fridlund" and c.side in ("left", "right"):
            groups.setdefault(f"Fridlund · {c.side}", []).append(i)
        elif c.scheme:
            groups.setdefault(c.scheme.capitalize(), []).append(i)
        else:
            rest.append(i)
    for title, idx in groups.items():
        if not title.startswith("Fridlund"):
            idx.sort(key=lambda i: order.get(channels[i].side, 3))
    out = list(groups.items())
    if rest and out and len(rest) <= 4:
        title, idx = out[-1]
        out[-1] = (title, idx + rest)
    elif rest:
        for k in range(0, len(rest), MAX_GENERIC_ROWS):
            out.append(("Channels" if len(rest) <= MAX_GENERIC_ROWS else
                        f"Channels {k + 1}-{min(k + MAX_GENERIC_ROWS, len(rest))}",
                        rest[k:k + MAX_GENERIC_ROWS]))
    return out


def stack_rows(mins: np.ndarray, maxs: np.ndarray, gain: np.ndarray, center: np.ndarray,
               dt: float) -> tuple[np.ndarray, np.ndarray]:
    """x, y of the line segments (point pairs) drawing ``k`` channels in rows 0, -1, ...

    ``mins``/``maxs`` are ``(n_bins, k)``; row r shows ``gain * (v - center)``, clipped to
    +-0.5 around ``-r``. Each column's min-max range, extended to reach the previous
    column's (a step between two bins stays joined), is one segment drawn from the
    previous column to this one, alternately rising and falling: a zig-zag with no gap
    however wide the plot (a flat trace is a line, not dots). Separate segments
    (``connect="pairs"``) paint far faster than one NaN-broken polyline.
    """
    n, k = mins.shape
    lo = np.clip((mins - center) * gain, -0.5, 0.5)
    hi = np.clip((maxs - center) * gain, -0.5, 0.5)
    if n > 1:
        prev_lo, prev_hi = lo[:-1].copy(), hi[:-1].copy()
        lo[1:] = np.minimum(lo[1:], prev_hi)
        hi[1:] = np.maximum(hi[1:], prev_lo)
    rising = (np.arange(n) % 2 == 0)[:, None]
    rows = np.arange(k)[None, :]
    y = np.empty((k, n, 2))
    y[:, :, 0] = (np.where(rising, lo, hi) - rows).T
    y[:, :, 1] = (np.where(rising, hi, lo) - rows).T
    xs = (np.arange(n) - (n - 1)) * dt
    x = np.empty((n, 2))
    x[:, 0], x[:, 1] = xs - dt, xs
    return np.broadcast_to(x.ravel(), (k, 2 * n)).ravel(), y.ravel()


class ChannelLabels(QWidget):
    """Channel names and quality squares beside a plot, painted only when they change.

    Kept out of the plot's scene on purpose: axis tick labels are re-rendered with every
    trace redraw, which cost more than the traces themselves at 30 fps.
    """

    def __init__(self, labels: list[str], margin: float = ROW_MARGIN) -> None:
        super().__init__()
        self.labels, self.margin = labels, margin
        self.grades: list[str] = [NONE] * len(labels)
        self.tips: list[str] = list(labels)  # hover text per row (quality figures, scale)
        self.setFont(QFont("Sans", 7 if len(labels) > 1 else 10))
        fm = QFontMetrics(self.font())
        self.setFixedWidth(max([fm.horizontalAdvance(t) for t in labels] + [20]) + 18)

    def set_grades(self, grades: list[str], tips: list[str] | None = None) -> None:
        if tips is not None:
            self.tips = tips
        if grades != self.grades:
            self.grades = grades
            self.update()

    def event(self, e: QEvent) -> bool:  # noqa: D102 - Qt API
        if e.type() == QEvent.Type.ToolTip and self.labels:
            k = len(self.labels)
            span = (k - 1) + 2 * self.margin
            r = int(round(e.pos().y() / max(self.height(), 1) * span - self.margin))
            QToolTip.showText(e.globalPos(), self.tips[min(max(r, 0), k - 1)], self)
            return True
        return super().event(e)

    def row_y(self, r: int) -> float:
        """Pixel centre of row ``r``: the same mapping as the plot's y range."""
        k = len(self.labels)
        span = (k - 1) + 2 * self.margin
        return (self.margin + r) / span * self.height()

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        fm = p.fontMetrics()
        w = self.width()
        for r, (text, grade) in enumerate(zip(self.labels, self.grades)):
            y = self.row_y(r)
            p.setPen(QColor(40, 40, 40))
            p.drawText(QRectF(0, y - fm.height() / 2, w - 14, fm.height()),
                       int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
            p.fillRect(QRectF(w - 10, y - 3.5, 7, 7), QColor(GRADE_COLOR[grade]))




_WORST = {BAD: 0, WARN: 1, NONE: 3}


def derived_quality(report: QualityReport | None, sources: Sequence[Sequence[int]],
                    channels: Sequence[ChannelSpec]) -> tuple[list[str], list[str]]:
    """Grade and hover text of each shown channel; a bipolar channel takes the worse of
    its two electrodes and lists both."""
    grades, tips = [], []
    for ch, src in zip(channels, sources):
        if report is None:
            grades.append(NONE)
            tips.append(f"{ch.label}: no quality yet")
            continue
        g = min((report.grade[i] for i in src), key=lambda x: _WORST.get(x, 2))
        lines = [f"electrode {i + 1}: {GRADE_TEXT[report.grade[i]]} · rest "
                 f"{report.rest_rms_uv[i]:.1f} µV RMS · 50 Hz {report.line_ratio[i]:.2f}× EMG"
                 f" · {report.reasons[i]}" for i in src]
        grades.append(g)
        tips.append(f"{ch.label} ({GRADE_TEXT[g]})\n" + "\n".join(lines))
    return grades, tips


class _Column:
    """One plot of stacked rows with its labels, title, scale bar and footer."""

    def __init__(self, title: str, idx: list[int], labels: list[str], window_s: float) -> None:
        self.idx = idx
        self.widget = QWidget()
        v = QVBoxLayout(self.widget)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        self.title = title
        self.head = QLabel(f"<b>{title}</b>")
        self.head.setAlignment(Qt.AlignmentFlag.AlignCenter)
        v.addWidget(self.head)
        row = QHBoxLayout()
        row.setSpacing(0)
        self.labels = ChannelLabels(labels)
        self.plot = pg.PlotWidget()
        item = self.plot.getPlotItem()
        for ax in ("left", "bottom"):
            item.hideAxis(ax)
        item.setContentsMargins(0, 0, 0, 0)
        item.layout.setContentsMargins(0, 0, 0, 0)
        item.setMouseEnabled(False, False)
        item.hideButtons()
        item.setMenuEnabled(False)
        item.vb.setDefaultPadding(0)
        k = len(idx)
        self.plot.setXRange(-window_s, 0, padding=0)
        self.plot.setYRange(-(k - 1) - ROW_MARGIN, ROW_MARGIN, padding=0)
        for t in np.arange(-np.floor(window_s), 0):  # a faint line per second
            self.plot.addItem(pg.InfiniteLine(pos=t, angle=90, pen=GRID_PEN))
        self.curve = pg.PlotCurveItem(pen=TRACE_PEN, connect="pairs", skipFiniteCheck=True)
        self.curve.setSegmentedLineMode("on")  # QPainter.drawLines: no path to build
        self.plot.addItem(self.curve)
        # scale bar: half a row (= the row's ±µV) at the left edge, bottom row
        x0, y0 = -window_s * 0.995, -(k - 1) - 0.5
        self.bar = pg.PlotCurveItem([x0, x0], [y0, y0 + 0.5], pen=SCALEBAR_PEN)
        self.plot.addItem(self.bar)
        row.addWidget(self.labels)
        row.addWidget(self.plot, 1)
        v.addLayout(row, 1)
        self.foot = QLabel("")
        self.foot.setStyleSheet("QLabel { color: #666; font-size: 8pt; }")
        self.foot.setAlignment(Qt.AlignmentFlag.AlignRight)
        v.addWidget(self.foot)
        self.window_s = window_s
        self._scale_text: str | None = None

    def show_scale(self, row_uv: float | None) -> None:
        text = f"{row_uv:g} µV" if row_uv else ""
        if text == self._scale_text:
            return
        self._scale_text = text
        self.bar.setVisible(bool(row_uv))
        scale = (f"±{row_uv:g} µV per row · bar {row_uv:g} µV" if row_uv
                 else "each channel its own scale (hover a name)")
        self.foot.setText(f"{scale}  ·  −{self.window_s:g} s  ·  1 s grid  ·  now →")


class TracePanel(QWidget):
    """Shows one numeric stream; ``show_stream`` is called from the window's frame timer."""

    def __init__(self, window_s: float = 4.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window_s = window_s
        self.scale = TraceScale()
        self.only: int | None = None  # one channel alone (index into the shown channels)
        self.redraws = 0
        self._layout_key: tuple | None = None
        self._columns: list[_Column] = []
        self._channels: list[ChannelSpec] = []
        self._gain: np.ndarray | None = None
        self._center: np.ndarray | None = None
        self._gain_age = 0
        self._emg: np.ndarray = np.zeros(0, bool)
        self._trig: np.ndarray = np.zeros(0, bool)
        self._box = QHBoxLayout(self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._empty = QLabel("no sEMG stream selected")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._box.addWidget(self._empty)

    def set_scale(self, scale: str | float) -> None:
        self.scale.set(scale)
        self._gain = None

    def set_single(self, index: int | None) -> None:
        """Show only shown-channel ``index`` (None: all)."""
        self.only = index
        self._layout_key = None

    def _clear(self) -> None:
        while self._box.count():
            item = self._box.takeAt(0)
            if item.widget() is not None and item.widget() is not self._empty:
                item.widget().deleteLater()
        self._columns = []

    def _build(self, channels: Sequence[ChannelSpec]) -> None:
        self._clear()
        self._empty.hide()
        groups = (channel_groups(channels) if self.only is None or self.only >= len(channels)
                  else [(f"{channels[self.only].label} · {channels[self.only].muscle}",
                         [self.only])])
        for title, idx in groups:
            col = _Column(title, idx, [channels[i].label for i in idx], self.window_s)
            self._box.addWidget(col.widget, 1)
            self._columns.append(col)
        self._channels = list(channels)
        self._trig = np.array([c.type == "TRIG" for c in channels])
        self._emg = np.array([c.type == "EMG" for c in channels])
        self._gain = None

    def show_stream(self, key: str | None, channels: Sequence[ChannelSpec], mins: np.ndarray,
                    maxs: np.ndarray, dt: float) -> None:
        """Redraw from an envelope snapshot (``(n_bins, channels)``, ``dt`` s per bin)."""
        if key is None:
            if self._layout_key is not None:
                self._clear()
                self._layout_key = None
                self._box.addWidget(self._empty)
                self._empty.show()
            return
        layout = (key, tuple(c.label for c in channels), self.only)
        if layout != self._layout_key:
            self._layout_key = layout
            self._build(channels)
        if len(mins) < 2 or mins.shape[1] != len(self._channels):
            return
        gain, center = self._gains(mins, maxs)
        for col in self._columns:
            x, y = stack_rows(mins[:, col.idx], maxs[:, col.idx], gain[col.idx],
                              center[col.idx], dt)
            col.curve.setData(x, y)
            col.show_scale(self.scale.row_uv)
        self.redraws += 1

    def _gains(self, mins: np.ndarray, maxs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Re-estimated every 15 redraws (about 0.5 s): a scale must not flicker."""
        self._gain_age += 1
        if self._gain is None or self._gain_age >= 15:
            self._gain_age = 0
            g, c = self.scale.gains(mins, maxs, self._emg)
            g, c = g.copy(), c.copy()
            g[self._trig], c[self._trig] = 0.9, 0.5  # 0/1 trigger: fixed, bottom to top of its row
            self._gain, self._center = g, c
        return self._gain, self._center

    def show_quality(self, grades: Sequence[str], tips: Sequence[str]) -> None:
        """Per shown channel: its grade (square colour) and hover text."""
        per = self.scale.row_uv
        for col in self._columns:
            extra = [f"\nscale ±{per:g} µV" if per else
                     (f"\nscale ±{0.5 / self._gain[i]:.3g} µV" if self._gain is not None
                      and i < len(self._gain) else "") for i in col.idx]
            col.labels.set_grades([grades[i] if i < len(grades) else NONE for i in col.idx],
                                  [(tips[i] if i < len(tips) else "") + e
                                   for i, e in zip(col.idx, extra)])

    def set_lost(self, lost: bool) -> None:
        for col in self._columns:
            col.head.setText(f"<b>{col.title}</b> — <b style='color:#c00000'>LOST</b>" if lost
                             else f"<b>{col.title}</b>")
