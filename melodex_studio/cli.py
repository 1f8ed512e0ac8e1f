"""`melodex`: the headless front end. Each sub-command lives in its own module in
``melodex_studio/commands/`` with ``register(subparsers)``; this file only discovers and dispatches.

Commands call the project session (``engine.session``), never the models directly. A ``MelodexError`` is
printed as one readable line (one JSON object on stdout with ``--json``) and the process exits with its
``exit_code`` (the table is in ``melodex --help``). A closed pipe (``melodex plan ... | head``) ends quietly.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys

from . import commands
from .errors import CancelledError, MelodexError, exit_code_table


class _VersionAction(argparse.Action):
    """``--version``: prints the version, looked up only when asked (see ``melodex_studio.__version__``)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__

        print(f"{parser.prog} {__version__}")  # on stdout, as argparse's own version action does
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="melodex", description="Melodex Studio command line",
                                     epilog="exit codes:\n" + exit_code_table(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    mods = [importlib.import_module(f"{commands.__name__}.{m.name}") for m in pkgutil.iter_modules(commands.__path__)]
    for mod in sorted(mods, key=lambda m: (getattr(m, "ORDER", 50), m.__name__)):
        if hasattr(mod, "register"):  # helper modules (shared options) register nothing
            mod.register(sub)
    return parser


def _fail(args, error: MelodexError) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"error": {"type": type(error).__name__, "message": str(error), "exit_code": error.exit_code}}))
    print(f"melodex: error: {error}", file=sys.stderr)
    return error.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        try:
            return int(args.func(args) or 0)
        except MelodexError as e:
            return _fail(args, e)
        except KeyboardInterrupt:
            return _fail(args, CancelledError("cancelled; nothing was changed"))
        finally:
            from .commands.common import close_sessions

            close_sessions()
            sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
