"""The piano roll's note grid: one clip (the notes of one track that start in one section) on a scroll area whose
viewport is the grid, with the strips around it (``piano_roll_strips``: bar ruler and chord lane, keys or GM drum
names, velocity lane) and the input of ``piano_roll_input``.

The canvas never changes the song itself: it keeps a sorted copy of the clip's notes (``notes``) with numpy
arrays of their starts, lengths, rows and velocities; a finished gesture calls ``on_edit(removed, added, label)``
once (the dock makes it one ``session.edit_notes`` change). Painting visits only the notes in view (a binary
search on the start ticks, less the longest note) with vectorised geometry, draws them in a few batched calls,
and draws the static grid from a pixmap kept while zoom, scroll and size stay the same.

Units: ticks (song.ppq per quarter note); x, y in viewport pixels; rows top to bottom.
"""
from __future__ import annotations

import bisect
import math
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap, QStaticText
from PySide6.QtWidgets import QAbstractScrollArea

from ..song import Note, Song
from ..song.model import PITCH_NAMES_SHARP
from . import roll_edits as ed
from .drum_names import drum_name, drum_rows
from .piano_roll_input import Drag, RollInput
from .piano_roll_strips import (
    BLACK,
    TOP_H,
    VEL_H,
    Strip,
    VelocityLane,
    paint_keys,
    paint_ruler,
    paint_velocity,
)
from .piano_roll_strips import velocity_of_y as _velocity_of_y
from .theme import Theme, role_color
from .timescale import label_step

KEYS_W, DRUM_KEYS_W = 58, 138
EDGE_PX = 5  # how near a note's right end a press resizes it
MIN_PPQ, MAX_PPQ = 4.0, 480.0  # horizontal zoom: pixels per quarter note
MIN_ROW, MAX_ROW = 6, 36  # vertical zoom: pixels per row
SQRT2 = math.sqrt(2.0)
DENSE_NOTES = 600  # more notes in view than this are drawn as one numpy image


def note_name(pitch: int) -> str:
    """'C4' for MIDI 60 (middle C), 'F#2' for 42."""
    return f"{PITCH_NAMES_SHARP[pitch % 12]}{pitch // 12 - 1}"


def _start(note: Note) -> int:
    return note.start_tick


def _rects(x: np.ndarray, y: np.ndarray, w, h) -> list[QRectF]:
    n = len(x)
    w = w.tolist() if isinstance(w, np.ndarray) else [float(w)] * n
    h = h.tolist() if isinstance(h, np.ndarray) else [float(h)] * n
    return list(map(QRectF, x.tolist(), y.tolist(), w, h))


