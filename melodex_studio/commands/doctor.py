"""`melodex doctor [--json]`: what works on this machine (``engine.checks``): the models and their hashes, a
SoundFont, an audio output, the compute device, Python and the key packages; for what is missing, what to
install. Exit code 0 when the essentials (the models and the required packages) are there; 7 (the models' error
code) when a model is missing or damaged, 1 when a required package is."""
from __future__ import annotations

import argparse
import json

ORDER = 75
LABELS = {"ok": "OK", "missing": "MISSING", "warning": "WARNING"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check the models, SoundFont, audio output and device; say what to install",
                       description="Check what Melodex Studio needs: the models (present, sha256 as their model "
                                   "cards record), a General MIDI SoundFont, an audio output (PortAudio and a "
                                   "default device), the compute device, Python and the key packages. One line "
                                   "per check; what to install for anything missing. Exit code 0 when the "
                                   "essentials are there, 7 when a model is missing or damaged, 1 when a required "
                                   "package is missing.")
    p.add_argument("--json", action="store_true", help="print one JSON object: ok, version, checks, packages")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import __version__
    from ..engine.checks import essentials_ok, package_versions, run_checks
    from ..errors import MelodexError, ModelError

    checks = run_checks()
    ok = essentials_ok(checks)
    if args.json:
        print(json.dumps({"ok": ok, "version": __version__, "checks": [c.to_dict() for c in checks],
                          "packages": package_versions()}, indent=2))
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            print(f"{LABELS[c.status]:<8} {c.name:<{width}}  {c.detail}")
            if c.fix:
                print(f"{'':<8} {'':<{width}}  -> {c.fix}")
        print(f"Melodex Studio {__version__}: " + ("the essentials are there." if ok else
                                                    "an essential piece is missing (see above)."))
    if ok:
        return 0
    models_missing = any(c.essential and not c.ok and c.name.endswith("model") for c in checks)
    return ModelError.exit_code if models_missing else MelodexError.exit_code
