"""`melodex plan PROMPT [--json]`: show the StylePlan a prompt turns into, with stated/default flags."""
from __future__ import annotations

import argparse
import json

ORDER = 10


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="parse a prompt into a style plan (tempo, key, meter, form, instruments)",
                       description="Parse a prompt into a StylePlan and print it. Stated fields are fixed; "
                                   "defaults are suggestions.")
    p.add_argument("prompt", help='e.g. "dreamy lofi hip hop, 82 bpm, F major, intro 4, verse 8, chorus 8"')
    p.add_argument("--json", action="store_true", help="print one JSON object (plan, stated flags, canonical text)")
    p.set_defaults(func=run)


def plan_summary(prompt: str) -> dict:
    """The JSON-able summary printed by ``--json``: the plan dict plus ``stated_flags`` and ``text``."""
    from ..prompt.parse import parse_prompt
    from ..prompt.render_text import plan_to_text

    plan = parse_prompt(prompt)
    d = plan.to_dict()
    d["stated_flags"] = plan.stated_flags()
    d["total_bars"] = plan.total_bars
    d["text"] = plan_to_text(plan)
    return d


def run(args: argparse.Namespace) -> int:
    d = plan_summary(args.prompt)
    if args.json:
        print(json.dumps(d, indent=2))
        return 0
    mark = lambda f: "" if d["stated_flags"].get(f) else "  (default)"  # noqa: E731
    print(f"genre:       {d['genre']}{mark('genre')}")
    print(f"mood:        {d['mood'] or '-'}{mark('mood')}")
    print(f"tempo:       {d['tempo_bpm']:g} BPM{mark('tempo_bpm')}")
    print(f"meter:       {d['meter'][0]}/{d['meter'][1]}{mark('meter')}")
    print(f"key:         {d['key']}{mark('key')}")
    print(f"form:        " + ", ".join(f"{s['label']} {s['bars']}" for s in d["form"])
          + f"  = {d['total_bars']} bars{mark('form')}")
    print("instruments: " + ", ".join(i["name"] + ("" if i["stated"] else "*") for i in d["instruments"])
          + "   (* = default)")
    print(f"drums:       {'yes' if d['drums'] else 'no'} ({d['drum_groove']}){mark('drums')}")
    print(f"energy:      " + " ".join(f"{e:.2f}" for e in d["energy"]) + mark("energy"))
    if d["style_text"]:
        print(f"style text:  {d['style_text']}")
    for w in d["warnings"]:
        print(f"note: {w}")
    return 0
