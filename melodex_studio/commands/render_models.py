"""`melodex train-codec`, `melodex train-renderer`, `melodex eval-renderer`: training and evaluation of the
audio codec and the diffusion renderer (top-level for now; to be folded under `train` / `eval`)."""
from __future__ import annotations

import argparse
from dataclasses import fields

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
    from ..training.train_codec import CodecTrainConfig, train_codec

    path = train_codec(_config_from(args, CodecTrainConfig), log=lambda s: print(s, flush=True))
    print(f"codec checkpoint: {path}")
    return 0


def _train_renderer(args) -> int:
    from ..training.train_renderer import RendererTrainConfig, train_renderer

    path = train_renderer(_config_from(args, RendererTrainConfig), log=lambda s: print(s, flush=True))
    print(f"renderer checkpoint: {path}")
    return 0


def _eval_renderer(args) -> int:
    from ..eval.renderer_eval import EvalConfig, run_eval

    run_eval(_config_from(args, EvalConfig), log=lambda s: print(s, flush=True))
    return 0


def register(sub) -> None:
    from ..training.train_codec import CodecTrainConfig

    p = sub.add_parser("train-codec", help="train the audio codec (VAE) on SoundFont renders")
    _add_config_args(p, CodecTrainConfig)
    p.set_defaults(func=_train_codec)
    try:
        from ..training.train_renderer import RendererTrainConfig

        p = sub.add_parser("train-renderer", help="train the diffusion renderer on codec latents")
        _add_config_args(p, RendererTrainConfig)
        p.set_defaults(func=_train_renderer)
    except ImportError:
        pass
    try:
        from ..eval.renderer_eval import EvalConfig

        p = sub.add_parser("eval-renderer", help="evaluate codec reconstruction and renderer score adherence")
        _add_config_args(p, EvalConfig)
        p.set_defaults(func=_eval_renderer)
    except ImportError:
        pass
