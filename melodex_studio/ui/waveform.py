"""The waveform view (objectName ``waveformView``), docked under the timeline.

Part 1 reserves its place: it shows where the rendered mix will be drawn and how to get it. Part 2 draws the
mix and stems with pyqtgraph (peak downsampling, clip to view) in step with the timeline.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QWidget

from .theme import Theme


class WaveformView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("waveformView")
        self.setMinimumHeight(70)
        self.setToolTip("The rendered mix of the song")

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt)
        p = QPainter(self)
        p.fillRect(self.rect(), Theme.color("lane"))
        mid = self.height() / 2
        p.setPen(Theme.color("grid_bar"))
        p.drawLine(0, int(mid), self.width(), int(mid))
        p.setPen(Theme.color("text_faint"))
        p.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter,
                   "No audio rendered yet — choose the Diffusion renderer under Advanced and Generate")
        p.end()
