"""The compute half of every model operation: each function runs in a job (``engine.jobs``) on a *copy* of
the song and of the tensor table, and returns a ``Proposal``; the session applies it as one undoable change.

Every function takes the ``JobContext`` first (cancel token, progress, device) and checks for a cancel at
every model step: the structure sampler per token, the diffusion sampler per step, decoding and SoundFont
references per track.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from ..render.soundfont import RenderResult
from ..song import Section, Song
from .diffusion_render import DiffusionOptions
from .jobs import JobContext
from .proposals import Proposal, cache_stem, new_entries, stem_array, stem_name, stems_of_track

LOADING_STRUCTURE = "loading the structure model"  # the "load" stage: reported before a job imports its models
LOADING_RENDERER = "loading the diffusion renderer"


def _loading(ctx: JobContext, what: str) -> None:
    """A job is about to load its models: say so first (the CLI's first progress line comes before the imports),
    and map torch's native libraries with the GIL released (``torch_preload``: the first ``import torch`` held it
    250-300 ms, every other thread of the window stood still)."""
    from ..torch_preload import preload_native_libraries

    ctx.report("load", 0, 1, what)
    preload_native_libraries()


def _opts(ctx: JobContext, opts: DiffusionOptions | None) -> DiffusionOptions:
    return dataclasses.replace(opts or DiffusionOptions(), device=ctx.device)


def _span(ctx: JobContext, stage: str, i: int, n: int):
    """A fraction callback for part ``i`` of ``n`` of ``stage``."""
    report = ctx.stage(stage)
    return lambda frac, msg=None: report((i + max(0.0, min(1.0, frac))) / max(n, 1), msg)


def _choose(song: Song, takes, proposal: Proposal) -> None:
    """New render takes are the ones that play (the user's earlier choice for those sections gives way)."""
    from .render_takes import chosen_key, is_render_take

    for t in takes:
        if is_render_take(t):
            song.active_takes[chosen_key(t.section_id, t.track_id)] = t.id
            proposal.choose[chosen_key(t.section_id, t.track_id)] = t.id


def decode_current(ctx: JobContext, song: Song, tensors: dict, track_ids: Sequence[str], audio_names,
                   opts: DiffusionOptions | None, before: dict[str, dict] | None = None) -> tuple[dict[str, Any], set[str]]:
    """(stems to cache, stem names to drop) for ``track_ids``: each track whose every section has a current
    render take is decoded (no sampling); the track's other cached stems are dropped. ``before``: {track id:
    ``partial_decode.takes_by_section``} of the song the cached stems were made from; with it (and ``audio_names``
    a mapping holding those stems), a track whose takes changed in some sections only is patched there
    (``engine.partial_decode``) instead of decoded whole."""
    from .render_takes import decode_takes

    names = {tid: stem_name(song, tid) for tid in track_ids}
    todo = [tid for tid, n in names.items() if n is not None and n not in audio_names]
    stems: dict[str, Any] = {}
    if todo:
        ctx.report("decode", 0, len(todo), "decoding the takes")
        patched = _patch_stems(ctx, song, tensors, todo, audio_names, _opts(ctx, opts), before or {})
        whole = [tid for tid in todo if tid not in patched]
        dry = decode_takes(song, tensors, whole, options=_opts(ctx, opts), cancel=ctx.token).stems if whole else {}
        dry = {**dry, **patched}
        stems = {names[tid]: dry[tid] if tid in patched else cache_stem(dry[tid]) for tid in todo}  # on its grid
        ctx.add_stems({tid: dry[tid] for tid in todo})
        ctx.report("decode", len(todo), len(todo), "decoded")
    drop = {n for tid in track_ids for n in stems_of_track(audio_names, tid) if n != names[tid]}
    return stems, drop


def _patch_stems(ctx: JobContext, song: Song, tensors: dict, track_ids: Sequence[str], audio, opts: DiffusionOptions,
                 before: dict[str, dict]) -> dict[str, Any]:
    """{track id: new stem} for the tracks whose previous stem is in ``audio`` and whose takes changed in some of
    their sections only (``engine.partial_decode``); the other tracks are left to a whole decode."""
    from ..errors import CancelledError
    from .diffusion_render import reference_renders
    from .models import load_diffusion_renderer
    from .partial_decode import can_patch, changed_sections, decode_spans, reference_song, splice, stem_key

    if not before or not hasattr(audio, "get"):
        return {}
    dr = load_diffusion_renderer(opts.codec, opts.renderer, opts.device)
    plans, out = {}, {}
    for tid in track_ids:
        if tid not in before:
            continue
        old = audio.get(stem_key(song, tid, before[tid]))
        changed = changed_sections(song, tensors, before[tid], tid)
        if old is not None and changed == []:
            out[tid] = stem_array(old)  # the same sound under new take ids
        elif old is not None and changed is not None and can_patch(dr, song, old, changed):
            plans[tid] = (old, changed)
    if not plans:
        return out
    from concurrent.futures import ThreadPoolExecutor

    import torch

    def cancelled() -> None:
        if ctx.token():
            raise CancelledError("decoding cancelled; nothing was changed")

    ref_song = reference_song(song, {tid: changed for tid, (_, changed) in plans.items()})
    # the level references (the SoundFont, one core) render while the decoder runs (torch), and the splices
    # (levelling, limiting, resampling: numpy, one core each, the GIL released in the heavy parts) run two at a
    # time: 0.2 to 0.3 s less of a regeneration's 1.1 s decode on this 2-core CPU
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="melodex-patch") as pool:
        refs_job = pool.submit(reference_renders, ref_song, list(plans), dr.sample_rate, cancel=ctx.token)
        spans = {}
        for tid, (_, changed) in plans.items():
            cancelled()
            spans[tid] = decode_spans(dr, song, tensors, tid, changed)
        refs = refs_job.result()  # only the notes that sound where the stems change

        def patch(tid: str):
            cancelled()
            return splice(dr, song, plans[tid][0], spans[tid], refs[tid])

        workers = 2 if torch.get_num_threads() > 1 else 1
        done = pool.map(patch, plans) if workers > 1 else map(patch, plans)
        for i, (tid, stem) in enumerate(zip(plans, done)):
            out[tid] = stem
            ctx.report("decode", i + 1, len(track_ids), "decoding the changed sections")
    return out


