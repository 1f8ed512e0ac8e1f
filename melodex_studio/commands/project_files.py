"""`melodex import | render | export | info`: file work on .melodex projects.

* ``melodex import SONG.mid -o X.melodex``: a Standard MIDI File to a new project.
* ``melodex render X.melodex --wav F [--stems DIR] [--section S] [--track T ...] [--renderer diffusion
  --steps N --strength S]``: render and write the mix and/or the processed stems (project rate, 24-bit).
* ``melodex export X.melodex [--midi F] [--wav F] [--stems DIR] [--rate 44100|48000|96000]
  [--bits 16|24|32] [--format wav|flac] [--lufs] [--no-dither] [--type0]``.
* ``melodex info X.melodex [--json]``: title, tempo, meter, key, sections, tracks, duration.

Every problem the user can cause (missing or corrupt file, bad MIDI, unsupported rate) is raised by
``io``/``engine`` as a ``MelodexError``; ``cli.main`` prints it and exits non-zero.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

from ..song import Song
from .common import export_kwargs, print_written, progress_for, run, session_for, wait
from .renderer_options import add_renderer_args, chosen_renderer

ORDER = 30


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import a MIDI file into a new project",
                       description="Read a Standard MIDI File (type 0 or 1) and save it as a .melodex project.")
    p.add_argument("midi", type=Path, help="the .mid file")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .melodex project to write")
    p.add_argument("--title", help="song title (default: from the MIDI file)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("render", help="render a project to audio",
                       description="Render a project (SoundFont or diffusion renderer) to a mix file and/or stems.")
    p.add_argument("project", type=Path)
    p.add_argument("--wav", type=Path, help="the mix file to write")
    p.add_argument("--stems", type=Path, metavar="DIR", help="folder for one file per audible track")
    p.add_argument("--section", help="render only this section (label such as 'chorus 2', or 0-based index)")
    p.add_argument("--track", action="append", dest="tracks", metavar="NAME", help="render only this track (repeatable)")
    p.add_argument("--soundfont", type=Path, help="a .sf2/.sf3 file instead of the configured one")
    add_renderer_args(p)
    p.add_argument("--no-save", action="store_true",
                   help="diffusion: do not record the render as takes in the project (by default it is saved, so "
                        "that `melodex regenerate --from-step` can vary it)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("export", help="export MIDI, mix and stems",
                       description="Export a project to MIDI, a mixed audio file and per-track stems.")
    p.add_argument("project", type=Path)
    p.add_argument("--midi", type=Path, help="Standard MIDI File to write")
    p.add_argument("--wav", type=Path, help="mixed audio file to write")
    p.add_argument("--stems", type=Path, metavar="DIR", help="folder for one file per audible track")
    p.add_argument("--rate", type=int, help="output sample rate in Hz: 44100, 48000 or 96000 (default: the project's)")
    p.add_argument("--bits", type=int, default=24, help="16, 24 or 32 (float); default 24")
    p.add_argument("--format", dest="fmt", default="wav", help="audio format: wav or flac (default wav)")
    p.add_argument("--lufs", action="store_true", help="streaming loudness: -14 LUFS integrated, -1 dBTP")
    p.add_argument("--no-dither", action="store_true", help="do not dither when reducing to 16/24 bits")
    p.add_argument("--type0", action="store_true", help="write a type 0 (single track) MIDI file")
    p.add_argument("--soundfont", type=Path, help="a .sf2/.sf3 file instead of the configured one")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    add_renderer_args(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("info", help="describe a project", description="Print what a .melodex project holds.")
    p.add_argument("project", type=Path)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)


# --- helpers ------------------------------------------------------------------------------------------
def song_summary(song: Song) -> dict:
    """The JSON summary of ``song`` printed by ``info --json`` (units in the key names)."""
    first_meter = song.meter_map.changes[0]
    return {
        "title": song.title,
        "bpm": song.tempo_map.changes[0].bpm,
        "tempo_map": [{"tick": c.tick, "bpm": c.bpm} for c in song.tempo_map.changes],
        "meter": f"{first_meter.numerator}/{first_meter.denominator}",
        "meter_map": [{"bar": c.bar, "meter": f"{c.numerator}/{c.denominator}"} for c in song.meter_map.changes],
        "key": song.key.name,
        "sample_rate": song.sample_rate,
        "bars": song.length_bars,
        "duration_seconds": round(song.duration_seconds, 6),
        "sections": [{"label": s.label, "start_bar": s.start_bar, "bars": s.length_bars} for s in song.sections],
        "tracks": [
            {"name": t.name, "role": t.role, "program": t.program, "drum": t.is_drum, "notes": len(t.notes),
             "gain_db": t.gain_db, "pan": t.pan, "mute": t.mute, "solo": t.solo}
            for t in song.tracks
        ],
        "takes": len(song.takes),
    }


def _finite(obj):
    """Replace infinities and NaN (not valid JSON) by None, recursively."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def format_duration(seconds: float) -> str:
    m, s = divmod(seconds, 60.0)
    return f"{int(m)}:{s:04.1f}"


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters (escape sequences) and lone surrogates escaped."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii")
                        if not 0xD800 <= ord(m.group()) <= 0xDFFF else f"\\u{ord(m.group()):04x}", str(text))


