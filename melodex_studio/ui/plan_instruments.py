"""The plan's instruments as an editable table (objectName ``planInstruments``): one row per instrument with its
name (the prompt vocabulary), General MIDI program and track role; + adds a row, − removes the selected one.

Rows the prompt named are marked in the accent colour ("stated"); the genre's defaults are shown as suggestions
(dim). Changing a row makes it stated. ``instruments()`` is what the next Generate writes tracks for.

Cells are plain items (cheap to fill: the table is refilled whenever a song is generated or opened); a click
opens a chooser (``ChoiceDelegate``) over the cell.
"""
from __future__ import annotations

import copy

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..prompt.plan import InstrumentPlan
from ..prompt.vocabulary import INSTRUMENTS
from ..song.model import ROLES
from .gm import GM_PROGRAMS, program_name
from .theme import Theme

NAME, PROGRAM, ROLE = range(3)


def fit_height(view, rows: int, row_h: int | None = None, header: bool = True) -> None:
    """Make a table or list exactly as high as ``rows`` rows (plus its header and the style's padding)."""
    view.ensurePolished()
    m = view.contentsMargins()
    head = view.horizontalHeader().sizeHint().height() if header else 0
    row_h = row_h or view.verticalHeader().defaultSectionSize()
    view.setFixedHeight(head + row_h * rows + m.top() + m.bottom() + 2)


class ChoiceDelegate(QStyledItemDelegate):
    """A combo box over the edited cell: instrument names, GM programs ("34  Electric Bass (finger)") or roles;
    the choice goes to ``InstrumentTable.set_cell``."""

    def __init__(self, owner: InstrumentTable):
        super().__init__(owner.table)
        self.owner = owner

    def createEditor(self, parent, option, index):
        combo = QComboBox(parent)
        combo.setObjectName(("instrumentName", "instrumentProgram", "instrumentRole")[index.column()])
        if index.column() == NAME:
            combo.addItems(sorted(INSTRUMENTS))
        elif index.column() == PROGRAM:
            combo.addItems([f"{i + 1}  {n}" for i, n in enumerate(GM_PROGRAMS)])
            combo.view().setMinimumWidth(240)
        else:
            combo.addItems(list(ROLES))
        combo.activated.connect(lambda _i, c=combo: (self.commitData.emit(c), self.closeEditor.emit(c)))
        return combo

    def setEditorData(self, editor, index) -> None:
        ins = self.owner._rows[index.row()]
        if index.column() == NAME:
            if editor.findText(ins.name) < 0:
                editor.insertItem(0, ins.name)
            editor.setCurrentText(ins.name)
        elif index.column() == PROGRAM:
            editor.setCurrentIndex(int(ins.program))
        else:
            editor.setCurrentText(ins.role)
        QTimer.singleShot(0, editor.showPopup)  # one click opens the list

    def setModelData(self, editor, model, index) -> None:
        value = editor.currentIndex() if index.column() == PROGRAM else editor.currentText()
        self.owner.set_cell(index.row(), index.column(), value)


