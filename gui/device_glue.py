"""The app's running devices and the stream list, kept in step with Setup and Monitor.

Setup's camera / simulated-lab choice (re)starts the app's devices; the simulated lab's
amplifier is ticked and required once it appears on the network; the live monitor
follows the stream selection. A mixin of :class:`~mimicsync.gui.app.MainWindow`.
"""

from __future__ import annotations


class DeviceGlue:
    """Mixed into the main window (``self`` is the window)."""

    def _devices_requested(self, simulated: bool, camera: str) -> None:
        if self.controller.busy:
            return
        self.devices.configure(simulated, camera)
        if simulated:
            self.say("starting the simulated lab…")

    def _devices_changed(self) -> None:
        d = self.devices
        self.setup.streams.set_own_source_ids(d.own_source_ids())
        kind = self.setup.camera.currentData()
        msg = ("no camera (choose one in Setup)" if kind == "none" else
               "starting the camera…" if d.busy else "the camera did not start: see messages")
        self.monitor_view.set_camera(d.streamer, msg)
        if d.lab is not None and self._autoselect is None:
            self._autoselect = d.lab.emg.source_id
            self.say(f"simulated lab running: {d.lab.emg.name} ({len(d.lab.emg.channels)} ch at "
                     f"{d.lab.emg.srate:g} Hz)" + (" and a simulated camera" if d.streamer else ""))
        elif d.lab is None:
            self._autoselect = None
        self._watch_version = -1
        self.watcher.refresh()

    def _sync_monitor(self) -> None:
        """The live monitor follows the stream selection (online streams only)."""
        entries = self.setup.streams.selected_entries()
        ids = {e.identity for e in entries}
        if ids != self._monitored:
            self._monitored = ids
            self.monitor.set_streams([e.info for e in entries])

    def _update_streams(self) -> None:
        """A new stream list from the watcher: into Setup, ticking the simulated amplifier once."""
        version, entries = self.watcher.snapshot()
        if version == self._watch_version:
            return
        self._watch_version = version
        self.setup.update_streams(entries)
        sid = self._autoselect
        if sid and any(e.source_id == sid for e in entries):
            self._autoselect = ""  # done once per lab start
            self.setup.streams.select(lambda e: e.source_id == sid, required=True)
        self._sync_monitor()
