"""song.harmony: strong beats and chord-change positions per meter, and the song's last bar resolved to the tonic."""
from __future__ import annotations

import pytest

from melodex_studio.eval.song_eval import (
    ends_on_tonic,
    max_polyphony,
    midi_equals_document,
)
from melodex_studio.song.harmony import (
    chord_change_positions,
    chord_pcs,
    resolve_ending,
    strong_positions,
)
from melodex_studio.song.model import Chord, Key, Note, Section, Song, Track
from melodex_studio.song.timing import MeterMap


@pytest.mark.parametrize("meter,strong,changes", [((4, 4), (0, 8), (0, 8)), ((3, 4), (0,), (0,)), ((2, 4), (0,), (0,)),
                                                  ((6, 8), (0,), (0, 6)), ((12, 8), (0, 12), (0, 12)),
                                                  ((9, 8), (0,), (0,)), ((5, 4), (0,), (0,))])
def test_strong_beats_and_chord_changes_per_meter(meter, strong, changes):
    assert strong_positions(meter) == strong and chord_change_positions(meter) == changes


def _song(key="G major"):
    song = Song(key=Key.parse(key), meter_map=MeterMap(numerator=4, denominator=4))
    song.sections.append(Section("verse", 0, 2))
    mel = Track("flute", "melody", 73, notes=[Note(0, 74, 960), Note(1920, 76, 480), Note(3360, 78, 480)])
    piano = Track("piano", "chords", 0, notes=[Note(1920, 60, 1920), Note(1920, 64, 1920), Note(1920, 69, 1920)])
    bass = Track("electric bass", "bass", 33, notes=[Note(0, 43, 1920), Note(1920, 45, 960), Note(2880, 38, 480)])
    drums = Track("drums", "drums", 0, is_drum=True, notes=[Note(3600, 38, 120)])
    song.tracks += [mel, piano, bass, drums]
    song.chords = [Chord(0, 1920, 7, "maj"), Chord(1920, 960, 9, "min"), Chord(2880, 960, 2, "7")]
    return song


def test_last_bar_resolves_to_the_tonic_chord_melody_and_bass():
    song = _song()
    mel, piano, bass, drums = song.tracks
    assert not ends_on_tonic(song, song.key)
    assert resolve_ending(song) == 5  # F#5 -> G5, D2 -> G1, three piano notes onto the G major triad
    assert ends_on_tonic(song, song.key)
    # the last bar's chord is G major alone; the chord before it ends where the bar starts
    assert [(c.start_tick, c.duration_ticks, c.root, c.quality) for c in song.chords] == [
        (0, 1920, 7, "maj"), (1920, 1920, 7, "maj")]
    assert mel.notes[-1] == Note(3360, 79, 480)  # the nearest G, ringing to the end
    assert bass.notes[-1] == Note(2880, 31, 960)  # the G at or below D2, to the end
    assert sorted(n.pitch % 12 for n in piano.notes) == sorted(chord_pcs(7, "maj"))
    assert all(n.end_tick == 3840 for n in piano.notes)
    assert drums.notes == [Note(3600, 38, 120)]  # drums untouched
    assert mel.notes[:2] == [Note(0, 74, 960), Note(1920, 76, 480)]  # earlier notes untouched
    assert max_polyphony(mel.notes) == 1 and max_polyphony(bass.notes) == 1
    assert midi_equals_document(song)[0]
    assert resolve_ending(song) == 0  # already resolved


def test_minor_key_and_a_chord_part_under_the_bass():
    song = _song("E minor")
    song.tracks[1].notes = [Note(3360, 35, 480), Note(3360, 43, 480)]  # a low B under the bass's last note
    resolve_ending(song)
    assert song.chords[-1].root == 4 and song.chords[-1].quality == "min"
    assert ends_on_tonic(song, song.key)
    assert {n.pitch % 12 for n in song.tracks[1].notes} <= chord_pcs(4, "min")
