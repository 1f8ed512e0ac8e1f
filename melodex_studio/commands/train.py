"""`melodex train MODEL ...`: one sub-command per trainable model.

Extending it: a trainer registers itself with ``register_trainer(name, help, add_args, run)`` at import
time of its command module (e.g. ``commands/train_renderer.py`` calling
``from .train import register_trainer``); ``cli.py`` imports every command module before it calls
``register``, so all trainers are known when the ``train`` parser is built. ``add_args(parser)`` adds
the options, ``run(args)`` returns the exit code and imports torch / the training code lazily (the CLI
starts without torch). The structure trainer is registered below.
"""
from __future__ import annotations

import argparse
from typing import Callable

from .common import TerminalProgress

ORDER = 60
TRAINERS: dict[str, tuple[str, Callable, Callable]] = {}


def register_trainer(name: str, help: str, add_args: Callable[[argparse.ArgumentParser], None],
                     run: Callable[[argparse.Namespace], int]) -> None:
    """Make ``melodex train NAME`` available."""
    TRAINERS[name] = (help, add_args, run)


def _structure_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="small", choices=("tiny", "small", "base"))
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--data", default="runs/data-structure", help="structure dataset folder (built if missing)")
    p.add_argument("--midi-dir", default="", help="extra training songs: a folder of .mid files")
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    p.add_argument("--out", default="models/structure-small.safetensors")
    p.add_argument("--run-dir", default="", help="checkpoints, optimizer state and loss plot (runs/structure-PRESET)")
    p.add_argument("--device", default="auto")
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--max-songs", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)


def _structure_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..training.train_structure import StructureTrainConfig, train_structure

    if not Path(args.data).exists() and not args.midi_dir:
        from ..training.data_structure import build_dataset

        print(f"building the structure dataset in {args.data} ...", flush=True)
        build_dataset(args.data)
    cfg = StructureTrainConfig(preset=args.preset, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                               data=args.data, midi_dir=args.midi_dir, out=args.out, run_dir=args.run_dir,
                               resume=args.resume, device=args.device, eval_every=args.eval_every,
                               threads=args.threads, max_songs=args.max_songs, seed=args.seed)
    bar = TerminalProgress()
    try:
        path = train_structure(cfg, log=bar.log, progress=bar)
    finally:
        bar.close()
    print(f"structure model: {path}")
    return 0


register_trainer("structure", "train the structure (arrangement) transformer", _structure_args, _structure_run)


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model (see `melodex train -h`)")
    tsub = p.add_subparsers(dest="model", metavar="MODEL")
    tsub.required = True
    for name, (help_text, add_args, run) in sorted(TRAINERS.items()):
        tp = tsub.add_parser(name, help=help_text)
        add_args(tp)
        tp.set_defaults(func=run)
