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
from ..render.diffusion import file_hash  # the one sha256-of-a-file implementation (engine.models caches it)
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
        meta[k] = json.loads(meta.get(k) or "{}")
    return meta


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu",
                    sha256: str | None = None) -> tuple[StructureTransformer, dict]:
    """Rebuild the model stored at ``path`` on ``device`` (float32), in eval mode.

    Returns (model, info) with info = {sha256, config, training, path}; ``sha256`` is the file's hash when the
    caller already knows it (the engine's hash cache), else it is computed. Raises ``ModelError`` on a
    missing, corrupt or mismatched file.
    """
    meta = read_metadata(path)
    if meta.get("tokenizer") != TOKENIZER_VERSION:
        raise ModelError(f"{path} was trained with tokenizer {meta.get('tokenizer')!r}; this version reads {TOKENIZER_VERSION!r}")
    cfg = StructureConfig.from_dict(meta["config"])
    if cfg.vocab_size != VOCAB_SIZE:
        raise ModelError(f"{path} has a vocabulary of {cfg.vocab_size} tokens; expected {VOCAB_SIZE}")
    model = StructureTransformer(cfg)
    expected = {k: v.shape for k, v in model.state_dict().items() if k != "head.weight"}
    sd = {}
    with safe_open(str(path), framework="pt") as f:
        names = set(f.keys())
        if names != set(expected):
            missing, unexpected = sorted(set(expected) - names), sorted(names - set(expected))
            raise ModelError(f"{path} does not match its config: missing {missing[:3]}, unexpected {unexpected[:3]}")
        for k in names:
            t = f.get_tensor(k)
            if tuple(t.shape) != tuple(expected[k]):
                raise ModelError(f"{path}: tensor {k} has shape {tuple(t.shape)}, expected {tuple(expected[k])}")
            if not torch.isfinite(t.float()).all():
                raise ModelError(f"{path}: tensor {k} holds NaN or infinite values")
            sd[k] = t.float()
    model.load_state_dict(sd, strict=False)
    model.head.weight = model.wte.weight
    model.to(device).eval()
    return model, {"sha256": sha256 or file_hash(path), "config": meta["config"], "training": meta["training"], "path": str(path)}
