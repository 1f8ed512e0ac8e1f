"""Tonal harmony a musician expects of a song in a key: the key's chords and how much each is used, the tones of
a chord, strong beats of a meter, and the song's ending resolved to the tonic.

Plain data and functions (no torch, no Qt). The structure sampler's prior (``structure/prior.py``) weights the
model's chord and note choices with these tables; ``resolve_ending`` is a post-generation step
(``engine.generation._playable``): the last bar's chord is the tonic triad, the final notes of melody and bass
are the tonic, the lowest note of the final onset is the tonic and the final notes ring to the end.
"""
from __future__ import annotations

from .model import Chord, Key, Note, Song, resolve_overlaps
from .ranges import clamp_to_range

# Chord qualities -> intervals above the root (the structure tokens' qualities).
CHORD_INTERVALS: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10),
    "dim": (0, 3, 6), "aug": (0, 4, 8), "sus2": (0, 2, 7), "sus4": (0, 5, 7), "dim7": (0, 3, 6, 9),
    "m7b5": (0, 3, 6, 10), "6": (0, 4, 7, 9), "min6": (0, 3, 7, 9), "9": (0, 4, 7, 10, 2), "add9": (0, 4, 7, 2),
}

# The key's chords, (root above the tonic, quality) -> log-weight: tonic, subdominant and dominant first, the
# leading-tone chord rarely; minor uses natural-minor chords plus the harmonic minor's major V.
DIATONIC: dict[str, dict[tuple[int, str], float]] = {
    "major": {
        (0, "maj"): 1.2, (0, "maj7"): -0.3, (0, "6"): -0.2, (0, "add9"): -0.2, (0, "sus2"): -0.8, (0, "sus4"): -0.8,
        (2, "min"): 0.3, (2, "min7"): 0.2,
        (4, "min"): -0.4, (4, "min7"): -0.6,
        (5, "maj"): 1.1, (5, "maj7"): -0.3, (5, "6"): -0.4, (5, "add9"): -0.4,
        (7, "maj"): 0.5, (7, "7"): 0.3, (7, "sus4"): -0.6, (7, "9"): -0.8,
        (9, "min"): 0.5, (9, "min7"): 0.1,
        (11, "dim"): -1.5, (11, "m7b5"): -1.5,
    },
    "minor": {
        (0, "min"): 1.2, (0, "min7"): -0.2, (0, "min6"): -0.4, (0, "sus2"): -0.8, (0, "sus4"): -0.8,
        (2, "dim"): -1.2, (2, "m7b5"): -0.8,
        (3, "maj"): 0.3, (3, "maj7"): -0.2,
        (5, "min"): 0.9, (5, "min7"): 0.1,
        (7, "min"): -1.2, (7, "min7"): -1.5, (7, "maj"): 0.6, (7, "7"): 0.5,
        (8, "maj"): 0.6, (8, "maj7"): 0.0,
        (10, "maj"): 0.3, (10, "7"): -0.2,
    },
}
# Chord-to-chord moves by root above the tonic, (from, to) -> log-weight: tonic to subdominant, dominant home,
# subdominant and supertonic to dominant; the dominant held over the next chord (which makes a song sound in the
# dominant's key) less.
PROGRESSIONS: dict[str, dict[tuple[int, int], float]] = {
    "major": {(0, 5): 0.6, (7, 0): 0.4, (5, 7): 0.3, (2, 7): 0.4, (9, 5): 0.3, (9, 2): 0.3, (7, 7): -1.0},
    "minor": {(0, 5): 0.6, (7, 0): 0.4, (5, 7): 0.3, (8, 7): 0.2, (8, 5): 0.2, (7, 7): -1.0},
}
DOMINANTS = {(7, "maj"), (7, "7")}  # the chords of a half or authentic cadence's first beat


def tonic_chord(mode: str) -> tuple[int, str]:
    """(root above the tonic, quality) of the tonic triad."""
    return (0, "maj" if mode == "major" else "min")


def chord_pcs(root: int, quality: str) -> frozenset[int]:
    """Pitch classes of a chord (``root`` a pitch class, or a pitch class above the tonic for tonic-relative pcs)."""
    return frozenset((root + x) % 12 for x in CHORD_INTERVALS.get(quality, (0, 4, 7)))


