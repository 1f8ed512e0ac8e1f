"""Options shared by the commands that render audio (`render`, `export`, `generate`): which renderer, and
the diffusion renderer's steps, strength, seed and device. A helper module: it registers no command."""
from __future__ import annotations

import argparse
import sys

from ..engine.diffusion_render import DiffusionOptions


def add_renderer_args(p: argparse.ArgumentParser, device: bool = True) -> None:
    g = p.add_argument_group("renderer")
    g.add_argument("--renderer", default=None, choices=("diffusion", "soundfont"),
                   help="diffusion (the default: the neural renderer, with the codec and renderer models) or soundfont "
                        "(the sample-based preview; also what renders when the models are missing)")
    g.add_argument("--steps", type=int, default=DiffusionOptions.steps, help="diffusion: sampler steps (default %(default)s)")
    g.add_argument("--strength", type=float, default=DiffusionOptions.strength,
                   help="diffusion: 1 renders from noise, below 1 starts from the SoundFont render (0 keeps it)")
    g.add_argument("--render-seed", type=int, default=DiffusionOptions.seed, help="diffusion: noise seed")
    if device:
        g.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))


def diffusion_options(args: argparse.Namespace) -> DiffusionOptions:
    return DiffusionOptions(steps=args.steps, strength=args.strength, seed=args.render_seed,
                            device=getattr(args, "device", "auto"))


def chosen_renderer(args: argparse.Namespace, renders_audio: bool = True) -> str:
    """The renderer a command uses: the one asked for, else diffusion when its models are found, else the
    SoundFont renderer (saying why on stderr). A command that writes no audio (``renders_audio`` False) needs
    no models: SoundFont unless asked otherwise, without a note."""
    if args.renderer:
        return args.renderer
    if not renders_audio:
        return "soundfont"
    from ..engine.models import diffusion_model_paths
    from ..errors import ModelError

    try:
        diffusion_model_paths()
    except ModelError as e:
        print(f"note: {e}; rendering with the SoundFont renderer", file=sys.stderr)
        return "soundfont"
    return "diffusion"
