"""Export as a job: MIDI, the mix and the stems of the open project, from its current diffusion stems when
every track has one (no rendering), else rendered with the chosen renderer. Writes files only (atomically,
``io.staging``); the project does not change."""
from __future__ import annotations

import numpy as np

from ..render.soundfont import RenderResult
from ..song import Song
from .jobs import JobContext
from .proposals import Proposal, stem_array, stem_name


def cached_render(song: Song, audio: dict) -> RenderResult | None:
    """The dry stems of every track from the audio cache (copies, zero-padded to the longest), and their sum, or
    None when a track has no current stem."""
    cached = {}
    for t in song.tracks:
        name = stem_name(song, t.id)
        if name is None or name not in audio:
            return None
        cached[t.id] = stem_array(audio[name])
    if not cached:
        return None
    frames = max(a.shape[0] for a in cached.values())
    stems, mix = {}, np.zeros((frames, 2), np.float32)
    for k, a in cached.items():  # one copy each (a copy, then a padded copy, then a sum of new arrays took 0.3 s
        out = stems[k] = np.empty((frames, 2), np.float32)  # for 4 tracks of 72 s)
        out[: a.shape[0]] = a
        out[a.shape[0]:] = 0.0
        mix += out
    return RenderResult(stems=stems, mix=mix, sample_rate=song.sample_rate)


def export_project(ctx: JobContext, song: Song, tensors: dict, audio: dict, renderer: str = "soundfont",
                   rendered: RenderResult | None = None, section=None, track_ids=None, diffusion=None,
                   **kwargs) -> Proposal:
    """``engine.rendering.export_all`` for a session (``kwargs``: midi, wav, stems_dir, rate, bits, lufs, fmt,
    dither, midi_type, project_name, soundfont). ``rendered``: dry stems already made by this run."""
    import dataclasses

    from .rendering import export_all, mix_result

    wants_audio = kwargs.get("wav") is not None or kwargs.get("stems_dir") is not None
    if wants_audio and rendered is None and renderer == "diffusion" and section is None and not track_ids:
        rendered = cached_render(song, audio)
    elif rendered is not None:  # the mixer works in place: never on arrays the project's audio cache holds
        rendered = RenderResult({k: np.array(v, np.float32) for k, v in rendered.stems.items()}, rendered.mix,
                                rendered.sample_rate)
    if rendered is not None:
        rendered = mix_result(song, rendered)
    opts = dataclasses.replace(diffusion, device=ctx.device) if diffusion is not None else None
    if renderer == "diffusion" and wants_audio and rendered is None:  # the models load here (see torch_preload)
        from ..torch_preload import preload_native_libraries

        preload_native_libraries()
    report = export_all(song, renderer=renderer, rendered=rendered, section=section, track_ids=track_ids,
                        progress=ctx.stage("export"), cancel=ctx.token, diffusion=opts, **kwargs)
    return Proposal("export", "Export", info={"report": report, "from_cache": rendered is not None})


def file_base(name: str, fallback: str = "Untitled") -> str:
    """A file-name-safe base for exported files (``io.audio.safe_name``, spaces kept)."""
    from ..io.audio import safe_name

    return safe_name(name, fallback).replace("_", " ")


def planned_stem_paths(song: Song, stems_dir, project_name: str, fmt: str) -> list:
    """The paths ``export_project`` writes the song's stems to (its audible tracks, in order), before it runs."""
    from pathlib import Path

    from ..io.audio import stem_file_names
    from .rendering import stem_names

    names = stem_names(song, [t.id for t in song.audible_tracks()])
    return [Path(stems_dir) / n for n in stem_file_names(project_name, list(names.values()), fmt)]
