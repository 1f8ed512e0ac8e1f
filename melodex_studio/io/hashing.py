"""The one sha256-of-a-file helper (model files, project files). No torch: listing models or opening a project
must not pay for importing it. ``engine.models.file_sha256`` caches it per (path, size, mtime)."""
from __future__ import annotations

import hashlib
from pathlib import Path


def file_hash(path: str | Path) -> str:
    """sha256 (hex) of the file at ``path``, read in 1 MB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
