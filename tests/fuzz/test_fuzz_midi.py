"""Fuzzing the MIDI importer: mutations of real MIDI files (music21's test files when installed, and files
written here with mido and by our own export) end in a clean MidiError or a song that works (it exports to
MIDI again and passes the project loader's validation), within the harness's time and memory bounds, without
touching the file. See tests/fuzz/harness.py."""
from __future__ import annotations

import glob
import io
import os
from pathlib import Path

import mido
import pytest
from hypothesis import given
from hypothesis import strategies as st

from melodex_studio.errors import ProjectError
from melodex_studio.io.midi import import_midi, song_to_midifile
from melodex_studio.io.validate import song_from_dict, song_to_dict
from melodex_studio.song import Key, MeterChange, MeterMap, Note, Section, Song, TempoChange, TempoMap, Track

from .harness import Quiet, Stats, byte_mutations, check_one, fuzz_settings, mutate

MUSIC21_FILES = sorted(glob.glob(os.path.join(os.path.dirname(mido.__file__), "..", "music21", "**", "*.mid"),
                                 recursive=True))


def exported_song() -> bytes:
    """Our own export of a song with tempo and meter changes, a key, markers, drums and four tracks."""
    song = Song("Seed", TempoMap([TempoChange(0, 96.5), TempoChange(7680, 120.0)]),
                MeterMap([MeterChange(0, 4, 4), MeterChange(4, 3, 4)]), Key.parse("Bb minor"))
    song.sections = [Section("intro", 0, 2), Section("verse", 2, 4), Section("outro", 6, 1)]
    song.tracks = [
        Track("Lead", "melody", 73, gain_db=-6.0, pan=-0.5, notes=[Note(i * 240, 70 + i % 7, 200, 90) for i in range(40)]),
        Track("Keys", "chords", 4, notes=[Note(b * 1920, p, 1920, 70) for b in range(4) for p in (58, 61, 65)]),
        Track("Bass", "bass", 33, notes=[Note(i * 960, 34, 900, 95) for i in range(8)]),
        Track("Kit", "drums", 0, is_drum=True, notes=[Note(i * 480, 36 + 2 * (i % 2), 60, 110) for i in range(16)])]
    buf = io.BytesIO()
    song_to_midifile(song).save(file=buf)
    return buf.getvalue()


def mido_written() -> bytes:
    """A type-0 file written with mido: every channel message type, running status, sysex, text metas, SMPTE
    offset, a key signature and tempo changes at 96 ticks per beat."""
    track = mido.MidiTrack([
        mido.MetaMessage("track_name", name="Mixed"), mido.MetaMessage("set_tempo", tempo=400_000),
        mido.MetaMessage("key_signature", key="E"), mido.MetaMessage("time_signature", numerator=7, denominator=8),
        mido.MetaMessage("marker", text="A"), mido.Message("sysex", data=[0x7E, 0x7F, 0x09, 0x01]),
        mido.Message("program_change", channel=2, program=40), mido.Message("control_change", channel=2, control=7, value=90)])
    for i in range(60):
        track.append(mido.Message("note_on", channel=i % 3, note=50 + i % 20, velocity=64 + i % 40, time=24))
        track.append(mido.Message("pitchwheel", channel=i % 3, pitch=(i * 300) % 16000 - 8000, time=6))
        track.append(mido.Message("note_off", channel=i % 3, note=50 + i % 20, time=18))
        if i % 10 == 0:
            track.append(mido.MetaMessage("set_tempo", tempo=400_000 + i * 1000, time=0))
            track.append(mido.Message("aftertouch", channel=1, value=i, time=0))
            track.append(mido.Message("polytouch", channel=1, note=60, value=i, time=0))
    track.append(mido.MetaMessage("marker", text="B", time=96))
    mid = mido.MidiFile(type=0, ticks_per_beat=96)
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def seeds():
    files = {Path(p).name: Path(p).read_bytes() for p in MUSIC21_FILES}
    files["exported.mid"] = exported_song()
    files["mido_written.mid"] = mido_written()
    stats = Stats("MIDI importer")
    yield Quiet((files, stats))
    stats.write()


def works(song):
    """An imported song exports again and passes the project loader's validation (so it can be saved)."""
    song_to_midifile(song).save(file=io.BytesIO())
    for text in [song.title] + [t.name for t in song.tracks] + [s.label for s in song.sections]:
        text.encode("utf-8")
    try:
        song_from_dict(song_to_dict(song))
    except ProjectError as e:
        raise AssertionError(f"an imported song that a project cannot hold: {e}") from e


@fuzz_settings()
@given(data=st.data())
def test_mutated_midi_files_import_cleanly(seeds, tmp_path_factory, data):
    files, stats = seeds
    name = data.draw(st.sampled_from(sorted(files)), label="seed")
    raw = files[name]
    mutated = mutate(raw, data.draw(byte_mutations(len(raw), max_ops=6), label="ops"))
    path = tmp_path_factory.mktemp("case") / "case.mid"
    path.write_bytes(mutated)
    check_one(stats, path, import_midi, works)


def test_the_seeds_import_and_work(seeds, tmp_path):
    files, _ = seeds
    assert len(files) >= 2
    for name, raw in files.items():
        (tmp_path / name).write_bytes(raw)
        works(import_midi(tmp_path / name))
