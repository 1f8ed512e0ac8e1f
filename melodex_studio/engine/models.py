"""Model registry: the one place that finds the model files, reads their configs and cards, hashes each file
once and loads each model once per device.

Where models come from (``ModelInfo.source``):

* ``env``: the ``MELODEX_STRUCTURE_MODEL`` / ``MELODEX_CODEC_MODEL`` / ``MELODEX_RENDERER_MODEL`` variables
  (a user's own training run); when set, that file is the one the engine uses for its kind.
* ``package``: ``models/`` next to the package (a source checkout), then ``melodex_studio/resources/models/``
  (an installed package).
* ``user``: ``platformdirs.user_data_dir("melodex-studio")/models``. Every Melodex checkpoint there is listed
  (its kind read from the metadata); one with the standard name (``structure-small.safetensors``, ...) is
  used when the package ships none.

An explicit path argument to a loader beats all of these. The sha256 of a file is cached per (resolved path,
size, modification time); loaded models per (files, modification times, device). torch is imported lazily.
"""
from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import ModelError

KINDS = ("structure", "codec", "renderer")
FILES = {"structure": "structure-small.safetensors", "codec": "codec-small.safetensors",
         "renderer": "renderer-small.safetensors"}
ENVS = {"structure": "MELODEX_STRUCTURE_MODEL", "codec": "MELODEX_CODEC_MODEL", "renderer": "MELODEX_RENDERER_MODEL"}
STRUCTURE_FILE, CODEC_FILE, RENDERER_FILE = FILES["structure"], FILES["codec"], FILES["renderer"]
STRUCTURE_ENV, CODEC_ENV, RENDERER_ENV = ENVS["structure"], ENVS["codec"], ENVS["renderer"]
_PKG = Path(__file__).resolve().parent.parent
SEARCH_DIRS = (_PKG.parent / "models", _PKG / "resources" / "models")
_WHAT = {"structure": "structure model", "codec": "codec model", "renderer": "diffusion renderer model"}

_cache: dict[tuple, object] = {}  # ("structure"|"diffusion", ((path, mtime_ns), ...), device) -> loaded model
_hashes: dict[tuple, str] = {}  # (path, size, mtime_ns) -> sha256
_lock = threading.Lock()


@dataclass
class ModelInfo:
    """One checkpoint file as the registry sees it (nothing is built or loaded to describe it)."""

    name: str  # the file name without .safetensors, e.g. "structure-small"
    kind: str  # "structure" | "codec" | "renderer"
    path: Path
    parameters: int  # numbers stored in the file (the tied structure head is stored once)
    size_bytes: int
    sha256: str
    card: Path | None  # the .md model card next to the file
    config: dict  # the network config from the metadata
    source: str  # "package" | "user" | "env"
    default: bool = False  # the file the engine uses for this kind when no path is given
    loaded_on: list[str] = field(default_factory=list)  # devices it is loaded on (load cache)
    device: str | None = None  # where a load would go (``list_models(device)``); None when not asked

    def to_dict(self) -> dict:
        """JSON-able form (paths as strings)."""
        d = asdict(self)
        d["path"], d["card"] = str(self.path), (str(self.card) if self.card else None)
        return d


# --- finding files ------------------------------------------------------------------------------------

def user_models_dir() -> Path:
    """``<user data>/models`` (``engine.userdata.data_dir``; it need not exist)."""
    from .userdata import data_dir

    return data_dir() / "models"


def _env_path(kind: str) -> Path | None:
    env = ENVS[kind]
    if not os.environ.get(env):
        return None
    p = Path(os.environ[env]).expanduser()
    if not p.is_file():
        raise ModelError(f"{env} points to {p}, which does not exist")
    return p


def _model_path(kind: str, override, how: str) -> Path:
    if override:
        p = Path(override).expanduser()
        if not p.is_file():
            raise ModelError(f"{_WHAT[kind]} not found: {p}")
        return p
    p = _env_path(kind)
    if p is not None:
        return p
    dirs = (*SEARCH_DIRS, user_models_dir())
    for d in dirs:
        if (d / FILES[kind]).is_file():
            return d / FILES[kind]
    raise ModelError(f"no {_WHAT[kind]} found (looked for {FILES[kind]} in {', '.join(str(d) for d in dirs)}); {how}")


