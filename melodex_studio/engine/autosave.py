"""Autosave copies of open projects, for recovery after a crash.

A session with unsaved changes writes a full copy of its project (same format, same atomic save) into
``<user data>/autosave/`` at most every ``interval_s`` seconds and after every applied job. The name is
derived from the project's absolute path (or, for an untitled project, from the session), so reopening the
project finds it. A clean save or a close removes it. ``MELODEX_DATA_DIR`` overrides the user data folder
(``platformdirs.user_data_dir("melodex-studio")``).
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

from .userdata import data_dir


def autosave_path(project: Path | None, session_id: str) -> Path:
    """Where the autosave copy of ``project`` (None: an untitled project of session ``session_id``) goes."""
    if project is None:
        return data_dir() / "autosave" / f"untitled-{session_id}.melodex"
    key = hashlib.sha1(str(Path(project).resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return data_dir() / "autosave" / f"{Path(project).stem[:40]}-{key}.melodex"


def newer_autosave(project: Path) -> Path | None:
    """The autosave copy of ``project`` when it is newer than the project file (a crash left unsaved work)."""
    a = autosave_path(project, "")
    try:
        return a if a.stat().st_mtime_ns > Path(project).stat().st_mtime_ns else None
    except OSError:
        return None


class Autosaver:
    """Decides when to write: ``due()`` after ``interval_s`` since the last write."""

    def __init__(self, interval_s: float = 60.0):
        self.interval_s = interval_s
        self.last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.interval_s

    def wrote(self) -> None:
        self.last = time.monotonic()

    @staticmethod
    def remove(path: Path) -> None:
        for p in (path, path.with_name(path.name + ".bak")):
            try:
                p.unlink()
            except OSError:
                pass
