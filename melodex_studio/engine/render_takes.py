"""Diffusion renders as takes of the project, so that any render can be reproduced or varied from a step.

Every diffusion render of one track in one section becomes a *render take* (``Take`` with
``params["kind"] == RENDER_KIND``): its notes are the score it rendered, its ``params`` hold the sampler
settings, the seed, the window of song-grid latent frames and the hashes of the codec and renderer
checkpoints, and its ``tensors`` name the final latent and the latents recorded at chosen sampler steps
(``render.diffusion.render_to_state``) in the project's ``state.safetensors``.

* ``render_with_takes`` renders (the whole song or one section) and records a take per track and section.
* ``vary_takes`` resumes the current take of a section (one track or all) from a recorded step with a new
  seed: step 0 is a new render, the last recorded step a close variation. Same seed = the same latent.
* ``decode_takes`` rebuilds the dry stems from the current takes (no sampling), e.g. to hear a variation
  in its song.

The current render of (section, track) is the newest render take whose notes are the track's notes in that
section now: after a note edit or a structure regeneration the old renders are kept but no longer current.
Render takes are stored with ``activate=False``: they never change notes or the active structure takes.
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from typing import Sequence

import numpy as np

from ..errors import CancelledError, ModelError
from ..render.soundfont import RenderResult, SoundFontRenderer
from ..song import Section, Song, Take
from .device import out_of_memory_as_error
from .generation import choose_seed
from .diffusion_render import (
    Cancel, DiffusionOptions, Progress, level_to_references, reference_renders, render_diffusion, to_stems,
)

RENDER_KIND = "diffusion_render"


def _section(song: Song, ref: Section | str | int) -> Section:
    return ref if isinstance(ref, Section) else SoundFontRenderer._find_section(song, ref)


def is_render_take(take: Take) -> bool:
    return take.params.get("kind") == RENDER_KIND


def chosen_key(section_id: str, track_id: str) -> str:
    """The ``song.active_takes`` key of the render take the user chose for (section, track)."""
    return f"render:{section_id}/{track_id}"


def current_take(song: Song, section: Section | str | int, track: str) -> Take | None:
    """The render take of ``track`` (id or name) in ``section`` that plays: the one the user chose (``chosen_key``)
    when it rendered the track's current notes, else the newest render take that did; None when none did."""
    sec, tr = _section(song, section), song.track(track)
    start, end = song.section_ticks(sec)
    notes = tr.notes_in(start, end)
    chosen = song.active_takes.get(chosen_key(sec.id, tr.id))
    matching = [t for t in song.takes if is_render_take(t) and t.section_id == sec.id and t.track_id == tr.id
                and t.notes.get(tr.id) == notes]
    for take in matching:
        if take.id == chosen:
            return take
    return matching[-1] if matching else None


def render_takes_of(song: Song, section: Section, track_id: str) -> list[Take]:
    """Every render take of (section, track), oldest first, whatever notes they rendered."""
    return [t for t in song.takes if is_render_take(t) and t.section_id == section.id and t.track_id == track_id]


def _no_render(track_name: str, section_label: str) -> ModelError:
    return ModelError(f"track {track_name!r} has no diffusion render of section {section_label!r} for its current notes; "
                      f"render it with the diffusion renderer first")


def _model_info(opts: DiffusionOptions) -> dict[str, str]:
    from .models import model_hashes

    return model_hashes(opts.codec, opts.renderer)


