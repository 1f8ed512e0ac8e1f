"""The piano roll's painted part: the note grid (the scroll area's viewport), the bar ruler with the chord lane
above it, the keyboard (or GM drum names) on its left and the velocity lane under it, and the mouse and
keyboard input that edits notes.

The canvas shows one clip: the notes of one track that start in one section (``show_clip``). It keeps a
sorted copy of them (``notes``, with their start ticks for ``bisect``) and the selection; it never changes the
song itself: a finished gesture calls ``on_edit(removed, added, label)`` once (the dock makes it one
``session.edit_notes`` change), and while a drag goes on only the canvas's preview moves. Painting visits only
the notes in view (bisect on the start ticks, minus the longest note) and draws the static grid from a pixmap
kept while zoom, scroll and size stay the same.

Units: ticks (song.ppq per quarter note); x in pixels from the viewport's left; rows top to bottom.
"""
from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QKeySequence,
    QPainter,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

from ..song import Note, Song
from ..song.model import PITCH_NAMES_SHARP
from . import roll_edits as ed
from .drum_names import drum_name, drum_rows
from .theme import Theme, role_color
from .timescale import chord_symbol, label_step

RULER_H, CHORD_H, VEL_H = 20, 20, 76
TOP_H = RULER_H + CHORD_H
KEYS_W, DRUM_KEYS_W = 58, 138
EDGE_PX = 5  # how near a note's right end a press resizes it
BLACK = {1, 3, 6, 8, 10}
MIN_PPQ, MAX_PPQ = 4.0, 480.0  # horizontal zoom: pixels per quarter note
MIN_ROW, MAX_ROW = 6, 36  # vertical zoom: pixels per row


def note_name(pitch: int) -> str:
    """'C4' for MIDI 60 (middle C), 'F#2' for 42."""
    return f"{PITCH_NAMES_SHARP[pitch % 12]}{pitch // 12 - 1}"


@dataclass
class Drag:
    kind: str  # 'move', 'resize', 'draw', 'velocity', 'rubber'
    x: float
    y: float
    tick: float
    row: int
    origin: list[Note] = field(default_factory=list)
    anchor: Note | None = None
    preview: list[Note] = field(default_factory=list)
    copy: bool = False
    moved: bool = False
    mods: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier


class _Strip(QWidget):
    """A painted strip around the grid (ruler, keys, velocity); it paints and handles input through the canvas."""

    def __init__(self, canvas: PianoRollCanvas, name: str, paint: Callable, tip: str):
        super().__init__(canvas)
        self.canvas, self._paint = canvas, paint
        self.setObjectName(name)
        self.setToolTip(tip)
        self.setMouseTracking(True)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        self._paint(p, self.width(), self.height())
        p.end()

    def wheelEvent(self, event) -> None:
        self.canvas.wheelEvent(event)


class _VelocityLane(_Strip):
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.canvas.velocity_press(event.position().x() - self.canvas.keys_w, event.position().y())

    def mouseMoveEvent(self, event) -> None:
        self.canvas.velocity_move(event.position().y())

    def mouseReleaseEvent(self, event) -> None:
        self.canvas.finish_drag()


