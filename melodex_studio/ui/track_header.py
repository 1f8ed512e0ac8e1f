"""Track headers: the column left of the track lanes (name, instrument, role colour, mute and solo).

Each header follows its lane when the timeline scrolls vertically; the panel places them. Mute and solo
call back into the timeline, which calls ``session.update_track`` (one undoable change each).
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFontMetrics, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from ..song import Track
from .gm import program_name
from .theme import Theme, role_color
from .timeline_canvas import CHORD_H, RULER_H, SECTION_H, TOP_H

HEADER_W = 210


class TrackHeader(QWidget):
    """One track's header; ``mute_button`` and ``solo_button`` are checkable (objectNames muteButton, soloButton)."""

    def __init__(self, parent: QWidget, on_toggle: Callable[[str, str, bool], None], on_press: Callable[[str], None]):
        super().__init__(parent)
        self.track_id = ""
        self.selected = False
        self.role = "melody"
        self._on_toggle, self._on_press = on_toggle, on_press
        self.name_label = QLabel(self)
        self.name_label.setStyleSheet("font-weight: 600;")
        self.detail_label = QLabel(self)
        self.detail_label.setProperty("role", "hint")
        self.mute_button = self._button("M", "muteButton", "Mute this track (it is left out of playback and exports)")
        self.solo_button = self._button("S", "soloButton", "Solo this track (only soloed tracks play)")
        text = QVBoxLayout()
        text.setSpacing(1)
        text.addWidget(self.name_label)
        text.addWidget(self.detail_label)
        text.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 6, 8, 6)
        row.addLayout(text, 1)
        buttons = QHBoxLayout()
        buttons.setSpacing(3)
        buttons.addWidget(self.mute_button)
        buttons.addWidget(self.solo_button)
        col = QVBoxLayout()
        col.addLayout(buttons)
        col.addStretch(1)
        row.addLayout(col)

    def _button(self, text: str, name: str, tip: str) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setObjectName(name)
        b.setCheckable(True)
        b.setToolTip(tip)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        b.clicked.connect(lambda checked: self._on_toggle(self.track_id, "mute" if name == "muteButton" else "solo",
                                                          checked))
        return b

    def show_track(self, track: Track, selected: bool) -> None:
        self.track_id, self.selected, self.role = track.id, selected, track.role
        fm = QFontMetrics(self.name_label.font())
        self.name_label.setText(fm.elidedText(track.name, Qt.TextElideMode.ElideRight, HEADER_W - 80))
        what = "Drum kit" if track.is_drum else program_name(track.program)
        dfm = QFontMetrics(self.detail_label.font())
        self.detail_label.setText(dfm.elidedText(what, Qt.TextElideMode.ElideRight, HEADER_W - 80))
        self.setToolTip(f"{track.name}: {what}, role {track.role}, gain {track.gain_db:+.1f} dB, pan {track.pan:+.2f}")
        for b, on in ((self.mute_button, track.mute), (self.solo_button, track.solo)):
            b.blockSignals(True)
            b.setChecked(on)
            b.blockSignals(False)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt)
        p = QPainter(self)
        r = self.rect()
        bg = Theme.color("panel_alt") if self.selected else Theme.color("panel")
        p.fillRect(r, bg)
        p.fillRect(QRect(0, 0, 5, r.height()), role_color(self.role))
        p.fillRect(QRect(0, r.height() - 1, r.width(), 1), Theme.color("border"))
        if self.selected:
            p.fillRect(QRect(5, 0, 2, r.height()), Theme.color("selection"))
        p.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt)
        self._on_press(self.track_id)


class TrackHeaderPanel(QWidget):
    """The header column: labels for the ruler, section and chord lanes, then one ``TrackHeader`` per track."""

    def __init__(self, parent: QWidget, on_toggle: Callable[[str, str, bool], None], on_press: Callable[[str], None]):
        super().__init__(parent)
        self.setFixedWidth(HEADER_W)
        self.headers: list[TrackHeader] = []
        self._on_toggle, self._on_press = on_toggle, on_press
        self.lane_h, self.scroll_y = 64, 0
        self.area = QWidget(self)  # clips the headers below the ruler, section and chord rows
        self.area.setGeometry(0, TOP_H, HEADER_W, 100)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.area.setGeometry(0, TOP_H, HEADER_W, max(0, self.height() - TOP_H))

    def show_tracks(self, tracks: list[Track], selected: str | None, lane_h: int, scroll_y: int) -> None:
        while len(self.headers) < len(tracks):
            h = TrackHeader(self.area, self._on_toggle, self._on_press)
            h.show()
            self.headers.append(h)
        while len(self.headers) > len(tracks):
            self.headers.pop().deleteLater()
        for h, t in zip(self.headers, tracks):
            h.show_track(t, t.id == selected)
        self.place(lane_h, scroll_y)

    def place(self, lane_h: int, scroll_y: int) -> None:
        self.lane_h, self.scroll_y = lane_h, scroll_y
        for i, h in enumerate(self.headers):
            h.setGeometry(0, i * lane_h - scroll_y, HEADER_W, lane_h)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt)
        p = QPainter(self)
        w = self.width()
        p.fillRect(self.rect(), Theme.color("panel"))
        rows = ((0, RULER_H, "BARS", "ruler"), (RULER_H, SECTION_H, "SECTIONS", "panel"),
                (RULER_H + SECTION_H, CHORD_H, "CHORDS", "panel_alt"))
        small = self.font()
        small.setPointSizeF(7.5)
        small.setBold(True)
        p.setFont(small)
        for y, h, text, bg in rows:
            p.fillRect(QRect(0, y, w, h), Theme.color(bg))
            p.setPen(Theme.color("text_faint"))
            p.drawText(QRect(14, y, w - 20, h), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
            p.fillRect(QRect(0, y + h - 1, w, 1), Theme.color("border"))
        p.fillRect(QRect(w - 1, 0, 1, self.height()), Theme.color("border"))
        p.end()
