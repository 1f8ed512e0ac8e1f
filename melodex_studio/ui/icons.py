"""SVG icons drawn for the studio (``resources/icons/*.svg``), tinted for the active theme and rasterised at
several sizes so they stay sharp at 100 % and 200 % scale."""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from .theme import RESOURCES, Theme, colors

ICON_DIR = RESOURCES / "icons"
_DRAWN_COLOR = "#d6dae2"  # the stroke colour the files are drawn with; replaced by the theme's icon colour
_SIZES = (16, 20, 24, 32, 40, 48, 64)
_cache: dict[tuple[str, str], QIcon] = {}


def clear_icon_cache() -> None:
    _cache.clear()


def icon_names() -> list[str]:
    return sorted(p.stem for p in ICON_DIR.glob("*.svg"))


def svg_bytes(name: str, color: str | None = None) -> bytes:
    """The SVG of icon ``name`` with its strokes in ``color`` (default: the active theme's icon colour)."""
    text = (ICON_DIR / f"{name}.svg").read_text(encoding="utf-8")
    return text.replace(_DRAWN_COLOR, color or colors(Theme.name)["icon"]).encode("utf-8")


def icon(name: str) -> QIcon:
    """The QIcon for ``name`` (e.g. 'play', 'generate'); an empty icon when there is no such file."""
    key = (name, Theme.name)
    if key in _cache:
        return _cache[key]
    out = QIcon()
    if (ICON_DIR / f"{name}.svg").is_file():
        normal = QSvgRenderer(QByteArray(svg_bytes(name)))
        faint = QSvgRenderer(QByteArray(svg_bytes(name, colors(Theme.name)["text_faint"])))
        for size in _SIZES:
            out.addPixmap(_raster(normal, size), QIcon.Mode.Normal)
            out.addPixmap(_raster(faint, size), QIcon.Mode.Disabled)
    _cache[key] = out
    return out


def _raster(renderer: QSvgRenderer, size: int) -> QPixmap:
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(p, QRectF(0, 0, size, size))
    p.end()
    return QPixmap.fromImage(img)