def _add_take(song: Song, tensors: dict[str, np.ndarray], section_id: str, track_id: str, render,
              params: dict) -> Take:
    from ..render.diffusion import render_to_state

    sec = song.section(section_id)
    start, end = song.section_ticks(sec)
    take = Take(section_id=section_id, track_id=track_id, notes={track_id: song.track(track_id).notes_in(start, end)},
                seed=int(render.seed), created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    prefix = f"render/{take.id}"
    state, meta = render_to_state(render, prefix)
    for name, t in state.items():
        a = t.detach().cpu().numpy()
        tensors[name] = a if a.dtype == np.float16 else a.astype(np.float32, copy=False)  # checkpoints: float16
    take.tensors = sorted(state)
    take.params = {"kind": RENDER_KIND, **params, "state": meta}
    song.add_take(take, activate=False)
    return take


def _render_from_take(take: Take, tensors: dict[str, np.ndarray]):
    import torch

    from ..render.diffusion import render_from_state

    prefix = f"render/{take.id}"
    return render_from_state({k: torch.from_numpy(np.asarray(tensors[k])) for k in take.tensors if k in tensors},
                             take.params["state"], prefix)


def render_with_takes(song: Song, tensors: dict[str, np.ndarray], track_ids: Sequence[str] | None = None,
                      section: Section | str | int | None = None, progress: Progress | None = None,
                      cancel: Cancel | None = None, soundfont=None,
                      options: DiffusionOptions | None = None, decode: bool = True) -> tuple[RenderResult | None, list[Take]]:
    """``render_diffusion`` that records one render take per (track, section) in ``song`` and ``tensors``.
    Nothing is added when the render fails or is cancelled. ``decode=False``: takes only (the result is None)."""
    opts = options or DiffusionOptions()
    info = _model_info(opts)
    renders: dict[tuple[str, str], object] = {}
    t0 = time.perf_counter()
    res = render_diffusion(song, track_ids, section, progress, cancel, soundfont, opts, renders_out=renders,
                           decode=decode)
    params = {"op": "render", "models": info, "strength": opts.strength, "steps": opts.steps,
              "guidance": opts.guidance, "seconds": round(time.perf_counter() - t0, 4)}
    takes = [_add_take(song, tensors, sid, tid, r, params) for (tid, sid), r in renders.items()]
    return res, takes


def vary_takes(song: Song, tensors: dict[str, np.ndarray], section: Section | str | int, step: int,
               seed: int | None = None, track_ids: Sequence[str] | None = None, variation: float = 1.0,
               take_id: str | None = None, progress: Progress | None = None, cancel: Cancel | None = None,
               options: DiffusionOptions | None = None, guidance: float | None = None) -> list[Take]:
    """Resume the current render take of each track (``track_ids``; None = every track) in ``section`` from
    its recorded sampler ``step`` with noise ``seed`` (None = a random one) and add the results as new takes.

    ``take_id`` picks an older take to vary (its track only). Later steps keep more of the take (their
    noise level is lower); ``variation`` in [0, 1] is the fraction of the remaining noise that is replaced.
    The section's neighbours are the tracks' current takes, so the variation joins the song as it is now.
    The same seed as the take (and unchanged neighbours and models) gives the take's latent exactly.
    ``guidance`` (None: the take's) changes the classifier-free guidance of the remaining steps.
    """
    import torch

    from ..render.diffusion import RenderSettings
    from .models import load_diffusion_renderer

    opts = options or DiffusionOptions()
    if not 0.0 <= variation <= 1.0:
        raise ModelError(f"variation {variation} must be between 0 and 1")
    sec = _section(song, section)
    if take_id is not None:
        take = song.take(take_id)
        if not is_render_take(take) or take.section_id != sec.id:
            raise ModelError(f"take {take_id!r} is not a diffusion render of section {sec.label!r}")
        sources = [take]
    else:
        tracks = song.tracks if track_ids is None else [song.track(t) for t in dict.fromkeys(track_ids)]
        sources = []
        for tr in tracks:
            take = current_take(song, sec, tr.id)
            if take is None:
                raise _no_render(tr.name, sec.label)
            sources.append(take)
    dr = load_diffusion_renderer(opts.codec, opts.renderer, opts.device)
    models = _model_info(opts)
    seed = choose_seed(seed)
    olds = [_render_from_take(take, tensors) for take in sources]
    total, done = sum(max(1, len(o.schedule) - 1 - step) for o in olds), [0]

    def on_step(_k: int, _x) -> None:
        if cancel is not None and cancel():
            raise CancelledError("variation cancelled; nothing was changed")
        done[0] += 1
        if progress is not None:
            progress(min(1.0, done[0] / max(1, total)))

    results = []
    for take, old in zip(sources, olds):
        if step not in old.checkpoints and take.params.get("parent"):
            raise ModelError(f"take {take.id} is a variation from step {take.params['from_step']}, so it recorded only "
                             f"steps {sorted(old.checkpoints)}; to vary from step {step}, vary its parent, take "
                             f"{take.params['parent']}")
        if take.params.get("models") != models:
            raise ModelError(f"take {take.id} was rendered with other codec/renderer checkpoints; vary it with those "
                             f"(sha256 {take.params.get('models')}) or render the section again")
        track = song.track(take.track_id)
        f0, f1 = _section_frames(dr, song, sec)
        a, b = old.frame_start, old.frame_start + old.latent.shape[0]
        latent, have = track_latent(song, tensors, track.id, dr)
        known = torch.zeros_like(have)
        known[a:b] = have[a:b]
        known[f0:f1] = False
        settings = RenderSettings(**{**old.settings.__dict__, "seed": seed,
                                     **({"guidance": float(guidance)} if guidance is not None else {})})
        with out_of_memory_as_error(f"varying {track.name!r} in {sec.label!r}", dr.device):
            new = dr.resume_section(song, track, sec, old, step, settings, latent, known, variation, on_step)
        results.append((take, new))
    params = {"op": "vary", "models": models, "from_step": int(step), "variation": float(variation),
              **({"guidance": float(guidance)} if guidance is not None else {})}
    return [_add_take(song, tensors, sec.id, take.track_id, new,
                      {**{k: take.params.get(k) for k in ("strength", "steps", "guidance")}, **params, "parent": take.id})
            for take, new in results]


def _section_frames(dr, song: Song, section: Section) -> tuple[int, int]:
    from ..render.score_features import section_frames

    return section_frames(song, section, dr.sample_rate, dr.hop)


def track_latent(song: Song, tensors: dict[str, np.ndarray], track_id: str, dr, require: bool = False):
    """(latent (T_song, D), known (T_song,) bool): the current takes' section latents of one track on the song
    grid; frames of sections without a current take are zero and not known (``require``: ModelError instead)."""
    import torch

    total = dr.song_frames(song)
    latent = torch.zeros(total, dr.codec.cfg.latent_dim)
    known = torch.zeros(total, dtype=torch.bool)
    for sec in sorted(song.sections, key=lambda x: x.start_bar):  # render_track's order
        take = current_take(song, sec, track_id)
        if take is None and require:
            raise _no_render(song.track(track_id).name, sec.label)
        if take is None:
            continue
        window = torch.from_numpy(np.asarray(tensors[f"render/{take.id}/latent"])).float()  # the final latent only
        a = int(take.params["state"]["frame_start"])
        f0, f1 = _section_frames(dr, song, sec)
        if window.ndim != 2 or window.shape[1] != latent.shape[1] or not a <= f0 < f1 <= a + window.shape[0]:
            raise ModelError(f"the render take {take.id} of {song.track(track_id).name!r} in {sec.label!r} does not "
                             f"fit this codec or the section as it is now (latent {tuple(window.shape)} from frame "
                             f"{a}); render that section again")
        new = ~known[f0:f1]  # a frame shared with the previous section keeps its value, as in render_track
        latent[f0:f1][new] = window[f0 - a: f1 - a][new]
        known[f0:f1] = True
    return latent, known


def decode_takes(song: Song, tensors: dict[str, np.ndarray], track_ids: Sequence[str] | None = None,
                 options: DiffusionOptions | None = None, soundfont: str | os.PathLike | None = None,
                 cancel: Cancel | None = None) -> RenderResult:
    """Dry stems of the song at its rate decoded from the current render takes (no sampling), levelled to the
    SoundFont references as ``render_diffusion`` levels them; ModelError names the first section and track
    without one. ``cancel`` is checked before each window of a track's decoding (``decode_track``) and inside the
    SoundFont references."""
    from .models import load_diffusion_renderer

    opts = options or DiffusionOptions()
    dr = load_diffusion_renderer(opts.codec, opts.renderer, opts.device)
    tracks = song.tracks if track_ids is None else [song.track(t) for t in dict.fromkeys(track_ids)]
    mono = {}
    for tr in tracks:
        if cancel is not None and cancel():
            raise CancelledError("decoding cancelled; nothing was changed")
        latent, _ = track_latent(song, tensors, tr.id, dr, require=True)
        with out_of_memory_as_error(f"decoding {tr.name!r}", dr.device):
            mono[tr.id] = dr.decode_track(song, tr, latent, cancel=cancel)
    refs = reference_renders(song, list(mono), dr.sample_rate, soundfont, cancel)
    return to_stems(song, level_to_references(song, mono, refs, dr.sample_rate, cancel=cancel), dr.sample_rate, None)
