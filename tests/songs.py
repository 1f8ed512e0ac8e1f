"""Shared test songs: a realistic multi-track arrangement built deterministically from code.

``make_demo_song(bars=96, bpm=120, meter=(4, 4), tracks=6)`` gives a pop-form song (intro, verses,
choruses, bridge, outro) with up to six tracks in this order: drums, bass, chords, melody, pad,
counter. At 96 bars of 4/4 and 120 BPM it lasts 192 s. The same arguments always give the same
song (a fixed seed drives the melodic choices); only the track ids (random uuids) differ, so tests
that compare renders should compare stems in track order, or reuse one song object.
"""
from __future__ import annotations

import random

from melodex_studio.song import (
    PPQ, Chord, Key, MeterMap, Note, Section, Song, TempoChange, TempoMap, Track, ticks_per_bar,
)

# (role, name, GM program, is_drum, gain_db, pan)
TRACK_SPECS = [
    ("drums", "Drums", 0, True, 0.0, 0.0),
    ("bass", "Bass", 33, False, -1.0, 0.0),           # Electric Bass (finger)
    ("chords", "Piano", 0, False, -3.0, -0.25),       # Acoustic Grand Piano
    ("melody", "Lead", 73, False, 0.0, 0.1),          # Flute
    ("pad", "Pad", 89, False, -8.0, 0.0),             # Pad 2 (warm)
    ("counter", "Strings", 48, False, -6.0, 0.35),    # String Ensemble 1
]

