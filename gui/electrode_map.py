"""Electrodes on a face sketch, coloured by signal quality, at their 2-D positions.

Positions come from the stream's channel table (``x_mm``/``y_mm``, the lab's frontal
face plot: midline x = 0, participant's left at positive x, up positive), so the map is
a frontal view like the camera's: the participant's left appears on the right. Only
electrodes that need attention are labelled (worst first), so the map stays readable
with 60+ electrodes; hovering any electrode shows its label and grade.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QWidget

from mimicsync.acquisition.live.signal_quality import BAD, NONE, WARN
from mimicsync.format import ChannelSpec
from mimicsync.gui.style import GRADE_BRUSH, GRADE_COLOR

FACE_PEN = QPen(QColor(150, 150, 160), 1.2)


def placed(channels: Sequence[ChannelSpec]) -> list[int]:
    """Indices of channels that have a 2-D position (EMG electrodes only)."""
    return [i for i, c in enumerate(channels) if c.x_mm == c.x_mm and c.type != "TRIG"]


def problems(channels: Sequence[ChannelSpec], grades: Sequence[str] | None,
             reasons: Sequence[str] | None, limit: int = 12) -> list[tuple[int, str]]:
    """Electrodes to point out, worst first: ``(channel index, "label: why")``."""
    if grades is None:
        return []
    rank = {BAD: 0, WARN: 1}
    idx = sorted((i for i in placed(channels) if grades[i] in rank), key=lambda i: rank[grades[i]])
    return [(i, f"{channels[i].label}: {reasons[i] if reasons else grades[i]}") for i in idx[:limit]]


class ElectrodeMap(pg.PlotWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAspectLocked(True)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setMenuEnabled(False)
        self.hideAxis("left")
        self.hideAxis("bottom")
        self.setXRange(-95, 95, padding=0.02)
        self.setYRange(-110, 100, padding=0.02)
        self._face()
        self._scatter = pg.ScatterPlotItem(size=11, pen=pg.mkPen("k", width=0.5), hoverable=True,
                                           tip=lambda x, y, data: data)
        self.addItem(self._scatter)
        self._labels: list[pg.TextItem] = []
        self._idx: list[int] = []
        self._channels: list[ChannelSpec] = []
        self._key: tuple | None = None
        self._shown: tuple | None = ()  # what the scatter and labels show now
        self._side_text()

    def _face(self) -> None:
        def ellipse(cx: float, cy: float, rx: float, ry: float) -> None:
            e = QGraphicsEllipseItem(QRectF(cx - rx, cy - ry, 2 * rx, 2 * ry))
            e.setPen(FACE_PEN)
            self.addItem(e)
        ellipse(0, -5, 88, 105)  # head outline
        ellipse(-38, 18, 16, 7)  # eyes (frontal view)
        ellipse(38, 18, 16, 7)
        mouth = np.linspace(-0.9, 0.9, 30)
        self.plot(28 * np.sin(mouth), -47 - 6 * np.cos(mouth), pen=FACE_PEN)
        self.plot([0, -7, 7, 0], [12, -22, -22, 12], pen=FACE_PEN)

    def _side_text(self) -> None:
        for text, x in (("R", -92), ("L", 92)):
            t = pg.TextItem(text, color=(120, 120, 130), anchor=(0.5, 0.5))
            t.setFont(QFont("Sans", 10, QFont.Weight.Bold))
            t.setPos(x, 92)
            self.addItem(t)

    def set_channels(self, channels: Sequence[ChannelSpec]) -> None:
        key = tuple((c.label, c.x_mm, c.y_mm) for c in channels)
        if key == self._key:
            return
        self._key, self._channels = key, list(channels)
        self._idx = placed(channels)
        self._shown = ()
        self.set_quality(None, None)

    def set_quality(self, grades: Sequence[str] | None, reasons: Sequence[str] | None) -> list[str]:
        """Colour each placed electrode by its grade (grey when unknown); label the problems.

        Returns the problem lines (worst first) for a list beside the map. Items are only
        rebuilt when grades change (text items are expensive to create).
        """
        ch = self._channels
        found = problems(ch, grades, reasons)
        key = (tuple(grades[i] for i in self._idx) if grades is not None else None,
               tuple(reasons[i] for i in self._idx) if reasons is not None else None)
        if key == self._shown:
            return [line for _, line in found]
        self._shown = key
        for t in self._labels:
            self.removeItem(t)
        self._labels = []
        if not self._idx:
            self._scatter.setData([])
            return []
        brushes = [GRADE_BRUSH[grades[i] if grades is not None else NONE] for i in self._idx]
        tips = [f"{ch[i].label}: {reasons[i] if reasons is not None else 'no data yet'}"
                for i in self._idx]
        self._scatter.setData(x=[ch[i].x_mm for i in self._idx], y=[ch[i].y_mm for i in self._idx],
                              brush=brushes, data=tips)
        for i, _ in found:
            c = ch[i]
            t = pg.TextItem(c.label, color=GRADE_COLOR[grades[i]],
                            anchor=(0.0 if c.x_mm >= 0 else 1.0, 0.5))
            t.setFont(QFont("Sans", 7, QFont.Weight.Bold))
            t.setPos(c.x_mm + (4 if c.x_mm >= 0 else -4), c.y_mm)
            self.addItem(t)
            self._labels.append(t)
        return [line for _, line in found]
