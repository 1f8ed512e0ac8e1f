"""`melodex generate PROMPT -o X.melodex` and `melodex regenerate X.melodex --section ...`.

Both print a summary (``--json``: one JSON object: sections with labels and bars, tempo, key, meter,
tracks, seconds per stage) and save the project atomically (``io.project.save_project``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..engine.diffusion_render import DiffusionOptions
from .renderer_options import add_renderer_args, chosen_renderer, diffusion_options

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


def _progress(as_json: bool):
    if as_json or not sys.stderr.isatty():
        return None
    return lambda frac, msg: print(f"\r{100 * frac:5.1f}% {msg:40s}", end="", file=sys.stderr, flush=True)


def _generate(args: argparse.Namespace) -> int:
    from ..engine.generation import generate_song
    from ..io.project import save_project
    from ..prompt.parse import parse_prompt

    args.renderer = chosen_renderer(args, renders_audio=bool(args.wav or args.stems))
    if args.renderer == "diffusion" and (args.wav or args.stems):
        from ..engine.models import diffusion_model_paths

        diffusion_model_paths()  # a missing model is reported before the song is written, not after
    timings: dict[str, float] = {}
    t = time.perf_counter()
    plan = parse_prompt(args.prompt)
    timings["prompt"] = time.perf_counter() - t
    t = time.perf_counter()
    song, tensors = generate_song(plan, seed=args.seed, device=args.device, progress=_progress(args.json),
                                  model_path=args.model, prompt=args.prompt)
    timings["structure"] = time.perf_counter() - t
    if args.midi or args.wav or args.stems:
        from ..engine.rendering import export_all

        t = time.perf_counter()
        rendered = None
        if args.renderer == "diffusion" and (args.wav or args.stems):  # the render is kept as takes
            from ..engine.render_takes import render_with_takes
            from ..engine.rendering import mix_result

            rendered = mix_result(song, render_with_takes(song, tensors, options=diffusion_options(args))[0])
        export_all(song, midi=args.midi, wav=args.wav, stems_dir=args.stems, renderer=args.renderer,
                   project_name=Path(args.output).stem, rendered=rendered,
                   diffusion=diffusion_options(args))
        timings["export"] = time.perf_counter() - t
    t = time.perf_counter()
    song.generation.setdefault("timings", {}).update({f"{k}_s": round(v, 4) for k, v in timings.items()})
    save_project(args.output, song, tensors)
    timings["save"] = time.perf_counter() - t
    doc = summary(song, timings)
    doc["output"] = args.output
    _print(doc, args.json)
    return 0


def _vary(args: argparse.Namespace, proj, timings: dict) -> int:
    from ..engine.render_takes import decode_takes, vary_takes
    from ..engine.rendering import export_all, mix_result
    from ..io.project import save_project

    if args.from_bar is not None or args.prompt:
        print("melodex regenerate: error: --from-step varies a render of the current notes; it cannot be combined "
              "with --from-bar or --prompt", file=sys.stderr)
        return 2
    opts = DiffusionOptions(device=args.device)
    t = time.perf_counter()
    tensors = dict(proj.tensors)
    takes = vary_takes(proj.song, tensors, args.section, args.from_step, seed=args.seed,
                       track_ids=[args.track] if args.track else None, variation=args.strength, take_id=args.take,
                       options=opts)
    timings["vary"] = time.perf_counter() - t
    if args.wav or args.stems:
        t = time.perf_counter()
        export_all(proj.song, wav=args.wav, stems_dir=args.stems, project_name=Path(args.project).stem,
                   rendered=mix_result(proj.song, decode_takes(proj.song, tensors, options=opts)))
        timings["export"] = time.perf_counter() - t
    t = time.perf_counter()
    save_project(args.project, proj.song, tensors, proj.audio)
    timings["save"] = time.perf_counter() - t
    doc = summary(proj.song, timings)
    doc.update({"takes": [{"take": k.id, "track": proj.song.track(k.track_id).name, "seed": k.seed,
                           "parent": k.params["parent"], "from_step": k.params["from_step"]} for k in takes],
                "section": proj.song.section(takes[0].section_id).label})
    _print(doc, args.json)
    return 0


def _regenerate(args: argparse.Namespace) -> int:
    from ..engine.generation import regenerate
    from ..io.project import read_project, save_project

    timings: dict[str, float] = {}
    t = time.perf_counter()
    proj = read_project(args.project)
    timings["load"] = time.perf_counter() - t
    if args.from_step is not None:
        return _vary(args, proj, timings)
    overrides = None
    if args.prompt:
        from ..prompt.parse import parse_prompt

        p = parse_prompt(args.prompt)
        overrides = {k: getattr(p, k) for k in ("genre", "mood") if k in p.stated or getattr(p, k)}
    t = time.perf_counter()
    tensors = dict(proj.tensors)
    take = regenerate(proj.song, args.section, track=args.track, seed=args.seed, plan_overrides=overrides,
                      from_bar=args.from_bar, device=args.device, tensors=tensors, model_path=args.model)
    timings["structure"] = time.perf_counter() - t
    t = time.perf_counter()
    save_project(args.project, proj.song, tensors, proj.audio)
    timings["save"] = time.perf_counter() - t
    doc = summary(proj.song, timings)
    doc.update({"take": take.id, "section": proj.song.section(take.section_id).label, "take_seed": take.seed,
                "track": args.track})
    _print(doc, args.json)
    return 0