# Diatonic triads by scale degree (0-based) for a major key: semitone offsets of the root.
_DEGREE_ROOTS = [0, 2, 4, 5, 7, 9, 11]
_DEGREE_QUALITIES = ["maj", "min", "min", "maj", "maj", "min", "dim"]
_QUALITY_INTERVALS = {"maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6)}
_PROGRESSIONS = {"verse": [0, 5, 3, 4], "chorus": [3, 4, 0, 5], "bridge": [5, 3, 0, 4], "other": [0, 3, 4, 0]}


def _form(bars: int) -> list[tuple[str, int]]:
    """Section labels and lengths in bars summing to ``bars`` (48-bar pop form, scaled to fit)."""
    plan = [("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8), ("bridge", 4), ("chorus", 4), ("outro", 4)]
    base = sum(n for _, n in plan)
    if bars >= base:
        scale = bars // base
        out = [(lab, n * scale) for lab, n in plan]
        out[-1] = (out[-1][0], out[-1][1] + bars - sum(n for _, n in out))
        return out
    out, left = [], bars
    for lab, n in plan:
        if left <= 0:
            break
        take = min(n, left)
        out.append((lab, take))
        left -= take
    return out


def make_demo_song(
    bars: int = 96,
    bpm: float = 120.0,
    meter: tuple[int, int] = (4, 4),
    tracks: int = 6,
    key: Key | None = None,
    sample_rate: int = 44100,
    seed: int = 7,
    tempo_changes: list[tuple[int, float]] | None = None,
) -> Song:
    """Build a demo song.

    Args:
        bars: total length in bars (sections cover exactly this many bars).
        bpm: tempo in quarter notes per minute (constant unless ``tempo_changes`` is given).
        meter: time signature (numerator, denominator).
        tracks: how many of ``TRACK_SPECS`` to include, 1..6, in that order.
        key: key of the song (default A minor's relative, C major).
        sample_rate: the song's sample rate in Hz.
        seed: seed of the melodic choices.
        tempo_changes: extra (tick, bpm) tempo changes.
    """
    if not 1 <= tracks <= len(TRACK_SPECS):
        raise ValueError(f"tracks must be 1..{len(TRACK_SPECS)}")
    rng = random.Random(seed)
    num, den = meter
    changes = [TempoChange(0, bpm)] + [TempoChange(t, b) for t, b in (tempo_changes or [])]
    song = Song(
        title=f"Demo {bars} bars", tempo_map=TempoMap(changes), meter_map=MeterMap(numerator=num, denominator=den),
        key=key or Key(0, "major"), sample_rate=sample_rate,
    )
    bar_ticks = ticks_per_bar(num, den)
    beat_ticks = PPQ * 4 // den
    start = 0
    for label, n in _form(bars):
        song.add_section(Section(label, start, n))
        start += n
    tonic = song.key.tonic

    # One chord per bar, following the section's progression.
    chords: list[Chord] = []
    for s in song.sections:
        prog = _PROGRESSIONS.get(s.label, _PROGRESSIONS["other"])
        for i in range(s.length_bars):
            deg = prog[i % len(prog)]
            root = (tonic + _DEGREE_ROOTS[deg]) % 12
            chords.append(Chord(song.bar_to_tick(s.start_bar + i), bar_ticks, root, _DEGREE_QUALITIES[deg]))
    song.set_chords(chords)
    section_of_bar = {b: s for s in song.sections for b in range(s.start_bar, s.end_bar)}

    specs = TRACK_SPECS[:tracks]
    for role, name, program, is_drum, gain_db, pan in specs:
        track = song.add_track(
            Track(name=name, role=role, program=program, is_drum=is_drum, gain_db=gain_db, pan=pan)
        )
        notes: list[Note] = []
        for bar, chord in enumerate(chords):
            t0 = chord.start_tick
            sec = section_of_bar[bar]
            loud = sec.label in ("chorus", "bridge")
            triad = [chord.root + iv for iv in _QUALITY_INTERVALS[chord.quality]]
            if role == "drums":
                for beat in range(num):
                    bt = t0 + beat * beat_ticks
                    if beat % 2 == 0:
                        notes.append(Note(bt, 36, beat_ticks // 2, 110))  # kick
                    else:
                        notes.append(Note(bt, 38, beat_ticks // 2, 100))  # snare
                    for half in (0, beat_ticks // 2):
                        notes.append(Note(bt + half, 42, beat_ticks // 4, 70 + rng.randrange(20)))  # closed hat
                if sec.label != "intro" and bar == sec.start_bar:
                    notes.append(Note(t0, 49, beat_ticks, 100))  # crash on section start
            elif role == "bass":
                for beat in range(num):
                    pitch = 36 + chord.root if beat % 2 == 0 else 36 + chord.root + 7
                    notes.append(Note(t0 + beat * beat_ticks, pitch, beat_ticks - 20, 96 if loud else 84))
            elif role == "chords":
                for beat in range(0, num, 2):
                    dur = min(2, num - beat) * beat_ticks - 10
                    for p in triad:
                        notes.append(Note(t0 + beat * beat_ticks, 60 + p if p < 7 else 48 + p, dur, 72 if loud else 64))
            elif role == "melody":
                if sec.label in ("intro", "outro"):
                    continue
                scale = [tonic + s for s in song.key.scale_pitch_classes()]
                pos = 0
                while pos < bar_ticks:
                    dur = rng.choice([beat_ticks // 2, beat_ticks, beat_ticks, 2 * beat_ticks])
                    dur = min(dur, bar_ticks - pos)
                    if rng.random() < 0.85:
                        p = rng.choice(triad) if pos == 0 else rng.choice(scale)
                        notes.append(Note(t0 + pos, 72 + (p - tonic) % 12 + tonic % 12, dur - 10 if dur > 20 else dur, 90 + rng.randrange(20)))
                    pos += dur
            elif role == "pad":
                for p in triad:
                    notes.append(Note(t0, 48 + p if p < 7 else 36 + p, bar_ticks - 5, 60))
            elif role == "counter":
                if not loud:
                    continue
                for half in range(2):
                    p = triad[(bar + half) % 3]
                    notes.append(Note(t0 + half * bar_ticks // 2, 64 + (p % 12), bar_ticks // 2 - 10, 70))
        song.add_notes(track.id, notes)
    return song


def single_note_song(
    start_tick: int, pitch: int = 60, duration_ticks: int = PPQ // 2, velocity: int = 100, program: int = 0,
    bars: int = 2, tempo: TempoMap | None = None, is_drum: bool = False, sample_rate: int = 44100,
) -> Song:
    """A one-track song with a single note, for onset and tail tests."""
    song = Song("one note", tempo_map=tempo or TempoMap(bpm=120), sample_rate=sample_rate)
    song.add_section(Section("A", 0, bars))
    t = song.add_track(Track("Solo", role="drums" if is_drum else "melody", program=program, is_drum=is_drum))
    song.add_notes(t.id, [Note(start_tick, pitch, duration_ticks, velocity)])
    return song
