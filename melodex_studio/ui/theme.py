"""Themes: the colours of the studio (``resources/themes/<name>.json``), the style sheet that uses them
(``resources/themes/studio.qss``, ``@token`` placeholders) and the colours the painted views use (section
blocks by label, clips by track role). Dark by default; light in View > Theme (kept in QSettings)."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
THEMES = ("dark", "light")
DEFAULT_THEME = "dark"

# Section blocks: one hue per kind of section, so a form reads at a glance (verse green, chorus orange...).
SECTION_COLORS = {
    "intro": "#5d7fb3", "verse": "#3f9a72", "pre-chorus": "#b59a3c", "prechorus": "#b59a3c", "chorus": "#d0703c",
    "bridge": "#9466c4", "breakdown": "#4d9fb0", "break": "#4d9fb0", "drop": "#d0505f", "build": "#c08a3c",
    "solo": "#b85c9a", "interlude": "#5e8f9e", "outro": "#6b7896", "hook": "#d0703c", "refrain": "#d0703c",
    "a": "#3f9a72", "b": "#d0703c", "c": "#9466c4", "head": "#3f9a72", "coda": "#6b7896", "tag": "#6b7896",
}
_FALLBACK_SECTION = ["#4f8fbf", "#bf8f4f", "#8f4fbf", "#4fbf8f", "#bf4f6f", "#6f7fbf"]

# Clips: one hue per track role.
ROLE_COLORS = {
    "melody": "#e8a33d", "counter": "#d4c545", "chords": "#5cbf7a", "pad": "#9a7ce0", "bass": "#4ba3e3",
    "drums": "#e3605a", "percussion": "#e3855a", "fx": "#4fc9c4",
}


@lru_cache(maxsize=None)
def colors(theme: str = DEFAULT_THEME) -> dict[str, str]:
    """The theme's named colours (``window``, ``text``, ``accent``, ``lane`` ...), as '#rrggbb' strings."""
    name = theme if theme in THEMES else DEFAULT_THEME
    return json.loads((RESOURCES / "themes" / f"{name}.json").read_text(encoding="utf-8"))


class Theme:
    """The active theme; painted views read ``Theme.color('lane')`` when they paint."""

    name = DEFAULT_THEME

    @classmethod
    def color(cls, token: str) -> QColor:
        return QColor(colors(cls.name)[token])


def style_sheet(theme: str = DEFAULT_THEME) -> str:
    """studio.qss with every ``@token`` replaced by the theme's colour (longest tokens first)."""
    qss = (RESOURCES / "themes" / "studio.qss").read_text(encoding="utf-8")
    c = colors(theme)
    return re.sub(r"@([a-z_]+)", lambda m: c.get(m.group(1), m.group(0)), qss)


def palette(theme: str = DEFAULT_THEME) -> QPalette:
    """A QPalette matching the style sheet (for widgets the sheet does not reach: dialogs, item views)."""
    c = {k: QColor(v) for k, v in colors(theme).items()}
    p = QPalette()
    R = QPalette.ColorRole
    for role, token in ((R.Window, "window"), (R.WindowText, "text"), (R.Base, "base"), (R.AlternateBase, "panel_alt"),
                        (R.Text, "text"), (R.Button, "raised"), (R.ButtonText, "text"), (R.Highlight, "accent"),
                        (R.HighlightedText, "accent_text"), (R.ToolTipBase, "panel"), (R.ToolTipText, "text"),
                        (R.PlaceholderText, "text_faint"), (R.Link, "accent"), (R.Mid, "line"), (R.Dark, "border"),
                        (R.Light, "raised"), (R.Midlight, "panel_alt"), (R.Shadow, "border")):
        p.setColor(role, c[token])
    for role, token in ((R.Text, "text_faint"), (R.WindowText, "text_faint"), (R.ButtonText, "text_faint")):
        p.setColor(QPalette.ColorGroup.Disabled, role, c[token])
    return p


def apply_theme(app: QApplication, theme: str = DEFAULT_THEME) -> None:
    """Fusion style + the theme's palette and style sheet on the whole application."""
    theme = theme if theme in THEMES else DEFAULT_THEME
    Theme.name = theme
    app.setStyle("Fusion")
    app.setPalette(palette(theme))
    app.setStyleSheet(style_sheet(theme))
    from .icons import clear_icon_cache

    clear_icon_cache()


def section_color(label: str, index: int = 0) -> QColor:
    """The block colour of a section labelled ``label`` ('Verse 2' is coloured as 'verse')."""
    key = re.sub(r"[\s_]*\d+$", "", label.strip().lower())
    hexcol = SECTION_COLORS.get(key) or SECTION_COLORS.get(key.split()[0] if key.split() else "", None)
    return QColor(hexcol or _FALLBACK_SECTION[index % len(_FALLBACK_SECTION)])


def role_color(role: str) -> QColor:
    """The clip colour of a track with ``role`` (melody, bass, drums ...)."""
    return QColor(ROLE_COLORS.get(role, "#8fa0b8"))
