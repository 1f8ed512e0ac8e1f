"""`melodex takes X.melodex [--section S] [--track T] [--json]`: the takes of a project with what made them;
`--use ID` makes one play, `--delete ID` deletes one, `--keep ID` / `--unkeep ID` marks a favourite (the
project is saved after a change)."""
from __future__ import annotations

import argparse
import json

from .common import session_for
from .project_files import printable

ORDER = 25


def register(sub) -> None:
    p = sub.add_parser("takes", help="list, switch, keep or delete the takes of a project")
    p.add_argument("project", help="the .melodex file")
    p.add_argument("--section", help="only this section (label such as 'chorus 2', or 0-based index)")
    p.add_argument("--track", help="only this track (name or 0-based index)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--use", metavar="ID", help="make this take the one that plays")
    g.add_argument("--delete", metavar="ID", help="delete this take")
    g.add_argument("--keep", metavar="ID", help="mark this take as kept (a favourite)")
    g.add_argument("--unkeep", metavar="ID", help="remove the kept mark")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_takes)


def cmd_takes(args: argparse.Namespace) -> int:
    session = session_for(args)
    action = next(((name, getattr(args, name)) for name in ("use", "delete", "keep", "unkeep") if getattr(args, name)), None)
    session.open(args.project, read_only=action is None)
    if action is not None:
        name, take_id = action
        {"use": session.use_take, "delete": session.delete_take, "keep": session.keep_take,
         "unkeep": lambda t: session.keep_take(t, False)}[name](take_id)
        session.save()
    takes = session.takes(args.section, args.track)
    if args.json:
        print(json.dumps({"takes": [t.to_dict() for t in takes], "changed": action is not None}, sort_keys=True))
        return 0
    for t in takes:
        mark = ("*" if t.active else " ") + ("k" if t.kept else " ")
        steps = f" from step {t.details['from_step']}" if "from_step" in t.details else ""
        print(f"{mark} {t.id}  {printable(t.section):<10} {printable(t.track):<16} {t.kind:<9} {t.op:<10} "
              f"seed {t.seed}{steps}  {t.created}")
    if not takes:
        print("no takes" + (" here" if args.section or args.track else " yet: regenerate or render a section"))
    return 0