def beat_steps(meter: tuple[int, int], steps_per_quarter: int = 4) -> int:
    """Grid steps in one felt beat: a quarter in x/4, a half in 2/2, a dotted quarter in compound x/8."""
    n, d = meter
    unit = steps_per_quarter * 4 // d
    return unit * 3 if d == 8 and n % 3 == 0 and n > 3 else unit


def strong_positions(meter: tuple[int, int], steps_per_quarter: int = 4) -> tuple[int, ...]:
    """Steps from the bar start that are strong beats: beat 1, and the bar's middle beat in meters of 4+ (even)
    beats (as ``eval.song_eval`` counts them)."""
    n, d = meter
    bar = n * steps_per_quarter * 4 // d
    beats = max(1, bar // beat_steps(meter, steps_per_quarter))
    return (0, bar // 2) if beats % 2 == 0 and beats >= 4 else (0,)


def chord_change_positions(meter: tuple[int, int], steps_per_quarter: int = 4) -> tuple[int, ...]:
    """Where a chord may start in a bar: beat 1, and the middle of bars with an even number of beats that are at
    least 12 steps (16ths) long (4/4, 2/2, 6/8, 12/8, 6/4): one or two chords a bar, none shorter than a beat."""
    n, d = meter
    bar = n * steps_per_quarter * 4 // d
    beats = max(1, bar // beat_steps(meter, steps_per_quarter))
    return (0, bar // 2) if beats % 2 == 0 and bar >= 12 else (0,)


# --- the ending -----------------------------------------------------------------------------------------------
def _nearest_pc(pitch: int, pcs: set[int] | frozenset[int], below: bool = False) -> int:
    """The pitch with a pitch class in ``pcs`` nearest ``pitch`` (at or below it with ``below``)."""
    for d in range(12):
        for p in ((pitch - d,) if below else (pitch - d, pitch + d)):
            if p % 12 in pcs:
                return p
    return pitch


def resolve_ending(song: Song, key: Key | None = None) -> int:
    """The song's last bar resolves to the tonic: the chord track's last bar is the tonic triad, melody and bass
    end on the tonic, every pitched part's final notes are tonic-chord tones ringing to the song's end, and the
    lowest of them is the tonic. Pitches move to the nearest such tone (inside the instrument's range); returns how
    many notes changed."""
    key = key or song.key
    bars = song.length_bars
    if bars < 1:
        return 0
    start, end = song.bar_to_tick(bars - 1), song.bar_to_tick(bars)
    root, quality = tonic_chord(key.mode)
    triad = chord_pcs(key.tonic + root, quality)
    tonic = {key.tonic}
    chords = [c for c in song.chords if c.start_tick < start]
    if chords and chords[-1].start_tick + chords[-1].duration_ticks > start:
        c = chords[-1]
        chords[-1] = Chord(c.start_tick, start - c.start_tick, c.root, c.quality, c.bass)
    song.chords = chords + [Chord(start, end - start, key.tonic, quality)]
    changed = 0
    finals: list[tuple[object, Note]] = []  # (track, final note) of each pitched track playing in the last bar
    for t in song.tracks:
        if t.is_drum or t.role == "fx":
            continue
        last = [n for n in t.notes if n.start_tick >= start]
        if not last:
            continue
        onset = max(n.start_tick for n in last)
        pcs = tonic if t.role in ("melody", "bass") else triad
        new = []
        for n in t.notes:
            if n.start_tick == onset:
                p = clamp_to_range(_nearest_pc(n.pitch, pcs, below=t.role == "bass"), t.program)
                if p % 12 not in pcs:
                    p = n.pitch
                m = Note(n.start_tick, p, end - n.start_tick, n.velocity)
                changed += int(m != n)
                finals.append((t, m))
                new.append(m)
            else:
                new.append(n)
        t.notes = resolve_overlaps(new)
    if finals:  # the lowest note sounding at the song's last onset is the tonic
        onset = max(n.start_tick for _, n in finals)
        ringing = [(t, n) for t in song.tracks if not t.is_drum and t.role != "fx" for n in t.notes
                   if n.start_tick <= onset < n.end_tick]
        t, n = min(ringing, key=lambda tn: tn[1].pitch)
        if n.pitch % 12 != key.tonic:
            p = clamp_to_range(_nearest_pc(n.pitch, tonic, below=True), t.program)
            if p % 12 == key.tonic:
                t.notes = resolve_overlaps([Note(m.start_tick, p, m.duration_ticks, m.velocity) if m is n else m
                                            for m in t.notes])
                changed += 1
    return changed
