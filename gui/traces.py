"""Scrolling multi-channel sEMG traces, grouped by electrode scheme and face side.

Each group (Fridlund left, Fridlund right, Kuramoto, ...) is one plot with one curve:
all its channels stacked, separated by NaN breaks, drawn from the min/max envelope the
live monitor keeps (two points per display column). A channel is scaled on its own,
automatically from its recent amplitude or to a fixed µV range, and clipped to its row
so a tap spike never paints over its neighbours. Channel names and a coloured square
per channel (its quality grade) sit beside each plot in a static widget.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from mimicsync.acquisition.live.monitor import LiveSnapshot
from mimicsync.acquisition.live.signal_quality import NONE
from mimicsync.format import ChannelSpec
from mimicsync.gui.style import GRADE_COLOR, GRID_PEN, TRACE_PEN

#: Display ranges the operator can pick; None = each channel scaled to its own amplitude.
SCALES: tuple[tuple[str, float | None], ...] = (
    ("auto, per channel", None), ("±5 µV", 5.0), ("±20 µV", 20.0), ("±100 µV", 100.0),
    ("±500 µV", 500.0))
REST_FILL = 0.08  # auto scale: the quiet level fills this much of a row (0.5 = half a row)
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
    """x, y of one curve drawing ``k`` channels' envelopes in rows 0, -1, ... (NaN-separated).

    ``mins``/``maxs`` are ``(n_bins, k)``; row r shows ``gain * (v - center)``, clipped to
    +-0.5 around ``-r``; each column draws a vertical stroke from min to max.
    """
    n, k = mins.shape
    lo = np.clip((mins - center) * gain, -0.5, 0.5).T - np.arange(k)[:, None]
    hi = np.clip((maxs - center) * gain, -0.5, 0.5).T - np.arange(k)[:, None]
    y = np.empty((k, 2 * n + 1))
    y[:, 0:2 * n:2], y[:, 1:2 * n:2], y[:, -1] = lo, hi, np.nan
    xs = (np.arange(n) - (n - 1)) * dt
    x = np.empty(2 * n + 1)
    x[0:2 * n:2] = x[1:2 * n:2] = xs
    x[-1] = np.nan
    return np.tile(x, k), y.ravel()


def auto_gain(mins: np.ndarray, maxs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (gain, center) from the channel's quiet level, not its peaks.

    The quietest tenth of the columns (rest) fills ``REST_FILL`` of a row, so rest looks
    like a thin band on every channel, whatever its electrode impedance, and activity
    stands out: about five times the rest level reaches the row's edge.
    """
    center = np.median((mins + maxs) / 2, axis=0)
    quiet = np.percentile((maxs - mins) / 2, 10, axis=0)
    return REST_FILL / np.maximum(quiet, 1e-3), center


class ChannelLabels(QWidget):
    """Channel names and quality squares beside a plot, painted only when they change.

    Kept out of the plot's scene on purpose: axis tick labels are re-rendered with every
    trace redraw, which cost more than the traces themselves at 30 fps.
    """

    def __init__(self, labels: list[str], margin: float = ROW_MARGIN) -> None:
        super().__init__()
        self.labels, self.margin = labels, margin
        self.grades: list[str] = [NONE] * len(labels)
        self.setFont(QFont("Sans", 7))
        fm = QFontMetrics(self.font())
        self.setFixedWidth(max([fm.horizontalAdvance(t) for t in labels] + [20]) + 18)

    def set_grades(self, grades: list[str]) -> None:
        if grades != self.grades:
            self.grades = grades
            self.update()

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