class PianoRollCanvas(RollInput, QAbstractScrollArea):
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
        self._arrays([])
        self._selected: set[Note] = set()
        self._sel_mask: np.ndarray | None = None
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
        self.small_font = QFont(self.font())
        self.small_font.setPointSizeF(8)
        self._names: dict[str, QStaticText] = {}
        self.color = QColor("#e8a33d")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFrameShape(QAbstractScrollArea.Shape.NoFrame)
        self.viewport().setMouseTracking(True)
        self.viewport().setAutoFillBackground(False)  # the grid pixmap covers it
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.ruler = Strip(self, "pianoRollRuler", paint_ruler,
                           "Bars of the section (the song's numbers) and its chords")
        self.keys = Strip(self, "pianoRollKeys", paint_keys, "Keys (C4 = middle C); drums: the GM kit pieces")
        self.velocity_lane = VelocityLane(self, "velocityLane", paint_velocity,
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

    def _arrays(self, notes: list[Note]) -> None:
        """The notes (sorted by start) as arrays: what painting and hit tests use."""
        n = len(notes)
        table = np.array([(x.start_tick, x.duration_ticks, x.velocity, x.pitch) for x in notes], np.int64).reshape(n, 4)
        self.starts, self.durs, self.velocities, pitches = table.T.copy()
        self.start_list = self.starts.tolist()
        lut = np.zeros(128, np.int64)
        for pitch, row in getattr(self, "_row_of", {}).items():
            lut[pitch] = row
        self.row_idx = lut[pitches]
        self.max_dur = int(self.durs.max()) if n else 0
        self.used_pitches = set(np.unique(pitches).tolist())
        self._no_hide = np.zeros(n, bool)

    def index_of(self, note: Note) -> int | None:
        """Index of ``note`` in ``notes`` (None when the clip does not hold it)."""
        i = bisect.bisect_left(self.start_list, note.start_tick)
        while i < len(self.notes) and self.start_list[i] == note.start_tick:
            if self.notes[i] == note:
                return i
            i += 1
        return None

    def _mask(self, notes) -> np.ndarray:
        m = np.zeros(len(self.notes), bool)
        idx = [i for i in map(self.index_of, notes) if i is not None]
        m[idx] = True
        return m

    @property
    def selected(self) -> set[Note]:
        """The selected notes (assign a new set to change it)."""
        return self._selected

    @selected.setter
    def selected(self, notes) -> None:
        self._selected = set(notes)
        self._sel_mask = None
        self.repaint_all()

    def selected_mask(self) -> np.ndarray:
        if self._sel_mask is None or len(self._sel_mask) != len(self.notes):
            self._sel_mask = self._mask(self._selected)
        return self._sel_mask

    def hidden_mask(self) -> np.ndarray:
        """The notes a drag in progress replaces by its preview (moved, resized, new velocity)."""
        d = self.drag
        if d is None or d.copy or d.kind not in ("move", "resize", "velocity") or not d.preview:
            return self._no_hide
        if d.hide is None or len(d.hide) != len(self.notes):
            d.hide = self._mask(d.origin)
        return d.hide

    def velocity_of_y(self, y: float) -> int:
        """The velocity a press at ``y`` in the velocity lane sets (top = 127, bottom = 1)."""
        return _velocity_of_y(y)

    def row_label(self, row: int) -> str:
        """What the keys strip writes on ``row``: the GM kit piece for drums, else the note name ('C4')."""
        pitch = self.rows[row]
        return drum_name(pitch) if self.is_drum else note_name(pitch)

    def track(self):
        return self.song.track(self.track_id) if self.song is not None and self.track_id else None

    def show_clip(self, song: Song | None, section_id: str | None, track_id: str | None, fit: bool = True) -> None:
        """Show the notes of ``track_id`` in ``section_id`` (None: nothing); ``fit`` zooms to the section."""
        new_clip = (section_id, track_id) != (self.section_id, self.track_id) or song is not self.song
        self.song, self.section_id, self.track_id = song, section_id, track_id
        if new_clip:
            self.selected = set()
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
            self.notes, self.selected = [], set()
            self.is_drum, self.rows = False, list(range(127, -1, -1))
        else:
            self.a, self.b = self.song.section_ticks(sec)
            self.is_drum = tr.is_drum
            self.notes = tr.notes_in(self.a, self.b)  # the song keeps a track's notes sorted; make sure
            self.notes.sort(key=_start)
            self.rows = drum_rows({n.pitch for n in self.notes}) if self.is_drum else list(range(127, -1, -1))
            self.color = role_color(tr.role)
        self._row_of = {p: i for i, p in enumerate(self.rows)}
        self._arrays(self.notes)
        self.selected = {n for n in self._selected if self.index_of(n) is not None}
        self.drag = None
        if self.viewportMargins().left() != self.keys_w:  # drums have wider names than keys
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
            lo, hi = int(self.row_idx.min()), int(self.row_idx.max())
        else:
            lo = hi = self._row_of.get(60, len(self.rows) // 2)
        if self.is_drum:
            lo, hi = 0, len(self.rows) - 1
        vh = max(60, self.viewport().height())
        self.row_h = max(8, min(18, vh // (hi - lo + 3)))  # the clip's rows in view when they fit at 8 px
        self.update_ranges()
        mid = (lo + hi) / 2
        self.verticalScrollBar().setValue(int((mid + 0.5) * self.row_h - self.viewport().height() / 2))
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
        if not hasattr(self, "velocity_lane"):
            return
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
        return bisect.bisect_left(self.start_list, t0 - self.max_dur), bisect.bisect_right(self.start_list, t1)

    def note_at(self, pos: QPointF) -> tuple[Note | None, bool]:
        """(the note under ``pos``, whether ``pos`` is on its right edge: a resize)."""
        row = self.row_at(pos.y())
        if not 0 <= row < len(self.rows):
            return None, False
        pitch = self.rows[row]
        i, j = self.visible_range()
        for n in reversed(self.notes[i:j]):
            if n.pitch != pitch:
                continue
            r = self.note_rect(n)
            if r.left() - 1 <= pos.x() <= r.right() + 1:
                edge = not self.is_drum and r.width() > 2 * EDGE_PX and pos.x() >= r.right() - EDGE_PX
                return n, edge
        return None, False

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

    def bars_in_view(self, w: float):
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
        for bar, tick in self.bars_in_view(w):
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
        self._paint_notes(p, w, h)
        d = self.drag
        if d is not None and d.kind == "rubber" and d.moved:
            fill = QColor(Theme.color("accent"))
            fill.setAlphaF(0.15)
            p.setPen(QPen(Theme.color("accent"), 1))
            p.setBrush(fill)
            p.drawRect(QRectF(QPointF(d.x, d.y), self._mouse).normalized())
        p.end()

    def _fills(self) -> list[QColor]:
        """Note colours by velocity, four steps (softer = paler and darker)."""
        base = self.color
        return [QColor.fromHsvF(base.hsvHueF(), max(0.0, base.hsvSaturationF() * (0.35 + 0.65 * f)),
                                min(1.0, base.valueF() * (0.55 + 0.45 * f))) for f in (0.45, 0.65, 0.85, 1.0)]

    def _paint_notes(self, p: QPainter, w: int, h: int) -> None:
        """The notes in view in five batched calls (four velocity colours and the selection), then a drag's
        preview; note names inside notes wide enough for them."""
        rh, k, a = self.row_h, self.k, self.a
        hv, vv = self.horizontalScrollBar().value(), self.verticalScrollBar().value()
        r0, r1 = self.row_at(0) - 1, self.row_at(h) + 1
        i, j = self.visible_range()
        rows = self.row_idx[i:j]
        x = (self.starts[i:j] - a) * k - hv
        keep = (rows >= r0) & (rows <= r1) & (x <= w) & ~self.hidden_mask()[i:j]
        widths = np.maximum(3.0, self.durs[i:j] * k - 1)
        if not self.is_drum:
            keep &= x + widths >= 0
        chosen = keep & self.selected_mask()[i:j]
        bucket = np.minimum(3, (self.velocities[i:j] - 1) // 32)
        y = rows * rh - vv
        preview = self.drag.preview if self.drag is not None and self.drag.kind != "rubber" else []
        px = np.array([(n.start_tick - a) * k - hv for n in preview], float)
        py = np.array([self._row_of.get(n.pitch, 0) * rh - vv for n in preview], float)
        pw = np.array([max(3.0, n.duration_ticks * k - 1) for n in preview], float)
        edge, sel_edge = QColor(0, 0, 0, 150), Theme.color("accent")
        sel_fill = QColor("#ffffff") if Theme.name == "dark" else QColor("#1d2026")
        groups = [(keep & ~chosen & (bucket == q), fill, edge) for q, fill in enumerate(self._fills())]
        if not self.is_drum and int(keep.sum()) > DENSE_NOTES:  # zoomed out on a busy clip: one image
            self._raster(p, w, h, x, widths, rows, [(m, fill) for m, fill, _ in groups] + [(chosen, sel_fill)])
            none = np.zeros_like(keep)
            groups, chosen = [(none, fill, e) for _, fill, e in groups], none
        p.setPen(Qt.PenStyle.NoPen)
        for m, fill, border in groups + [(chosen, sel_fill, sel_edge)]:
            xs, ys, ws = x[m], y[m], widths[m]
            if border is sel_edge and len(px):
                xs, ys, ws = np.concatenate([xs, px]), np.concatenate([ys, py]), np.concatenate([ws, pw])
            if not len(xs):
                continue
            if self.is_drum:
                p.setBrush(border)
                self._diamonds(p, xs, ys + rh / 2, max(6.0, rh - 2.0))
                p.setBrush(fill)
                self._diamonds(p, xs, ys + rh / 2, max(6.0, rh - 2.0) - 3)
            else:  # a border and a body as two batched fills (cheaper than stroking every outline)
                p.setBrush(border)
                p.drawRects(_rects(xs, ys + 1, ws, float(rh - 1)))
                p.setBrush(fill)
                inset = 2.0 if border is sel_edge else 1.0
                p.drawRects(_rects(xs + inset, ys + 1 + inset, np.maximum(1.0, ws - 2 * inset),
                                   float(max(1.0, rh - 1 - 2 * inset))))
        if self.is_drum or rh < 11:
            return
        m = keep & (widths >= 26)
        if 0 < int(m.sum()) <= 300:
            p.setFont(self.small_font)
            p.setPen(QColor(0, 0, 0, 190))
            ty = (rh - 1 - p.fontMetrics().height()) / 2 + 1
            for xx, yy, pitch in zip(x[m].tolist(), y[m].tolist(), (self.rows[r] for r in rows[m].tolist())):
                p.drawStaticText(QPointF(xx + 3, yy + ty), self._name(pitch))

    def _raster(self, p: QPainter, w: int, h: int, x: np.ndarray, widths: np.ndarray, rows: np.ndarray,
                layers: list) -> None:
        """Many notes as one image (numpy): per visible row, +1 at each note's left and -1 at its right device
        pixel, a cumulative sum along x gives what is covered; later layers (louder, then selected) win; rows
        are then stretched to their height with a 1 px gap. O(notes in view + pixels)."""
        dpr = self.devicePixelRatioF()
        big_w, big_h = max(1, round(w * dpr)), max(1, round(h * dpr))
        rh, vv = self.row_h, self.verticalScrollBar().value()
        r0 = max(0, self.row_at(0))
        nr = max(1, self.row_at(h) - r0 + 1)
        index = np.zeros((nr, big_w), np.uint8)
        palette = np.zeros(len(layers) + 1, np.uint32)
        for code, (m, color) in enumerate(layers, start=1):
            palette[code] = color.rgba()
            rr = rows[m] - r0
            ok = (rr >= 0) & (rr < nr)
            if not ok.any():
                continue
            xa = np.clip(np.floor(x[m] * dpr), 0, big_w).astype(np.int64)
            xb = np.clip(np.ceil((x[m] + widths[m]) * dpr), 0, big_w).astype(np.int64)
            xb = np.maximum(xb, np.minimum(xa + 1, big_w))
            stride, size = big_w + 1, nr * (big_w + 1)
            diff = (np.bincount(rr[ok] * stride + xa[ok], minlength=size)
                    - np.bincount(rr[ok] * stride + xb[ok], minlength=size)).reshape(nr, stride)
            index[np.cumsum(diff[:, :big_w], axis=1) > 0] = code
        ys = (np.arange(big_h) + 0.5) / dpr + vv  # the content y of each device pixel row
        row = np.floor(ys / rh).astype(np.int64)
        inside = (ys - row * rh >= 1) & (row - r0 >= 0) & (row - r0 < nr)
        colours = palette[np.vstack([index, np.zeros((1, big_w), np.uint8)])]  # one row of pixels per note row
        img = np.ascontiguousarray(colours[np.where(inside, row - r0, nr)])  # the last row is the gap
        image = QImage(img.data, big_w, big_h, big_w * 4, QImage.Format.Format_ARGB32)
        image.setDevicePixelRatio(dpr)
        p.drawImage(QPointF(0, 0), image)

    def _name(self, pitch: int) -> QStaticText:
        return self.static_text(note_name(pitch))

    def static_text(self, text: str) -> QStaticText:
        """``text`` laid out once in the small font (bar numbers, chord symbols, note names)."""
        out = self._names.get(text)
        if out is None:
            if len(self._names) > 2048:
                self._names.clear()
            out = self._names[text] = QStaticText(text)
            out.setTextFormat(Qt.TextFormat.PlainText)
            out.prepare(font=self.small_font)
        return out

    def text_width(self, text: str) -> float:
        return self.static_text(text).size().width()

    def _diamonds(self, p: QPainter, cx: np.ndarray, cy: np.ndarray, size: float) -> None:
        """Drum hits: squares drawn in a coordinate system turned by 45 degrees (one batched call)."""
        half = size / (2 * SQRT2)
        u, v = (cx + cy) / SQRT2, (cy - cx) / SQRT2
        p.save()
        p.rotate(45)
        p.drawRects(_rects(u - half, v - half, 2 * half, 2 * half))
        p.restore()

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

    # --- zoom ----------------------------------------------------------------------------------------
    def zoom_h(self, factor: float, anchor_x: float | None = None) -> None:
        anchor_x = self.viewport().width() / 2 if anchor_x is None else anchor_x
        tick = self.tick_at(anchor_x)
        self.px_per_quarter = max(MIN_PPQ, min(MAX_PPQ, self.px_per_quarter * factor))
        self.update_ranges()
        self.horizontalScrollBar().setValue(round((tick - self.a) * self.k - anchor_x))
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
