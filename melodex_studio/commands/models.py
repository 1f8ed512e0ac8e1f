"""`melodex models [--json] [--device D]`: the models the studio can use (name, kind, parameters, size, sha256,
model card, where they would load and where they are loaded), from ``engine.models.list_models``."""
from __future__ import annotations

import argparse
import json

ORDER = 70


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the installed models (package, user data folder, MELODEX_*_MODEL)",
                       description="List the structure, codec and renderer checkpoints the studio finds: the "
                                   "package's models/ folder, the user data folder and the MELODEX_STRUCTURE_MODEL, "
                                   "MELODEX_CODEC_MODEL and MELODEX_RENDERER_MODEL variables. '*' marks the file "
                                   "used when no path is given.")
    p.add_argument("--json", action="store_true", help="print one JSON object with every model (full sha256)")
    p.add_argument("--device", default="auto", help="device to report loads on: auto, cpu, cuda, mps (default auto)")
    p.set_defaults(func=run)


def _count(n: float) -> str:
    """1234567 -> '1.2M' (decimal units, as the model cards write them)."""
    for unit in ("", "K", "M"):
        if n < 1000:
            return f"{n:.0f}{unit}" if not unit else f"{n:.1f}{unit}"
        n /= 1000
    return f"{n:.1f}G"


def run(args: argparse.Namespace) -> int:
    from ..engine.models import list_models, user_models_dir

    infos = list_models(args.device)
    if args.json:
        print(json.dumps({"models": [m.to_dict() for m in infos]}, indent=2))
        return 0
    if not infos:
        print(f"no models found in the package's models/ folder, {user_models_dir()} or the MELODEX_*_MODEL variables")
        return 0
    rows = [("NAME", "KIND", "PARAMS", "SIZE", "SHA256", "SOURCE", "DEVICE", "CARD")]
    for m in infos:
        device = m.device + (f" (loaded: {', '.join(m.loaded_on)})" if m.loaded_on else "")
        rows.append((m.name + (" *" if m.default else ""), m.kind, _count(m.parameters), _count(m.size_bytes) + "B",
                     m.sha256[:12], m.source, device, m.card.name if m.card else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
    return 0