def render_pairs(ctx: JobContext, song: Song, tensors: dict, proposal: Proposal, audio_names,
                 section: Section | None = None, track_ids: Sequence[str] | None = None, stale_only: bool = False,
                 opts: DiffusionOptions | None = None, before: dict[str, dict] | None = None,
                 want_dry: bool = True) -> RenderResult | None:
    """Diffusion-render (``section`` or every section) x (``track_ids`` or every track) of ``song`` (a copy,
    which receives the takes) into ``proposal``: takes, tensors, current stems. ``stale_only`` skips the pairs
    that already have a current render take. Returns the dry render when one renderer call covered the whole
    request (what an immediate export writes), else None. ``before``: see ``decode_current`` (default: the takes
    of ``song`` as it comes in). ``want_dry=False``: the caller has no use for the dry render, so a section
    render only samples (its stems come from ``decode_current``)."""
    from .partial_decode import takes_by_section
    from .render_takes import current_take, render_with_takes

    sections = [section] if section is not None else sorted(song.sections, key=lambda s: s.start_bar)
    tids = list(dict.fromkeys(song.track(t).id for t in track_ids)) if track_ids else [t.id for t in song.tracks]
    todo = {tid: [s for s in sections if not stale_only or current_take(song, s, tid) is None] for tid in tids}
    todo = {tid: ss for tid, ss in todo.items() if ss}
    if not todo:
        return None
    o = _opts(ctx, opts)
    if before is None:
        before = {tid: takes_by_section(song, tid) for tid in todo}
    take_ids = {t.id for t in song.takes}
    before_tensors = dict(tensors)
    whole = [tid for tid, ss in todo.items() if section is None and len(ss) == len(song.sections)]
    per_section = [(s, [tid for tid in todo if tid not in whole and s in todo[tid]]) for s in sections]
    per_section = [(s, ts) for s, ts in per_section if ts]
    calls, dry = (1 if whole else 0) + len(per_section), None
    if whole:
        dry, _ = render_with_takes(song, tensors, track_ids=whole, progress=_span(ctx, "diffusion", 0, calls),
                                   cancel=ctx.token, options=o)
        _choose(song, [t for t in song.takes if t.id not in take_ids], proposal)
        for tid in whole:
            proposal.stems[stem_name(song, tid)] = cache_stem(dry.stems[tid])
        ctx.add_stems({tid: dry.stems[tid] for tid in whole})
    for i, (sec, ts) in enumerate(per_section, start=1 if whole else 0):
        dry, _ = render_with_takes(song, tensors, track_ids=ts, section=sec, progress=_span(ctx, "diffusion", i, calls),
                                   cancel=ctx.token, options=o, decode=want_dry and calls == 1)
    new = [t for t in song.takes if t.id not in take_ids]
    _choose(song, new, proposal)
    proposal.takes += new
    proposal.tensors.update(new_entries(before_tensors, tensors))
    rest = [tid for tid in todo if tid not in whole]
    known = dict(audio_names) if isinstance(audio_names, dict) else dict.fromkeys(audio_names)
    stems, drop = decode_current(ctx, song, tensors, rest, {**known, **proposal.stems}, o, before)
    proposal.stems.update(stems)
    proposal.drop_stems |= drop | {n for tid in whole for n in stems_of_track(audio_names, tid)
                                   if n not in proposal.stems}
    proposal.tracks |= set(todo)
    proposal.sections |= {s.id for ss in todo.values() for s in ss}
    return dry if calls == 1 else None


