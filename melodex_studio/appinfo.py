"""What the app says about itself: its version and where its licence texts are (Qt-free, torch-free).

The licence files live at the top of a source checkout and of the desktop bundle (``LICENSE``,
``THIRD_PARTY_NOTICES.md``); an installed wheel carries them in ``share/doc/melodex-studio`` under the
installation prefix (``[tool.setuptools.data-files]`` in pyproject.toml).
"""
from __future__ import annotations

import sys
from pathlib import Path

NOTICES = "THIRD_PARTY_NOTICES.md"
LICENSE = "LICENSE"
DOC_DIR = Path("share") / "doc" / "melodex-studio"


def version() -> str:
    """The one version (pyproject.toml), e.g. '0.1.0'."""
    from . import __version__

    return __version__


def _candidates(name: str) -> list[Path]:
    root = Path(__file__).resolve().parent.parent  # the checkout, or the bundle's _internal folder
    places = [root / name, root.parent / name, Path(sys.prefix) / DOC_DIR / name]
    if getattr(sys, "frozen", False):  # PyInstaller: next to the executable
        places.insert(0, Path(sys.executable).resolve().parent / name)
    return places


def doc_path(name: str) -> Path | None:
    """The first existing copy of ``name`` (LICENSE or THIRD_PARTY_NOTICES.md), or None."""
    return next((p for p in _candidates(name) if p.is_file()), None)


def doc_text(name: str) -> str:
    """The text of ``name``, or a line saying where it was looked for."""
    path = doc_path(name)
    if path is None:
        return f"{name} is not installed with this copy (looked in {', '.join(str(p.parent) for p in _candidates(name))})."
    return path.read_text(encoding="utf-8")
