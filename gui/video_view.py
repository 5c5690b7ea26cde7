"""The camera preview: draws the newest downscaled frame, counts what it really drew.

Frames arrive already downscaled (:class:`~mimicsync.acquisition.live.monitor.PreviewSink`);
the widget wraps the array in a QImage without copying and lets the painter scale it
(fast, not smooth: a preview). ``redraws`` counts paints of a new frame, the figure
``bench/gui_fps.py`` reports.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget


class VideoView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(240, 135)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._frame: np.ndarray | None = None
        self._image: QImage | None = None
        self._count = -1
        self._painted = -1
        self.redraws = 0
        self.message = "no camera"

    def heightForWidth(self, w: int) -> int:  # noqa: N802 - Qt API
        return int(w * 9 / 16)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def show_frame(self, count: int, frame: np.ndarray | None) -> None:
        """Schedule a repaint if ``count`` is new (cheap to call every timer tick)."""
        if frame is None or count == self._count:
            return
        self._count, self._frame = count, frame  # keep the array alive for the QImage
        h, w, depth = frame.shape
        fmt = QImage.Format.Format_RGB32 if depth == 4 else QImage.Format.Format_RGB888
        self._image = QImage(frame.data, w, h, depth * w, fmt)
        self.update()

    def clear(self, message: str) -> None:
        self._frame, self._image, self.message = None, None, message
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(20, 20, 24))
        if self._image is None:
            p.setPen(QColor(200, 200, 200))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self.message)
            return
        iw, ih = self._image.width(), self._image.height()
        s = min(self.width() / iw, self.height() / ih)
        w, h = iw * s, ih * s
        target = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
        p.drawImage(target, self._image)
        if self._painted != self._count:
            self._painted = self._count
            self.redraws += 1