class TracePanel(QWidget):
    """Shows one numeric stream; ``show_stream`` is called from the window's frame timer."""

    def __init__(self, window_s: float = 4.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window_s = window_s
        self.scale: float | None = None
        self.redraws = 0
        self._layout_key: tuple | None = None
        self._columns: list[tuple[pg.PlotWidget, pg.PlotCurveItem, ChannelLabels, QLabel, list[int]]] = []
        self._gain: np.ndarray | None = None
        self._center: np.ndarray | None = None
        self._gain_age = 0
        self._trig: np.ndarray | None = None
        self._box = QHBoxLayout(self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._empty = QLabel("no sEMG stream selected")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._box.addWidget(self._empty)

    def set_scale(self, scale: float | None) -> None:
        self.scale = scale
        self._gain = None

    def _clear(self) -> None:
        while self._box.count():
            item = self._box.takeAt(0)
            if item.widget() is not None and item.widget() is not self._empty:
                item.widget().deleteLater()
        self._columns = []

    def _build(self, view: LiveSnapshot) -> None:
        self._clear()
        self._empty.hide()
        for title, idx in channel_groups(view.channels):
            col = QWidget()
            v = QVBoxLayout(col)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(2)
            head = QLabel(f"<b>{title}</b>")
            head.setAlignment(Qt.AlignmentFlag.AlignCenter)
            v.addWidget(head)
            row = QHBoxLayout()
            row.setSpacing(0)
            labels = ChannelLabels([view.channels[i].label for i in idx])
            plot = pg.PlotWidget()
            item = plot.getPlotItem()
            for ax in ("left", "bottom"):
                item.hideAxis(ax)
            item.setContentsMargins(0, 0, 0, 0)
            item.layout.setContentsMargins(0, 0, 0, 0)
            item.setMouseEnabled(False, False)
            item.hideButtons()
            item.setMenuEnabled(False)
            item.vb.setDefaultPadding(0)
            plot.setXRange(-self.window_s, 0, padding=0)
            plot.setYRange(-(len(idx) - 1) - ROW_MARGIN, ROW_MARGIN, padding=0)
            for t in np.arange(-np.floor(self.window_s), 0):  # a faint line per second
                plot.addItem(pg.InfiniteLine(pos=t, angle=90, pen=GRID_PEN))
            curve = pg.PlotCurveItem(pen=TRACE_PEN, connect="finite", skipFiniteCheck=True)
            plot.addItem(curve)
            row.addWidget(labels)
            row.addWidget(plot, 1)
            v.addLayout(row, 1)
            foot = QLabel(f"−{self.window_s:g} s  ·  1 s grid  ·  now →")
            foot.setStyleSheet("QLabel { color: #666; font-size: 8pt; }")
            foot.setAlignment(Qt.AlignmentFlag.AlignRight)
            v.addWidget(foot)
            self._box.addWidget(col, 1)
            self._columns.append((plot, curve, labels, head, idx))
        self._trig = np.array([c.type == "TRIG" for c in view.channels])
        self._gain = None

    def show_stream(self, view: LiveSnapshot | None, mins: np.ndarray, maxs: np.ndarray,
                    dt: float) -> None:
        """Redraw from an envelope snapshot (``(n_bins, channels)``, ``dt`` s per bin)."""
        if view is None:
            if self._layout_key is not None:
                self._clear()
                self._layout_key = None
                self._box.addWidget(self._empty)
                self._empty.show()
            return
        key = (view.key, tuple(c.label for c in view.channels))
        if key != self._layout_key:
            self._layout_key = key
            self._build(view)
        if len(mins) < 2:
            return
        gain, center = self._gains(mins, maxs)
        for _, curve, _, _, idx in self._columns:
            x, y = stack_rows(mins[:, idx], maxs[:, idx], gain[idx], center[idx], dt)
            curve.setData(x, y)
        self.redraws += 1

    def _gains(self, mins: np.ndarray, maxs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Auto gains are re-estimated every 15 redraws (about 0.5 s), smoothed."""
        self._gain_age += 1
        if self._gain is None or self._gain_age >= 15:
            self._gain_age = 0
            if self.scale is None:
                g, c = auto_gain(mins, maxs)
                if self._gain is not None and len(self._gain) == len(g):
                    g = np.exp(0.8 * np.log(self._gain) + 0.2 * np.log(g))
            else:
                g = np.full(mins.shape[1], 0.5 / self.scale)
                c = np.median((mins + maxs) / 2, axis=0)
            trig = self._trig if self._trig is not None and len(self._trig) == len(g) else None
            if trig is not None:  # 0/1 trigger: fixed, bottom to top of its row
                g[trig], c[trig] = 0.9, 0.5
            self._gain, self._center = g, c
        return self._gain, self._center

    def show_quality(self, grades: Sequence[str] | None) -> None:
        for _, _, labels, _, idx in self._columns:
            labels.set_grades([grades[i] if grades is not None else NONE for i in idx])

    def set_lost(self, lost: bool) -> None:
        for _, _, _, head, _ in self._columns:
            title = head.text().split(" — ")[0].replace("<b>", "").replace("</b>", "")
            head.setText(f"<b>{title}</b> — <b style='color:#c00000'>LOST</b>" if lost
                         else f"<b>{title}</b>")
