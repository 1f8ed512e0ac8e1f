"""The diffusion renderer as an engine operation: dry per-track stems at the project rate.

Each track is rendered on its own (stems are generated, not separated), section by section with the
previous section as known context, at the codec's rate; the mono result is resampled with soxr to the
song's rate and returned as a centred stereo stem (the mixer pans it). With ``strength`` < 1 every track
starts from the latent of its SoundFont render (SDEdit: 0 keeps the SoundFont audio as the codec hears
it, 1 renders from noise). Every decoded track is then levelled section by section to the loudness of its
SoundFont render (the score's velocities as a sampler plays them; plain tones of the notes where no SoundFont
render can be made, ``render.soundfont_fallback``), with its true peak held under -1 dBTP
(``mix.leveling``), so that a mix keeps its balance whichever renderer made the stems. Progress is reported
per denoiser step; cancel is checked at every step.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..errors import CancelledError, ModelError
from ..render.soundfont import RenderResult, SoundFontRenderer
from ..song import Section, Song

Progress = Callable[[float], None]
Cancel = Callable[[], bool]


@dataclass
class DiffusionOptions:
    """How the engine runs the diffusion renderer (the CLI's --steps/--strength/--seed/--device)."""

    steps: int = 8
    strength: float = 1.0  # 1 = from noise; < 1 = from the SoundFont render's latent
    seed: int = 0
    guidance: float = 2.0
    device: str = "auto"
    codec: str | os.PathLike | None = None  # checkpoints; None = engine.models defaults
    renderer: str | os.PathLike | None = None
    record_steps: tuple[int, ...] | None = None  # sampler steps whose latents are kept; None = record_default(steps)


def record_default(steps: int) -> tuple[int, ...]:
    """The steps recorded when none are chosen: the quarter points of a run of ``steps`` (project size: each
    recorded step costs two latents per track and section)."""
    return tuple(sorted({round(steps * q) for q in (0.25, 0.5, 0.75)} & set(range(1, steps))))


def check_options(opts: DiffusionOptions) -> None:
    """``ModelError`` naming the first option a render cannot use: steps outside 1..``limits.MAX_STEPS``, a seed
    outside ``limits.SEED_RANGE`` (noise generators take 64 bits), strength outside 0..1, a guidance weight that
    is not a finite number, recorded steps outside 0..steps."""
    from ..song import limits

    problem = limits.steps_problem(opts.steps) or limits.seed_problem(opts.seed, "render seed")
    if problem:
        raise ModelError(problem)
    if not isinstance(opts.strength, (int, float)) or not 0.0 <= opts.strength <= 1.0:
        raise ModelError(f"strength {opts.strength} must be between 0 (keep the SoundFont render) and 1 (from noise)")
    if not isinstance(opts.guidance, (int, float)) or not -100.0 <= opts.guidance <= 100.0:
        raise ModelError(f"guidance {opts.guidance} must be a number between -100 and 100 (renders use 1-4)")
    for k in opts.record_steps or ():
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= opts.steps:
            raise ModelError(f"recorded step {k!r} must be a whole number between 0 and the {opts.steps} steps")


def render_diffusion(song: Song, track_ids: Sequence[str] | None = None, section: Section | str | int | None = None,
                     progress: Progress | None = None, cancel: Cancel | None = None,
                     soundfont: str | os.PathLike | None = None,
                     options: DiffusionOptions | None = None, renders_out: dict | None = None,
                     decode: bool = True) -> RenderResult | None:
    """Dry stereo stems (track id -> (frames, 2) float32, all one length) and their sum at ``song.sample_rate``;
    sample 0 = the song's start, or ``section``'s start when one section is rendered. ``renders_out``, when
    given, receives {(track id, section id): LatentRender} (``engine.render_takes`` stores them as takes).
    ``decode=False``: sample only (the latents go to ``renders_out``) and return None, for a caller that
    decodes the song's stems itself (``engine.partial_decode``)."""
    from ..render.diffusion import RenderSettings
    from .device import out_of_memory_as_error
    from .models import load_diffusion_renderer

    opts = options or DiffusionOptions()
    check_options(opts)
    dr = load_diffusion_renderer(opts.codec, opts.renderer, opts.device)
    tracks = song.tracks if track_ids is None else [song.track(t) for t in dict.fromkeys(track_ids)]
    sec = section if section is None or isinstance(section, Section) else SoundFontRenderer._find_section(song, section)
    per_section = opts.steps if opts.strength >= 1.0 else max(1, int(np.ceil(opts.steps * opts.strength)))
    record = opts.record_steps if opts.record_steps is not None else record_default(per_section)
    settings = RenderSettings(steps=opts.steps, guidance=opts.guidance, seed=opts.seed, record_steps=tuple(record))
    refs = reference_renders(song, [t.id for t in tracks], dr.sample_rate, soundfont, cancel, opts.strength >= 1.0) \
        if decode or opts.strength < 1.0 else {}
    n_sections = 1 if sec is not None else max(1, len(song.sections))
    start = 0 if sec is None else song.tempo_map.tick_to_sample(song.section_ticks(sec)[0], dr.sample_rate)
    total_steps, done = len(tracks) * n_sections * (per_section + 1), [0]

    def on_step(step: int, _x) -> None:
        if cancel is not None and cancel():
            raise CancelledError("rendering cancelled")
        done[0] += 1
        if progress is not None:
            progress(min(1.0, done[0] / total_steps))

    mono: dict[str, np.ndarray] = {}
    for track in tracks:
        with out_of_memory_as_error(f"rendering {track.name!r}", dr.device):
            mono[track.id] = _render_one(dr, song, track, sec, settings, on_step, refs, opts, start, renders_out,
                                         decode, cancel)
    if not decode:
        return None
    return to_stems(song, level_to_references(song, mono, refs, dr.sample_rate, start, cancel), dr.sample_rate, sec)


def _render_one(dr, song: Song, track, sec: Section | None, settings, on_step, refs: dict[str, np.ndarray],
                opts: DiffusionOptions, start: int, renders_out: dict | None, decode: bool = True,
                cancel: Cancel | None = None) -> np.ndarray | None:
    """One track sampled (whole song or ``sec``) and decoded: mono at the codec rate, sample 0 = song sample
    ``start``; its latent renders go to ``renders_out``."""
    from ..render.score_features import section_frames

    if sec is None:
        latent, renders = dr.render_track(song, track, settings, on_step,
                                          refs[track.id].mean(axis=1) if opts.strength < 1.0 else None, opts.strength)
        sections, f0 = sorted(song.sections, key=lambda s: s.start_bar), 0  # render_track's order
    else:
        track_latent = dr.encode_audio(refs[track.id].mean(axis=1)).cpu() if opts.strength < 1.0 else None
        r = dr.render_section(song, track, sec, settings, callback=on_step, init_track_latent=track_latent,
                              strength=opts.strength if track_latent is not None else 1.0)
        latent, renders, sections = dr.section_latent(song, sec, r), [r], [sec]
        f0 = section_frames(song, sec, dr.sample_rate, dr.hop)[0]
    if renders_out is not None:
        renders_out.update({(track.id, s.id): r for s, r in zip(sections, renders)})
    if not decode:
        return None
    return dr.decode_track(song, track, latent, f0, cancel=cancel)[start - f0 * dr.hop:]  # sample 0 = ``start``


def reference_renders(song: Song, track_ids: Sequence[str], rate: int, soundfont: str | os.PathLike | None = None,
                      cancel: Cancel | None = None, stand_in: bool = True) -> dict[str, np.ndarray]:
    """Stereo (frames, 2) dry SoundFont renders of ``track_ids`` over the whole song at ``rate`` (sample 0 = the
    song's start): the level references of every diffusion stem, and (their channel mean) the start latents of
    an SDEdit render. ``stand_in``: without a SoundFont synthesiser or SoundFont, plain tones of the notes
    (``render.soundfont_fallback``) are the level references; an SDEdit render (strength < 1) needs the real one."""
    if not track_ids:
        return {}
    if stand_in:
        from ..render.soundfont_fallback import level_references

        return level_references(song, track_ids, rate, soundfont, cancel)
    sf = SoundFontRenderer(soundfont, sample_rate=rate).render(song, list(track_ids), cancel=cancel)
    return dict(sf.stems)


def level_to_references(song: Song, mono: dict[str, np.ndarray], refs: dict[str, np.ndarray], rate: int,
                        start: int = 0, cancel: Cancel | None = None) -> dict[str, np.ndarray]:
    """Each decoded track (mono at ``rate``, its sample 0 = song sample ``start``) brought section by section to
    the loudness of its SoundFont reference (mono or stereo, sample 0 = the song's start), true peak under
    -1 dBTP (``mix.leveling``); ``cancel`` is asked before each section's measurement and each limiter."""
    from ..mix.leveling import level_stem

    starts = [song.tempo_map.tick_to_sample(song.section_ticks(s)[0], rate) - start for s in song.sections]
    out = {}
    for tid, m in mono.items():
        bounds = sorted({0, m.size} | {s for s in starts if 0 < s < m.size})
        out[tid] = level_stem(m, refs[tid][start: start + m.size], bounds, rate, start, cancel=cancel)[0]
    return out


def to_stems(song: Song, mono: dict[str, np.ndarray], rate: int, sec: Section | None) -> RenderResult:
    """Mono renders at ``rate`` (sample 0 = the song's or ``sec``'s start) -> centred stereo stems at the song's
    rate, padded to the song's (or the section's) length, and their sum."""
    import soxr

    mono = {tid: soxr.resample(m, rate, song.sample_rate).astype(np.float32) for tid, m in mono.items()}
    if sec is None:
        end_tick = max(song.section_ticks(s)[1] for s in song.sections) if song.sections else 0
        frames = song.tempo_map.tick_to_sample(end_tick, song.sample_rate)
    else:
        a, b = song.section_ticks(sec)
        frames = song.tempo_map.tick_to_sample(b, song.sample_rate) - song.tempo_map.tick_to_sample(a, song.sample_rate)
    frames = max([frames] + [m.size for m in mono.values()])
    stems = {tid: np.repeat(np.pad(m, (0, frames - m.size))[:, None], 2, axis=1) for tid, m in mono.items()}
    mix = np.zeros((frames, 2), np.float32)
    for st in stems.values():
        mix += st
    return RenderResult(stems=stems, mix=mix, sample_rate=song.sample_rate)
