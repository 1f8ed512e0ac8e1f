"""Generation operations on the document: a new song from a plan, and regeneration of one section,
one track of a section or the rest of a section (a new Take; older takes stay).

The structure model writes the arrangement (``structure.generate``); this module turns plans into token
headers, tokens into the Song, and records what is needed to reproduce a result: the plan, prompt, seed,
model hash, token sequences (as project tensors) and timings.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CancelledError, ModelError, PromptError
from ..song.model import Song, Take
from .device import out_of_memory_as_error

TOKENS_TENSOR = "structure/tokens"


@contextmanager
def _cpu_threads(device) -> Any:
    """Sampling is one small step at a time: one CPU thread is fastest (no thread hand-offs)."""
    import torch

    if device.type != "cpu":
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def choose_seed(seed: int | None) -> int:
    """``seed``, checked against ``song.limits.SEED_RANGE`` (PromptError), or a new random one when None."""
    from ..song.limits import seed_problem

    if seed is None:
        return secrets.randbelow(2**31)
    problem = seed_problem(seed)
    if problem:
        raise PromptError(problem)
    return int(seed)


def _header(plan) -> Any:
    from ..structure import tokens as T

    try:
        h = T.header_from_plan(plan)
        h.validate()
    except ValueError as e:
        raise PromptError(str(e)) from None
    if not h.sections:
        raise PromptError("the plan has no sections (form); give a form or a length in bars")
    if not h.tracks:
        raise PromptError("the plan has no instruments")
    from ..song.limits import MAX_TRACKS, length_problem
    from ..song.timing import MeterMap

    n, d = plan.meter
    h.tempo_bpm = plan.quarter_tempo_bpm  # the plan's felt beat (12/8 at 66 = 66 dotted quarters) in quarters
    problem = length_problem(plan.tempo_map(), MeterMap(numerator=n, denominator=d),
                             end_bar=sum(s.bars for s in plan.form))
    if problem:  # refused before the model writes a song that could not be rendered or saved
        raise PromptError(f"this song cannot be made: {problem}")
    if len(h.tracks) > MAX_TRACKS:
        raise PromptError(f"this song cannot be made: {len(h.tracks)} instruments; a song holds at most {MAX_TRACKS}")
    return h


def generate_song(plan, seed: int | None = None, device: str = "auto", progress: Callable[[float, str], None] | None = None,
                  cancel: Callable[[], bool] | None = None, model_path: str | None = None, prompt: str | None = None,
                  temperature: float = 0.95, top_p: float = 0.95) -> tuple[Song, dict[str, np.ndarray]]:
    """Write a whole arrangement for ``plan`` (a ``StylePlan`` or its dict).

    Returns (song, tensors): the Song carries ``song.plan`` (plan dict), ``song.generation`` (prompt, seed,
    model hash, timings in seconds, token tensor name) and tracks named after the plan's instruments;
    ``tensors`` = {"structure/tokens": int32 (N,)} for the project file. Same plan, seed, model and device
    give the same song. Raises PromptError (plan unusable), ModelError, CancelledError.
    """
    from ..prompt.plan import StylePlan
    from ..structure import tokens as T
    from ..structure.generate import Cancelled, SampleOptions, generate_tokens
    from .models import load_structure_model

    if isinstance(plan, dict):
        plan = StylePlan.from_dict(plan)
    header = _header(plan)
    seed = choose_seed(seed)
    t0 = time.perf_counter()
    model, info = load_structure_model(model_path, device)
    t_load = time.perf_counter() - t0
    dev = next(model.parameters()).device
    try:
        with _cpu_threads(dev), out_of_memory_as_error("writing the arrangement", dev):
            res = generate_tokens(model, header, seed, SampleOptions(temperature, top_p), progress, cancel)
    except Cancelled:
        raise CancelledError("generation cancelled; nothing was changed") from None
    song = T.decode(res.tokens, header)
    fitted = _playable(song)
    song.title = (prompt or plan.genre or "Untitled")[:60]
    song.key = plan.key
    song.tempo_map = plan.tempo_map()  # per-section tempi ("chorus 8 at 128 bpm") start at their sections
    for sec, sp in zip(song.sections, plan.form):
        if sp.energy is not None:
            sec.overrides["energy"] = sp.energy
    song.plan = plan.to_dict()
    song.generation = {
        "prompt": prompt, "seed": seed, "device": str(dev), "temperature": temperature, "top_p": top_p,
        "structure_model": {"sha256": info["sha256"], "name": Path(info["path"]).stem},
        "tokens_tensor": TOKENS_TENSOR, "tokens": len(res.tokens), "sampled_tokens": res.sampled, "fitted_notes": fitted,
        "timings": {"load_model_s": round(t_load, 4), "structure_s": round(res.seconds, 4)},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return song, {TOKENS_TENSOR: np.asarray(res.tokens, dtype=np.int32)}


def _playable(song: Song) -> int:
    """What the model wrote, made playable as written: every note in its instrument's range and melody and bass one
    note at a time (``song.idiom.fit_parts``), the last bar resolved to the tonic (``song.harmony.resolve_ending``),
    and tracks that share a MIDI channel holding what that channel plays (``resolve_channel_overlaps``), so that the
    exported MIDI is the document. Returns how many notes changed."""
    from ..song.harmony import resolve_ending
    from ..song.idiom import fit_parts
    from ..song.model import resolve_channel_overlaps

    return fit_parts(song) + resolve_ending(song) + resolve_channel_overlaps(song.tracks)


def song_header(song: Song, plan_overrides: dict | None = None):
    """Token header for an existing Song: its tracks, sections, tempo, key and meter; genre, mood and
    per-section instruments from ``song.plan`` updated with ``plan_overrides`` (genre, mood, energy)."""
    from ..structure import tokens as T

    h = T.header_from_song(song)
    plan = dict(song.plan or {})
    plan.update({k: v for k, v in (plan_overrides or {}).items() if v is not None})
    h.genre = plan.get("genre") or h.genre
    h.mood = plan.get("mood", h.mood)
    form = plan.get("form") or []
    names = [t.name for t in h.tracks]
    for i, spec in enumerate(h.sections):
        sp = form[i] if i < len(form) and isinstance(form[i], dict) else {}
        if sp.get("instruments") is not None:
            spec.tracks = [j for j, n in enumerate(names) if n in sp["instruments"]]
    try:
        h.validate()
    except ValueError as e:
        raise ModelError(f"this song cannot be regenerated: {e}") from None
    return h


def regenerate(song: Song, section: str | int, track: str | None = None, seed: int | None = None,
               plan_overrides: dict | None = None, from_bar: int | None = None, device: str = "auto",
               tensors: dict[str, np.ndarray] | None = None, model_path: str | None = None,
               temperature: float = 0.95, top_p: float = 0.95, progress: Callable[[float, str], None] | None = None,
               cancel: Callable[[], bool] | None = None) -> Take:
    """Regenerate one section (all tracks), one ``track`` of it, or its bars from ``from_bar`` (0-based,
    inside the section) and add the result as a new active take (``song.add_take``).

    Every other section's notes are left exactly as they are; the earlier sections are the model's
    context and the next section's label its look-ahead. When ``tensors`` is given, the take's token
    sequence is stored there under the name listed in ``take.tensors``.
    """
    from ..structure import tokens as T
    from ..structure.generate import Cancelled, SampleOptions, regenerate_tokens
    from .models import load_structure_model

    try:
        sec = song.section(section)
    except KeyError as e:
        raise PromptError(str(e.args[0])) from None
    si = song.sections.index(sec)
    tr = None
    if track is not None:
        try:
            tr = song.track(track)
        except KeyError:
            raise PromptError(f"no track {track!r}; tracks are {[t.name for t in song.tracks]}") from None
    if from_bar is not None and not 0 <= from_bar < sec.length_bars:
        raise PromptError(f"bar {from_bar} is outside section {sec.label!r} (bars 0..{sec.length_bars - 1})")
    header = song_header(song, plan_overrides)
    seed = choose_seed(seed)
    model, info = load_structure_model(model_path, device)
    dev = next(model.parameters()).device
    t0 = time.perf_counter()
    old_tokens = T.encode(song, header)
    try:
        with _cpu_threads(dev), out_of_memory_as_error(f"regenerating {sec.label!r}", dev):
            res = regenerate_tokens(model, header, old_tokens, si, seed, song.tracks.index(tr) if tr else None,
                                    from_bar or 0, SampleOptions(temperature, top_p), cancel, progress)
    except Cancelled:
        raise CancelledError("regeneration cancelled; nothing was changed") from None
    new = T.decode(res.tokens, header)
    _playable(new)
    start, end = song.section_ticks(sec)
    targets = [tr] if tr is not None else list(song.tracks)
    notes = {t.id: new.tracks[song.tracks.index(t)].notes_in(start, end) for t in targets}
    name = f"structure/take-{len(song.takes)}-{secrets.token_hex(3)}"
    take = Take(section_id=sec.id, track_id=tr.id if tr else None, notes=notes, seed=seed,
                params={"op": "regenerate", "from_bar": from_bar, "track": tr.name if tr else None,
                        "overrides": plan_overrides or {}, "temperature": temperature, "top_p": top_p,
                        "structure_model": info["sha256"], "seconds": round(time.perf_counter() - t0, 4)},
                tensors=[name] if tensors is not None else [],
                created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    if tensors is not None:
        tensors[name] = np.asarray(res.tokens, dtype=np.int32)
    if tr is None:  # the chord track of this section comes with the new take
        kept = [c for c in song.chords if not start <= c.start_tick < end]
        song.set_chords(kept + [c for c in new.chords if start <= c.start_tick < end])
    song.add_take(take)
    return take
