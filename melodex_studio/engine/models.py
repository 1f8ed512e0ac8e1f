"""Model registry: where the shipped and user checkpoints are, and a cache of loaded models.

The structure model is looked up in this order: an explicit path argument, the ``MELODEX_STRUCTURE_MODEL``
environment variable (a user's own training run), ``models/structure-small.safetensors`` next to the
package (a source checkout) and ``melodex_studio/resources/models/`` (an installed package). Loaded models
are cached per (file, modification time, device), so repeated generations do not reload. torch is
imported lazily.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from ..errors import ModelError

STRUCTURE_FILE = "structure-small.safetensors"
STRUCTURE_ENV = "MELODEX_STRUCTURE_MODEL"
_PKG = Path(__file__).resolve().parent.parent
SEARCH_DIRS = (_PKG.parent / "models", _PKG / "resources" / "models")

_cache: dict[tuple, tuple] = {}
_lock = threading.Lock()


def structure_model_path(override: str | os.PathLike | None = None) -> Path:
    """Path of the structure checkpoint to use (see module docstring); ModelError when there is none."""
    if override:
        p = Path(override).expanduser()
        if not p.is_file():
            raise ModelError(f"structure model not found: {p}")
        return p
    env = os.environ.get(STRUCTURE_ENV)
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise ModelError(f"{STRUCTURE_ENV} points to {p}, which does not exist")
        return p
    for d in SEARCH_DIRS:
        if (d / STRUCTURE_FILE).is_file():
            return d / STRUCTURE_FILE
    raise ModelError(f"no structure model found (looked for {STRUCTURE_FILE} in "
                     f"{', '.join(str(d) for d in SEARCH_DIRS)}); train one with `melodex train structure`")


def load_structure_model(path: str | os.PathLike | None = None, device: str = "auto"):
    """(model, info) for the structure checkpoint at ``path`` (or the default) on ``device``; cached.

    ``info`` holds ``sha256``, ``path``, ``config`` and ``training`` (from the checkpoint metadata).
    """
    from ..structure.checkpoint import load_checkpoint
    from .device import pick_device

    p = structure_model_path(path).resolve()
    dev = pick_device(device)
    key = (str(p), p.stat().st_mtime_ns, str(dev))
    with _lock:
        if key not in _cache:
            _cache[key] = load_checkpoint(p, dev)
        return _cache[key]


def clear_cache() -> None:
    with _lock:
        _cache.clear()
