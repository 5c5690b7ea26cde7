"""The participant's window: what to do now, in their language, with the countdown.

A separate top-level window, full screen on the screen the operator chose (usually a
second monitor facing the participant), so the operator's screen with traces and
quality never distracts the participant. It shows only the protocol's own texts
(English or German), its media image if the step has one, and big countdown digits.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette, QPixmap
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from mimicsync.dataset.events import Event
from mimicsync.protocols import Protocol
from mimicsync.protocols import listeners as ev

#: What the window says between the protocol's own texts.
UI_TEXT = {
    "en": {"ready": "Get ready", "hold": "Hold", "relax": "Relax", "tap": "Tap",
           "paused": "Short break, please wait", "done": "Done, thank you!",
           "stopped": "Stopped", "welcome": "Please relax and look at the camera"},
    "de": {"ready": "Bereit machen", "hold": "Halten", "relax": "Entspannen", "tap": "Tippen",
           "paused": "Kurze Pause, bitte warten", "done": "Fertig, vielen Dank!",
           "stopped": "Beendet", "welcome": "Bitte entspannen und in die Kamera schauen"},
}
PHASE_COLOR = {"hold": "#3ddc84", "tap": "#ffb300", "relax": "#9fb3c8", "ready": "#ffffff",
               "paused": "#ffb300", "done": "#9fb3c8", "stopped": "#9fb3c8", "welcome": "#9fb3c8",
               "": "#ffffff"}


class CueWindow(QWidget):
    def __init__(self) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setWindowTitle("mimicsync — participant")
        pal = self.palette()
        pal.setColor(QPalette.ColorRole.Window, QColor(12, 14, 18))
        self.setPalette(pal)
        self.setAutoFillBackground(True)
        self.protocol: Protocol | None = None
        self.language = "en"
        self.phase = QLabel("")
        self.text = QLabel("")
        self.media = QLabel("")
        self.countdown = QLabel("")
        for lab, size, bold in ((self.phase, 44, True), (self.text, 30, False),
                                (self.countdown, 120, True)):
            f = QFont()
            f.setPointSize(size)
            f.setBold(bold)
            lab.setFont(f)
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lab.setWordWrap(True)
            lab.setStyleSheet("QLabel { color: white; }")
        self.media.setAlignment(Qt.AlignmentFlag.AlignCenter)
        v = QVBoxLayout(self)
        v.setContentsMargins(60, 40, 60, 40)
        v.addStretch(1)
        v.addWidget(self.phase)
        v.addWidget(self.media)
        v.addWidget(self.text)
        v.addWidget(self.countdown)
        v.addStretch(1)
        self._say("welcome", "")

    def set_protocol(self, protocol: Protocol | None, language: str) -> None:
        self.protocol, self.language = protocol, language
        self._say("welcome", "")

    def present(self, screen_index: int, fullscreen: bool) -> None:
        """Show on screen ``screen_index`` (full screen, or a 1280x720 window)."""
        screens = QGuiApplication.screens()
        screen = screens[screen_index] if 0 <= screen_index < len(screens) else screens[0]
        self.setScreen(screen)
        geo = screen.geometry()
        self.move(geo.topLeft())
        if fullscreen:
            self.showFullScreen()
        else:
            self.resize(min(1280, geo.width()), min(720, geo.height()))
            self.showNormal()

    # -- content ----------------------------------------------------------------------
    def _t(self, key: str) -> str:
        return UI_TEXT.get(self.language, UI_TEXT["en"])[key]

    def _say(self, phase: str, text: str, countdown: str = "", media: QPixmap | None = None) -> None:
        self.phase.setText(self._t(phase) if phase else "")
        self.phase.setStyleSheet(f"QLabel {{ color: {PHASE_COLOR.get(phase, '#ffffff')}; }}")
        self.text.setText(text)
        self.countdown.setText(countdown)
        if media is not None and not media.isNull():
            self.media.setPixmap(media.scaledToHeight(min(360, media.height())))
            self.media.show()
        else:
            self.media.clear()
            self.media.hide()

    def _step_text(self, step_id: str, which: str) -> str:
        if self.protocol is None:
            return step_id
        try:
            step = self.protocol.step(step_id)
        except KeyError:
            return step_id
        return getattr(step, which).get(self.language)

    def _media(self, step_id: str) -> QPixmap | None:
        if self.protocol is None:
            return None
        try:
            path = self.protocol.media_path(self.protocol.step(step_id))
        except KeyError:
            return None
        if path is None or path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"):
            return None
        return QPixmap(str(path))

    def on_event(self, e: Event) -> None:
        kind = e.trial_type
        tap_text = self.protocol.tap_block.text.get(self.language) if self.protocol else ""
        if kind == ev.RUN_START:
            self._say("ready", "")
        elif kind == ev.TAP_INSTRUCTION:
            self._say("ready", tap_text)
        elif kind == ev.TAP_CUE:
            self._say("tap", tap_text, f"{e.extra.get('tap')}/{e.extra.get('taps')}")
        elif kind == ev.INSTRUCTION:
            self._say("", self._step_text(e.value, "instruction"), media=self._media(e.value))
        elif kind == ev.COUNTDOWN:
            self._say("ready", self._step_text(e.value, "label"))
        elif kind == ev.PERFORM:
            self._say("hold", self._step_text(e.value, "label"), media=self._media(e.value))
        elif kind == ev.RELAX:
            self._say("relax", "")
        elif kind == ev.PAUSE:
            self._say("paused", "")
        elif kind == ev.RUN_END:
            self._say("done" if e.value == "completed" else "stopped", "")

    def on_countdown(self, seconds_left: int) -> None:
        self.countdown.setText(str(seconds_left))
