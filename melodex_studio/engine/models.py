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

_cache: dict[tuple, object] = {}
_lock = threading.Lock()


CODEC_FILE, RENDERER_FILE = "codec-small.safetensors", "renderer-small.safetensors"
CODEC_ENV, RENDERER_ENV = "MELODEX_CODEC_MODEL", "MELODEX_RENDERER_MODEL"


def _model_path(file: str, env: str, what: str, override, how: str) -> Path:
    if override:
        p = Path(override).expanduser()
        if not p.is_file():
            raise ModelError(f"{what} not found: {p}")
        return p
    if os.environ.get(env):
        p = Path(os.environ[env]).expanduser()
        if not p.is_file():
            raise ModelError(f"{env} points to {p}, which does not exist")
        return p
    for d in SEARCH_DIRS:
        if (d / file).is_file():
            return d / file
    raise ModelError(f"no {what} found (looked for {file} in {', '.join(str(d) for d in SEARCH_DIRS)}); {how}")


def structure_model_path(override: str | os.PathLike | None = None) -> Path:
    """Path of the structure checkpoint to use (see module docstring); ModelError when there is none."""
    return _model_path(STRUCTURE_FILE, STRUCTURE_ENV, "structure model", override,
                       "train one with `melodex train structure`")


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


def diffusion_model_paths(codec: str | os.PathLike | None = None,
                          renderer: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """Paths of the codec and the diffusion renderer checkpoints: explicit paths, else the
    ``MELODEX_CODEC_MODEL`` / ``MELODEX_RENDERER_MODEL`` variables, else the shipped ``models/`` files."""
    how = "train them with `melodex train codec` and `melodex train renderer`, or use --renderer soundfont"
    return (_model_path(CODEC_FILE, CODEC_ENV, "codec model", codec, how),
            _model_path(RENDERER_FILE, RENDERER_ENV, "diffusion renderer model", renderer, how))


def load_diffusion_renderer(codec: str | os.PathLike | None = None, renderer: str | os.PathLike | None = None,
                            device: str = "auto"):
    """The (cached) ``render.diffusion.DiffusionRenderer`` for the codec and renderer checkpoints on ``device``."""
    from ..render.diffusion import DiffusionRenderer, load_codec, load_dit
    from .device import pick_device

    cp, rp = (p.resolve() for p in diffusion_model_paths(codec, renderer))
    dev = pick_device(device)
    key = ("diffusion", str(cp), cp.stat().st_mtime_ns, str(rp), rp.stat().st_mtime_ns, str(dev))
    with _lock:
        if key not in _cache:
            _cache[key] = DiffusionRenderer(load_codec(cp), load_dit(rp), dev)
        return _cache[key]


def model_hashes(codec: str | os.PathLike | None = None, renderer: str | os.PathLike | None = None) -> dict[str, str]:
    """sha256 of the codec and renderer files (what a render take records); cached per (file, size, modification
    time) like the loaded models, so a render or variation does not re-read 21 MB each time."""
    from ..render.diffusion import file_hash

    out = {}
    for name, p in zip(("codec", "renderer"), diffusion_model_paths(codec, renderer)):
        p = p.resolve()
        st = p.stat()
        key = ("sha256", str(p), st.st_size, st.st_mtime_ns)
        with _lock:
            if key not in _cache:
                _cache[key] = file_hash(p)
            out[name] = _cache[key]
    return out


def clear_cache() -> None:
    with _lock:
        _cache.clear()
