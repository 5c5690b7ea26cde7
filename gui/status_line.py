"""The window's twice-a-second refresh and its status line (REC clock, file, lost streams).

A mixin of :class:`~mimicsync.gui.app.MainWindow`: the slow timer calls :meth:`_tick_slow`,
which refreshes the stream list, the Monitor tab's figures, health banners and the
protocol preview, then the line next to the Record button and which controls are enabled.
"""

from __future__ import annotations

from pathlib import Path

from mimicsync.gui.monitor_view import clock
from mimicsync.gui.recording_worker import IDLE, RECORDING, STARTING, STOPPING

LOST_STYLE = "color:#d1302f"


class StatusLine:
    """Mixed into the main window (``self`` is the window)."""

    def _tick_slow(self) -> None:
        self._update_streams()
        c = self.controller
        st = c.status
        recording = c.state == RECORDING
        self.monitor_view.tick_slow(st, recording, c.free_bytes)
        c.watch_root(self.setup.form().root_path if self.setup.root.text() else None)
        self._check_health(st if recording else None)
        self._clear_fixed_error()
        self._preview_protocol()
        self._update_state()

    def _update_state(self) -> None:
        c = self.controller
        st = c.status
        if c.state == RECORDING and st is not None:
            lost = (f" · <b style='{LOST_STYLE}'>{len(self._lost)} stream(s) LOST</b>"
                    if self._lost else "")
            self.state.setText(f"<b style='{LOST_STYLE}'>● REC {clock(st.elapsed_s)}</b> "
                               f"{Path(st.path).name}{lost}")
        elif c.state == STARTING:
            self.state.setText("starting the recording…")
        elif c.state == STOPPING:
            self.state.setText("stopping, finishing the file…")
        self.record.setEnabled(c.state in (IDLE, RECORDING))
        self.note.setEnabled(c.state == RECORDING)
        self.note_button.setEnabled(c.state == RECORDING)
        self.monitor_view.protocol.set_controls(
            can_start=c.state == IDLE and bool(self.setup.protocol.currentData()
                                               or self.setup.plan_path is not None))
