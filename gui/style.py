"""Colours and fonts shared by the views, so a grade looks the same everywhere."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor

from mimicsync.acquisition.live.signal_quality import BAD, GOOD, NONE, WARN

GRADE_COLOR = {GOOD: "#2e9d4a", WARN: "#e5a50a", BAD: "#d1302f", NONE: "#9a9a9a"}
GRADE_TEXT = {GOOD: "good", WARN: "check", BAD: "bad", NONE: "—"}
GRADE_BRUSH = {g: pg.mkBrush(c) for g, c in GRADE_COLOR.items()}
TRACE_PEN = pg.mkPen(QColor(20, 50, 110), width=1)
GRID_PEN = pg.mkPen(QColor(225, 225, 230), width=1)
SCALEBAR_PEN = pg.mkPen(QColor(150, 20, 20), width=3)
ERROR_STYLE = ("QLabel { background: #fde2e1; color: #7a1010; border: 1px solid #d1302f; "
               "border-radius: 4px; padding: 6px; }")
WARN_STYLE = ("QLabel { background: #fff4d6; color: #6b4e00; border: 1px solid #e5a50a; "
              "border-radius: 4px; padding: 6px; }")
INLINE_ERROR_STYLE = "QLabel { color: #b00020; font-size: 9pt; }"
REC_STYLE = "QPushButton { background: #d1302f; color: white; font-weight: bold; padding: 8px 18px; }"
IDLE_STYLE = "QPushButton { background: #2e9d4a; color: white; font-weight: bold; padding: 8px 18px; }"

pg.setConfigOptions(antialias=False, background="w", foreground="k")