def generate(ctx: JobContext, plan, prompt: str | None, seed: int | None, model_path=None,
             render: DiffusionOptions | None = None) -> Proposal:
    """A new song for ``plan`` (a ``StylePlan``); with ``render``, also its diffusion render as takes."""
    _loading(ctx, LOADING_STRUCTURE)
    from .generation import generate_song

    song, tensors = generate_song(plan, seed=seed, device=ctx.device, progress=ctx.stage("structure"),
                                  cancel=ctx.token, model_path=model_path, prompt=prompt)
    p = Proposal("generate", f"Generate “{song.title}”", song=song, tensors=tensors,
                 info={"seed": song.generation.get("seed")})
    if render is not None:
        p.info["rendered"] = render_pairs(ctx, song, tensors, p, (), opts=render)
        p.takes, p.tensors = [], tensors  # already in the new song
    return p


def regenerate(ctx: JobContext, song: Song, tensors: dict, audio_names, section, track: str | None = None,
               seed: int | None = None, overrides: dict | None = None, from_bar: int | None = None, model_path=None,
               render: DiffusionOptions | None = None) -> Proposal:
    """A new structure take of ``section`` (one ``track`` of it, or its bars from ``from_bar``) of ``song`` (a
    copy); with ``render``, the new notes are diffusion-rendered too (the section's tracks that changed)."""
    _loading(ctx, LOADING_STRUCTURE)
    from .generation import regenerate as regenerate_section
    from .partial_decode import takes_by_section

    before = {t.id: takes_by_section(song, t.id) for t in song.tracks} if render is not None else None
    work = dict(tensors)
    take = regenerate_section(song, section, track=track, seed=seed, plan_overrides=overrides, from_bar=from_bar,
                              device=ctx.device, tensors=work, model_path=model_path, progress=ctx.stage("structure"),
                              cancel=ctx.token)
    sec = song.section(take.section_id)
    start, end = song.section_ticks(sec)
    p = Proposal("regenerate", f"Regenerate {sec.label}" + (f" ({song.track(track).name})" if track else ""),
                 takes=[take], activate={take.id}, sections={sec.id}, tracks=set(take.notes),
                 info={"take": take.id, "seed": take.seed, "section": sec.label})
    if take.track_id is None:
        p.chords = (start, end, [c for c in song.chords if start <= c.start_tick < end])
    p.tensors = new_entries(tensors, work)
    if render is not None:
        render_pairs(ctx, song, work, p, audio_names, section=sec, track_ids=list(take.notes), opts=render,
                     before=before, want_dry=False)
    return p


def render(ctx: JobContext, song: Song, tensors: dict, audio_names, section=None, track_ids=None,
           stale_only: bool = False, opts: DiffusionOptions | None = None) -> Proposal:
    """Diffusion render of the song, a section, some tracks, or only what is stale, as takes."""
    _loading(ctx, LOADING_RENDERER)
    sec = song.section(section) if section is not None and not isinstance(section, Section) else section
    p = Proposal("render", "Render" + (f" {sec.label}" if sec else "") + (" (stale)" if stale_only else ""))
    work = dict(tensors)
    p.info["rendered"] = render_pairs(ctx, song, work, p, audio_names, sec, track_ids, stale_only, opts)
    return p


def vary(ctx: JobContext, song: Song, tensors: dict, audio_names, section, step: int, seed: int | None = None,
         track_ids: Sequence[str] | None = None, variation: float = 1.0, take_id: str | None = None,
         opts: DiffusionOptions | None = None, guidance: float | None = None) -> Proposal:
    """New render takes of ``section`` resumed from recorded sampler ``step`` of the current (or ``take_id``'s)
    render with noise ``seed``; the new takes play, and the tracks' stems are decoded again."""
    _loading(ctx, LOADING_RENDERER)
    from .partial_decode import takes_by_section
    from .render_takes import vary_takes

    before = {t.id: takes_by_section(song, t.id) for t in song.tracks}
    work = dict(tensors)
    takes = vary_takes(song, work, section, step, seed=seed, track_ids=track_ids, variation=variation, take_id=take_id,
                       progress=ctx.stage("diffusion"), cancel=ctx.token, options=_opts(ctx, opts), guidance=guidance)
    sec = song.section(takes[0].section_id)
    p = Proposal("vary", f"Vary {sec.label} from step {step}", takes=takes, sections={sec.id},
                 tracks={t.track_id for t in takes}, info={"takes": [t.id for t in takes]})
    _choose(song, takes, p)
    p.tensors = new_entries(tensors, work)
    stems, p.drop_stems = decode_current(ctx, song, work, sorted(p.tracks), audio_names, opts, before)
    p.stems.update(stems)
    return p
