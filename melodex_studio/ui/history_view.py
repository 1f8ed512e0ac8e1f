"""The undo history as a list: the saved-state row, then one row per change; the current state is selected.
Clicking a row undoes or redoes up to that change (each step through the session)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from ..engine.session import ProjectSession


class HistoryView(QListWidget):
    def __init__(self, session: ProjectSession, parent=None):
        super().__init__(parent)
        self.setObjectName("historyView")
        self.session = session
        self.setToolTip("Every change of the project; click one to go back (or forward) to it")
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.itemClicked.connect(self._go)
        self.refresh()

    def refresh(self) -> None:
        h = self.session.history
        self.blockSignals(True)
        self.clear()
        first = QListWidgetItem("Opened / new project")
        first.setData(Qt.ItemDataRole.UserRole, 0)
        self.addItem(first)
        for i, change in enumerate(h.changes, start=1):
            item = QListWidgetItem(change.info.label)
            item.setData(Qt.ItemDataRole.UserRole, i)
            item.setToolTip(change.info.label)
            if i > h.index:
                item.setForeground(self.palette().placeholderText())
                f = QFont(item.font())
                f.setItalic(True)
                item.setFont(f)
            self.addItem(item)
        self.setCurrentRow(h.index)
        self.blockSignals(False)
        self.scrollToItem(self.currentItem())

    def _go(self, item: QListWidgetItem) -> None:
        target = int(item.data(Qt.ItemDataRole.UserRole))
        h = self.session.history
        while h.index > target and h.can_undo():
            self.session.undo()
        while h.index < target and h.can_redo():
            self.session.redo()
