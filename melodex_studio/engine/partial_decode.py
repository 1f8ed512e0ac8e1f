"""Decode only what changed: a track's new stem when some of its sections got new render takes, made from its
previous stem and a decode of the changed sections (plus context), instead of a decode of the whole song.

The codec decoder is local: its convolutions reach ``receptive_frames()`` latent frames (24 for the shipped
codec; measured on random latents: under 1e-7 from there on, 4e-5 at 16 frames); the notes' release tails
(``CodecConfig.harmonic_tail``) read the score's roll before the window (``history_frames``, as long as a tail
sounds); harmonics keep the song's phases (``frame_offset``). So a decode of [f0 - reach, f1 + reach) equals the
whole-song decode over the changed frames and ``EDGE_FRAMES`` on each side up to float rounding (tests/render/test_shipped_renderer.py, tests/engine/test_partial_decode.py). The new audio replaces the old stem from ``SPLICE_FRAMES`` before the
first changed section to ``TAIL_S`` after the last (the new notes' release tails ring into the next section; its
notes, unchanged, decode as before). Levelling is the whole-song path's
(``engine.diffusion_render.level_to_references``): the changed sections are brought to their SoundFont
reference's loudness; the 2 s after them keep the gain the previous stem has there (least squares against the
old stem over its second half, where the tails have mostly gone). A 10 ms
crossfade at each splice hides the limiter's and the resampler's edges. The result differs from a whole-song
decode only by those edges (tests/engine/test_partial_decode.py measures it). The rests are gated where the
reference is silent, as the whole-song path gates them (``mix.leveling.rest_gate``, on the same sample grid).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..song import Section, Song

EDGE_FRAMES = 20  # levelled, limited and resampled beyond the splice, then cut off (the limiter's 80 ms release settles)
TAIL_S = 2.0  # decoded again after a changed section: its notes' release tails ring into the next one (-17 dB by then)


REFERENCE_MARGIN_S = 8.0  # a note that ended this long before a patched section is silent in it (the SoundFont's
# releases, and the decoder's release tails: 1 s time constant to -60 dB, 6.9 s)


def reference_song(song: Song, changed: Mapping[str, Sequence[Section]]) -> Song:
    """What the level references of a patch are rendered from: ``song``'s tempo, meter and sections with the tracks
    of ``changed`` (track id -> its changed sections), each holding only the notes that can sound in those sections
    (from ``REFERENCE_MARGIN_S`` before the first to the end of the last) and in the ``TAIL_S`` decoded after them
    (the rest gate of ``mix.leveling`` reads the reference there too). ``patch_stem`` reads the reference only
    there; the whole track's SoundFont render was most of a regeneration's reference time (2.5 s of 14 s for one
    8-bar section of a 3-minute, 6-track song)."""
    from dataclasses import replace

    mini = song.frame()
    tm = song.tempo_map
    for tid, secs in changed.items():
        track = song.track(tid)
        t0 = min(song.section_ticks(s)[0] for s in secs)
        t1 = tm.seconds_to_tick(tm.tick_to_seconds(max(song.section_ticks(s)[1] for s in secs)) + TAIL_S + 1.0)
        lo = tm.seconds_to_tick(max(0.0, tm.tick_to_seconds(t0) - REFERENCE_MARGIN_S))
        mini.tracks.append(replace(track, notes=[n for n in track.notes
                                                 if n.start_tick < t1 and n.start_tick + n.duration_ticks > lo]))
    return mini


def takes_by_section(song: Song, track_id: str) -> dict[str, str | None]:
    """{section id: id of the render take that plays there (None: none)} for one track."""
    from .render_takes import current_take

    out = {}
    for sec in song.sections:
        take = current_take(song, sec, track_id)
        out[sec.id] = take.id if take is not None else None
    return out


def changed_sections(song: Song, tensors: dict, before: dict[str, str | None], track_id: str) -> list[Section] | None:
    """The sections whose playing render take differs from ``before`` (``takes_by_section`` earlier) in what it
    sounds like (a new take with the same notes, window and final latent as the old one, such as a variation
    with the old seed, is no change); None when the stem cannot be patched (sections added or removed, or a
    section had no take before)."""
    now = takes_by_section(song, track_id)
    if set(now) != set(before) or any(v is None for v in before.values()) or any(v is None for v in now.values()):
        return None
    return [s for s in song.sections if now[s.id] != before[s.id] and not _same_render(song, tensors, before[s.id],
                                                                                        now[s.id])]


def _same_render(song: Song, tensors: dict, old_id: str, new_id: str) -> bool:
    try:
        old, new = song.take(old_id), song.take(new_id)
    except KeyError:
        return False
    if old.notes != new.notes or old.params.get("state", {}).get("frame_start") != new.params.get("state", {}).get(
            "frame_start") or old.params.get("models") != new.params.get("models"):
        return False
    a, b = tensors.get(f"render/{old_id}/latent"), tensors.get(f"render/{new_id}/latent")
    return a is not None and b is not None and np.array_equal(np.asarray(a), np.asarray(b))


def stem_key(song: Song, track_id: str, before: dict[str, str | None]) -> str | None:
    """The audio-cache name of the stem made from the takes ``before`` names (None: a section had none)."""
    from .proposals import stem_key as key

    ids = [before.get(s.id) for s in sorted(song.sections, key=lambda x: x.start_bar)]
    return key(track_id, ids) if ids and None not in ids else None


def _stem_array(stem) -> np.ndarray:
    from .proposals import stem_array

    return np.asarray(stem_array(stem), dtype=np.float32)


def can_patch(dr, song: Song, old_stem, changed: Sequence[Section]) -> bool:
    """Whether ``patch_stem`` applies: some but not all sections changed, a codec without integrated phase, song
    samples that fall on latent frame boundaries, and an old stem as long as the song."""
    if not changed or len(changed) >= len(song.sections) or dr.codec.cfg.phase_mode == "integrate":
        return False
    if (dr.hop * song.sample_rate) % dr.sample_rate:
        return False
    frames = dr.song_frames(song) * dr.hop * song.sample_rate // dr.sample_rate
    have = old_stem.shape[0] if hasattr(old_stem, "shape") else getattr(old_stem, "frames", 0)  # array or CachedStem
    return old_stem is not None and have >= frames


def _spans(bounds: list[int], changed_idx: set[int]) -> list[tuple[int, int]]:
    """Runs of consecutive changed segments [bounds[i], bounds[j]) as sample ranges."""
    spans, i = [], 0
    n = len(bounds) - 1
    while i < n:
        if i in changed_idx:
            j = i
            while j + 1 < n and j + 1 in changed_idx:
                j += 1
            spans.append((bounds[i], bounds[j + 1]))
            i = j + 1
        else:
            i += 1
    return spans


@dataclass
class DecodedSpan:
    """A run of changed sections [a, b) of a track decoded with the ``TAIL_S`` after it, [b, c), and
    ``EDGE_FRAMES`` on each side: ``audio`` is mono at the codec rate over [q0, q1) (codec samples of the song,
    whose whole decode is ``total`` samples long)."""

    a: int
    b: int
    c: int
    q0: int
    q1: int
    total: int
    audio: np.ndarray


def patch_stem(dr, song: Song, tensors: dict, track_id: str, old_stem, changed: Sequence[Section],
               reference: np.ndarray) -> np.ndarray:
    """The track's stem (frames, 2) float32 at the song's rate with ``changed`` sections decoded from their
    current render takes and spliced into ``old_stem`` (the stem of the takes before): ``splice`` of
    ``decode_spans``. ``reference``: the track's SoundFont render at the codec rate (``reference_renders``), the
    loudness the changed sections are levelled to."""
    return splice(dr, song, old_stem, decode_spans(dr, song, tensors, track_id, changed), reference)


def decode_spans(dr, song: Song, tensors: dict, track_id: str, changed: Sequence[Section]) -> list[DecodedSpan]:
    """The decoder's part of ``patch_stem`` (the model; ``splice`` is numpy): each run of ``changed`` sections of
    the track decoded from its current render takes, with the context that makes it the whole-song decode."""
    from ..mix.leveling import RAMP_S
    from .render_takes import track_latent

    track = song.track(track_id)
    rate, hop = dr.sample_rate, dr.hop
    latent, _ = track_latent(song, tensors, track_id, dr, require=True)
    total = latent.shape[0] * hop  # codec samples of the whole-song decode
    bounds = _bounds(dr, song, total)
    changed_starts = {song.tempo_map.tick_to_sample(song.section_ticks(s)[0], rate) for s in changed}
    changed_idx = {i for i, b in enumerate(bounds[:-1]) if b in changed_starts or (i == 0 and 0 in changed_starts)}
    spans = _spans(bounds, changed_idx)
    reach = dr.codec.decoder.receptive_frames()
    out = []
    for k, (a, b) in enumerate(spans):
        # the new notes' tails ring on after the span: decode TAIL_S more (short of the next changed span)
        limit = spans[k + 1][0] - int(4 * RAMP_S * rate) if k + 1 < len(spans) else total
        c = b if b >= total else max(b, min(total, b + int(TAIL_S * rate), limit))
        q0 = max(0, a // hop - EDGE_FRAMES) * hop
        q1 = total if c >= total else min(total, (-(-c // hop) + EDGE_FRAMES) * hop)
        d0 = max(0, q0 // hop - reach)  # the release tails read the roll before d0 (``history_frames``)
        d1 = min(latent.shape[0], q1 // hop + reach)
        seg = dr.decode_track(song, track, latent[d0:d1], d0, history_frames=dr.release_frames())
        out.append(DecodedSpan(a, b, c, q0, q1, total, seg[q0 - d0 * hop: q1 - d0 * hop]))
    return out


def splice(dr, song: Song, old_stem, spans: Sequence[DecodedSpan], reference: np.ndarray) -> np.ndarray:
    """``old_stem`` with the ``decode_spans`` of a track gated, levelled to ``reference`` (its SoundFont render at
    the codec rate), limited, resampled and crossfaded in: (frames, 2) float32 at the song's rate, on the audio
    cache's grid as ``cache_stem`` makes it (the old stem is: only the new samples are rounded) and read-only."""
    import soxr

    from ..mix.leveling import RAMP_S, STEM_CEILING_DBTP, gain_curve, rest_gate, section_gains_db
    from ..mix.loudness import true_peak_limit
    from .proposals import cache_stem

    old = _stem_array(old_stem)
    rate, sr, hop = dr.sample_rate, song.sample_rate, dr.hop
    ratio = sr * hop // rate  # song samples per latent frame (exact: ``can_patch``)
    ref = np.asarray(reference, np.float32)
    out = old.copy()
    half = int(RAMP_S / 2 * sr)
    for sp in spans:
        a, b, c, q0, q1, total = sp.a, sp.b, sp.c, sp.q0, sp.q1, sp.total
        bounds = _bounds(dr, song, total)
        seg = sp.audio * rest_gate(_window(ref, q0, q1), rate, q0)  # as ``level_stem`` gates the whole-song decode
        inner = [x for x in bounds if a <= x <= b]
        gains = list(section_gains_db(seg[a - q0: b - q0], _window(ref, a, b), [x - a for x in inner], rate))
        if c > b:  # after the span: the next section's gain as the old stem has it (least squares where the tails
            gains.append(_kept_gain_db(old, seg, (b + c) // 2 - q0, c - q0, q0, rate, sr))  # have mostly gone)
            inner = [*inner, c]
        lev = seg * gain_curve(gains, [x - q0 for x in inner], seg.size, rate)
        y = soxr.resample(true_peak_limit(lev, rate, STEM_CEILING_DBTP)[:, 0], rate, sr).astype(np.float32)
        y0 = q0 * ratio // hop  # song sample of y[0]
        big_a, big_c = round(a * sr / rate), round(c * sr / rate)
        s0 = 0 if a == 0 else big_a - half
        s1 = out.shape[0] if c >= total else min(out.shape[0], big_c + half)
        new = np.zeros(s1 - s0, np.float32)
        part = y[s0 - y0:][: s1 - s0]
        new[: part.size] = part
        w = np.ones(s1 - s0, np.float32)
        if a > 0:  # the comping crossfade at the joins, where the whole-song path ramps the gain
            w[: 2 * half] = np.linspace(0.0, 1.0, 2 * half, dtype=np.float32)
        if c < total:
            w[-2 * half:] = np.minimum(w[-2 * half:], np.linspace(1.0, 0.0, 2 * half, dtype=np.float32))
        out[s0:s1] = cache_stem(old[s0:s1, 0] * (1 - w) + new * w)[:, None]
    out.flags.writeable = False
    return out


def _bounds(dr, song: Song, total: int) -> list[int]:
    """Codec samples of the section starts within [0, total], with 0 and ``total``."""
    starts = [song.tempo_map.tick_to_sample(song.section_ticks(s)[0], dr.sample_rate) for s in song.sections]
    return sorted({0, total} | {s for s in starts if 0 < s < total})


def _window(ref: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``ref[lo:hi]``, zero-padded where ``ref`` ends before ``hi``."""
    part = ref[lo:hi]
    if part.shape[0] == hi - lo:
        return part
    return np.concatenate([part, np.zeros((hi - lo - part.shape[0], *ref.shape[1:]), ref.dtype)])


def _kept_gain_db(old: np.ndarray, seg: np.ndarray, i0: int, i1: int, q0: int, rate: int, sr: int) -> float:
    """The gain (dB) that brings ``seg[i0:i1]`` (codec rate; ``seg[0]`` is codec sample ``q0``) closest to the old
    stem over the same time (least squares); 0 dB where either is silent."""
    import soxr

    x = np.asarray(seg[i0:i1, 0] if seg.ndim > 1 else seg[i0:i1], np.float64)
    lo, hi = round((q0 + i0) * sr / rate), round((q0 + i1) * sr / rate)
    o = soxr.resample(np.ascontiguousarray(old[lo:hi, 0], np.float32), sr, rate).astype(np.float64)
    n = min(len(o), len(x))
    den = float(np.dot(x[:n], x[:n]))
    num = float(np.dot(x[:n], o[:n]))
    return 20.0 * math.log10(num / den) if den > 0 and num > 0 else 0.0
