"""Copy a trained codec or renderer checkpoint into ``models/`` at half precision (the shipped size).

``python -m melodex_studio.training.ship SRC DST`` keeps the metadata (kind, config JSON, training step and
losses) and stores the floating-point weights as float16; the loaders turn them back into float32. Prints
the sha256 of the written file for the model card.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

from ..render.diffusion import file_hash, read_checkpoint


def ship(src: str | Path, dst: str | Path) -> str:
    """Write ``src`` (a 'codec' or 'renderer' checkpoint) to ``dst`` with float16 weights; returns its sha256."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(src), framework="pt") as f:
        kind = (f.metadata() or {}).get("kind", "")
    sd, meta = read_checkpoint(src, kind)
    half = {k: (v.to(torch.float16) if v.is_floating_point() else v).contiguous() for k, v in sd.items()}
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(dst.suffix + ".tmp")
    save_file(half, str(tmp), metadata={**meta, "shipped_from": Path(src).name, "dtype": "float16"})
    tmp.replace(dst)
    return file_hash(dst)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m melodex_studio.training.ship SRC.safetensors DST.safetensors", file=sys.stderr)
        return 2
    print(f"{args[1]}: sha256 {ship(args[0], args[1])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
