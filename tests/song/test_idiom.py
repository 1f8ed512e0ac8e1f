"""song.idiom.fit_parts: generated parts inside their instrument's range, melody and bass one note at a time."""
from __future__ import annotations

from melodex_studio.eval.song_eval import max_polyphony, midi_equals_document
from melodex_studio.song.idiom import fit_parts
from melodex_studio.song.model import Note, Song, Track, has_overlaps
from melodex_studio.song.ranges import out_of_range


def test_bass_moves_by_octaves_into_range_and_plays_one_note_at_a_time():
    bass = Track("electric bass", "bass", 33, notes=[Note(0, 77, 960), Note(0, 40, 480), Note(480, 43, 960),
                                                    Note(960, 99, 480)])
    song = Song()
    song.tracks.append(bass)
    assert fit_parts(song) > 0
    # of the two notes on tick 0 the lowest stays; E2 ends where G2 starts; Eb7 (99) moves down to Eb4 (63)
    assert sorted(bass.notes) == [Note(0, 40, 480), Note(480, 43, 480), Note(960, 63, 480)]
    assert out_of_range([n.pitch for n in bass.notes], 33) == 0 and max_polyphony(bass.notes) == 1


def test_melody_keeps_the_top_note_and_other_parts_keep_their_chords():
    mel = Track("flute", "melody", 73, notes=[Note(0, 72, 480), Note(0, 76, 480), Note(240, 79, 480)])
    piano = Track("piano", "chords", 0, notes=[Note(0, 60, 960), Note(0, 64, 960), Note(0, 67, 960)])
    timp = Track("timpani", "percussion", 47, notes=[Note(0, 127, 240), Note(480, 45, 240)])
    drums = Track("drums", "drums", 0, is_drum=True, notes=[Note(0, 36, 120), Note(0, 42, 120)])
    song = Song()
    song.tracks += [mel, piano, timp, drums]
    fit_parts(song)
    assert sorted(mel.notes) == [Note(0, 76, 240), Note(240, 79, 480)]
    assert len(piano.notes) == 3 and len(drums.notes) == 2
    assert sorted(n.pitch for n in timp.notes) == [45, 55]  # 127 (G9) -> G3
    assert not any(has_overlaps(t.notes) for t in song.tracks)
    assert midi_equals_document(song) == (True, 0)
    assert fit_parts(song) == 0  # idempotent
