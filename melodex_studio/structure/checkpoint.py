"""Structure-model checkpoints: safetensors weights + JSON config in the metadata (never pickle).

A checkpoint rebuilds its own model: ``load_checkpoint`` reads the config from the metadata, builds the
network, checks every tensor name and shape, and returns the model with its sha256 hash (of the file
bytes) for the project file's generation record.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..errors import ModelError
from ..io.hashing import file_hash  # the one sha256-of-a-file implementation (engine.models caches it)
from .tokens import TOKENIZER_VERSION, VOCAB_SIZE
from .transformer import StructureConfig, StructureTransformer

FORMAT = "melodex-structure"


def save_checkpoint(model: StructureTransformer, path: str | os.PathLike, extra: dict | None = None,
                    dtype: torch.dtype = torch.float32) -> str:
    """Write ``model`` to ``path`` atomically (weights in ``dtype``); returns the file's sha256.

    ``extra`` (JSON-able: steps, losses, data summary) is stored in the metadata under ``training``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()
          if k != "head.weight"}  # tied to wte.weight
    meta = {"format": FORMAT, "config": json.dumps(model.cfg.to_dict()), "tokenizer": TOKENIZER_VERSION,
            "training": json.dumps(extra or {})}
    tmp = path.with_suffix(path.suffix + ".tmp")
    save_file(sd, str(tmp), metadata=meta)
    os.replace(tmp, path)
    return file_hash(path)


def read_metadata(path: str | os.PathLike) -> dict:
    """The checkpoint's metadata with ``config`` and ``training`` decoded from JSON."""
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
    except FileNotFoundError:
        raise ModelError(f"structure model not found: {path}") from None
    except Exception as e:  # safetensors raises its own error types for corrupt headers
        raise ModelError(f"{path} is not a readable safetensors checkpoint ({e})") from None
    if meta.get("format") != FORMAT:
        raise ModelError(f"{path} is not a Melodex structure model (format {meta.get('format')!r})")
    for k in ("config", "training"):
        try:
            meta[k] = json.loads(meta.get(k) or "{}")
        except (ValueError, RecursionError) as e:
            raise ModelError(f"{path}: its {'config' if k == 'config' else 'training record'} is not valid JSON "
                             f"({e})") from None
    return meta


# Config fields of a structure checkpoint: name -> (type, low, high) (see ``render.diffusion.check_config``).
STRUCTURE_FIELDS: dict[str, tuple] = {
    "vocab_size": (int, 1, 1_000_000), "block_size": (int, 1, 8192), "n_layer": (int, 1, 64), "n_head": (int, 1, 64),
    "n_embd": (int, 2, 4096), "mlp_ratio": (int, 1, 16), "dropout": (float, 0.0, 1.0), "rope_base": (float, 2.0, 1e7),
}


def _config_problem(cfg: dict) -> str | None:
    c = StructureConfig.from_dict(cfg)
    if c.vocab_size != VOCAB_SIZE:
        return f"a vocabulary of {c.vocab_size} tokens; expected {VOCAB_SIZE}"
    if c.n_embd % c.n_head or (c.n_embd // c.n_head) % 2:
        return f"n_embd {c.n_embd} does not split into {c.n_head} heads of an even size"
    return None


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu",
                    sha256: str | None = None) -> tuple[StructureTransformer, dict]:
    """Rebuild the model stored at ``path`` on ``device`` (float32), in eval mode.

    Returns (model, info) with info = {sha256, config, training, path}; ``sha256`` is the file's hash when the
    caller already knows it (the engine's hash cache), else it is computed. Raises ``ModelError`` on a
    missing, corrupt or mismatched file: the config is checked (``STRUCTURE_FIELDS``, tokenizer, vocabulary)
    and compared with the file's tensors before the model is built (``render.diffusion.load_weights``).
    """
    from ..render.diffusion import load_weights

    meta = read_metadata(path)
    if meta.get("tokenizer") != TOKENIZER_VERSION:
        raise ModelError(f"{path} was trained with tokenizer {meta.get('tokenizer')!r}; this version reads {TOKENIZER_VERSION!r}")
    model, _, _ = load_weights(path, FORMAT, STRUCTURE_FIELDS, lambda d: StructureTransformer(StructureConfig.from_dict(d)),
                               _config_problem, format_key="format", skip=frozenset({"head.weight"}))
    model.head.weight = model.wte.weight  # tied, not stored
    model.to(device).eval()
    return model, {"sha256": sha256 or file_hash(path), "config": meta["config"], "training": meta["training"], "path": str(path)}
