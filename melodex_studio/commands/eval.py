"""`melodex eval MODEL ...`: one sub-command per evaluated model.

Extending it works like `melodex train` (see ``commands/train.py``): a command module calls
``register_evaluator(name, help, add_args, run)`` at import time; ``run(args)`` imports torch and the
evaluation code lazily. The structure evaluation is registered below.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable

ORDER = 61
EVALUATORS: dict[str, tuple[str, Callable, Callable]] = {}


def register_evaluator(name: str, help: str, add_args: Callable[[argparse.ArgumentParser], None],
                       run: Callable[[argparse.Namespace], int]) -> None:
    """Make ``melodex eval NAME`` available."""
    EVALUATORS[name] = (help, add_args, run)


def _structure_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="models/structure-small.safetensors")
    p.add_argument("--data", default="runs/data-structure", help="structure dataset folder (train/val/test)")
    p.add_argument("--out", default="runs/structure-eval.json", help="JSON report")
    p.add_argument("--n-songs", type=int, default=8, help="songs generated per system for the statistics")
    p.add_argument("--max-bars", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")


def _structure_run(args: argparse.Namespace) -> int:
    import torch

    from ..eval.structure_eval import EvalConfig, format_table, run_eval

    torch.set_num_threads(1)
    rep = run_eval(EvalConfig(model=args.model, data=args.data, out=args.out, n_songs=args.n_songs,
                              max_bars=args.max_bars, seed=args.seed, device=args.device),
                   log=lambda s: print(s, flush=True))
    print(format_table(rep))
    print(f"report: {args.out}")
    return 0


register_evaluator("structure", "evaluate the structure model (NLL vs 3-gram, statistics vs test split)",
                   _structure_args, _structure_run)


def _songs_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("prompts", metavar="PROMPTS.jsonl", help="one JSON object a line: {\"prompt\": ..., optional "
                   "\"key\", \"meter\", \"bpm\", \"form\", \"instruments\" to check against}")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.add_argument("--model", default=None, help="structure model (default: the shipped one)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first prompt (then +1 per prompt)")
    p.add_argument("--limit", type=int, default=None, help="only the first N prompts")
    p.add_argument("--out", default=None, help="also write the JSON report here")
    p.add_argument("--device", default="cpu")
    p.add_argument("--fix-parts", action="store_true",
                   help="measure after song.idiom.fit_parts (instrument ranges, monophonic melody and bass)")


def _songs_run(args: argparse.Namespace) -> int:
    import json
    import sys

    import torch

    from ..eval.song_eval import format_summary, read_prompts, run_songs

    try:
        prompts = read_prompts(args.prompts)
    except (OSError, ValueError) as e:
        print(f"melodex eval songs: {e}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    rep = run_songs(prompts, model=args.model, seed=args.seed, device=args.device, limit=args.limit,
                    log=None if args.json else (lambda s: print(s, flush=True)), fix_parts=args.fix_parts)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(rep, f, indent=1)
    print(json.dumps(rep, indent=1) if args.json else format_summary(rep))
    return 0


register_evaluator("songs", "generate a song per prompt and measure key, form, harmony, parts, ranges, MIDI",
                   _songs_args, _songs_run)


def register(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a model (see `melodex eval -h`)")
    esub = p.add_subparsers(dest="model", metavar="MODEL")
    esub.required = True
    for name, (help_text, add_args, run) in sorted(EVALUATORS.items()):
        ep = esub.add_parser(name, help=help_text)
        add_args(ep)
        ep.set_defaults(func=run)
