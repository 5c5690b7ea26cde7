"""The live stream list: pick streams one by one, mark the required ones.

Rows come from the :class:`~mimicsync.acquisition.live.stream_watch.StreamWatcher` snapshot.
A stream the operator selected stays listed after it disappears, marked *missing* (red
when required: recording cannot start without it). Selections become the same
selectors the CLI takes (``source_id=...``, else ``name=...``), so a GUI recording
picks streams exactly as ``mimicsync record --stream/--require`` would.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from mimicsync.acquisition.live.stream_watch import StreamEntry
from mimicsync.acquisition.stream_select import StreamSelector

COLUMNS = ("Record", "Required", "Name", "Type", "Rate", "Ch", "Host", "Source id", "Status")
REC, REQ, NAME, TYPE, RATE, CH, HOST, SOURCE, STATUS = range(len(COLUMNS))
MISSING_REQUIRED = QColor("#d1302f")
MISSING = QColor("#b07000")
ONLINE = QColor("#2e7d32")


def selector_for(entry: StreamEntry) -> StreamSelector:
    """The most specific selector: source_id when the device sets one, else its name."""
    if entry.source_id:
        return StreamSelector("source_id", entry.source_id)
    return StreamSelector("name", entry.name)


def _key(entry: StreamEntry) -> str:
    return "\x1f".join(entry.identity)


@dataclass
class _Row:
    entry: StreamEntry
    record: bool = False
    required: bool = False
    online: bool = True


class StreamTable(QTableWidget):
    """Emits ``selection_changed`` when the set of streams to record changes."""

    selection_changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        h = self.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        self._rows: dict[str, _Row] = {}  # by stream identity
        self._own: set[str] = set()
        self._updating = False
        self.itemChanged.connect(self._on_item)

    # -- data -------------------------------------------------------------------------
    def set_own_source_ids(self, ids: set[str]) -> None:
        """Streams this app publishes itself (its camera's frame index): listed ticked and
        fixed, since the recorder records them with the camera, never offered to untick."""
        self._own = set(ids)
        self._render()

    def update_entries(self, entries: tuple[StreamEntry, ...]) -> None:
        """Merge a fresh network snapshot: new rows, vanished ones kept if selected."""
        seen = set()
        for e in entries:
            if e.source_id in self._own:
                self._rows.setdefault(_key(e), _Row(e))
            seen.add(_key(e))
            row = self._rows.get(_key(e))
            if row is None:
                self._rows[_key(e)] = _Row(e)
            else:
                row.entry, row.online = e, True
        for ident in list(self._rows):
            if self._rows[ident].entry.source_id in self._own and ident not in seen:
                del self._rows[ident]
            elif ident not in seen:
                if self._rows[ident].record or self._rows[ident].required:
                    self._rows[ident].online = False
                else:
                    del self._rows[ident]
        self._render()

    def select(self, predicate, record: bool = True, required: bool = False) -> int:
        """Tick rows whose entry satisfies ``predicate``; returns how many."""
        n = 0
        for row in self._rows.values():
            if predicate(row.entry) and not self._is_own(row):
                row.record, row.required, n = record or required, required, n + 1
        self._render()
        self.selection_changed.emit()
        return n

    def _is_own(self, row: _Row) -> bool:
        return bool(row.entry.source_id) and row.entry.source_id in self._own

    def _picked(self) -> list[_Row]:
        return [r for r in self._rows.values() if not self._is_own(r)]

    def selected_entries(self, online_only: bool = True) -> list[StreamEntry]:
        return [r.entry for r in self._picked() if r.record and (r.online or not online_only)]

    def selectors(self) -> tuple[list[StreamSelector], list[StreamSelector]]:
        """``(streams, require)`` as RecorderConfig takes them (the app's own camera
        stream is not among them: the recorder records it with the camera)."""
        streams = [selector_for(r.entry) for r in self._picked() if r.record and not r.required]
        require = [selector_for(r.entry) for r in self._picked() if r.required]
        return streams, require

    def missing_required(self) -> list[str]:
        return [r.entry.name for r in self._rows.values() if r.required and not r.online]

    def row_of(self, name: str) -> int:
        for i in range(self.rowCount()):
            text = self.item(i, NAME).text()
            if text == name or text.startswith(name + "  @"):
                return i
        return -1

    # -- view -------------------------------------------------------------------------
    def _render(self) -> None:
        self._updating = True
        rows = sorted(self._rows.items(), key=lambda kv: (not (kv[1].record or self._is_own(kv[1])),
                                                          kv[1].entry.type, kv[1].entry.name))
        names = [r.entry.name for _, r in rows]
        self.setRowCount(len(rows))
        for i, (ident, r) in enumerate(rows):
            e = r.entry
            own = self._is_own(r)
            for col, checked in ((REC, r.record or own), (REQ, r.required)):
                item = QTableWidgetItem()
                item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled
                              if not own else Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                item.setData(Qt.ItemDataRole.UserRole, ident)
                self.setItem(i, col, item)
            rate = f"{e.srate:g} Hz" if e.srate else "irregular"
            # the same name from another machine (or device): host and source id tell them apart
            twin = names.count(e.name) > 1
            name = f"{e.name}  @{e.host}" + (f" [{e.source_id}]" if e.source_id else "") if twin else e.name
            texts = {NAME: name, TYPE: e.type, RATE: rate, CH: str(e.channels), HOST: e.host,
                     SOURCE: e.source_id or "—"}
            for col, text in texts.items():
                item = QTableWidgetItem(text)
                item.setToolTip(f"{e.name}\nsource_id: {e.source_id or '(none)'}\n"
                                f"format: {e.fmt}\nhost: {e.host}")
                self.setItem(i, col, item)
            if own:
                status, color = "this app's camera (recorded)", ONLINE
            elif r.online:
                status, color = "online", ONLINE
            elif r.required:
                status, color = "MISSING (required)", MISSING_REQUIRED
            else:
                status, color = "missing", MISSING
            item = QTableWidgetItem(status)
            item.setForeground(color)
            self.setItem(i, STATUS, item)
        self._updating = False

    def _on_item(self, item: QTableWidgetItem) -> None:
        if self._updating or item.column() not in (REC, REQ):
            return
        row = self._rows.get(item.data(Qt.ItemDataRole.UserRole))
        if row is None:
            return
        checked = item.checkState() == Qt.CheckState.Checked
        if item.column() == REC:
            row.record = checked
            if not checked:
                row.required = False
        else:
            row.required = checked
            row.record = row.record or checked
        if not row.online and not row.record:
            self._rows.pop(item.data(Qt.ItemDataRole.UserRole))
        self._render()
        self.selection_changed.emit()

    def set_locked(self, locked: bool) -> None:
        """While recording the selection cannot change (the recorder has it)."""
        self.setEnabled(not locked)