def structure_model_path(override: str | os.PathLike | None = None) -> Path:
    """Path of the structure checkpoint to use (see module docstring); ModelError when there is none."""
    return _model_path("structure", override, "train one with `melodex train structure`")


def diffusion_model_paths(codec: str | os.PathLike | None = None,
                          renderer: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """Paths of the codec and the diffusion renderer checkpoints (explicit paths, else as for every model)."""
    how = "train them with `melodex train codec` and `melodex train renderer`, or use --renderer soundfont"
    return _model_path("codec", codec, how), _model_path("renderer", renderer, how)


# --- hashing and headers ------------------------------------------------------------------------------

def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a model file (what the project records), computed once per (resolved path, size, mtime)."""
    from ..io import hashing  # the one implementation, torch-free (render/ and structure/ call it directly)

    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    with _lock:
        if key in _hashes:
            return _hashes[key]
    digest = hashing.file_hash(p)  # outside the lock: a 20 MB file must not block the loaders
    with _lock:
        return _hashes.setdefault(key, digest)


def read_header(path: str | os.PathLike) -> tuple[str | None, dict, int]:
    """(kind, metadata, parameter count) of a safetensors file from its header alone (no tensors read, no
    torch). ``kind`` is None for a file that is not a Melodex checkpoint; ModelError for an unreadable one."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = dict(f.metadata() or {})
            count = sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())
    except Exception as e:  # safetensors raises several error types for corrupt files
        raise ModelError(f"model file {path} is not a readable safetensors checkpoint ({e})") from None
    kind = "structure" if meta.get("format") == "melodex-structure" else meta.get("kind")
    return (kind if kind in KINDS else None), meta, count


def _describe(p: Path, source: str, default: bool, kind: str | None = None) -> ModelInfo | None:
    found, meta, count = read_header(p)
    if kind is not None and found != kind:
        raise ModelError(f"{ENVS[kind]} points to {p}, which is not a {kind} checkpoint (kind {found!r})")
    if found is None:
        return None
    try:
        config = json.loads(meta.get("config") or "{}")
    except ValueError:
        config = {}
    card = p.with_suffix(".md")
    return ModelInfo(name=p.name.removesuffix(".safetensors"), kind=found, path=p, parameters=int(count),
                     size_bytes=p.stat().st_size, sha256=file_sha256(p), card=card if card.is_file() else None,
                     config=config, source=source, default=default, loaded_on=_loaded_on(p))


def _loaded_on(p: Path) -> list[str]:
    entry = (str(p.resolve()), p.stat().st_mtime_ns)
    with _lock:
        return sorted({key[2] for key in _cache if entry in key[1]})


def list_models(device: str | None = None, user_dir: str | os.PathLike | None = None) -> list[ModelInfo]:
    """Every model the studio can use: env overrides, the package's ``models/``, then the user data dir
    (``user_dir`` replaces ``user_models_dir()``). Non-Melodex or unreadable files in the user dir are
    skipped; a broken env override raises ModelError. ``device`` ('auto', 'cpu', ...) fills
    ``ModelInfo.device`` with where a load would go (imports torch); None leaves it empty."""
    user = Path(user_dir) if user_dir is not None else user_models_dir()
    env = {kind: _env_path(kind) for kind in KINDS}
    places = [(p, "env", kind) for kind, p in env.items() if p is not None]  # (file, source, kind required)
    for d in SEARCH_DIRS:
        places += [(p, "package", None) for p in sorted(d.glob("*.safetensors"))]
    if user.is_dir():
        places += [(p, "user", None) for p in sorted(user.glob("*.safetensors"))]
    defaults = {}  # what the loaders pick when given no path (as _model_path does)
    for kind in KINDS:
        found = env[kind] or next((d / FILES[kind] for d in (*SEARCH_DIRS, user) if (d / FILES[kind]).is_file()), None)
        defaults[kind] = found.resolve() if found else None

    out, seen = [], set()
    for p, source, kind in places:
        if p.resolve() in seen:
            continue
        seen.add(p.resolve())
        try:
            info = _describe(p, source, False, kind)
        except ModelError:
            if source == "user":
                continue
            raise
        if info is not None:
            info.default = defaults[info.kind] == p.resolve()
            out.append(info)
    if device is not None:
        from .device import pick_device

        dev = str(pick_device(device))
        for info in out:
            info.device = dev
    return out


