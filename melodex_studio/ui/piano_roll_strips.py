"""The strips around the piano roll's note grid: the bar ruler with the chord lane (top), the keyboard or the GM
drum names (left) and the velocity lane (bottom, objectName ``velocityLane``). Each paints from the canvas's state
(``piano_roll_canvas.PianoRollCanvas``: zoom, scroll, the clip's note arrays) and forwards input to it.

Units: ticks; x in the strip's pixels (the grid starts ``canvas.keys_w`` px from the strip's left).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from . import roll_edits as ed
from .theme import Theme
from .timescale import chord_symbol, label_step

if TYPE_CHECKING:
    from .piano_roll_canvas import PianoRollCanvas

RULER_H, CHORD_H, VEL_H = 20, 20, 76
TOP_H = RULER_H + CHORD_H
BLACK = {1, 3, 6, 8, 10}


class Strip(QWidget):
    """A painted strip: ``paint(canvas, painter, width, height)``; the wheel zooms and scrolls the canvas."""

    def __init__(self, canvas: PianoRollCanvas, name: str, paint: Callable, tip: str):
        super().__init__(canvas)
        self.canvas, self._paint = canvas, paint
        self.setObjectName(name)
        self.setToolTip(tip)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        self._paint(self.canvas, p, self.width(), self.height())
        p.end()

    def wheelEvent(self, event) -> None:
        self.canvas.wheelEvent(event)


class VelocityLane(Strip):
    """Press on a note's bar and drag up or down: its velocity (all selected notes' when it is selected)."""

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.canvas.velocity_press(event.position().x() - self.canvas.keys_w, event.position().y())

    def mouseMoveEvent(self, event) -> None:
        self.canvas.velocity_move(event.position().y())

    def mouseReleaseEvent(self, event) -> None:
        self.canvas.finish_drag()


def velocity_of_y(y: float) -> int:
    """The velocity a press at ``y`` px in the velocity lane sets (top = 127, bottom = 1)."""
    return max(1, min(127, round((VEL_H - 4 - y) / (VEL_H - 10) * 127)))


def paint_ruler(c: PianoRollCanvas, p: QPainter, w: int, h: int) -> None:
    """Bar numbers (the song's), beat ticks and the chord symbols of the section (``timescale.chord_symbol``)."""
    kw = c.keys_w
    p.fillRect(QRect(0, 0, w, RULER_H), Theme.color("ruler"))
    p.fillRect(QRect(0, RULER_H, w, CHORD_H), Theme.color("panel_alt"))
    p.setFont(c.small_font)
    p.setPen(Theme.color("text_dim"))
    p.drawText(QRectF(6, 0, kw - 8, RULER_H), Qt.AlignmentFlag.AlignVCenter, "Bar")
    p.drawText(QRectF(6, RULER_H, kw - 8, CHORD_H), Qt.AlignmentFlag.AlignVCenter, "Chords")
    if c.song is None or c.section_id is None:
        return
    song = c.song
    fm = QFontMetrics(c.small_font)
    p.setClipRect(QRect(kw, 0, w - kw, h))
    step = label_step(song.bar_to_tick(1) * c.k, 30)
    for bar, tick in c.bars_in_view(w - kw):
        x = kw + round(c.x_of(tick)) + 0.5
        if bar % step == 0:
            p.setPen(Theme.color("text_dim"))
            p.drawLine(QPointF(x, 6), QPointF(x, RULER_H))
            p.setPen(Theme.color("text"))
            p.drawStaticText(QPointF(x + 4, (RULER_H - fm.height()) / 2), c.static_text(str(bar + 1)))
        bt = ed.snap_step(song, "beat", bar)
        if step == 1 and bt * c.k >= 12:
            p.setPen(Theme.color("text_faint"))
            for t in range(tick + bt, song.bar_to_tick(bar + 1), bt):
                xb = kw + round(c.x_of(t)) + 0.5
                p.drawLine(QPointF(xb, RULER_H - 5), QPointF(xb, RULER_H))
    t0, t1 = c.tick_at(0), c.tick_at(w - kw)
    key = song.key_at(c.a)
    for ch in song.chords:
        end = ch.start_tick + ch.duration_ticks
        if end <= max(c.a, t0) or ch.start_tick >= min(c.b, t1):
            continue
        x0, x1 = kw + c.x_of(max(c.a, ch.start_tick)), kw + c.x_of(min(c.b, end))
        p.setPen(QPen(Theme.color("line"), 1))
        p.drawLine(QPointF(round(x0) + 0.5, RULER_H + 3), QPointF(round(x0) + 0.5, TOP_H - 3))
        text = chord_symbol(ch, key.tonic, key.mode)
        left = max(x0, kw)
        if c.text_width(text) <= x1 - left - 6:  # a symbol is shown whole or not at all
            p.setPen(Theme.color("text"))
            p.drawStaticText(QPointF(left + 4, RULER_H + (CHORD_H - fm.height()) / 2), c.static_text(text))
    p.setClipping(False)
    p.setPen(QPen(Theme.color("border"), 1))
    p.drawLine(QPointF(0, h - 0.5), QPointF(w, h - 0.5))
    p.drawLine(QPointF(kw - 0.5, 0), QPointF(kw - 0.5, h))


def paint_keys(c: PianoRollCanvas, p: QPainter, w: int, h: int) -> None:
    """A keyboard with note names on the Cs (every key when rows are tall); drums: the GM names, used ones bright."""
    rh = c.row_h
    p.fillRect(QRect(0, 0, w, h), Theme.color("panel"))
    r0, r1 = max(0, c.row_at(0)), min(len(c.rows), c.row_at(h) + 1)
    p.setFont(c.small_font)
    white, black = QColor("#e9ebef"), QColor("#23252b")
    for r in range(r0, r1):
        pitch, y = c.rows[r], c.y_of(r)
        if c.is_drum:
            if r % 2:
                p.fillRect(QRectF(0, y, w, rh), Theme.color("panel_alt"))
            p.setPen(Theme.color("text") if pitch in c.used_pitches else Theme.color("text_faint"))
            if rh >= 9:
                p.drawText(QRectF(6, y, w - 10, rh), Qt.AlignmentFlag.AlignVCenter, c.row_label(r))
            p.fillRect(QRectF(0, y + rh - 1, w, 1), Theme.color("line"))
            continue
        is_black = pitch % 12 in BLACK
        p.fillRect(QRectF(0, y, w, rh), black if is_black else white)
        if is_black:
            p.fillRect(QRectF(w * 0.62, y, w * 0.38, rh), white)
            p.fillRect(QRectF(w * 0.62, y + rh / 2 - 0.5, w * 0.38, 1), QColor("#b0b5bf"))
        if pitch % 12 in (0, 5):
            p.fillRect(QRectF(0, y + rh - 1, w, 1), QColor("#9aa0ab"))
        if (pitch % 12 == 0 or rh >= 16) and rh >= 8:
            p.setPen(QColor("#101114") if not is_black else QColor("#e9ebef"))
            p.drawText(QRectF(4, y, w * 0.6, rh), Qt.AlignmentFlag.AlignVCenter, c.row_label(r))
    p.setPen(QPen(Theme.color("border"), 1))
    p.drawLine(QPointF(w - 0.5, 0), QPointF(w - 0.5, h))


def paint_velocity(c: PianoRollCanvas, p: QPainter, w: int, h: int) -> None:
    """One bar per note in view, as high as its velocity; the selected (or dragged) notes' in the accent colour."""
    kw = c.keys_w
    p.fillRect(QRect(0, 0, w, h), Theme.color("lane_alt"))
    p.fillRect(QRect(0, 0, kw, h), Theme.color("panel"))
    p.setPen(QPen(Theme.color("border"), 1))
    p.drawLine(QPointF(0, 0.5), QPointF(w, 0.5))
    p.drawLine(QPointF(kw - 0.5, 0), QPointF(kw - 0.5, h))
    p.setFont(c.small_font)
    p.setPen(Theme.color("text_dim"))
    p.drawText(QRectF(6, 2, kw - 8, h - 4), Qt.AlignmentFlag.AlignTop, "Velocity")
    if c.song is None or c.section_id is None:
        return
    p.setClipRect(QRect(kw, 0, w - kw, h))
    p.setPen(QPen(Theme.color("grid_beat"), 1))
    for v in (32, 64, 96):
        y = VEL_H - 4 - v / 127 * (VEL_H - 10)
        p.drawLine(QPointF(kw, y), QPointF(w, y))
    i, j = c.visible_range()
    x = kw + (c.starts[i:j] - c.a) * c.k - c.horizontalScrollBar().value()
    top = VEL_H - 4 - c.velocities[i:j] / 127 * (VEL_H - 10)
    keep = (x >= kw - 4) & (x <= w) & ~c.hidden_mask()[i:j]
    chosen = keep & c.selected_mask()[i:j]
    plain = keep & ~chosen
    preview = c.drag.preview if c.drag is not None and c.drag.kind != "rubber" else []
    px = np.array([kw + c.x_of(n.start_tick) for n in preview], float)
    ptop = np.array([VEL_H - 4 - n.velocity / 127 * (VEL_H - 10) for n in preview], float)
    dense = int(keep.sum()) > 600
    p.setPen(Qt.PenStyle.NoPen)
    layers = ((x[plain], top[plain], c.color),
              (np.concatenate([x[chosen], px]), np.concatenate([top[chosen], ptop]), Theme.color("accent")))
    for xs, ts, color in layers:
        if not len(xs):
            continue
        if dense:  # one image: per pixel column the loudest bar
            _bars_image(p, xs, ts, w, color, c.devicePixelRatioF())
            continue
        p.setBrush(color)
        xl, tl = (xs - 1).tolist(), ts.tolist()
        p.drawRects(list(map(QRectF, xl, tl, [2.0] * len(xl), (VEL_H - 4 - ts).tolist())))
        if len(xl) < 400:
            p.drawRects(list(map(QRectF, (xs - 2.5).tolist(), (ts - 1).tolist(), [5.0] * len(xl), [2.0] * len(xl))))


def _bars_image(p: QPainter, xs: np.ndarray, tops: np.ndarray, w: int, color: QColor, dpr: float) -> None:
    """Velocity bars as one image: each device pixel column shows its highest bar, bottoms at ``VEL_H - 4``."""
    big_w, big_h = max(1, round(w * dpr)), max(1, round(VEL_H * dpr))
    col = np.clip(np.round(xs * dpr).astype(np.int64), 0, big_w - 1)
    best = np.full(big_w, np.inf)
    order = np.argsort(-tops)  # lowest bars first: the highest one in a column is written last
    best[col[order]] = tops[order] * dpr
    ys = np.arange(big_h)[:, None] + 0.5
    img = np.where((ys >= best[None, :]) & (ys <= (VEL_H - 4) * dpr), np.uint32(color.rgba()), np.uint32(0))
    img = np.ascontiguousarray(img.astype(np.uint32))
    image = QImage(img.data, big_w, big_h, big_w * 4, QImage.Format.Format_ARGB32)
    image.setDevicePixelRatio(dpr)
    p.drawImage(QPointF(0, 0), image)
