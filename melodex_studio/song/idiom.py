"""Make generated parts playable by the instruments that play them: pitches inside the instrument's range
(``song.ranges``) and one note at a time in the monophonic parts (melody and bass).

``fit_parts(song)`` is meant to run on a freshly generated song (or section) before it enters the document:
notes outside the range move by octaves (their pitch class, and so the harmony, is kept); in a melody the
highest note of each onset is kept and in a bass the lowest, and a note ends where the next one starts. Each
track ends with ``resolve_overlaps`` so the song still holds what a MIDI channel plays.
"""
from __future__ import annotations

from .model import Note, Song, Track, resolve_overlaps
from .ranges import clamp_to_range

MONOPHONIC_ROLES = ("melody", "bass")


def monophonic(notes: list[Note], keep: str = "highest") -> list[Note]:
    """One note at a time: of the notes starting on one tick the highest (``keep='highest'``) or lowest is
    kept, and a note still sounding when the next one starts ends there."""
    by_tick: dict[int, Note] = {}
    for n in notes:
        cur = by_tick.get(n.start_tick)
        if cur is None or (n.pitch > cur.pitch if keep == "highest" else n.pitch < cur.pitch):
            by_tick[n.start_tick] = n
    line = [by_tick[t] for t in sorted(by_tick)]
    out = []
    for a, b in zip(line, line[1:] + [None]):
        if b is not None and a.end_tick > b.start_tick:
            a = Note(a.start_tick, a.pitch, b.start_tick - a.start_tick, a.velocity)
        out.append(a)
    return out


def fit_track(track: Track) -> int:
    """Fit one track in place; returns how many notes changed or went."""
    before = sorted(track.notes)
    if track.is_drum:  # drum pieces are keys of the kit map, not pitches to move
        return 0
    notes = [n if n.pitch == (p := clamp_to_range(n.pitch, track.program, track.is_drum))
             else Note(n.start_tick, p, n.duration_ticks, n.velocity) for n in before]
    if track.role in MONOPHONIC_ROLES:
        notes = monophonic(notes, "lowest" if track.role == "bass" else "highest")
    after = resolve_overlaps(notes)
    if after == before:
        return 0
    track.notes = after
    return len(set(before) ^ set(after))


def fit_parts(song: Song) -> int:
    """Fit every track of ``song`` (see the module docstring); returns how many notes changed or went."""
    return sum(fit_track(t) for t in song.tracks)
