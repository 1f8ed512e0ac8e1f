"""`melodex train-codec`, `melodex train-renderer`, `melodex eval-renderer`: training and evaluation of the
audio codec and the diffusion renderer (top-level for now; also registered as `melodex train codec`,
`melodex train renderer` and `melodex eval renderer`). Options mirror the fields of the run configurations;
torch is imported only when a command runs."""
from __future__ import annotations

import argparse
from dataclasses import fields

from ..eval.renderer_eval import EvalConfig
from .common import TerminalProgress
from ..training.data_renderer import CodecTrainConfig, RendererTrainConfig

ORDER = 80


def _add_config_args(p: argparse.ArgumentParser, cls) -> None:
    for f in fields(cls):
        default = f.default
        flag = "--" + f.name.replace("_", "-")
        if isinstance(default, bool):
            p.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes"), default=default, metavar="BOOL")
        else:
            p.add_argument(flag, type=type(default), default=default, metavar=f.name.upper())


def _config_from(args, cls):
    return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})


def _train_codec(args) -> int:
    from ..training.train_codec import train_codec

    bar = TerminalProgress()
    try:
        path = train_codec(_config_from(args, CodecTrainConfig), log=bar.log, progress=bar)
    finally:
        bar.close()
    print(f"codec checkpoint: {path}")
    return 0


def _train_renderer(args) -> int:
    from ..training.train_renderer import train_renderer

    bar = TerminalProgress()
    try:
        path = train_renderer(_config_from(args, RendererTrainConfig), log=bar.log, progress=bar)
    finally:
        bar.close()
    print(f"renderer checkpoint: {path}")
    return 0


def _eval_renderer(args) -> int:
    from ..eval.renderer_eval import run_eval

    bar = TerminalProgress()
    try:
        run_eval(_config_from(args, EvalConfig), log=bar.log, progress=bar)
    finally:
        bar.close()
    return 0


def _codec_args(p):
    _add_config_args(p, CodecTrainConfig)


def _renderer_args(p):
    _add_config_args(p, RendererTrainConfig)


def _eval_args(p):
    _add_config_args(p, EvalConfig)


COMMANDS = (
    ("train-codec", "codec", "train the audio codec (VAE) on SoundFont renders", _codec_args, _train_codec),
    ("train-renderer", "renderer", "train the diffusion renderer on codec latents", _renderer_args, _train_renderer),
    ("eval-renderer", "renderer", "evaluate codec reconstruction and renderer score adherence", _eval_args, _eval_renderer),
)

# Also available as `melodex train codec|renderer` and `melodex eval renderer` (registries of train.py/eval.py).
try:
    from .train import register_trainer

    for _, name, text, add, run in COMMANDS[:2]:
        register_trainer(name, text, add, run)
except ImportError:  # pragma: no cover - the train command is optional
    pass
try:
    from .eval import register_evaluator

    register_evaluator(COMMANDS[2][1], COMMANDS[2][2], COMMANDS[2][3], COMMANDS[2][4])
except ImportError:  # pragma: no cover
    pass


def register(sub) -> None:
    for cmd, _, text, add, run in COMMANDS:
        p = sub.add_parser(cmd, help=text)
        add(p)
        p.set_defaults(func=run)
