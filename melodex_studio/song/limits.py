"""Limits on what a song, a project file, a MIDI import and a render may hold: one table for the whole studio.

Every input is bounded so that opening, importing or rendering it costs a bounded time and memory, whatever the
file says. The limits lie far above any real song; a file beyond one is refused with a message that names the
limit (the project loader raises ``ProjectError``, the MIDI importer ``MidiError``, the engine ``ModelError``).

==========================  ================  =========================================================
limit                       value             why this value
==========================  ================  =========================================================
``MAX_SONG_SECONDS``        3600 (1 hour)     longer than any song or live set; stems are whole-song
                                              audio, so render memory grows with it
``MAX_BARS``                10,000            1 hour of 4/4 at 166 BPM is 2,500 bars
``MAX_TICK``                2**25             1 hour at the fastest tempo (1000 BPM) is 28.8 M ticks
``MAX_TEMPO_CHANGES``       20,000            a tempo ramp written every 16th note for an hour at 80 BPM
``MAX_METER_CHANGES``       10,000            one per bar
``MAX_SECTIONS``            1,000             a section every 10 bars of the longest song
``MAX_TRACKS``              128               orchestral templates use 60-100; MIDI has 16 channels
``MAX_NOTES_PER_TRACK``     100,000           32nd-note hi-hats for an hour at 200 BPM: 96,000
``MAX_NOTES``               500,000           all tracks together
``MAX_CHORDS``              100,000           a chord every beat of the longest song
``MAX_CONTROLS_PER_TRACK``  200,000           controller events (pitch bend, pedal, expression) of a
                                              track: a bend curve every 64th note for an hour at 200 BPM
``MAX_CONTROLS``            1,000,000         all tracks together (a 2 MiB MIDI file holds < 700,000)
``MAX_LYRICS``              100,000           a syllable every 16th note of an hour at 100 BPM: 24,000
``MAX_KEY_CHANGES``         10,000            one per bar
``MAX_TAKES``               10,000            generations kept in one project
``MAX_TAKE_NOTES``          1,000,000         notes stored in all takes together
``MAX_STEM_TAIL_SECONDS``   60                audio a stem may run past the song's last note or bar
                                              (release tails); longer stems are a stale cache
``MAX_MIDI_BYTES``          2 MiB             a MIDI file (real songs: 10-500 KB); parsing is linear in it
``MAX_STEPS``               1,000             sampler steps of a diffusion render (8-50 in use)
``SEED_RANGE``              0 .. 2**63-1      seeds the studio accepts from a user (64-bit generators)
``STORED_SEED_RANGE``       -2**63 .. 2**64-1 seeds a project file may record (any 64-bit integer)
==========================  ================  =========================================================

Positions are checked in musical and in real time: every tick and bar of a song (notes, chords, sections, tempo
and meter changes, takes) must lie within ``MAX_SONG_SECONDS`` of its start at the song's own tempo map.

The functions here return a problem (a sentence a musician can read) or None; the caller raises its own error.
"""
from __future__ import annotations

from .timing import MeterMap, TempoMap

MAX_SONG_SECONDS = 3600
MAX_BARS = 10_000
MAX_TICK = 2**25
MAX_TEMPO_CHANGES = 20_000
MAX_METER_CHANGES = 10_000
MAX_SECTIONS = 1_000
MAX_TRACKS = 128
MAX_NOTES_PER_TRACK = 100_000
MAX_NOTES = 500_000
MAX_CHORDS = 100_000
MAX_CONTROLS_PER_TRACK = 200_000
MAX_CONTROLS = 1_000_000
MAX_LYRICS = 100_000
MAX_KEY_CHANGES = 10_000
MAX_TAKES = 10_000
MAX_TAKE_NOTES = 1_000_000
MAX_STEM_TAIL_SECONDS = 60
MAX_MIDI_BYTES = 2 * 2**20
MAX_STEPS = 1_000
SEED_RANGE = (0, 2**63 - 1)
STORED_SEED_RANGE = (-(2**63), 2**64 - 1)


def count_problem(what: str, n: int, limit: int, holder: str = "a song") -> str | None:
    """``'12,000 tracks; a song holds at most 128'`` when ``n`` > ``limit``, else None."""
    if n > limit:
        return f"{n:,} {what}; {holder} holds at most {limit:,}"
    return None


def length_problem(tempo_map: TempoMap, meter_map: MeterMap, end_tick: int = 0, end_bar: int = 0) -> str | None:
    """A problem when a song whose last event ends at ``end_tick`` and whose last section ends at bar ``end_bar``
    (both >= 0) runs past ``MAX_BARS`` or ``MAX_SONG_SECONDS``; else None. Cost: two map look-ups."""
    if end_bar > MAX_BARS:
        return f"it reaches bar {end_bar:,}; a song holds at most {MAX_BARS:,} bars"
    tick = max(end_tick, meter_map.bar_to_tick(end_bar))
    if tick > MAX_TICK or tempo_map.tick_to_seconds_exact(tick) > MAX_SONG_SECONDS:
        where = f"tick {tick:,}" if tick > MAX_TICK else f"{tempo_map.tick_to_seconds(tick) / 60:,.1f} minutes"
        return f"it lasts until {where}; a song lasts at most {MAX_SONG_SECONDS // 60} minutes"
    return None


def seed_problem(seed: object, what: str = "seed") -> str | None:
    """A problem when ``seed`` is not a whole number in ``SEED_RANGE``; else None."""
    lo, hi = SEED_RANGE
    if isinstance(seed, bool) or not isinstance(seed, int):
        return f"the {what} must be a whole number, not {seed!r}"
    if not lo <= seed <= hi:
        return f"the {what} {seed} is out of range: use a whole number from {lo} to {hi:,} (2**63 - 1)"
    return None


def steps_problem(steps: object) -> str | None:
    """A problem when ``steps`` (sampler steps of a render) is not a whole number in 1..``MAX_STEPS``; else None."""
    if isinstance(steps, bool) or not isinstance(steps, int):
        return f"the number of steps must be a whole number, not {steps!r}"
    if not 1 <= steps <= MAX_STEPS:
        return f"{steps} steps is out of range: use 1 to {MAX_STEPS:,} (renders use 8-50)"
    return None
