"""A compact painted fader for track headers: gain in dB or pan, one line high, with its value written on it.

Drag sideways (Shift: fine), turn the wheel or press the arrow keys to change it; double-click resets it to its
default (0 dB, centre). The value shows while it moves (``valueChanged``); ``valueCommitted`` fires once when a
gesture ends (release, a wheel pause, a key), which is when the header makes its one undoable change.
"""
from __future__ import annotations

import math
from typing import ClassVar

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from .theme import Theme


def gain_text(db: float) -> str:
    return f"{db:+.1f} dB" if abs(db) >= 0.05 else "0.0 dB"


def pan_text(pan: float) -> str:
    p = round(pan * 100)
    return "C" if p == 0 else f"L{-p}" if p < 0 else f"R{p}"


class MiniFader(QWidget):
    """``kind`` 'gain' (-60..+12 dB, the fill grows from the left, 0 dB marked) or 'pan' (-1..+1, the fill
    grows from the centre)."""

    valueChanged = Signal(float)
    valueCommitted = Signal(float)

    RANGES: ClassVar[dict] = {"gain": (-60.0, 12.0, 0.0, 0.5), "pan": (-1.0, 1.0, 0.0, 0.05)}  # lo, hi, default, key step

    def __init__(self, kind: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.kind = kind
        self.lo, self.hi, self.default, self.step = self.RANGES[kind]
        self._value = self.default
        self._press: tuple[float, float] | None = None  # (press x, value at press)
        self._wheel = QTimer(self, singleShot=True, interval=400)
        self._wheel.timeout.connect(lambda: self.valueCommitted.emit(self._value))
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.SizeHorCursor)
        self._font = QFont(self.font())
        self._font.setPointSizeF(7.5)
        self.setFixedHeight(15)

    def sizeHint(self) -> QSize:
        return QSize(70, 15)

    # --- value -------------------------------------------------------------------------------------------------
    def value(self) -> float:
        return self._value

    def setValue(self, value: float) -> None:
        """Show ``value`` (clamped) without committing it."""
        value = max(self.lo, min(self.hi, float(value)))
        if value != self._value:
            self._value = value
            self.update()
            self.valueChanged.emit(value)

    def commit(self, value: float) -> None:
        """Set ``value`` and commit it (as the end of a gesture does)."""
        self.setValue(value)
        self.valueCommitted.emit(self._value)

    def text(self) -> str:
        return gain_text(self._value) if self.kind == "gain" else pan_text(self._value)

    def _frac(self, v: float) -> float:
        if self.kind == "gain":  # a fader-like curve: more room near 0 dB than near -60
            return max(0.0, min(1.0, (math.pow(10, v / 40) - math.pow(10, self.lo / 40))
                                / (math.pow(10, self.hi / 40) - math.pow(10, self.lo / 40))))
        return (v - self.lo) / (self.hi - self.lo)

    def _from_frac(self, f: float) -> float:
        f = max(0.0, min(1.0, f))
        if self.kind == "gain":
            a, b = math.pow(10, self.lo / 40), math.pow(10, self.hi / 40)
            return round(40 * math.log10(a + f * (b - a)) * 10) / 10
        return round((self.lo + f * (self.hi - self.lo)) * 100) / 100

    # --- painting ----------------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(QPen(Theme.color("border"), 1))
        p.setBrush(Theme.color("lane"))
        p.drawRoundedRect(r, 3, 3)
        inner = r.adjusted(1.5, 1.5, -1.5, -1.5)
        fill = Theme.color("accent")
        fill.setAlphaF(0.55 if self.isEnabled() else 0.2)
        zero = inner.left() + inner.width() * self._frac(self.default)
        x = inner.left() + inner.width() * self._frac(self._value)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(fill)
        if self.kind == "gain":
            p.drawRoundedRect(QRectF(inner.left(), inner.top(), max(0.0, x - inner.left()), inner.height()), 2, 2)
        else:
            p.drawRect(QRectF(min(x, zero), inner.top(), abs(x - zero), inner.height()))
        p.setPen(QPen(Theme.color("text_dim"), 1))  # the default (0 dB, centre): ticks above and below the text
        p.drawLine(QPointF(zero, inner.top()), QPointF(zero, inner.top() + 2.5))
        p.drawLine(QPointF(zero, inner.bottom() - 2.5), QPointF(zero, inner.bottom()))
        p.setFont(self._font)
        text_r = r.adjusted(5, 0, -5, 0)
        p.setPen(Theme.color("text_dim"))
        p.drawText(text_r, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   "Vol" if self.kind == "gain" else "Pan")
        p.setPen(Theme.color("text"))
        p.drawText(text_r, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, self.text())
        if self.hasFocus():
            p.setPen(QPen(Theme.color("selection"), 1))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(r, 3, 3)
        p.end()

    # --- input -------------------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = (event.position().x(), self._frac(self._value))

    def mouseMoveEvent(self, event) -> None:
        if self._press is None:
            return
        x0, f0 = self._press
        scale = 0.2 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1.0
        self.setValue(self._from_frac(f0 + scale * (event.position().x() - x0) / max(20.0, self.width() - 3)))

    def mouseReleaseEvent(self, event) -> None:
        if self._press is not None:
            self._press = None
            self.valueCommitted.emit(self._value)

    def mouseDoubleClickEvent(self, event) -> None:
        self._press = None
        self.commit(self.default)

    def wheelEvent(self, event) -> None:
        steps = (event.angleDelta().y() or event.angleDelta().x()) / 120
        if steps:
            self.setValue(round((self._value + steps * self.step) / self.step) * self.step)
            self._wheel.start()
        event.accept()

    def keyPressEvent(self, event) -> None:
        k = event.key()
        if k in (Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Left, Qt.Key.Key_Down):
            sign = 1 if k in (Qt.Key.Key_Right, Qt.Key.Key_Up) else -1
            self.commit(round((self._value + sign * self.step) / self.step) * self.step)
        elif k in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace, Qt.Key.Key_0):
            self.commit(self.default)
        else:
            super().keyPressEvent(event)
