"""Track headers: the column left of the track lanes (name, instrument, role colour, mute, solo, gain and pan).

Each header follows its lane when the timeline scrolls vertically; the panel places them. Mute, solo, gain and
pan call back into the timeline, which calls ``session.update_track`` (one undoable change each: a gain drag
is one change when the mouse is released). Low lanes hide the instrument line first, then the faders.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QFontMetrics, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from ..song import Track
from .gm import program_name
from .mini_fader import MiniFader, gain_text, pan_text
from .theme import Theme, role_color
from .timeline_canvas import CHORD_H, RULER_H, SECTION_H, TOP_H

HEADER_W = 210
SPARE_EVERY_MS = 40  # one spare header made per turn, this far apart (``TrackHeaderPanel.keep_spares``)
SPARE_HEADERS = 8  # made while the window idles after it is shown


class TrackHeader(QWidget):
    """One track's header; ``mute_button`` and ``solo_button`` are checkable (objectNames muteButton, soloButton);
    ``gain_fader`` and ``pan_fader`` are ``MiniFader``s (objectNames gainFader, panFader)."""

    def __init__(self, parent: QWidget, on_toggle: Callable[[str, str, bool], None], on_press: Callable[[str], None]):
        super().__init__(parent)
        self.track_id = ""
        self.selected = False
        self.role = "melody"
        self.track: Track | None = None
        self._on_toggle, self._on_press = on_toggle, on_press
        self.name_label = QLabel(self)
        self.name_label.setStyleSheet("font-weight: 600;")
        self.detail_label = QLabel(self)
        self.detail_label.setProperty("role", "hint")
        self.mute_button = self._button("M", "muteButton", "Mute this track (it is left out of playback and exports)")
        self.solo_button = self._button("S", "soloButton", "Solo this track (only soloed tracks play)")
        self.gain_fader = self._fader("gain", "gainFader", "gain_db", "Track volume in dB: drag sideways (Shift: "
                                      "fine), wheel or arrow keys; double-click resets to 0 dB")
        self.pan_fader = self._fader("pan", "panFader", "pan", "Pan from left (L100) to right (R100): drag sideways, "
                                     "wheel or arrow keys; double-click centres it")
        top = QHBoxLayout()
        top.setSpacing(3)
        top.addWidget(self.name_label, 1)
        top.addWidget(self.mute_button)
        top.addWidget(self.solo_button)
        faders = QHBoxLayout()
        faders.setSpacing(4)
        faders.addWidget(self.gain_fader, 3)
        faders.addWidget(self.pan_fader, 2)
        col = QVBoxLayout(self)
        col.setContentsMargins(14, 4, 8, 5)
        col.setSpacing(2)
        col.addLayout(top)
        col.addWidget(self.detail_label)
        col.addLayout(faders)
        col.addStretch(1)

    def _fader(self, kind: str, name: str, field: str, tip: str) -> MiniFader:
        f = MiniFader(kind, self)
        f.setObjectName(name)
        f.setToolTip(tip)
        f.valueCommitted.connect(lambda v: self._commit(field, float(v)))
        return f

    def _commit(self, field: str, value: float) -> None:
        if self.track is not None and getattr(self.track, field) != value:  # a change only when it changes
            self._on_toggle(self.track_id, field, value)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt): low lanes drop the instrument line, then the faders
        h = event.size().height()
        self.detail_label.setVisible(h >= 56)
        self.gain_fader.setVisible(h >= 42)
        self.pan_fader.setVisible(h >= 42)
        super().resizeEvent(event)

    def _button(self, text: str, name: str, tip: str) -> QToolButton:
        b = QToolButton(self)
        b.setFixedSize(22, 18)
        b.setText(text)
        b.setObjectName(name)
        b.setCheckable(True)
        b.setToolTip(tip)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        b.clicked.connect(lambda checked: self._on_toggle(self.track_id, "mute" if name == "muteButton" else "solo",
                                                          checked))
        return b

    def show_track(self, track: Track, selected: bool) -> None:
        self.track_id, self.selected, self.role, self.track = track.id, selected, track.role, track
        fm = QFontMetrics(self.name_label.font())
        self.name_label.setText(fm.elidedText(track.name, Qt.TextElideMode.ElideRight, HEADER_W - 80))
        what = "Drum kit" if track.is_drum else program_name(track.program)
        dfm = QFontMetrics(self.detail_label.font())
        self.detail_label.setText(dfm.elidedText(what, Qt.TextElideMode.ElideRight, HEADER_W - 80))
        self.setToolTip(f"{track.name}: {what}, role {track.role}, gain {gain_text(track.gain_db)}, "
                        f"pan {pan_text(track.pan)}")
        for f, v in ((self.gain_fader, track.gain_db), (self.pan_fader, track.pan)):
            if f._press is None:  # not while the user drags it
                f.blockSignals(True)
                f.setValue(v)
                f.blockSignals(False)
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
        self._spares: list[TrackHeader] = []  # made ahead of need, hidden (``keep_spares``)
        self._spare_count = 0
        self._spare_timer = QTimer(self, singleShot=True, interval=SPARE_EVERY_MS)
        self._spare_timer.timeout.connect(self._make_spare)
        self._on_toggle, self._on_press = on_toggle, on_press
        self.lane_h, self.scroll_y = 64, 0
        self.area = QWidget(self)  # clips the headers below the ruler, section and chord rows
        self.area.setGeometry(0, TOP_H, HEADER_W, 100)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.area.setGeometry(0, TOP_H, HEADER_W, max(0, self.height() - TOP_H))

    def show_tracks(self, tracks: list[Track], selected: str | None, lane_h: int, scroll_y: int) -> None:
        while len(self.headers) < len(tracks):
            h = self._spares.pop() if self._spares else self._new_header()
            h.show()
            self.headers.append(h)
        while len(self.headers) > len(tracks):
            h = self.headers.pop()
            h.hide()
            self._spares.append(h)
        for h, t in zip(self.headers, tracks):
            h.show_track(t, t.id == selected)
        self.place(lane_h, scroll_y)

    def _new_header(self) -> TrackHeader:
        return TrackHeader(self.area, self._on_toggle, self._on_press)

    def keep_spares(self, count: int, after_ms: int = SPARE_EVERY_MS) -> None:
        """Make ``count`` hidden headers ahead of need, from ``after_ms`` on, one per timer turn while the window
        idles: a new song's headers are then shown, not made (~3 ms each, in the piece of work that shows a
        generated song)."""
        self._spare_count = count
        self._spare_timer.start(after_ms)

    def _make_spare(self) -> None:
        if len(self._spares) + len(self.headers) < self._spare_count:
            h = self._new_header()
            h.hide()
            self._spares.append(h)
            self._spare_timer.start(SPARE_EVERY_MS)

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