class InstrumentTable(QWidget):
    """See module docstring. ``edited`` fires after the user changed, added or removed an instrument."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._rows: list[InstrumentPlan] = []
        self.table = QTableWidget(0, 3, objectName="planInstruments")
        self.table.setHorizontalHeaderLabels(["Instrument", "Prog", "Role"])
        self.table.horizontalHeaderItem(PROGRAM).setToolTip("General MIDI program number (its name is in the list)")
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(PROGRAM, QHeaderView.ResizeMode.Fixed)
        head.setSectionResizeMode(ROLE, QHeaderView.ResizeMode.Fixed)
        head.resizeSection(PROGRAM, 56)
        head.resizeSection(ROLE, 92)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.SelectedClicked
                                   | QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.setItemDelegate(ChoiceDelegate(self))
        self.table.setToolTip("The instruments the next Generate writes: name, General MIDI program and role "
                              "(blue: named in your prompt; dim: the genre's suggestion). Click a cell to change it")
        self.add_button = QToolButton(text="+", objectName="addInstrument")
        self.add_button.setToolTip("Add an instrument")
        self.add_button.clicked.connect(lambda: self.add_instrument("piano"))
        self.remove_button = QToolButton(text="−", objectName="removeInstrument")
        self.remove_button.setToolTip("Remove the selected instrument")
        self.remove_button.clicked.connect(self.remove_selected)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.table)

    def buttons(self) -> QHBoxLayout:
        """The + and − buttons as a row, for the panel's heading line."""
        row = QHBoxLayout()
        row.setSpacing(2)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        return row

    # --- values ------------------------------------------------------------------------------------
    def instruments(self) -> list[InstrumentPlan]:
        return copy.deepcopy(self._rows)

    def cell_text(self, row: int, column: int) -> str:
        return self.table.item(row, column).text()

    def is_stated(self, row: int) -> bool:
        return bool(self.table.item(row, NAME).data(Qt.ItemDataRole.UserRole))

    def show_instruments(self, instruments: list[InstrumentPlan]) -> None:
        self._rows = copy.deepcopy(list(instruments))
        self.table.setRowCount(len(self._rows))
        for r, ins in enumerate(self._rows):
            self._fill_row(r, ins)
        fit_height(self.table, max(2, len(self._rows)))

    def _fill_row(self, r: int, ins: InstrumentPlan) -> None:
        color = Theme.color("accent") if ins.stated else Theme.color("text_dim")
        font = QFont(self.table.font())
        font.setBold(ins.stated)
        texts = (ins.name, "Kit" if ins.is_drum else str(ins.program + 1), ins.role)
        tips = (f"{ins.name}: " + ("named in your prompt" if ins.stated else "a suggestion of the genre"),
                "Drum kit (MIDI channel 10)" if ins.is_drum else f"GM program {ins.program + 1}: "
                f"{program_name(ins.program)}", f"Role: {ins.role}")
        for c, (text, tip) in enumerate(zip(texts, tips)):
            item = QTableWidgetItem(text)
            item.setForeground(color)
            item.setFont(font)
            item.setToolTip(tip)
            item.setData(Qt.ItemDataRole.UserRole, ins.stated)
            if c == PROGRAM:
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if ins.is_drum:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(r, c, item)

    def set_cell(self, row: int, column: int, value) -> None:
        """Choose ``value`` in a cell as the chooser does (column 0: a vocabulary name, which brings its usual
        program and role; 1: a program number 0..127; 2: a role). The row becomes stated."""
        if not 0 <= row < len(self._rows):
            return
        ins = self._rows[row]
        before = (ins.name, ins.program, ins.role, ins.is_drum)
        if column == NAME and value in INSTRUMENTS:
            v = INSTRUMENTS[value]
            ins.name, ins.program, ins.role, ins.is_drum = v.name, v.program, v.role, v.is_drum
        elif column == NAME:
            ins.name = str(value)
        elif column == PROGRAM:
            ins.program = max(0, min(127, int(value)))
        else:
            ins.role = str(value)
        if (ins.name, ins.program, ins.role, ins.is_drum) == before and ins.stated:
            return
        ins.stated = True
        self._fill_row(row, ins)
        self.table.selectRow(row)
        self.edited.emit()

    def add_instrument(self, name: str) -> None:
        """Add ``name`` (a vocabulary instrument) as a stated instrument."""
        v = INSTRUMENTS.get(name) or INSTRUMENTS["piano"]
        self.show_instruments(self._rows + [InstrumentPlan(v.name, v.program, v.role, v.is_drum, stated=True)])
        self.table.selectRow(len(self._rows) - 1)
        self.edited.emit()

    def remove_selected(self) -> None:
        """Remove the selected instrument (the last one when none is selected); one always stays."""
        rows = sorted({i.row() for i in self.table.selectedIndexes()}) or [len(self._rows) - 1]
        if len(self._rows) <= 1 or rows[0] < 0:
            return
        self.show_instruments([ins for i, ins in enumerate(self._rows) if i != rows[0]])
        self.edited.emit()

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.remove_selected()
        else:
            super().keyPressEvent(event)
