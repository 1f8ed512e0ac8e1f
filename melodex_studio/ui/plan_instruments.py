"""The plan's instruments as an editable table (objectName ``planInstruments``): one row per instrument with its
name (the prompt vocabulary), General MIDI program and track role; + adds a row, − removes the selected one.

Rows the prompt named are marked in the accent colour ("stated"); the genre's defaults are shown as suggestions
(dim). Changing a row makes it stated. ``instruments()`` is what the next Generate writes tracks for.
"""
from __future__ import annotations

import copy

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QTableWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..prompt.plan import InstrumentPlan
from ..prompt.vocabulary import INSTRUMENTS
from ..song.model import ROLES
from .gm import GM_PROGRAMS
from .theme import Theme

ROW_H = 26


def fit_height(view, rows: int, row_h: int | None = None, header: bool = True) -> None:
    """Make a table or list exactly as high as ``rows`` rows (plus its header and the style's padding)."""
    view.ensurePolished()
    m = view.contentsMargins()
    head = view.horizontalHeader().sizeHint().height() if header else 0
    row_h = row_h or view.verticalHeader().defaultSectionSize()
    view.setFixedHeight(head + row_h * rows + m.top() + m.bottom() + 2)


class ProgramCombo(QComboBox):
    """A GM program chooser that shows the program number when closed (the name is in its list and tooltip)."""

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt)
        from PySide6.QtWidgets import QStyle, QStyleOptionComboBox, QStylePainter

        p = QStylePainter(self)
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        opt.currentText = opt.currentText.split("  ")[0]
        p.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, opt)
        p.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, opt)


def _style(combo: QComboBox, stated: bool) -> None:
    color = Theme.color("accent") if stated else Theme.color("text_dim")
    combo.setStyleSheet(f"QComboBox {{ color: {color.name()}; font-weight: {600 if stated else 400}; }}")
    combo.setProperty("stated", "true" if stated else "false")


class InstrumentTable(QWidget):
    """See module docstring. ``edited`` fires after the user changed, added or removed an instrument."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._rows: list[InstrumentPlan] = []
        self._filling = False
        self.table = QTableWidget(0, 3, objectName="planInstruments")
        self.table.setHorizontalHeaderLabels(["Instrument", "Prog", "Role"])
        self.table.horizontalHeaderItem(1).setToolTip("General MIDI program number (its name is in the list)")
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        head.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        head.resizeSection(1, 62)
        head.resizeSection(2, 96)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(ROW_H)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setToolTip("The instruments the next Generate writes: name, General MIDI program and role "
                              "(blue: named in your prompt; dim: the genre's suggestion)")
        self.add_button = QToolButton(text="+", objectName="addInstrument")
        self.add_button.setToolTip("Add an instrument")
        self.add_button.clicked.connect(lambda: self.add_instrument("piano"))
        self.remove_button = QToolButton(text="−", objectName="removeInstrument")
        self.remove_button.setToolTip("Remove the selected instrument")
        self.remove_button.clicked.connect(self.remove_selected)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
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

    def show_instruments(self, instruments: list[InstrumentPlan]) -> None:
        self._filling = True
        try:
            self._rows = copy.deepcopy(list(instruments))
            self.table.setRowCount(len(self._rows))
            for r, ins in enumerate(self._rows):
                self._fill_row(r, ins)
            fit_height(self.table, max(2, len(self._rows)))
        finally:
            self._filling = False

    def _fill_row(self, r: int, ins: InstrumentPlan) -> None:
        name = QComboBox(objectName="instrumentName")
        names = sorted(INSTRUMENTS)
        if ins.name not in names:
            names.insert(0, ins.name)
        name.addItems(names)
        name.setCurrentText(ins.name)
        name.setToolTip("Instrument (choosing one sets its usual program and role)")
        program = ProgramCombo(objectName="instrumentProgram")
        program.view().setMinimumWidth(230)
        self._program_items(program, ins)
        program.setToolTip(f"General MIDI program {program.currentText()}: what the track plays (the SoundFont "
                           "preview and the MIDI export use it)")
        role = QComboBox(objectName="instrumentRole")
        role.addItems(list(ROLES))
        role.setCurrentText(ins.role)
        role.setToolTip("What the part does in the arrangement (the model writes it for this role)")
        for combo in (name, program, role):
            _style(combo, ins.stated)
            combo.setFrame(False)
        name.currentTextChanged.connect(lambda text, c=name: self._changed(c, "name", text))
        program.currentIndexChanged.connect(lambda i, c=program: self._changed(c, "program", i))
        role.currentTextChanged.connect(lambda text, c=role: self._changed(c, "role", text))
        self.table.setCellWidget(r, 0, name)
        self.table.setCellWidget(r, 1, program)
        self.table.setCellWidget(r, 2, role)

    @staticmethod
    def _program_items(program: QComboBox, ins: InstrumentPlan) -> None:
        program.clear()
        if ins.is_drum:
            program.addItem("Kit")
        else:
            program.addItems([f"{i + 1}  {n}" for i, n in enumerate(GM_PROGRAMS)])
            program.setCurrentIndex(int(ins.program))
        program.setEnabled(not ins.is_drum)

    def _row_of(self, widget: QWidget) -> int:
        for r in range(self.table.rowCount()):
            if widget in (self.table.cellWidget(r, c) for c in range(3)):
                return r
        return -1

    def _changed(self, widget: QWidget, field: str, value) -> None:
        if self._filling:
            return
        r = self._row_of(widget)
        if r < 0:
            return
        ins = self._rows[r]
        if field == "name" and value in INSTRUMENTS:  # a new instrument brings its usual program and role
            v = INSTRUMENTS[value]
            ins.name, ins.program, ins.role, ins.is_drum = v.name, v.program, v.role, v.is_drum
        elif field == "name":
            ins.name = value
        elif field == "program":
            ins.program = max(0, int(value))
        else:
            ins.role = value
        ins.stated = True
        self._filling = True  # the row's other choosers follow (changed in place: the sender stays alive)
        try:
            name, program, role = (self.table.cellWidget(r, c) for c in range(3))
            if field == "name":
                self._program_items(program, ins)
                role.setCurrentText(ins.role)
            for combo in (name, program, role):
                _style(combo, True)
        finally:
            self._filling = False
        self.table.selectRow(r)
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

    def set_cell(self, row: int, column: int, value) -> None:
        """Choose ``value`` in a cell as the user would (column 0: name, 1: program number, 2: role)."""
        combo = self.table.cellWidget(row, column)
        if column == 1:
            combo.setCurrentIndex(int(value))
        else:
            combo.setCurrentText(str(value))

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.remove_selected()
        else:
            super().keyPressEvent(event)