class PianoRollCanvas(QAbstractScrollArea):
    """See the module docstring. ``on_edit(removed, added, label)`` applies an edit; ``on_audition(note)``
    plays a note; ``on_message(text)`` tells the user why nothing happened."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("pianoRollCanvas")
        self.song: Song | None = None
        self.track_id: str | None = None
        self.section_id: str | None = None
        self.a = self.b = 0  # the section's ticks [a, b)
        self.is_drum = False
        self.rows: list[int] = list(range(127, -1, -1))  # pitch of each row, top to bottom
        self._row_of: dict[int, int] = {}
        self.notes: list[Note] = []  # the clip's notes, sorted
        self._starts: list[int] = []
        self._max_dur = 0
        self.selected: set[Note] = set()
        self.px_per_quarter = 48.0
        self.row_h = 14
        self.snap = "1/16"
        self.tool = "draw"  # or 'select'
        self.quantise_lengths = False
        self.length = 0  # the current note length (ticks); 0 = one snap step
        self.drag: Drag | None = None
        self._mouse = QPointF()
        self._fit_pending = False
        self._rubber_base: set[Note] = set()
        self.on_edit: Callable[[list[Note], list[Note], str], None] = lambda r, a, label: None
        self.on_audition: Callable[[Note], None] = lambda n: None
        self.on_message: Callable[[str], None] = lambda text: None
        self._grid: tuple | None = None  # (key, pixmap)
        self._font = QFont(self.font())
        self._font.setPointSizeF(8)
        self._color = QColor("#e8a33d")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFrameShape(QAbstractScrollArea.Shape.NoFrame)
        self.viewport().setMouseTracking(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.ruler = _Strip(self, "pianoRollRuler", self._paint_ruler, "Bars of the section, and its chords")
        self.keys = _Strip(self, "pianoRollKeys", self._paint_keys, "Keys (C4 = middle C); drums: the GM kit pieces")
        self.velocity_lane = _VelocityLane(self, "velocityLane", self._paint_velocity,
                                           "Velocity of each note: drag a bar up or down (all selected notes "
                                           "when it is one of them)")
        self.setToolTip("Draw: click to add a note, drag to set its length · drag a note to move it (Alt: copy), "
                        "its right edge to resize · right click deletes · Ctrl+wheel / Shift+wheel zoom")
        self._layout_margins()

    # --- the clip ------------------------------------------------------------------------------------
    @property
    def keys_w(self) -> int:
        return DRUM_KEYS_W if self.is_drum else KEYS_W

    @property
    def k(self) -> float:
        """Pixels per tick."""
        return self.px_per_quarter / (self.song.ppq if self.song else 480)

    def track(self):
        return self.song.track(self.track_id) if self.song is not None and self.track_id else None

    def show_clip(self, song: Song | None, section_id: str | None, track_id: str | None, fit: bool = True) -> None:
        """Show the notes of ``track_id`` in ``section_id`` (None: nothing); ``fit`` zooms to the section."""
        new_clip = (section_id, track_id) != (self.section_id, self.track_id) or song is not self.song
        self.song, self.section_id, self.track_id = song, section_id, track_id
        if new_clip:
            self.selected.clear()
        self.reload()
        if fit and new_clip:
            self.fit()
            self._fit_pending = True  # again once the dock has its size

    def reload(self) -> None:
        """Read the clip's notes from the song again (after a change, undo or redo)."""
        tr = None
        try:
            tr = self.track()
            sec = self.song.section(self.section_id) if tr is not None else None
        except (KeyError, ValueError):
            sec = None
        if tr is None or sec is None:
            self.section_id = self.track_id = None
            self.notes, self._starts, self._max_dur, self.selected = [], [], 0, set()
            self.is_drum, self.rows = False, list(range(127, -1, -1))
        else:
            self.a, self.b = self.song.section_ticks(sec)
            self.is_drum = tr.is_drum
            self.notes = sorted(tr.notes_in(self.a, self.b))
            self._starts = [n.start_tick for n in self.notes]
            self._max_dur = max((n.duration_ticks for n in self.notes), default=0)
            self.rows = drum_rows({n.pitch for n in self.notes}) if self.is_drum else list(range(127, -1, -1))
            self._color = role_color(tr.role)
            have = set(self.notes)
            self.selected &= have
        self._row_of = {p: i for i, p in enumerate(self.rows)}
        self.drag = None
        self._grid = None
        self._layout_margins()
        self.update_ranges()
        self.repaint_all()

    def fit(self) -> None:
        """Whole section in view; the notes' pitches in the middle."""
        if self.song is None or self.section_id is None:
            return
        w = max(200, self.viewport().width())
        self.px_per_quarter = max(MIN_PPQ, min(MAX_PPQ, (w - 24) * self.song.ppq / max(1, self.b - self.a)))
        self.update_ranges()
        self.horizontalScrollBar().setValue(0)
        if self.notes:
            rows = [self._row_of.get(n.pitch, 0) for n in self.notes]
            mid = (min(rows) + max(rows)) / 2
        else:
            mid = self._row_of.get(60, len(self.rows) // 2)
        self.verticalScrollBar().setValue(int(mid * self.row_h - self.viewport().height() / 2))
        self.repaint_all()

    def _layout_margins(self) -> None:
        self.setViewportMargins(self.keys_w, TOP_H, 0, VEL_H)
        self._place_strips()

    def _place_strips(self) -> None:
        vp = self.viewport().geometry()
        self.ruler.setGeometry(0, vp.top() - TOP_H, vp.right() + 1, TOP_H)
        self.keys.setGeometry(0, vp.top(), self.keys_w, vp.height())
        self.velocity_lane.setGeometry(0, vp.bottom() + 1, vp.right() + 1, VEL_H)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_strips()
        self.update_ranges()
        if self._fit_pending:
            self._fit_pending = False
            self.fit()

    def update_ranges(self) -> None:
        vw, vh = self.viewport().width(), self.viewport().height()
        h = self.horizontalScrollBar()
        h.setRange(0, max(0, int((self.b - self.a) * self.k + 24 - vw)) if self.song else 0)
        h.setPageStep(max(1, vw))
        h.setSingleStep(24)
        v = self.verticalScrollBar()
        v.setRange(0, max(0, len(self.rows) * self.row_h - vh))
        v.setPageStep(max(1, vh))
        v.setSingleStep(self.row_h)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self.repaint_all()

    def repaint_all(self) -> None:
        self.viewport().update()
        self.ruler.update()
        self.keys.update()
        self.velocity_lane.update()

    # --- geometry ------------------------------------------------------------------------------------
    def x_of(self, tick: float) -> float:
        return (tick - self.a) * self.k - self.horizontalScrollBar().value()

    def tick_at(self, x: float) -> float:
        return self.a + (x + self.horizontalScrollBar().value()) / self.k

    def y_of(self, row: int) -> float:
        return row * self.row_h - self.verticalScrollBar().value()

    def row_at(self, y: float) -> int:
        return int((y + self.verticalScrollBar().value()) // self.row_h)

    def note_rect(self, n: Note) -> QRectF:
        """Where ``n`` is drawn in the viewport (a hit's square for drums)."""
        y = self.y_of(self._row_of.get(n.pitch, 0))
        x = self.x_of(n.start_tick)
        if self.is_drum:
            s = max(6.0, self.row_h - 2.0)
            return QRectF(x - s / 2, y + (self.row_h - s) / 2, s, s)
        return QRectF(x, y + 1, max(3.0, n.duration_ticks * self.k - 1), self.row_h - 1)

    def point_of(self, tick: int, pitch: int) -> QPointF:
        """The viewport point in the middle of (tick, pitch)'s row, for tests and scripts."""
        return QPointF(self.x_of(tick), self.y_of(self._row_of[pitch]) + self.row_h / 2)

    def visible_range(self) -> tuple[int, int]:
        """Index range [i, j) of ``notes`` that may intersect the view horizontally (bisect on the starts)."""
        t0, t1 = self.tick_at(0), self.tick_at(self.viewport().width())
        return bisect.bisect_left(self._starts, t0 - self._max_dur), bisect.bisect_right(self._starts, t1)

    def note_at(self, pos: QPointF) -> tuple[Note | None, bool]:
        """(the note under ``pos``, whether ``pos`` is on its right edge: a resize)."""
        row = self.row_at(pos.y())
        if not 0 <= row < len(self.rows):
            return None, False
        pitch = self.rows[row]
        i, j = self.visible_range()
        for n in reversed(self.shown()[i:j] if self.drag else self.notes[i:j]):
            if n.pitch != pitch:
                continue
            r = self.note_rect(n)
            if r.left() - 1 <= pos.x() <= r.right() + 1:
                edge = not self.is_drum and r.width() > 2 * EDGE_PX and pos.x() >= r.right() - EDGE_PX
                return n, edge
        return None, False

    def shown(self) -> list[Note]:
        """The notes as drawn now: during a drag, the dragged notes at their preview places."""
        d = self.drag
        if d is None or d.kind == "rubber" or not d.preview:
            return self.notes
        gone = set() if d.copy or d.kind == "draw" else set(d.origin)
        return sorted([n for n in self.notes if n not in gone] + d.preview)

    # --- painting ------------------------------------------------------------------------------------
    def _grid_pixmap(self, w: int, h: int) -> QPixmap:
        dpr = self.devicePixelRatioF()
        key = (w, h, dpr, self.px_per_quarter, self.row_h, self.horizontalScrollBar().value(),
               self.verticalScrollBar().value(), self.snap, tuple(self.rows) if self.is_drum else None, Theme.name,
               self.a, self.b, id(self.song.meter_map) if self.song else 0)
        if self._grid is not None and self._grid[0] == key:
            return self._grid[1]
        pm = QPixmap(int(w * dpr), int(h * dpr))
        pm.setDevicePixelRatio(dpr)
        pm.fill(Theme.color("lane"))
        p = QPainter(pm)
        r0, r1 = max(0, self.row_at(0)), min(len(self.rows), self.row_at(h) + 1)
        dark = Theme.color("lane_alt").darker(108 if Theme.name == "dark" else 104)
        line = Theme.color("grid_beat")
        for r in range(r0, r1):
            y = self.y_of(r)
            black = (self.rows[r] % 12 in BLACK) if not self.is_drum else r % 2 == 1
            if black:
                p.fillRect(QRectF(0, y, w, self.row_h), dark)
            if (not self.is_drum and self.rows[r] % 12 == 0) or self.is_drum:
                p.fillRect(QRectF(0, y + self.row_h - 1, w, 1), Theme.color("grid_bar") if not self.is_drum else line)
        if self.song is not None:
            self._grid_lines(p, h)
        p.end()
        self._grid = (key, pm)
        return pm

    def _bars_in_view(self, w: float):
        """(bar, tick) of each bar line of the section from just left of the view to its right edge."""
        song = self.song
        t0, t1 = max(self.a, self.tick_at(0)), min(self.b, self.tick_at(w))
        bar = song.meter_map.tick_to_bar(int(t0))[0]
        while True:
            tick = song.bar_to_tick(bar)
            if tick > t1 or tick > self.b:
                return
            yield bar, tick
            bar += 1

    def _grid_lines(self, p: QPainter, h: int) -> None:
        song, w = self.song, self.viewport().width()
        px_bar = song.bar_to_tick(1) * self.k
        step = label_step(px_bar, 12)
        pens = (QPen(Theme.color("grid_bar"), 1), QPen(Theme.color("line"), 1), QPen(Theme.color("grid_beat"), 1))
        for bar, tick in self._bars_in_view(w):
            if bar % step:
                continue
            end = song.bar_to_tick(bar + 1)
            bt = ed.snap_step(song, "beat", bar)
            sub = ed.snap_step(song, self.snap, bar) if self.snap not in ("bar", "beat", "off") else bt
            if step == 1 and sub * self.k >= 6:
                p.setPen(pens[2])
                t = tick + sub
                while t < end:
                    if (t - tick) % bt:
                        x = round(self.x_of(t)) + 0.5
                        p.drawLine(QPointF(x, 0), QPointF(x, h))
                    t += sub
            if step == 1 and bt * self.k >= 5:
                p.setPen(pens[1])
                for t in range(tick + bt, end, bt):
                    x = round(self.x_of(t)) + 0.5
                    p.drawLine(QPointF(x, 0), QPointF(x, h))
            p.setPen(pens[0])
            x = round(self.x_of(tick)) + 0.5
            p.drawLine(QPointF(x, 0), QPointF(x, h))
        xe = self.x_of(self.b)
        if xe < w:  # after the section: shaded
            p.fillRect(QRectF(xe, 0, w - xe, h), QColor(0, 0, 0, 70))

    def paintEvent(self, event) -> None:
        vp = self.viewport()
        w, h = vp.width(), vp.height()
        p = QPainter(vp)
        if self.song is None or self.section_id is None:
            p.fillRect(QRect(0, 0, w, h), Theme.color("lane"))
            p.setPen(Theme.color("text_dim"))
            p.drawText(QRect(0, 0, w, h), Qt.AlignmentFlag.AlignCenter,
                       "Double-click a clip on the timeline to edit its notes")
            p.end()
            return
        p.drawPixmap(0, 0, self._grid_pixmap(w, h))
        notes = self.shown()
        if notes is self.notes:
            i, j = self.visible_range()
        else:
            longest = max([self._max_dur] + [n.duration_ticks for n in self.drag.preview])
            starts = [n.start_tick for n in notes]
            i = bisect.bisect_left(starts, self.tick_at(0) - longest)
            j = bisect.bisect_right(starts, self.tick_at(w))
        self._paint_notes(p, notes[i:j], w, h)
        d = self.drag
        if d is not None and d.kind == "rubber" and d.moved:
            r = QRectF(QPointF(d.x, d.y), self._mouse).normalized()
            fill = QColor(Theme.color("accent"))
            fill.setAlphaF(0.15)
            p.setPen(QPen(Theme.color("accent"), 1))
            p.setBrush(fill)
            p.drawRect(r)
        p.end()

    def _fills(self) -> list[QColor]:
        """Note colours by velocity (4 steps, softer = paler) and the selection's."""
        base = QColor(self._color)
        out = []
        for f in (0.45, 0.65, 0.85, 1.0):
            c = QColor.fromHsvF(base.hsvHueF(), max(0.0, base.hsvSaturationF() * (0.35 + 0.65 * f)),
                                min(1.0, base.valueF() * (0.55 + 0.45 * f)))
            out.append(c)
        return out

    def _paint_notes(self, p: QPainter, notes: list[Note], w: int, h: int) -> None:
        rh = self.row_h
        r0, r1 = self.row_at(0) - 1, self.row_at(h) + 1
        row_of, k, hv, vv, a = self._row_of, self.k, self.horizontalScrollBar().value(), self.verticalScrollBar().value(), self.a
        fills = self._fills()
        buckets: list[list] = [[], [], [], []]
        chosen: list = []
        sel = self.selected if not (self.drag and self.drag.kind in ("move", "resize", "draw", "velocity")) else set(
            self.drag.preview)
        labels = []
        drum = self.is_drum
        s = max(6.0, rh - 2.0)
        for n in notes:
            r = row_of.get(n.pitch)
            if r is None or r < r0 or r > r1:
                continue
            x = (n.start_tick - a) * k - hv
            if x > w:
                continue
            y = r * rh - vv
            if drum:
                rect = QRectF(x - s / 2, y + (rh - s) / 2, s, s)
            else:
                nw = max(3.0, n.duration_ticks * k - 1)
                if x + nw < 0:
                    continue
                rect = QRectF(x, y + 1, nw, rh - 1)
                if nw >= 26 and rh >= 11:
                    labels.append((rect, n.pitch))
            (chosen if n in sel else buckets[min(3, (n.velocity - 1) // 32)]).append(rect)
        edge = QPen(QColor(0, 0, 0, 150), 1)
        for rects, color in [*zip(buckets, fills), (chosen, None)]:
            if not rects:
                continue
            if color is None:
                color = QColor("#ffffff") if Theme.name == "dark" else QColor("#1d2026")
                p.setPen(QPen(Theme.color("accent"), 1.5))
            else:
                p.setPen(edge)
            p.setBrush(color)
            if drum:
                for r in rects:
                    c = r.center()
                    hs = r.width() / 2
                    p.drawPolygon(QPolygonF([QPointF(c.x(), c.y() - hs), QPointF(c.x() + hs, c.y()),
                                             QPointF(c.x(), c.y() + hs), QPointF(c.x() - hs, c.y())]))
            else:
                p.drawRects(rects)
        if labels and len(labels) < 400:
            p.setFont(self._font)
            p.setPen(QColor(0, 0, 0, 190))
            for rect, pitch in labels:
                p.drawText(rect.adjusted(3, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                           note_name(pitch))

    def _paint_ruler(self, p: QPainter, w: int, h: int) -> None:
        kw = self.keys_w
        p.fillRect(QRect(0, 0, w, RULER_H), Theme.color("ruler"))
        p.fillRect(QRect(0, RULER_H, w, CHORD_H), Theme.color("panel_alt"))
        p.setFont(self._font)
        p.setPen(Theme.color("text_dim"))
        p.drawText(QRectF(6, 0, kw - 8, RULER_H), Qt.AlignmentFlag.AlignVCenter, "Bar")
        p.drawText(QRectF(6, RULER_H, kw - 8, CHORD_H), Qt.AlignmentFlag.AlignVCenter, "Chords")
        if self.song is None or self.section_id is None:
            return
        song = self.song
        p.setClipRect(QRect(kw, 0, w - kw, h))
        step = label_step(song.bar_to_tick(1) * self.k, 30)
        for bar, tick in self._bars_in_view(w - kw):
            x = kw + round(self.x_of(tick)) + 0.5
            if bar % step == 0:
                p.setPen(Theme.color("text_dim"))
                p.drawLine(QPointF(x, 6), QPointF(x, RULER_H))
                p.setPen(Theme.color("text"))
                p.drawText(QRectF(x + 4, 0, 60, RULER_H), Qt.AlignmentFlag.AlignVCenter, str(bar + 1))
            bt = ed.snap_step(song, "beat", bar)
            if step == 1 and bt * self.k >= 12:
                p.setPen(Theme.color("text_faint"))
                for t in range(tick + bt, song.bar_to_tick(bar + 1), bt):
                    xb = kw + round(self.x_of(t)) + 0.5
                    p.drawLine(QPointF(xb, RULER_H - 5), QPointF(xb, RULER_H))
        fm = QFontMetrics(self._font)
        for c in song.chords:
            end = c.start_tick + c.duration_ticks
            if end <= self.a or c.start_tick >= self.b:
                continue
            x0 = kw + self.x_of(max(self.a, c.start_tick))
            x1 = kw + self.x_of(min(self.b, end))
            if x1 < kw or x0 > w:
                continue
            p.setPen(QPen(Theme.color("line"), 1))
            p.drawLine(QPointF(round(x0) + 0.5, RULER_H + 3), QPointF(round(x0) + 0.5, TOP_H - 3))
            text = chord_symbol(c, song.key_at(c.start_tick).tonic, song.key_at(c.start_tick).mode)
            if fm.horizontalAdvance(text) <= x1 - x0 - 6:
                p.setPen(Theme.color("text"))
                p.drawText(QRectF(max(x0, kw) + 4, RULER_H, x1 - max(x0, kw) - 6, CHORD_H),
                           Qt.AlignmentFlag.AlignVCenter, text)
        p.setClipping(False)
        p.setPen(QPen(Theme.color("border"), 1))
        p.drawLine(QPointF(0, h - 0.5), QPointF(w, h - 0.5))
        p.drawLine(QPointF(kw - 0.5, 0), QPointF(kw - 0.5, h))

    def row_label(self, row: int) -> str:
        """What the keys strip writes on ``row``: the GM kit piece for drums, else the note name ('C4')."""
        pitch = self.rows[row]
        return drum_name(pitch) if self.is_drum else note_name(pitch)

    def _paint_keys(self, p: QPainter, w: int, h: int) -> None:
        rh = self.row_h
        p.fillRect(QRect(0, 0, w, h), Theme.color("panel"))
        r0, r1 = max(0, self.row_at(0)), min(len(self.rows), self.row_at(h) + 1)
        p.setFont(self._font)
        used = {n.pitch for n in self.notes}
        white, black = QColor("#e9ebef"), QColor("#23252b")
        for r in range(r0, r1):
            pitch, y = self.rows[r], self.y_of(r)
            if self.is_drum:
                if r % 2:
                    p.fillRect(QRectF(0, y, w, rh), Theme.color("panel_alt"))
                p.setPen(Theme.color("text") if pitch in used else Theme.color("text_faint"))
                if rh >= 9:
                    p.drawText(QRectF(6, y, w - 10, rh), Qt.AlignmentFlag.AlignVCenter, self.row_label(r))
                p.fillRect(QRectF(0, y + rh - 1, w, 1), Theme.color("line"))
                continue
            is_black = pitch % 12 in BLACK
            p.fillRect(QRectF(0, y, w, rh), black if is_black else white)
            if is_black:
                p.fillRect(QRectF(w * 0.62, y, w * 0.38, rh), white)
                p.fillRect(QRectF(w * 0.62, y + rh / 2 - 0.5, w * 0.38, 1), QColor("#b0b5bf"))
            if pitch % 12 in (0, 5):
                p.fillRect(QRectF(0, y + rh - 1, w, 1), QColor("#9aa0ab"))
            if pitch % 12 == 0 or rh >= 16:
                p.setPen(QColor("#101114") if not is_black else QColor("#e9ebef"))
                if rh >= 8:
                    p.drawText(QRectF(4, y, w * 0.6, rh), Qt.AlignmentFlag.AlignVCenter, self.row_label(r))
        p.setPen(QPen(Theme.color("border"), 1))
        p.drawLine(QPointF(w - 0.5, 0), QPointF(w - 0.5, h))

    def velocity_of_y(self, y: float) -> int:
        """The velocity a press at ``y`` in the velocity lane sets (top = 127, bottom = 1)."""
        span = VEL_H - 10
        return max(1, min(127, round((VEL_H - 4 - y) / span * 127)))

    def _paint_velocity(self, p: QPainter, w: int, h: int) -> None:
        kw = self.keys_w
        p.fillRect(QRect(0, 0, w, h), Theme.color("lane_alt"))
        p.fillRect(QRect(0, 0, kw, h), Theme.color("panel"))
        p.setPen(QPen(Theme.color("border"), 1))
        p.drawLine(QPointF(0, 0.5), QPointF(w, 0.5))
        p.drawLine(QPointF(kw - 0.5, 0), QPointF(kw - 0.5, h))
        p.setFont(self._font)
        p.setPen(Theme.color("text_dim"))
        p.drawText(QRectF(6, 2, kw - 8, h - 4), Qt.AlignmentFlag.AlignTop, "Velocity")
        if self.song is None or self.section_id is None:
            return
        p.setClipRect(QRect(kw, 0, w - kw, h))
        p.setPen(QPen(Theme.color("grid_beat"), 1, Qt.PenStyle.DashLine))
        for v in (32, 64, 96):
            y = VEL_H - 4 - v / 127 * (VEL_H - 10)
            p.drawLine(QPointF(kw, y), QPointF(w, y))
        notes = self.shown()
        if notes is self.notes:
            i, j = self.visible_range()
            notes = notes[i:j]
        sel = set(self.drag.preview) if self.drag and self.drag.kind != "rubber" and self.drag.preview else self.selected
        plain, chosen = [], []
        vw = w - kw
        for n in notes:
            x = self.x_of(n.start_tick)
            if x < -4 or x > vw:
                continue
            top = VEL_H - 4 - n.velocity / 127 * (VEL_H - 10)
            (chosen if n in sel else plain).append(QRectF(kw + x - 1, top, 3, VEL_H - 4 - top))
        for rects, color in ((plain, self._color), (chosen, Theme.color("accent"))):
            if rects:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(color)
                p.drawRects(rects)
                p.drawRects([QRectF(r.x() - 2, r.y() - 1, 7, 3) for r in rects])

    # --- snapping ------------------------------------------------------------------------------------
    def step(self, tick: float) -> int:
        return ed.step_at(self.song, self.snap, tick)

    def new_length(self, start: int) -> int:
        if self.is_drum:
            return max(1, self.song.ppq // 4)
        if self.length:
            return self.length
        return self.step(start) if self.snap not in ("bar", "off") else (
            self.song.ppq if self.snap == "bar" else self.song.ppq // 4)

    # --- mouse ---------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if self.song is None or self.section_id is None:
            return
        pos, mods = event.position(), event.modifiers()
        self._mouse = pos
        self.setFocus()
        hit, edge = self.note_at(pos)
        if event.button() == Qt.MouseButton.RightButton:
            if hit is not None:
                self.selected.discard(hit)
                self._commit([hit], [], "Delete note")
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        row = self.row_at(pos.y())
        tick = self.tick_at(pos.x())
        extend = bool(mods & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier))
        if hit is not None:
            if extend and hit in self.selected:
                self.selected.discard(hit)
                self.repaint_all()
                return
            if extend:
                self.selected.add(hit)
            elif hit not in self.selected:
                self.selected = {hit}
            self.on_audition(hit)
            kind = "resize" if edge else "move"
            copy = bool(mods & Qt.KeyboardModifier.AltModifier)
            self.drag = Drag(kind, pos.x(), pos.y(), tick, row, sorted(self.selected), hit, [], copy, False, mods)
            self.repaint_all()
            return
        if self.tool == "draw" and not extend and 0 <= row < len(self.rows):
            start = max(self.a, ed.snap_floor(self.song, self.snap, tick))
            if start >= self.b:
                return
            n = Note(start, self.rows[row], min(self.new_length(start), self.b - start), 100)
            self.on_audition(n)
            self.drag = Drag("draw", pos.x(), pos.y(), tick, row, [], n, [n], False, False, mods)
            self.repaint_all()
            return
        if not extend:
            self.selected = set()
        self.drag = Drag("rubber", pos.x(), pos.y(), tick, row, [], None, [], False, False, mods)
        self._rubber_base = set(self.selected)
        self.repaint_all()

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        self._mouse = pos
        d = self.drag
        if d is None:
            hit, edge = self.note_at(pos)
            shape = (Qt.CursorShape.SizeHorCursor if edge else Qt.CursorShape.SizeAllCursor if hit is not None
                     else Qt.CursorShape.CrossCursor if self.tool == "draw" else Qt.CursorShape.ArrowCursor)
            self.viewport().setCursor(shape)
            return
        if not d.moved and abs(pos.x() - d.x) + abs(pos.y() - d.y) < 3:
            return
        d.moved = True
        song, tick, row = self.song, self.tick_at(pos.x()), self.row_at(pos.y())
        if d.kind == "move":
            dt = self._snapped_delta(d.anchor.start_tick, tick - d.tick)
            if self.is_drum:
                d.preview = ed.moved(d.origin, dt, -(row - d.row), self.a, self.b, rows=self.rows)
            else:
                d.preview = ed.moved(d.origin, dt, -(row - d.row), self.a, self.b)
        elif d.kind == "resize":
            end = ed.snap_round(song, self.snap, tick) if self.snap != "off" else int(tick)
            dlen = end - d.anchor.end_tick
            d.preview = ed.resized(d.origin, dlen, self.step(d.anchor.start_tick), self.b)
        elif d.kind == "draw":
            n = d.anchor
            if not self.is_drum:
                end = ed.snap_round(song, self.snap, tick) if self.snap != "off" else int(tick)
                dur = max(self.step(n.start_tick), end - n.start_tick)
                d.preview = [Note(n.start_tick, n.pitch, max(1, min(dur, self.b - n.start_tick)), n.velocity)]
        elif d.kind == "rubber":
            self._rubber_select(QRectF(QPointF(d.x, d.y), pos).normalized(), d.mods)
        self.repaint_all()

    def _snapped_delta(self, start: int, raw: float) -> int:
        """A move of ``raw`` ticks for a note at ``start``, so that it lands on the grid (kept as is: 'off')."""
        if self.snap == "off":
            return round(raw)
        return ed.snap_round(self.song, self.snap, start + raw) - start

    def _rubber_select(self, rect: QRectF, mods) -> None:
        t0, t1 = self.tick_at(rect.left()), self.tick_at(rect.right())
        hits = set()
        i = bisect.bisect_left(self._starts, t0 - self._max_dur)
        j = bisect.bisect_right(self._starts, t1)
        for n in self.notes[i:j]:
            if self.note_rect(n).intersects(rect):
                hits.add(n)
        base = self._rubber_base
        if mods & Qt.KeyboardModifier.ControlModifier:
            self.selected = base ^ hits
        else:
            self.selected = base | hits

    def mouseReleaseEvent(self, event) -> None:
        self.finish_drag()

    def finish_drag(self) -> None:
        """End the drag in progress: its edit becomes one change (nothing when nothing moved)."""
        d, self.drag = self.drag, None
        if d is None:
            return
        if d.kind == "draw":
            n = d.preview[0]
            if d.moved:
                self.length = n.duration_ticks
            self.selected = {n}
            self._commit([], [n], "Add note")
        elif d.kind == "rubber":
            pass
        elif d.kind in ("move", "resize") and not d.moved:
            if not (d.mods & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier)):
                self.selected = {d.anchor}
                if not self.is_drum:
                    self.length = d.anchor.duration_ticks
        elif d.kind in ("move", "resize", "velocity") and d.preview and d.preview != d.origin:
            many = len(d.origin) > 1
            label = {"move": "Copy notes" if d.copy else "Move notes", "resize": "Resize notes",
                     "velocity": "Change velocity"}[d.kind]
            if not many:
                label = label.replace("notes", "note")
            if d.kind == "resize" and not many:
                self.length = d.preview[0].duration_ticks
            self.selected = set(d.preview) | (set(d.origin) if d.copy else set())
            self._commit([] if d.copy else d.origin, d.preview, label)
        self.repaint_all()

    def velocity_press(self, x: float, y: float) -> None:
        """A press in the velocity lane at (``x`` in grid pixels, ``y``): the nearest note's bar (and the other
        selected notes with it when it is selected) takes the velocity of ``y``."""
        if self.song is None or self.section_id is None:
            return
        i, j = self.visible_range()
        best, dist = None, (9.0, True)
        for n in self.notes[i:j]:  # the nearest bar; of bars at one place (a chord) a selected one
            key = (abs(self.x_of(n.start_tick) - x), n not in self.selected)
            if key < dist:
                best, dist = n, key
        if best is None:
            return
        targets = sorted(self.selected) if best in self.selected else [best]
        if best not in self.selected:
            self.selected = {best}
        v = self.velocity_of_y(y)
        self.drag = Drag("velocity", x, y, 0, 0, targets, best, ed.with_velocity(targets, v), moved=True)
        self.repaint_all()

    def velocity_move(self, y: float) -> None:
        d = self.drag
        if d is not None and d.kind == "velocity":
            d.preview = ed.with_velocity(d.origin, self.velocity_of_y(y))
            self.repaint_all()

    def _commit(self, remove: list[Note], add: list[Note], label: str) -> None:
        if sorted(remove) == sorted(add):
            return
        self.on_edit(list(remove), list(add), label)

    # --- keyboard ------------------------------------------------------------------------------------
    _KEYS = frozenset({Qt.Key.Key_Delete, Qt.Key.Key_Backspace, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Q})

    def event(self, event) -> bool:
        """Keys the roll handles win over the window's shortcuts while it has the focus (Ctrl+D duplicates the
        notes here, not the section)."""
        if event.type() == QEvent.Type.ShortcutOverride and self._handles(event):
            event.accept()
            return True
        return super().event(event)

    def _handles(self, event) -> bool:
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ctrl = Qt.KeyboardModifier.ControlModifier
        if event.key() in (Qt.Key.Key_A, Qt.Key.Key_D) and mods == ctrl:
            return True
        return event.key() in self._KEYS and mods in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier)

    def keyPressEvent(self, event) -> None:
        if self.song is None or self.section_id is None or not self._handles(event):
            return super().keyPressEvent(event)
        key, shift = event.key(), bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if event.matches(QKeySequence.StandardKey.SelectAll) or (key == Qt.Key.Key_A and not shift):
            self.select_all()
        elif key == Qt.Key.Key_D:
            self.duplicate()
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected()
        elif key == Qt.Key.Key_Q:
            self.quantise()
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.transpose((1 if key == Qt.Key.Key_Up else -1) * (12 if shift and not self.is_drum else 1))

    def select_all(self) -> None:
        self.selected = set(self.notes)
        self.repaint_all()

    def delete_selected(self) -> None:
        gone = sorted(self.selected)
        if not gone:
            self.on_message("Select notes to delete first")
            return
        self.selected = set()
        self._commit(gone, [], "Delete notes" if len(gone) > 1 else "Delete note")

    def quantise(self) -> None:
        """The selected notes (all when none is selected) onto the snap grid: starts, and lengths when
        ``quantise_lengths``."""
        notes = sorted(self.selected) or list(self.notes)
        if self.snap == "off":
            self.on_message("Choose a snap value to quantise to")
            return
        new = ed.quantised(self.song, self.snap, notes, self.quantise_lengths and not self.is_drum, self.a, self.b)
        changed = [(o, n) for o, n in zip(notes, new) if o != n]
        if not changed:
            self.on_message("The notes are on the grid already")
            return
        if self.selected:
            self.selected = (self.selected - {o for o, _ in changed}) | {n for _, n in changed}
        self._commit([o for o, _ in changed], [n for _, n in changed], "Quantise notes")

    def transpose(self, semitones: int) -> None:
        """Selected notes up or down (drums: to the next kit row)."""
        notes = sorted(self.selected)
        if not notes:
            self.on_message("Select notes to transpose first")
            return
        new = ed.moved(notes, 0, semitones, rows=self.rows if self.is_drum else None)
        if new == notes:
            self.on_message("The notes cannot go further")
            return
        self.selected = set(new)
        what = "octave" if abs(semitones) == 12 else "semitone"
        self._commit(notes, new, f"Transpose {'up' if semitones > 0 else 'down'} a{'n' if what == 'octave' else ''} {what}")

    def duplicate(self) -> None:
        notes = sorted(self.selected)
        if not notes:
            self.on_message("Select notes to duplicate first")
            return
        new = ed.duplicated(self.song, self.snap if self.snap != "off" else "1/16", notes, self.b)
        if not new:
            self.on_message("No room after the selection in this section")
            return
        self.selected = set(new)
        self._commit([], new, "Duplicate notes")

    # --- zoom and scroll ------------------------------------------------------------------------------
    def zoom_h(self, factor: float, anchor_x: float | None = None) -> None:
        anchor_x = self.viewport().width() / 2 if anchor_x is None else anchor_x
        tick = self.tick_at(anchor_x)
        self.px_per_quarter = max(MIN_PPQ, min(MAX_PPQ, self.px_per_quarter * factor))
        self.update_ranges()
        self.horizontalScrollBar().setValue(int((tick - self.a) * self.k - anchor_x))
        self.repaint_all()

    def zoom_v(self, factor: float, anchor_y: float | None = None) -> None:
        anchor_y = self.viewport().height() / 2 if anchor_y is None else anchor_y
        row = (anchor_y + self.verticalScrollBar().value()) / self.row_h
        new = round(self.row_h * factor)
        if new == self.row_h and factor != 1:
            new += 1 if factor > 1 else -1
        self.row_h = max(MIN_ROW, min(MAX_ROW, new))
        self.update_ranges()
        self.verticalScrollBar().setValue(int(row * self.row_h - anchor_y))
        self.repaint_all()

    def wheelEvent(self, event) -> None:
        mods = event.modifiers()
        dy = event.angleDelta().y() or event.angleDelta().x()
        pos = self.viewport().mapFromGlobal(event.globalPosition().toPoint())
        if mods & Qt.KeyboardModifier.ControlModifier:
            self.zoom_h(1.15 ** (dy / 120), pos.x())
        elif mods & Qt.KeyboardModifier.ShiftModifier:
            self.zoom_v(1.12 ** (dy / 120), pos.y())
        elif mods & Qt.KeyboardModifier.AltModifier:
            h = self.horizontalScrollBar()
            h.setValue(h.value() - dy)
        else:
            super().wheelEvent(event)
