"""Issue 17: the exported MIDI is the song. Notes of one pitch never overlap inside a track (generation,
regeneration, edits, import) nor across tracks sharing a MIDI channel (a kit and hand percussion on channel 10),
so the notes read back from the exported file are exactly the document's."""
from __future__ import annotations

import mido
import pytest

from melodex_studio.engine.generation import generate_song
from melodex_studio.eval.song_eval import midi_equals_document, midi_notes
from melodex_studio.io.midi import import_midi
from melodex_studio.prompt.parse import parse_prompt
from melodex_studio.song.model import (
    Note,
    Song,
    Track,
    has_overlaps,
    midi_channels,
    resolve_channel_overlaps,
    resolve_overlaps,
)


def test_kit_and_percussion_on_channel_ten_are_resolved_as_the_export_plays_them():
    song = Song()
    kit = Track("drums", "drums", is_drum=True, notes=[Note(0, 42, 120, 100), Note(480, 38, 120, 110)])
    perc = Track("percussion", "percussion", is_drum=True, notes=[Note(0, 42, 240, 90), Note(60, 38, 480, 70)])
    song.tracks += [kit, perc]
    assert midi_channels(song.tracks) == [9, 9]
    assert not midi_equals_document(song)[0]  # before: the export trims what the channel cannot play
    changed = resolve_channel_overlaps(song.tracks)
    # same tick and pitch: the longer note stays; the snare still sounding at 480 ends there
    assert sorted(kit.notes) == [Note(480, 38, 120, 110)]
    assert sorted(perc.notes) == [Note(0, 42, 240, 90), Note(60, 38, 420, 70)]
    assert changed == 3
    assert midi_equals_document(song) == (True, 0)
    assert resolve_channel_overlaps(song.tracks) == 0  # idempotent


@pytest.mark.parametrize("prompt", [
    "salsa with congas and drums, piano, trumpet and bass guitar, A minor, verse 2, chorus 2",
    "rock in E minor, intro 1, verse 2, chorus 2 x2",
    "slow blues in 12/8 at 66 bpm, G minor, piano and bass guitar, A 2, B 2",
])
def test_generated_songs_export_exactly_their_notes(tiny_structure, prompt):
    song, _ = generate_song(parse_prompt(prompt), seed=11, device="cpu", model_path=tiny_structure)
    assert sum(len(t.notes) for t in song.tracks) > 20
    for t in song.tracks:
        assert not has_overlaps(t.notes) and sorted(t.notes) == resolve_overlaps(t.notes)
    resolve_channel_overlaps(song.tracks)  # kit + congas share channel 10
    got = midi_notes(song)
    for t, notes in zip(song.tracks, got):
        assert notes == sorted((n.start_tick, n.pitch, n.duration_ticks, n.velocity) for n in t.notes), t.name


def test_edits_keep_tracks_free_of_overlaps_and_the_midi_equal():
    song = Song()
    song.tracks.append(Track("piano", "chords", notes=[Note(0, 60, 960)]))
    tid = song.tracks[0].id
    song.add_notes(tid, [Note(480, 60, 960), Note(480, 64, 480)])
    song.replace_notes(tid, 1920, 3840, [Note(1920, 60, 960), Note(2400, 60, 240)])
    assert sorted(song.tracks[0].notes) == [Note(0, 60, 480), Note(480, 60, 960), Note(480, 64, 480),
                                            Note(1920, 60, 480), Note(2400, 60, 240)]
    assert midi_equals_document(song) == (True, 0)


def test_imported_file_with_two_drum_tracks_holds_what_the_channel_plays(tmp_path):
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    for hits in ([(0, 42, 120), (480, 38, 240)], [(0, 42, 240), (600, 38, 100)]):
        tr = mido.MidiTrack()
        now = 0
        ev = sorted([(s, "note_on", p) for s, p, _ in hits] + [(s + d, "note_off", p) for s, p, d in hits])
        for t, kind, p in ev:
            tr.append(mido.Message(kind, channel=9, note=p, velocity=100 if kind == "note_on" else 0, time=t - now))
            now = t
        mid.tracks.append(tr)
    mid.save(tmp_path / "two_kits.mid")
    song = import_midi(tmp_path / "two_kits.mid")
    assert [t.is_drum for t in song.tracks] == [True, True]
    assert midi_equals_document(song) == (True, 0)
    assert sum(len(t.notes) for t in song.tracks) == 3  # the two hats on tick 0 are one note on channel 10
