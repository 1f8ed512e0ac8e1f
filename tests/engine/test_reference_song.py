"""The level references of a patched stem (engine.partial_decode.reference_song): only the notes that can sound in
the changed sections and the tail decoded after them are rendered, and over those the reference is the whole
track's (the rest gate of mix.leveling reads it there)."""
from __future__ import annotations

import numpy as np

from melodex_studio.engine.diffusion_render import reference_renders
from melodex_studio.engine.partial_decode import REFERENCE_MARGIN_S, TAIL_S, reference_song
from melodex_studio.song import Note, Section, Song, Track

RATE = 24000


def _song() -> Song:
    song = Song(title="long")  # 120 BPM: a bar is 2 s; five 4-bar sections, 40 s
    for i, label in enumerate(("intro", "verse", "chorus", "verse", "outro")):
        song.add_section(Section(label, 4 * i, 4))
    song.add_track(Track("piano", "chords", 0, notes=[Note(b * 480, 60 + b % 7, 900, 90) for b in range(80)]))
    song.add_track(Track("bass", "bass", 33, notes=[Note(b * 960, 36 + b % 5, 900, 100) for b in range(40)]))
    return song


def test_only_the_notes_that_can_sound_in_the_changed_sections_are_kept():
    song = _song()
    chorus = song.sections[2]  # bars 8-12: 16 s to 24 s
    mini = reference_song(song, {song.tracks[0].id: [chorus]})
    assert [t.id for t in mini.tracks] == [song.tracks[0].id] and len(mini.sections) == 5
    lo = song.tempo_map.seconds_to_tick(16.0 - REFERENCE_MARGIN_S)  # 8 s of margin before the chorus
    hi = song.tempo_map.seconds_to_tick(24.0 + TAIL_S + 1.0)  # and the decoded tail after it, with a second more
    kept = mini.tracks[0].notes
    assert kept and len(kept) < len(song.tracks[0].notes) / 2
    assert all(n.start_tick < hi and n.start_tick + n.duration_ticks > lo for n in kept)
    assert kept == [n for n in song.tracks[0].notes if n.start_tick < hi and n.start_tick + n.duration_ticks > lo]


def test_over_the_changed_section_the_reference_equals_the_whole_tracks():
    song = _song()
    chorus = song.sections[2]
    tid = song.tracks[0].id
    full = reference_renders(song, [tid], RATE)[tid]
    part = reference_renders(reference_song(song, {tid: [chorus]}), [tid], RATE)[tid]
    a, b = (song.tempo_map.tick_to_sample(t, RATE) for t in song.section_ticks(chorus))
    c = b + int(TAIL_S * RATE)  # the tail a patch decodes after the chorus
    assert np.abs(full[a:b]).max() > 0.01  # the chorus sounds
    part = np.pad(part, [(0, max(0, c - part.shape[0])), (0, 0)])
    assert np.abs(part[a:c] - full[a:c]).max() < 1e-4
    assert np.abs(part[c + 2 * RATE:]).max(initial=0.0) < 1e-4  # nothing rendered after those notes ring out