# --- commands -----------------------------------------------------------------------------------------
def cmd_import(args: argparse.Namespace) -> int:
    session = session_for(args)
    session.import_midi(args.midi)
    if args.title:
        session.set_title(args.title)
    session.save_as(args.output)
    song = session.song
    notes = sum(len(t.notes) for t in song.tracks)
    print(f"imported {printable(args.midi.name)}: {len(song.tracks)} tracks, {notes} notes, {song.length_bars} bars, "
          f"{format_duration(song.duration_seconds)} -> {args.output}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    if args.wav is None and args.stems is None:
        print("melodex render: error: say where to write: --wav FILE and/or --stems DIR", file=sys.stderr)
        return 2
    args.renderer = chosen_renderer(args)
    session, progress = session_for(args), progress_for(args)
    keep = args.renderer == "diffusion" and not args.no_save
    session.open(args.project, read_only=not keep)
    rendered = None
    if keep:
        p = run(session, session.render(args.section, args.tracks, progress=progress), progress)
        session.save()
        rendered = p.info.get("rendered")
    kwargs = {**export_kwargs(args, args.project), "section": args.section, "track_ids": args.tracks}
    report = wait(session.export(progress=progress, rendered=rendered, **kwargs), progress).info["report"]
    print_written(report)
    if keep:
        print(f"takes  {len(p.takes)} diffusion render takes recorded in {args.project}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..engine.rendering import check_export_settings

    if args.midi is None and args.wav is None and args.stems is None:
        print("melodex export: error: nothing to export: give --midi FILE, --wav FILE and/or --stems DIR", file=sys.stderr)
        return 2
    check_export_settings(args.rate, args.bits, args.fmt)  # before the (slow) load and render
    args.renderer = chosen_renderer(args, renders_audio=bool(args.wav or args.stems))
    session, progress = session_for(args), progress_for(args)
    session.open(args.project, read_only=True)
    proposal = wait(session.export(progress=progress, **export_kwargs(args, args.project)), progress)
    report = proposal.info["report"]
    if args.json:
        print(json.dumps(_finite({
            "midi": str(report.midi) if report.midi else None,
            "wav": str(report.wav) if report.wav else None,
            "stems": [str(p) for p in report.stems],
            "sample_rate": report.sample_rate, "bits": report.bits, "duration_seconds": report.duration_seconds,
            "peak_dbfs": report.peak_dbfs, "loudness_gain_db": report.loudness_gain_db,
            "stems_residual_db": report.stems_residual_db, "from_project_stems": proposal.info["from_cache"],
            "timings": {k: round(v, 4) for k, v in report.timings.items()},
        }), indent=2))
    else:
        print_written(report)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    session = session_for(args)
    report = session.open(args.project, read_only=True)
    info = song_summary(session.song)
    if args.json:
        print(json.dumps({**info, "missing_models": report.missing_models, "notes": report.notes}, indent=2,
                         ensure_ascii=True))
        return 0
    tempo = ", ".join(f"{c['bpm']:g} BPM at tick {c['tick']}" for c in info["tempo_map"][1:])
    print(f"{printable(info['title'])}")
    print(f"  {info['bpm']:g} BPM{' (then ' + tempo + ')' if tempo else ''}, {info['meter']}, {info['key']}, "
          f"{info['bars']} bars, {format_duration(info['duration_seconds'])}, {info['sample_rate']} Hz")
    if info["sections"]:
        print("  sections:")
        for s in info["sections"]:
            print(f"    {printable(s['label']):<12} bar {s['start_bar'] + 1:>4}  {s['bars']:>3} bars")
    print("  tracks:")
    for t in info["tracks"]:
        inst = "drum kit" if t["drum"] else f"program {t['program']}"
        flags = " muted" if t["mute"] else (" solo" if t["solo"] else "")
        print(f"    {printable(t['name']):<16} {t['role']:<10} {inst:<12} {t['notes']:>6} notes{flags}")
    for line in report.missing_models + report.notes:
        print(f"  note: {printable(line)}")
    return 0
