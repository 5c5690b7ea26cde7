"""The participant's window: what to do now, in their language, with the countdown.

A separate top-level window, full screen on a second monitor facing the participant,
so the operator's screen with traces and quality never distracts the participant. Most
labs run one laptop with an external screen that is not always connected: on the
operator's own screen the window never goes full screen (it would hide the operator
window); it opens as a normal window beside it. Escape leaves full screen, and closes
a normal window; F11 or a double click toggles full screen; ``closed`` tells the app
(to untick its toggle) however the window was closed. It shows only the protocol's own
texts (English or German), its media image if the step has one, and big countdown digits.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QFont,
    QGuiApplication,
    QKeyEvent,
    QPalette,
    QPixmap,
    QScreen,
)
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


def participant_screen(screen_index: int, operator: QScreen | None) -> tuple[QScreen, bool]:
    """The screen for the participant's window and whether full screen is allowed there.

    Full screen only on a screen other than the operator's; a chosen screen that is
    not connected (any more) falls back to the operator's one, windowed.
    """
    screens = QGuiApplication.screens()
    screen = screens[screen_index] if 0 <= screen_index < len(screens) else (operator or screens[0])
    return screen, len(screens) > 1 and screen is not operator


def windowed_geometry(screen: QRect, operator_shares_it: bool) -> QRect:
    """Where the windowed participant window goes: the right part of a shared screen (the
    operator window keeps its controls on the left), else centred at up to 1280x720."""
    if operator_shares_it:
        w, h = min(960, screen.width() // 2), min(600, screen.height() * 2 // 3)
        return QRect(screen.right() - w - 20, screen.top() + 60, w, h)
    w, h = min(1280, screen.width()), min(720, screen.height())
    return QRect(screen.left() + (screen.width() - w) // 2,
                 screen.top() + (screen.height() - h) // 2, w, h)


class CueWindow(QWidget):
    """``closed`` is emitted whenever the window goes away (its X, Escape, the app)."""

    closed = Signal()

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

    def present(self, screen_index: int, fullscreen: bool, operator: QScreen | None = None) -> bool:
        """Show on screen ``screen_index``: full screen if asked and it is not the
        ``operator``'s screen, else as a window. Returns whether it went full screen."""
        screen, may_fill = participant_screen(screen_index, operator)
        self.setScreen(screen)
        full = fullscreen and may_fill
        if full:
            self.setGeometry(screen.geometry())
            self.showFullScreen()
        else:
            if self.isFullScreen():
                self.showNormal()
            self.setGeometry(windowed_geometry(screen.availableGeometry(), screen is operator))
            self.showNormal()
        self.raise_()
        return full

    def leave_full_screen(self) -> None:
        """Back to a window on the same screen (e.g. its screen was unplugged)."""
        if self.isFullScreen():
            self.showNormal()
            screen = self.screen()
            self.setGeometry(windowed_geometry(screen.availableGeometry(), True))

    # -- keys and closing ---------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key == Qt.Key.Key_Escape:
            if self.isFullScreen():
                self.leave_full_screen()
            else:
                self.close()
        elif key == Qt.Key.Key_F11:
            self.mouseDoubleClickEvent(None)
        else:
            super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, _event) -> None:  # noqa: N802
        if self.isFullScreen():
            self.leave_full_screen()
        else:
            self.showFullScreen()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        super().closeEvent(event)
        self.closed.emit()

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
