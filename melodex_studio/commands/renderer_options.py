"""Options shared by the commands that render audio (`render`, `export`, `generate`): which renderer, and
the diffusion renderer's steps, strength, seed and device. A helper module: it registers no command."""
from __future__ import annotations

import argparse
import sys

from ..engine.diffusion_render import DiffusionOptions


def add_renderer_args(p: argparse.ArgumentParser, device: bool = True) -> None:
    g = p.add_argument_group("renderer")
    g.add_argument("--renderer", default=None, choices=("diffusion", "soundfont"),
                   help="soundfont (the default: the sample-based render, which the realism panel of `melodex eval "
                        "renderer` finds better today) or diffusion (the neural renderer, with the codec and renderer "
                        "models; records takes in the project)")
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
    """The renderer a command uses: the one asked for, else the SoundFont renderer, or the diffusion renderer
    (our own models, torch only) when a command that writes audio cannot make a SoundFont render here (no
    tinysoundfont package, as after a plain ``pip install .`` on Linux, or no SoundFont): one line on stderr
    says so.

    The default is the better-sounding renderer (issue 18): the diffusion renderer loses the realism panel of
    `melodex eval renderer` to the SoundFont render (no decays, band-limited to 12 kHz, hiss in rests; see
    models/renderer-small.md), so it is one flag away (``--renderer diffusion``) until it wins that panel."""
    if args.renderer:
        return args.renderer
    if renders_audio:
        from ..render.soundfont_fallback import soundfont_problem

        problem = soundfont_problem(getattr(args, "soundfont", None))
        if problem is not None:
            print(f"melodex: {problem}; rendering with the diffusion renderer instead (slower; "
                  "`melodex doctor` says how to get the SoundFont render)", file=sys.stderr)
            return "diffusion"
    return "soundfont"