# --- what a project needs -----------------------------------------------------------------------------

def missing_models(song, available: list[ModelInfo] | None = None) -> list[str]:
    """Readable lines naming each model that made ``song`` (its structure model, the structure model of each
    regeneration take, the codec and renderer of each render take) and is not among ``available`` (default:
    ``list_models()``), saying what the studio would use instead. Empty when everything is installed."""
    available = list_models() if available is None else available
    have = {m.sha256 for m in available}
    need: dict[tuple[str, str], int] = {}  # (kind, sha256) -> how many takes/records use it

    def want(kind: str, sha) -> None:
        if isinstance(sha, str) and sha:
            need[(kind, sha)] = need.get((kind, sha), 0) + 1

    record = (song.generation or {}).get("structure_model") or {}
    want("structure", record.get("sha256"))
    names = {record.get("sha256"): record.get("name") or (Path(record["path"]).stem if record.get("path") else None)}
    for take in song.takes:
        want("structure", take.params.get("structure_model"))
        for kind, sha in (take.params.get("models") or {}).items():
            want(kind, sha)
    lines = []
    for (kind, sha), n in need.items():
        if sha in have:
            continue
        instead = next((m.name for m in available if m.kind == kind and m.default), None)
        if kind == "structure":
            what, redo = "the structure model that wrote this song", "regenerating"
        else:
            what = f"the {kind} that rendered {n} take{'s' if n > 1 else ''} of this song"
            redo = "rendering"
        alt = f"{redo} uses {instead} instead" if instead else f"no {kind} model is installed"
        name = f"{names[sha]}, " if names.get(sha) else ""
        lines.append(f"{what} ({name}sha256 {sha[:8]}…) is not installed; {alt}")
    return lines


# --- loading ------------------------------------------------------------------------------------------

def load_structure_model(path: str | os.PathLike | None = None, device: str = "auto"):
    """(model, info) for the structure checkpoint at ``path`` (or the default) on ``device``; cached.

    ``info`` holds ``sha256``, ``path``, ``config`` and ``training`` (from the checkpoint metadata).
    """
    from ..structure.checkpoint import load_checkpoint
    from .device import pick_device

    p = structure_model_path(path).resolve()
    dev = pick_device(device)
    key = ("structure", ((str(p), p.stat().st_mtime_ns),), str(dev))
    with _lock:
        if key in _cache:
            return _cache[key]
    sha = file_sha256(p)
    with _lock:
        if key not in _cache:
            _cache[key] = load_checkpoint(p, dev, sha256=sha)
        return _cache[key]


def load_diffusion_renderer(codec: str | os.PathLike | None = None, renderer: str | os.PathLike | None = None,
                            device: str = "auto"):
    """The (cached) ``render.diffusion.DiffusionRenderer`` for the codec and renderer checkpoints on ``device``."""
    from ..render.diffusion import DiffusionRenderer, load_codec, load_dit
    from .device import pick_device

    cp, rp = (p.resolve() for p in diffusion_model_paths(codec, renderer))
    dev = pick_device(device)
    key = ("diffusion", ((str(cp), cp.stat().st_mtime_ns), (str(rp), rp.stat().st_mtime_ns)), str(dev))
    with _lock:
        if key not in _cache:
            _cache[key] = DiffusionRenderer(load_codec(cp), load_dit(rp), dev)
        return _cache[key]


def model_hashes(codec: str | os.PathLike | None = None, renderer: str | os.PathLike | None = None) -> dict[str, str]:
    """sha256 of the codec and renderer files (what a render take records), from the hash cache."""
    return {name: file_sha256(p) for name, p in zip(("codec", "renderer"), diffusion_model_paths(codec, renderer))}


def clear_cache() -> None:
    """Forget loaded models and file hashes."""
    with _lock:
        _cache.clear()
        _hashes.clear()
