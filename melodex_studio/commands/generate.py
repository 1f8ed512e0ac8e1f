"""`melodex generate PROMPT -o X.melodex` and `melodex regenerate X.melodex --section ...`.

Both print a summary (``--json``: one JSON object: sections with labels and bars, tempo, key, meter,
tracks, seconds per stage) and save the project atomically (``io.project.save_project``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import contextmanager

from .common import add_progress_arg, export_kwargs, progress_for, run, session_for, wait
from .renderer_options import add_renderer_args, chosen_renderer

ORDER = 10


def register(sub) -> None:
    p = sub.add_parser("generate", help="write a new song from a text prompt")
    p.add_argument("prompt", help="what the song should be, e.g. \"lofi hip hop, 82 bpm, F major, piano\"")
    p.add_argument("-o", "--output", required=True, help="project file to write (.melodex)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--midi", default=None, help="also export a MIDI file")
    p.add_argument("--wav", default=None, help="also render and export the mix")
    p.add_argument("--stems", default=None, help="also render one file per track into this folder")
    add_renderer_args(p)
    p.add_argument("--model", default=None, help="structure model checkpoint (default: the shipped one)")
    p.add_argument("--json", action="store_true", help="print one JSON summary")
    add_progress_arg(p)
    p.set_defaults(func=_generate)

    p = sub.add_parser("regenerate", help="regenerate a section (or one track of it) as a new take")
    p.add_argument("project", help="the .melodex file (updated in place, atomically)")
    p.add_argument("--section", required=True, help="label ('chorus', 'chorus 2') or 0-based index")
    p.add_argument("--track", default=None, help="regenerate only this track (name)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--prompt", default=None, help="style for this take (genre, mood, energy words)")
    p.add_argument("--from-bar", type=int, default=None, help="keep the section's bars before this one (0-based)")
    g = p.add_argument_group("vary a diffusion render (the notes stay; needs a diffusion render: `render` makes one)")
    g.add_argument("--from-step", type=int, default=None,
                   help="resume the section's current diffusion render from this recorded sampler step with --seed: "
                        "early steps give new renders, late steps close variations; the same seed reproduces it")
    g.add_argument("--strength", type=float, default=1.0,
                   help="with --from-step: the fraction of the remaining noise that is new, 0..1 (default 1)")
    g.add_argument("--take", default=None, help="with --from-step: vary this render take instead of the current one")
    g.add_argument("--wav", default=None, help="with --from-step: write the song's mix with the new takes")
    g.add_argument("--stems", default=None, help="with --from-step: write the song's stems with the new takes")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--model", default=None)
    p.add_argument("--json", action="store_true")
    add_progress_arg(p)
    p.set_defaults(func=_regenerate)


def summary(song, timings: dict) -> dict:
    m = song.meter_map.meter_at_bar(0)
    return {
        "title": song.title,
        "tempo_bpm": song.tempo_map.bpm_at(0),
        "key": song.key.name,
        "meter": f"{m.numerator}/{m.denominator}",
        "sections": [{"label": s.label, "start_bar": s.start_bar, "bars": s.length_bars} for s in song.sections],
        "bars": song.length_bars,
        "duration_s": round(song.duration_seconds, 3),
        "tracks": [{"name": t.name, "role": t.role, "program": t.program, "is_drum": t.is_drum, "notes": len(t.notes)}
                   for t in song.tracks],
        "seed": song.generation.get("seed"),
        "structure_model": (song.generation.get("structure_model") or {}).get("sha256"),
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
    }


def _print(doc: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(doc, sort_keys=True))
        return
    print(f"{doc['title']}: {doc['tempo_bpm']:g} BPM, {doc['key']}, {doc['meter']}, {doc['bars']} bars "
          f"({doc['duration_s']:.1f} s), seed {doc['seed']}")
    print("  form: " + ", ".join(f"{s['label']} {s['bars']}" for s in doc["sections"]))
    print("  tracks: " + ", ".join(f"{t['name']} ({t['notes']} notes)" for t in doc["tracks"]))
    print("  seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in doc["timings_s"].items()))


class _Clock(dict):
    """Seconds per stage: ``with clock("save"): ...``."""

    @contextmanager
    def __call__(self, stage: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self[stage] = self.get(stage, 0.0) + time.perf_counter() - t0


def _save_and_export(session, args, proposal, clock: _Clock, progress, output) -> None:
    """Save the project first (a bad export path then loses nothing), then write the files asked for."""
    with clock("save"):
        session.save_as(output) if session.path is None else session.save()
    if args.midi or args.wav or args.stems:
        kwargs = {**export_kwargs(args, output), "renderer": args.renderer}
        with clock("export"):
            wait(session.export(progress=progress, rendered=proposal.info.get("rendered"), **kwargs), progress)


def _generate(args: argparse.Namespace) -> int:
    args.renderer = chosen_renderer(args, renders_audio=bool(args.wav or args.stems))
    if args.renderer == "diffusion" and (args.wav or args.stems):
        from ..engine.models import diffusion_model_paths

        diffusion_model_paths()  # a missing model is reported before the song is written, not after
    session, progress, clock = session_for(args), progress_for(args), _Clock()
    with clock("generate"):
        p = run(session, session.generate(args.prompt, seed=args.seed, progress=progress,
                                          render=args.renderer == "diffusion" and bool(args.wav or args.stems)), progress)
    _save_and_export(session, args, p, clock, progress, args.output)
    doc = {**summary(session.song, clock), "output": args.output}
    _print(doc, args.json)
    return 0


def _regenerate(args: argparse.Namespace) -> int:
    if args.from_step is not None and (args.from_bar is not None or args.prompt):
        print("melodex regenerate: error: --from-step varies a render of the current notes; it cannot be combined "
              "with --from-bar or --prompt", file=sys.stderr)
        return 2
    session, progress, clock = session_for(args), progress_for(args), _Clock()
    with clock("load"):
        session.open(args.project)
    args.renderer = "diffusion"
    if args.from_step is None:
        job = session.regenerate(args.section, args.track, args.seed, args.prompt, args.from_bar, progress=progress)
    else:
        job = session.vary(args.section, args.from_step, args.seed, [args.track] if args.track else None,
                           args.strength, args.take, progress=progress)
    with clock("structure" if args.from_step is None else "vary"):
        p = run(session, job, progress)
    args.midi = None
    _save_and_export(session, args, p, clock, progress, args.project)
    doc = summary(session.song, clock)
    if args.from_step is None:
        doc.update({"take": p.info["take"], "section": p.info["section"], "take_seed": p.info["seed"], "track": args.track})
    else:
        doc.update({"takes": [{"take": k.id, "track": session.song.track(k.track_id).name, "seed": k.seed,
                               "parent": k.params["parent"], "from_step": k.params["from_step"]} for k in p.takes],
                    "section": session.song.section(p.takes[0].section_id).label})
    _print(doc, args.json)
    return 0
