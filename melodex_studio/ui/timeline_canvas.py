"""The painted part of the arrangement timeline: bars ruler (tempo and meter changes, loop, playhead), section
lane, chord lane, and one lane per track whose clips draw their notes as a mini piano roll (drums as hits).

The canvas keeps no document state: it paints ``song`` as it is now, with a per-track cache of note start
ticks (rebuilt when the song changes) so that only the notes in view are visited. Mouse and keyboard input is
turned into signals for ``timeline.Timeline``, which owns the selection and talks to the session.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen, QPolygonF, QStaticText
from PySide6.QtWidgets import QAbstractScrollArea

from ..song import Song
from .note_raster import TrackNotes, lane_image
from .theme import Theme, role_color, section_color
from .timescale import TimeScale, chord_symbol, clip_take_name, label_step

RULER_H, SECTION_H, CHORD_H = 30, 32, 22
TOP_H = RULER_H + SECTION_H + CHORD_H
CLIP_HEADER_H = 15
EDGE_PX = 5  # how near a section edge a press grabs the edge (resize)
GRIP_W = 14  # the drag-out handle at the right end of a section block
TILE_W = 256  # width of a cached note tile, logical pixels of the content
MAX_TILES = 2048  # cached note tiles (least recently used go first)
RASTER_BUDGET_S = 0.004  # GUI-thread CPU one paint spends rasterising note tiles; the other lanes follow in later
# turns of the event loop (after a new song every lane is new: the window stays responsive meanwhile)


class ArrangementCanvas(QAbstractScrollArea):
    """See module docstring. Signals carry indexes into ``song.sections`` / ``song.tracks`` (-1: none)."""

    sectionPressed = Signal(int)
    clipPressed = Signal(int, int)  # section, track
    clipDoubleClicked = Signal(int, int)  # section, track: open the clip in the piano roll
    trackPressed = Signal(int)
    renameRequested = Signal(int)
    contextRequested = Signal(QPoint)
    resizeFinished = Signal(int, int)  # section index, new length in bars
    moveFinished = Signal(int, int)  # section index, index of the section it goes before (len: the end)
    zoomChanged = Signal(float)
    keyNavigate = Signal(str)  # 'left' 'right' 'up' 'down' ('shift-left' ... extend), 'rename', 'delete'
    dragOutRequested = Signal(int, int, bool)  # section, track (-1: the whole section), Alt held (WAV)
    playheadMoved = Signal(int)  # tick, after a click on the ruler

    def __init__(self, song: Song, parent=None):
        super().__init__(parent)
        self.song = song
        self.scale = TimeScale()
        self.lane_h = 64
        self.selected_section: str | None = None
        self.selected_track: str | None = None
        self.selected_sections: set[str] = set()  # more selected sections (Shift/Ctrl+click), the primary included
        self.selected_clips: set[tuple[str, str]] = set()  # (section id, track id) of more selected clips
        self.press_modifiers = Qt.KeyboardModifier.NoModifier  # of the last press (the timeline reads them)
        self.press_button = Qt.MouseButton.LeftButton
        self._press_clip: tuple[int, int, QPointF] | None = None  # a press on a clip (or a section's grip): drag out
        self.playhead_tick = 0
        self.snap = "bar"  # 'bar', 'beat' or 'off': where a click on the ruler puts the playhead
        self.loop_bars: tuple[int, int] | None = None
        self.busy: dict = {}  # {'section': id or None, 'track': id or None, 'text': '42 %'} while a job runs
        self._cache: dict[str, TrackNotes] = {}
        self._texts: dict[tuple[str, int], QStaticText] = {}  # elided clip labels
        self._images: dict[tuple, object] = {}  # note tiles by (track, zoom, tile, lane height, colour, dpr)
        self._styles: dict[int, tuple] = {}  # clip pens and brushes by colour
        self._raster_cpu = 0.0  # CPU seconds this paint has spent rasterising tiles
        self._raster_lanes = 0  # lanes this paint has rasterised (at least one each paint: the fill progresses)
        self._raster_budget = RASTER_BUDGET_S
        self._deferred: set[str] = set()  # tracks whose tiles wait for a later turn of the event loop
        self._fill_timer = QTimer(self, singleShot=True, interval=0)
        self._fill_timer.timeout.connect(self._fill_deferred)
        self._drag: tuple[int, int] | None = None  # (section index, preview length in bars) while resizing
        self._move: list | None = None  # [section index, press x, target index or None] while moving a section
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.viewport().setMouseTracking(True)
        self.setFrameShape(QAbstractScrollArea.Shape.NoFrame)
        self._font = QFont(self.font())
        self._font.setPointSizeF(8.5)
        self._bold = QFont(self._font)
        self._bold.setBold(True)

    # --- geometry ----------------------------------------------------------------------------------
    def set_song(self, song: Song) -> None:
        self.song = song
        self.invalidate()

    def snapped(self, tick: float) -> int:
        """``tick`` moved to the nearest bar or beat line (``self.snap``), or kept ('off')."""
        from .timescale import beat_ticks, nearest_bar

        tick = max(0.0, tick)
        if self.snap == "bar":
            return self.song.bar_to_tick(nearest_bar(self.song, tick))
        if self.snap == "beat":
            bar, off = self.song.meter_map.tick_to_bar(int(tick))
            bt = beat_ticks(self.song, bar)
            return self.song.bar_to_tick(bar) + int(round(off / bt)) * bt
        return int(tick)

    def event(self, event) -> bool:
        """Pinch (touchpad zoom gesture) zooms horizontally around the fingers."""
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.NativeGesture and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
            self.zoom(1.0 + event.value(), self.viewport().mapFromGlobal(event.globalPosition().toPoint()).x())
            return True
        return super().event(event)

    def set_playhead(self, tick: int) -> None:
        """Move the playhead; only the strips under its old and new place repaint."""
        h = self.viewport().height()
        for t in (self.playhead_tick, tick):
            x = int(self.x_of(t))
            self.viewport().update(QRect(x - 8, 0, 17, h))
        self.playhead_tick = int(tick)

    def invalidate(self) -> None:
        """The song changed: drop the note caches, fix the scroll ranges, repaint."""
        self._cache.clear()
        self._images.clear()
        self._styles.clear()
        self.update_ranges()
        self.viewport().update()

    def content_width(self) -> float:
        end = max(self.song.end_tick, self.song.bar_to_tick(8))
        return self.scale.x(end + self.song.bar_to_tick(8)) + 40

    def update_ranges(self) -> None:
        vw, vh = self.viewport().width(), self.viewport().height()
        h = self.horizontalScrollBar()
        h.setRange(0, max(0, int(self.content_width() - vw)))
        h.setPageStep(max(1, vw))
        h.setSingleStep(24)
        v = self.verticalScrollBar()
        v.setRange(0, max(0, len(self.song.tracks) * self.lane_h - (vh - TOP_H) + 8))
        v.setPageStep(max(1, vh - TOP_H))
        v.setSingleStep(self.lane_h // 2)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().resizeEvent(event)
        self.update_ranges()

    def x_of(self, tick: float) -> float:
        return self.scale.x(tick) - self.horizontalScrollBar().value() + 0.5

    def tick_at(self, x: float) -> float:
        return self.scale.tick(x + self.horizontalScrollBar().value())

    def lane_top(self, track_index: int) -> int:
        return TOP_H + track_index * self.lane_h - self.verticalScrollBar().value()

    def section_rect(self, index: int) -> QRectF:
        s = self.song.sections[index]
        a, b = self.song.section_ticks(s)
        return QRectF(self.x_of(a), RULER_H + 3, self.x_of(b) - self.x_of(a), SECTION_H - 6)

    def section_at(self, x: float) -> int:
        tick = self.tick_at(x)
        for i, s in enumerate(self.song.sections):
            a, b = self.song.section_ticks(s)
            if a <= tick < b:
                return i
        return -1

    def track_at(self, y: float) -> int:
        if y < TOP_H:
            return -1
        i = int((y - TOP_H + self.verticalScrollBar().value()) // self.lane_h)
        return i if 0 <= i < len(self.song.tracks) else -1

    def zoom(self, factor: float, anchor_x: float | None = None) -> None:
        """Multiply the horizontal zoom by ``factor``, keeping the time under ``anchor_x`` in place."""
        anchor_x = self.viewport().width() / 2 if anchor_x is None else anchor_x
        tick = self.tick_at(anchor_x)
        self.scale.set_zoom(self.scale.px_per_quarter * factor)
        self.update_ranges()
        self.horizontalScrollBar().setValue(int(self.scale.x(tick) - anchor_x))
        self.viewport().update()
        self.zoomChanged.emit(self.scale.px_per_quarter)

    def set_lane_height(self, px: int) -> None:
        self.lane_h = max(36, min(180, int(px)))
        self.update_ranges()
        self.viewport().update()

    def ensure_visible(self, tick_a: int, tick_b: int) -> None:
        h, vw = self.horizontalScrollBar(), self.viewport().width()
        xa, xb = self.scale.x(tick_a), self.scale.x(tick_b)
        if xa < h.value() or xb > h.value() + vw:
            h.setValue(int(xa - 24))

    # --- notes cache -------------------------------------------------------------------------------
    def _notes(self, track) -> TrackNotes:
        entry = self._cache.get(track.id)
        if entry is None:
            entry = self._cache[track.id] = TrackNotes.of(self.song, track)
        return entry

    def _clip_color(self, track) -> QColor:
        color = role_color(track.role)
        audible = not track.mute and (track.solo or not any(t.solo for t in self.song.tracks))
        return color if audible else QColor.fromHsvF(color.hsvHueF(), 0.12, 0.55)

    # --- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 (Qt)
        """Paint what intersects the dirty rectangle (a playhead move or a progress badge repaints a strip)."""
        p = QPainter(self.viewport())
        w, h = self.viewport().width(), self.viewport().height()
        dirty = event.rect()
        self._raster_cpu, self._raster_lanes = 0.0, 0
        p.setClipRect(dirty)
        p.fillRect(dirty, Theme.color("lane"))
        t0, t1 = self.tick_at(dirty.left() - 2), self.tick_at(dirty.right() + 2)
        if dirty.bottom() >= TOP_H:
            p.save()
            p.setClipRect(dirty.intersected(QRect(0, TOP_H, w, h - TOP_H)))
            self._paint_lanes(p, w, h, t0, t1, dirty.top(), dirty.bottom())
            p.restore()
        if dirty.top() < TOP_H:
            self._paint_ruler(p, w, t0, t1)
            self._paint_sections(p, w)
            self._paint_chords(p, w, t0, t1)
        self._paint_busy(p, h)
        if self._move is not None and self._move[2] is not None:  # where the dragged section will go
            secs = self.song.sections
            t = self._move[2]
            tick = self.song.section_ticks(secs[t])[0] if t < len(secs) else self.song.end_tick
            xm = self.x_of(tick)
            p.fillRect(QRectF(xm - 1.5, RULER_H, 3, h - RULER_H), Theme.color("accent"))
        x = self.x_of(self.playhead_tick)
        if -2 <= x <= w + 2:
            p.setPen(QPen(Theme.color("playhead"), 1.5))
            p.drawLine(QPointF(x, RULER_H - 8), QPointF(x, h))
            p.setBrush(Theme.color("playhead"))
            p.setPen(Qt.PenStyle.NoPen)
            p.drawPolygon(QPolygonF([QPointF(x - 6, RULER_H - 12), QPointF(x + 6, RULER_H - 12), QPointF(x, RULER_H - 4)]))
        p.end()

    def _bar_lines(self, t0: float, t1: float):
        """(bar index, tick) of each bar line in [t0, t1] (plus one before)."""
        song = self.song
        bar = max(0, song.meter_map.tick_to_bar(max(0, int(t0)))[0])
        while True:
            tick = song.bar_to_tick(bar)
            if tick > t1:
                return
            yield bar, tick
            bar += 1

    def _paint_grid(self, p: QPainter, top: float, bottom: float, t0: float, t1: float) -> None:
        song = self.song
        px_bar = self.scale.x(song.bar_to_tick(1))
        step = label_step(px_bar, 14)
        bar_pen, beat_pen = QPen(Theme.color("grid_bar"), 1), QPen(Theme.color("grid_beat"), 1)
        for bar, tick in self._bar_lines(t0, t1):
            if bar % step:
                continue
            x = round(self.x_of(tick)) + 0.5
            p.setPen(bar_pen)
            p.drawLine(QPointF(x, top), QPointF(x, bottom))
            beat = song.meter_map.meter_at_bar(bar)
            bt = song.ppq * 4 // beat.denominator
            if step == 1 and self.scale.x(bt) >= 10:
                p.setPen(beat_pen)
                for k in range(1, beat.numerator):
                    xb = round(self.x_of(tick + k * bt)) + 0.5
                    p.drawLine(QPointF(xb, top), QPointF(xb, bottom))

    def _paint_lanes(self, p: QPainter, w: int, h: int, t0: float, t1: float, y0: int = 0, y1: int = 1 << 30) -> None:
        song = self.song
        visible = [(i, track, self.lane_top(i)) for i, track in enumerate(song.tracks)]
        visible = [(i, track, top) for i, track, top in visible
                   if top <= min(h, y1) and top + self.lane_h >= max(TOP_H, y0)]
        for i, track, top in visible:
            bg = Theme.color("lane_alt") if i % 2 else Theme.color("lane")
            if track.id == self.selected_track:
                bg = bg.lighter(125)
            p.fillRect(QRectF(0, top, w, self.lane_h), bg)
        self._paint_grid(p, TOP_H, h, t0, t1)
        spans = [(s, *song.section_ticks(s)) for s in song.sections]
        spans = [(s, a, b) for s, a, b in spans if b >= t0 and a <= t1]
        p.setFont(self._font)
        fm = QFontMetrics(self._font)
        border = Theme.color("border")
        for i, track, top in visible:
            p.fillRect(QRectF(0, top + self.lane_h - 1, w, 1), border)
            color = self._clip_color(track)
            style = self._clip_style(color)
            for s, a, b in spans:
                self._paint_clip(p, fm, track, s, a, b, top, style)
            self._paint_notes(p, track, top + 3 + CLIP_HEADER_H + 3, w, color)

    def _paint_notes(self, p: QPainter, track, y: float, w: int, color: QColor) -> None:
        """The track's notes as fixed-width image tiles of the content (rasterised once per zoom and lane height,
        so a scroll only rasterises the tiles that come into view)."""
        scroll = self.horizontalScrollBar().value()
        dpr = self.devicePixelRatioF()
        base = (track.id, self.scale.px_per_quarter, self.lane_h, color.rgba(), dpr)
        tiles = range(scroll // TILE_W, (scroll + w) // TILE_W + 1)
        missing = [t for t in tiles if base + (t,) not in self._images]
        if missing and self._raster_lanes and self._raster_cpu >= self._raster_budget and self.isVisible():
            self._deferred.add(track.id)  # this paint has rasterised enough: the lane's notes follow next turn
            self._fill_timer.start()
        elif missing:  # the tiles that came into view, rasterised in one pass (after a zoom: all of them)
            c0 = time.thread_time()
            self._rasterise(track, missing[0], missing[-1], color, dpr, base)
            self._raster_cpu += time.thread_time() - c0
            self._raster_lanes += 1
        for tile in tiles:
            key = base + (tile,)
            if key not in self._images:
                continue
            image = self._images[key] = self._images.pop(key)  # most recently used last
            if image is not None:
                p.drawImage(QPointF(tile * TILE_W - scroll, y), image)

    def _fill_deferred(self) -> None:
        """Repaint the lanes whose note tiles a paint left for later (each paint rasterises within its budget)."""
        ids, self._deferred = self._deferred, set()
        w = self.viewport().width()
        for i, track in enumerate(self.song.tracks):
            if track.id in ids:
                self.viewport().update(QRect(0, self.lane_top(i), w, self.lane_h))

    def finish_tiles(self) -> None:
        """Rasterise what paints left for later now (before a grab of the window, for instance)."""
        self._deferred.clear()
        self._raster_budget = float("inf")
        try:
            self.viewport().repaint()
        finally:
            self._raster_budget = RASTER_BUDGET_S

    def _rasterise(self, track, first: int, last: int, color: QColor, dpr: float, base: tuple) -> None:
        """Note tiles ``first`` .. ``last`` of a track: one ``lane_image`` cut into tile images."""
        x0, width = first * TILE_W, (last - first + 1) * TILE_W
        t0, t1 = self.scale.tick(x0), self.scale.tick(x0 + width)
        image = lane_image(self._notes(track), t0 - self.song.ppq * 16, t1, self.scale.px_per_quarter / self.song.ppq,
                           x0 - 0.5, width, self.lane_h - 13 - CLIP_HEADER_H,
                           color.darker(150) if Theme.name == "light" else color.lighter(135), dpr)
        while len(self._images) + (last - first + 1) > MAX_TILES:
            self._images.pop(next(iter(self._images)))
        tw = int(round(TILE_W * dpr))
        for k, tile in enumerate(range(first, last + 1)):
            part = None
            if image is not None:
                part = image.copy(QRect(k * tw, 0, tw, image.height()))
                part.setDevicePixelRatio(dpr)
            self._images[base + (tile,)] = part

    def _clip_style(self, color: QColor) -> tuple:
        key = color.rgba()
        hit = self._styles.get(key)
        if hit is not None:
            return hit
        if len(self._styles) > 64:
            self._styles.clear()
        self._styles[key] = style = self._make_clip_style(color)
        return style

    def _make_clip_style(self, color: QColor) -> tuple:
        body, head = QColor(color), QColor(color)
        body.setAlphaF(0.22)
        head.setAlphaF(0.85)
        return body, head, QPen(color.darker(115), 1), QPen(Theme.color("selection"), 1.6), Theme.color("clip_text")

    def _label(self, fm: QFontMetrics, text: str, width: int) -> QStaticText:
        """``text`` elided to ``width`` px as a QStaticText (laid out once, drawn fast on every repaint)."""
        key = (text, width)
        out = self._texts.get(key)
        if out is None:
            if len(self._texts) > 4096:
                self._texts.clear()
            out = QStaticText(fm.elidedText(text, Qt.TextElideMode.ElideRight, width))
            out.setTextFormat(Qt.TextFormat.PlainText)
            out.prepare(font=self._font)
            self._texts[key] = out
        return out

    def _paint_clip(self, p: QPainter, fm: QFontMetrics, track, section, a: int, b: int, top: float,
                    style: tuple) -> None:
        body, hc, pen, selected_pen, text_color = style
        x0, x1 = self.x_of(a), self.x_of(b)
        rect = QRectF(x0 + 1, top + 3, max(2.0, x1 - x0 - 2), self.lane_h - 7)
        selected = (section.id == self.selected_section and track.id == self.selected_track) or \
            (section.id, track.id) in self.selected_clips
        p.setPen(selected_pen if selected else pen)
        p.setBrush(body)
        p.drawRoundedRect(rect, 4, 4)
        head = QRectF(rect.x() + 0.5, rect.y() + 0.5, rect.width() - 1, CLIP_HEADER_H)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(hc)
        p.drawRoundedRect(head, 3.5, 3.5)
        p.fillRect(QRectF(head.x(), head.bottom() - 4, head.width(), 4), hc)
        if rect.width() > 32:
            p.setPen(text_color)
            take = clip_take_name(self.song, section.id, track.id)
            text = f"{section.label} · {take}" if take else section.label
            p.drawStaticText(QPointF(head.x() + 5, head.y() + (CLIP_HEADER_H - fm.height()) / 2),
                             self._label(fm, text, int(head.width() - 9)))

    def _paint_ruler(self, p: QPainter, w: int, t0: float, t1: float) -> None:
        song = self.song
        p.fillRect(QRectF(0, 0, w, RULER_H), Theme.color("ruler"))
        if self.loop_bars is not None:
            la, lb = self.x_of(song.bar_to_tick(self.loop_bars[0])), self.x_of(song.bar_to_tick(self.loop_bars[1]))
            loop = QColor(Theme.color("accent"))
            loop.setAlphaF(0.35)
            p.fillRect(QRectF(la, 0, lb - la, 8), loop)
            p.fillRect(QRectF(la, 0, 2, 8), Theme.color("accent"))
            p.fillRect(QRectF(lb - 2, 0, 2, 8), Theme.color("accent"))
        px_bar = self.scale.x(song.bar_to_tick(1))
        step = label_step(px_bar)
        p.setFont(self._font)
        for bar, tick in self._bar_lines(t0, t1):
            x = round(self.x_of(tick)) + 0.5
            meter = song.meter_map.meter_at_bar(bar)
            if bar % step == 0:
                p.setPen(Theme.color("text_dim"))
                p.drawLine(QPointF(x, 12), QPointF(x, RULER_H))
                p.setPen(Theme.color("text"))
                p.drawText(QRectF(x + 4, 9, 60, 14), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                           str(bar + 1))
            if step == 1 and px_bar >= 40:
                bt = song.ppq * 4 // meter.denominator
                p.setPen(Theme.color("text_faint"))
                for k in range(1, meter.numerator):
                    xb = round(self.x_of(tick + k * bt)) + 0.5
                    p.drawLine(QPointF(xb, RULER_H - 5), QPointF(xb, RULER_H))
        p.setFont(self._font)
        for i, m in enumerate(song.meter_map.changes):  # meter and tempo changes: small tags on the ruler
            tick = song.bar_to_tick(m.bar)
            if t0 - 2000 <= tick <= t1 and (i > 0 or tick >= t0):
                self._tag(p, self.x_of(tick), f"{m.numerator}/{m.denominator}", 0)
        for i, c in enumerate(song.tempo_map.changes):
            if t0 - 2000 <= c.tick <= t1 and (i > 0 or c.tick >= t0):
                self._tag(p, self.x_of(c.tick) + 30, f"♩={c.bpm:g}", 0)
        p.setPen(QPen(Theme.color("border"), 1))
        p.drawLine(QPointF(0, RULER_H - 0.5), QPointF(w, RULER_H - 0.5))

    def _tag(self, p: QPainter, x: float, text: str, y: float) -> None:
        fm = QFontMetrics(self._font)
        r = QRectF(x + 2, y + 1, fm.horizontalAdvance(text) + 6, 10)
        p.setPen(Theme.color("warning"))
        small = QFont(self._font)
        small.setPointSizeF(7)
        p.setFont(small)
        p.drawText(r, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        p.setFont(self._font)

    def _paint_sections(self, p: QPainter, w: int) -> None:
        song = self.song
        p.fillRect(QRectF(0, RULER_H, w, SECTION_H), Theme.color("panel"))
        fm = QFontMetrics(self._bold)
        for i, s in enumerate(song.sections):
            r = self.section_rect(i)
            if self._drag is not None and self._drag[0] == i:
                end = self.x_of(song.bar_to_tick(s.start_bar + self._drag[1]))
                r.setRight(end)
            if r.right() < 0 or r.left() > w:
                continue
            r.adjust(1, 0, -1, 0)
            color = section_color(s.label, i)
            selected = s.id == self.selected_section or s.id in self.selected_sections
            p.setPen(QPen(Theme.color("selection"), 2) if selected else QPen(color.darker(130), 1))
            p.setBrush(color if selected else color.darker(112))
            p.drawRoundedRect(r, 4, 4)
            p.setFont(self._bold)
            p.setPen(QColor("#ffffff"))
            bars = self._drag[1] if self._drag is not None and self._drag[0] == i else s.length_bars
            text = f"{s.label}   {bars} bars" if r.width() > fm.horizontalAdvance(s.label) + 70 else s.label
            grip = r.width() >= 60
            p.drawText(r.adjusted(7, 0, -4 - (GRIP_W if grip else 0), 0),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                       fm.elidedText(text, Qt.TextElideMode.ElideRight, int(max(0, r.width() - 11 - (GRIP_W if grip else 0)))))
            if grip:  # the drag-out handle: two columns of dots
                g = self._grip_rect(r)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(255, 255, 255, 150))
                for k in range(3):
                    for j in range(2):
                        p.drawEllipse(QPointF(g.center().x() - 2 + 4 * j, g.center().y() - 4 + 4 * k), 1.1, 1.1)

    def _paint_chords(self, p: QPainter, w: int, t0: float, t1: float) -> None:
        song = self.song
        top = RULER_H + SECTION_H
        p.fillRect(QRectF(0, top, w, CHORD_H), Theme.color("panel_alt"))
        p.setFont(self._font)
        fm = QFontMetrics(self._font)
        for c in song.chords:
            if c.start_tick + c.duration_ticks < t0 or c.start_tick > t1:
                continue
            x0, x1 = self.x_of(c.start_tick), self.x_of(c.start_tick + c.duration_ticks)
            if x1 - x0 < 14:  # too dense to read: a short tick per chord change, the symbols when zoomed in
                if x1 - x0 >= 3:
                    p.setPen(QPen(Theme.color("line"), 1))
                    p.drawLine(QPointF(round(x0) + 0.5, top + CHORD_H / 2 - 3), QPointF(round(x0) + 0.5, top + CHORD_H / 2 + 3))
                continue
            p.setPen(QPen(Theme.color("line"), 1))
            p.drawLine(QPointF(round(x0) + 0.5, top + 4), QPointF(round(x0) + 0.5, top + CHORD_H - 4))
            text = chord_symbol(c, song.key.tonic, song.key.mode)
            if fm.horizontalAdvance(text) <= x1 - x0 - 6:  # a symbol is shown whole or not at all
                p.setPen(Theme.color("text"))
                p.drawText(QRectF(x0 + 4, top, x1 - x0 - 6, CHORD_H), Qt.AlignmentFlag.AlignVCenter, text)
        p.setPen(QPen(Theme.color("border"), 1))
        p.drawLine(QPointF(0, TOP_H - 0.5), QPointF(w, TOP_H - 0.5))

    def set_busy(self, busy: dict) -> None:
        """Show a job's veil and badge ({'section', 'track', 'text'}; {} hides). A text change repaints the badge only."""
        same_place = bool(busy) and bool(self.busy) and all(busy.get(k) == self.busy.get(k) for k in ("section", "track"))
        old = self._badge_rect() if self.busy else None
        self.busy = dict(busy)
        if same_place and old is not None:
            self.viewport().update(old.united(self._badge_rect()).toAlignedRect().adjusted(-2, -2, 2, 2))
        else:
            self.viewport().update()

    def _busy_span(self) -> tuple[float, float]:
        song = self.song
        sec = next((s for s in song.sections if s.id == self.busy.get("section")), None)
        a, b = song.section_ticks(sec) if sec is not None else (0, song.end_tick)
        return self.x_of(a), self.x_of(b)

    def _badge_rect(self) -> QRectF:
        x0, _ = self._busy_span()
        fm = QFontMetrics(self._bold)
        return QRectF(max(x0, 0) + 8, TOP_H + 8, fm.horizontalAdvance(self.busy.get("text", "")) + 16, 22)

    def _paint_busy(self, p: QPainter, h: int) -> None:
        """A job working on a section (or track of it): a veil over its column with the stage and percent."""
        if not self.busy:
            return
        song = self.song
        x0, x1 = self._busy_span()
        veil = QColor(Theme.color("accent"))
        veil.setAlphaF(0.13)
        tid = self.busy.get("track")
        if tid is not None and any(t.id == tid for t in song.tracks):
            i = [t.id for t in song.tracks].index(tid)
            p.fillRect(QRectF(x0, self.lane_top(i), x1 - x0, self.lane_h), veil)
        else:
            p.fillRect(QRectF(x0, RULER_H, x1 - x0, h - RULER_H), veil)
        text = self.busy.get("text", "")
        if text:
            r = self._badge_rect()
            p.setFont(self._bold)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(Theme.color("accent"))
            p.drawRoundedRect(r, 4, 4)
            p.setPen(Theme.color("accent_text"))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)

    # --- input -------------------------------------------------------------------------------------
    def _edge_at(self, pos: QPointF) -> int:
        """Index of the section whose right edge is under ``pos`` in the section lane, else -1."""
        if not (RULER_H <= pos.y() < RULER_H + SECTION_H):
            return -1
        for i in range(len(self.song.sections)):
            if abs(self.section_rect(i).right() - pos.x()) <= EDGE_PX:
                return i
        return -1

    def _grip_rect(self, r: QRectF) -> QRectF:
        """The drag-out handle inside a section block ``r`` (left of the resize edge)."""
        return QRectF(r.right() - GRIP_W - EDGE_PX, r.top() + 2, GRIP_W, r.height() - 4)

    def grip_at(self, pos: QPointF) -> int:
        """Index of the section whose drag-out handle is under ``pos``, else -1."""
        if not (RULER_H <= pos.y() < RULER_H + SECTION_H):
            return -1
        i = self.section_at(pos.x())
        if i < 0:
            return -1
        r = self.section_rect(i).adjusted(1, 0, -1, 0)
        return i if r.width() >= 60 and self._grip_rect(r).contains(pos) else -1

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt)
        pos = event.position()
        self.press_modifiers, self.press_button = event.modifiers(), event.button()
        self._press_clip = None
        if event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and self.grip_at(pos) >= 0:
            i = self.grip_at(pos)
            self.sectionPressed.emit(i)
            self._press_clip = (i, -1, pos)
            return
        if event.button() == Qt.MouseButton.LeftButton and self._edge_at(pos) >= 0:
            i = self._edge_at(pos)
            self._drag = (i, self.song.sections[i].length_bars)
            self.sectionPressed.emit(i)
            return
        sec = self.section_at(pos.x())
        if pos.y() < RULER_H:
            self.set_playhead(self.snapped(self.tick_at(pos.x())))
            self.playheadMoved.emit(self.playhead_tick)
        elif pos.y() < TOP_H:
            self.sectionPressed.emit(sec)
            if event.button() == Qt.MouseButton.LeftButton and sec >= 0 and pos.y() < RULER_H + SECTION_H:
                self._move = [sec, pos.x(), None]
        else:
            tr = self.track_at(pos.y())
            if tr >= 0 and sec >= 0:
                self.clipPressed.emit(sec, tr)
                if event.button() == Qt.MouseButton.LeftButton:
                    self._press_clip = (sec, tr, pos)
            elif tr >= 0:
                self.trackPressed.emit(tr)
        if event.button() == Qt.MouseButton.RightButton and pos.y() >= RULER_H:
            self.contextRequested.emit(event.globalPosition().toPoint())

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt)
        pos = event.position()
        if self._press_clip is not None and event.buttons() & Qt.MouseButton.LeftButton:
            from PySide6.QtWidgets import QApplication

            sec, tr, at = self._press_clip
            if (pos - at).manhattanLength() >= QApplication.startDragDistance():
                self._press_clip = None
                alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
                self.dragOutRequested.emit(sec, tr, alt)
            return
        if self._drag is not None:
            from .timescale import nearest_bar

            i = self._drag[0]
            s = self.song.sections[i]
            end_bar = nearest_bar(self.song, self.tick_at(pos.x()))
            self._drag = (i, max(1, end_bar - s.start_bar))
            self.viewport().update()
            return
        if self._move is not None:
            if abs(pos.x() - self._move[1]) > 6:
                self._move[2] = self._insertion_index(pos.x())
                self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
                self.viewport().update()
            return
        edge = self._edge_at(pos) >= 0
        grip = not edge and self.grip_at(pos) >= 0
        self.viewport().setCursor(Qt.CursorShape.SizeHorCursor if edge else Qt.CursorShape.OpenHandCursor if grip
                                  else Qt.CursorShape.ArrowCursor)
        tip = ("Drag this handle to another application to hand it the section as a MIDI file" if grip else
               "Drag a clip to another application: a MIDI file of its notes (hold Alt for a WAV of its rendered "
               "audio, when it has one)" if self.track_at(pos.y()) >= 0 and self.section_at(pos.x()) >= 0 else "")
        if tip != self.viewport().toolTip():
            self.viewport().setToolTip(tip)

    def _insertion_index(self, x: float) -> int:
        """Index of the section whose middle is right of ``x`` (where a dragged section would go)."""
        for i, s in enumerate(self.song.sections):
            a, b = self.song.section_ticks(s)
            if x < (self.x_of(a) + self.x_of(b)) / 2:
                return i
        return len(self.song.sections)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt)
        self._press_clip = None
        if self._move is not None:
            index, _, target = self._move
            self._move = None
            self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
            self.viewport().update()
            if target is not None and target not in (index, index + 1):
                self.moveFinished.emit(index, target)
            return
        if self._drag is not None:
            i, bars = self._drag
            self._drag = None
            self.viewport().update()
            if bars != self.song.sections[i].length_bars:
                self.resizeFinished.emit(i, bars)
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt)
        pos = event.position()
        if RULER_H <= pos.y() < RULER_H + SECTION_H:
            i = self.section_at(pos.x())
            if i >= 0:
                self.renameRequested.emit(i)
        elif pos.y() >= TOP_H and self.section_at(pos.x()) >= 0 and self.track_at(pos.y()) >= 0:
            self.clipDoubleClicked.emit(self.section_at(pos.x()), self.track_at(pos.y()))

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt)
        mods = event.modifiers()
        dy = event.angleDelta().y()
        if mods & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.15 ** (dy / 120), event.position().x())
        elif mods & Qt.KeyboardModifier.AltModifier:
            self.set_lane_height(self.lane_h + (8 if (dy or event.angleDelta().x()) > 0 else -8))
        elif mods & Qt.KeyboardModifier.ShiftModifier:
            h = self.horizontalScrollBar()
            h.setValue(h.value() - dy)
        else:
            super().wheelEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt)
        keys = {Qt.Key.Key_Left: "left", Qt.Key.Key_Right: "right", Qt.Key.Key_Up: "up", Qt.Key.Key_Down: "down",
                Qt.Key.Key_F2: "rename", Qt.Key.Key_Return: "rename", Qt.Key.Key_Delete: "delete"}
        if event.key() in keys:
            arrow = event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down)
            shift = arrow and event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            self.keyNavigate.emit(("shift-" if shift else "") + keys[event.key()])
        elif event.key() in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(1.25)
        elif event.key() == Qt.Key.Key_Minus:
            self.zoom(0.8)
        else:
            super().keyPressEvent(event)

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 (Qt)
        self.viewport().update()
