"""The inspector (objectName ``inspector``): what is selected on the timeline, editable.

A selected section shows its place in the song and its takes (``takes_panel``: what made each, which one
plays; use, keep, delete, A/B, and Vary from a recorded diffusion step) for the selected track or the whole section. A selected
track shows its name, instrument (General MIDI program), role, gain, pan, mute and solo. Every edit is one
session call, so one undoable change; the inspector redraws from the session afterwards.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..engine.session import ProjectSession
from ..errors import MelodexError
from ..song.model import ROLES
from .gm import GM_PROGRAMS
from .takes_panel import TakesPanel


def _heading(text: str) -> QLabel:
    label = QLabel(text.upper())
    label.setProperty("role", "heading")
    return label


class Inspector(QScrollArea):
    def __init__(self, session: ProjectSession, on_error: Callable[[str, Exception], None], parent=None):
        super().__init__(parent)
        self.setObjectName("inspector")
        self.setMinimumWidth(250)  # the takes and their details stay readable next to a wide timeline
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.session, self.on_error = session, on_error
        self.section_id: str | None = None
        self.track_id: str | None = None
        self._filling = False

        body = QWidget()
        col = QVBoxLayout(body)
        col.setContentsMargins(12, 10, 12, 12)
        col.setSpacing(8)
        self.empty = QLabel("Select a section or a track on the timeline to see it here.", wordWrap=True)
        self.empty.setProperty("role", "hint")
        col.addWidget(self.empty)

        self.section_box = QWidget()
        sc = QVBoxLayout(self.section_box)
        sc.setContentsMargins(0, 0, 0, 0)
        sc.addWidget(_heading("Section"))
        self.section_title = QLabel(objectName="inspectorSectionTitle")
        self.section_title.setStyleSheet("font-size: 12pt; font-weight: 600;")
        self.section_where = QLabel()
        self.section_where.setProperty("role", "hint")
        sc.addWidget(self.section_title)
        sc.addWidget(self.section_where)
        self.takes_panel = TakesPanel(session, on_error, host=parent if hasattr(parent, "start_vary") else None)
        self.takes, self.use_take = self.takes_panel.takes, self.takes_panel.use_take
        sc.addWidget(self.takes_panel)
        col.addWidget(self.section_box)

        self.track_box = QWidget()
        tf = QFormLayout(self.track_box)
        tf.setContentsMargins(0, 8, 0, 0)
        tf.addRow(_heading("Track"))
        self.name = QLineEdit(objectName="trackName")
        self.name.editingFinished.connect(lambda: self._update(name=self.name.text().strip()) if self.name.text().strip()
                                          else None)
        self.program = QComboBox(objectName="trackProgram")
        self.program.addItems(list(GM_PROGRAMS))
        for i in range(len(GM_PROGRAMS)):
            self.program.setItemData(i, f"General MIDI program {i + 1}", Qt.ItemDataRole.ToolTipRole)
        self.program.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.program.setMinimumContentsLength(12)
        self.program.setToolTip("General MIDI instrument (the renderer's instrument for this track)")
        self.program.currentIndexChanged.connect(lambda i: self._update(program=i))
        self.role = QComboBox(objectName="trackRole")
        self.role.addItems(list(ROLES))
        self.role.setToolTip("What the track does in the arrangement")
        self.role.currentTextChanged.connect(lambda r: self._update(role=r))
        self.gain = QDoubleSpinBox(objectName="trackGain", minimum=-60.0, maximum=12.0, singleStep=0.5, suffix=" dB")
        self.gain.setToolTip("Track gain in the mix")
        self.gain.editingFinished.connect(lambda: self._update(gain_db=float(self.gain.value())))
        self.pan = QDoubleSpinBox(objectName="trackPan", minimum=-1.0, maximum=1.0, singleStep=0.1, decimals=2)
        self.pan.setToolTip("Pan: -1 left, 0 centre, +1 right")
        self.pan.editingFinished.connect(lambda: self._update(pan=float(self.pan.value())))
        self.mute = QCheckBox("Mute", objectName="trackMute")
        self.mute.toggled.connect(lambda on: self._update(mute=on))
        self.solo = QCheckBox("Solo", objectName="trackSolo")
        self.solo.toggled.connect(lambda on: self._update(solo=on))
        for text, w in (("Name", self.name), ("Instrument", self.program), ("Role", self.role), ("Gain", self.gain),
                        ("Pan", self.pan)):
            tf.addRow(text, w)
        tf.addRow("", self.mute)
        tf.addRow("", self.solo)
        col.addWidget(self.track_box)
        col.addStretch(1)
        self.setWidget(body)
        self.refresh()

    def show_selection(self, section_id: str | None, track_id: str | None) -> None:
        self.section_id, self.track_id = section_id, track_id
        self.refresh()

    def refresh(self) -> None:
        song = self.session.song
        sec = next((s for s in song.sections if s.id == self.section_id), None)
        tr = next((t for t in song.tracks if t.id == self.track_id), None)
        self.empty.setVisible(sec is None and tr is None)
        self.section_box.setVisible(sec is not None)
        self.track_box.setVisible(tr is not None)
        self._filling = True
        try:
            if sec is not None:
                self.section_title.setText(sec.label)
                a, b = song.section_ticks(sec)
                secs = song.tick_to_seconds(b) - song.tick_to_seconds(a)
                self.section_where.setText(f"Bars {sec.start_bar + 1}–{sec.end_bar} · {sec.length_bars} bars · "
                                           f"{secs:.1f} s")
                self.takes_panel.show_takes(sec.id, tr.id if tr is not None else None)
            if tr is not None:
                self.name.setText(tr.name)
                self.program.setCurrentIndex(tr.program)
                self.program.setEnabled(not tr.is_drum)
                self.role.setCurrentText(tr.role)
                self.gain.setValue(tr.gain_db)
                self.pan.setValue(tr.pan)
                self.mute.setChecked(tr.mute)
                self.solo.setChecked(tr.solo)
        finally:
            self._filling = False

    def _update(self, **changes) -> None:
        if self._filling or self.track_id is None:
            return
        tr = next((t for t in self.session.song.tracks if t.id == self.track_id), None)
        if tr is None or all(getattr(tr, k) == v for k, v in changes.items()):
            return
        try:
            self.session.update_track(self.track_id, **changes)
        except (MelodexError, ValueError) as e:
            self.on_error("Cannot change the track", e)
            self.refresh()
