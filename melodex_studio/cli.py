"""`melodex`: the headless front end. Each sub-command lives in its own module in
``melodex_studio/commands/`` with ``register(subparsers)``; this file only discovers and dispatches.

Commands call ``engine/`` (and ``io/`` for plain file work), never the models directly. A
``MelodexError`` is printed as one readable line and the process exits with its ``exit_code``.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__, commands
from .errors import MelodexError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="melodex", description="Melodex Studio command line")
    parser.add_argument("--version", action="version", version=f"melodex {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    mods = [importlib.import_module(f"{commands.__name__}.{m.name}") for m in pkgutil.iter_modules(commands.__path__)]
    for mod in sorted(mods, key=lambda m: (getattr(m, "ORDER", 50), m.__name__)):
        if hasattr(mod, "register"):  # helper modules (shared options) register nothing
            mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MelodexError as e:
        print(f"melodex: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("melodex: cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
