"""Build the application and project-file icons from their SVG masters in resources/icons/.

    .venv/bin/python packaging/build_icons.py

PNGs (16 to 512 px) are rendered with PySide6's QSvgRenderer into the freedesktop layout
``resources/icons/hicolor/<N>x<N>/{apps,mimetypes}/<name>.png``; the Windows ``.ico`` (16-256 px) and the macOS
``.icns`` (16-1024 px) are packed from those renders with Pillow. Without Pillow the PNGs are still written and
the script says that the .ico/.icns were not (``pip install pillow``). The master is also copied to
``melodex_studio/resources/icons/app.svg``, the window's own icon. Runs offscreen; deterministic output.
"""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
APP = "io.melodex.Studio"
MIME = "application-x-melodex-project"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render_png(svg: Path, size: int) -> bytes:
    """The SVG drawn at size x size px (transparent background), as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    return bytes(data.data())


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - QPainter needs one
    written = []
    renders: dict[int, bytes] = {}
    for name, kind in ((APP, "apps"), (MIME, "mimetypes")):
        svg = ICONS / f"{name}.svg"
        for size in SIZES:
            png = render_png(svg, size)
            if name == APP:
                renders[size] = png
            out = ICONS / "hicolor" / f"{size}x{size}" / kind / f"{name}.png"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(png)
            written.append(out)
    window_icon = ROOT / "melodex_studio" / "resources" / "icons" / "app.svg"  # the window's icon: the same master
    window_icon.write_bytes((ICONS / f"{APP}.svg").read_bytes())
    written.append(window_icon)
    try:
        from PIL import Image
    except ImportError:
        print("Pillow is not installed: the PNGs are written, the .ico and .icns are not (pip install pillow)")
    else:
        ico = ICONS / f"{APP}.ico"  # each size drawn from the SVG, not scaled down from the largest
        images = [Image.open(io.BytesIO(renders[s])) for s in ICO_SIZES]
        images[-1].save(ico, sizes=[(s, s) for s in ICO_SIZES], append_images=images[:-1])
        icns = ICONS / f"{APP}.icns"  # Pillow writes the 16-1024 px set from the 1024 px render
        Image.open(io.BytesIO(render_png(ICONS / f"{APP}.svg", 1024))).save(icns)
        written += [ico, icns]
    for p in written:
        print(p.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
