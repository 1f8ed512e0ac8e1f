"""Sub-commands of `melodex`: one module each, exposing ``register(subparsers)`` (and optionally
``ORDER`` for the help listing). Each sets ``func`` on its parser; ``func(args)`` returns the exit code."""
