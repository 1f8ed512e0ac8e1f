"""What musicians play beyond notes: controller lanes, pitch bend, program changes inside a track, key changes
and lyrics survive MIDI import -> project -> export (checked with mido); what is not kept is reported."""
from __future__ import annotations

import json

import mido
import pytest

from melodex_studio.errors import ProjectError
from melodex_studio.io.midi import export_midi, import_midi, song_to_midifile
from melodex_studio.io.validate import song_from_dict, song_to_dict
from melodex_studio.song import Key, Note, Song, Track
from melodex_studio.song.model import PITCH_BEND, PROGRAM, Control, KeyChange, Lyric

CH = 2  # the piano's channel in the file we build (export renumbers: first melodic track -> channel 0)


def played_file(path) -> mido.MidiFile:
    """A type-1 file at 480 PPQ as a keyboard player records it: sustain pedal, pitch bend, expression swell,
    modulation, a program change in the middle of the track, lyrics, a key change, plus events the song
    cannot hold (aftertouch, sysex, a text event)."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    mid.tracks.append(mido.MidiTrack([
        mido.MetaMessage("track_name", name="Played", time=0),
        mido.MetaMessage("set_tempo", tempo=500000, time=0),
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
        mido.MetaMessage("key_signature", key="C", time=0),
        mido.Message("sysex", data=[0x7E, 0x7F, 0x09, 0x01], time=0),  # GM on: not kept
        mido.MetaMessage("key_signature", key="Em", time=3840),        # bar 3
        mido.MetaMessage("end_of_track", time=3840),
    ]))
    ev = [  # (tick, message) of the piano track
        (0, mido.MetaMessage("track_name", name="Piano")),
        (0, mido.Message("program_change", channel=CH, program=0)),
        (0, mido.Message("control_change", channel=CH, control=7, value=90)),
        (0, mido.Message("control_change", channel=CH, control=10, value=64)),
        (0, mido.Message("control_change", channel=CH, control=64, value=127)),   # pedal down
        (0, mido.MetaMessage("lyrics", text="Hel")),
        (0, mido.Message("note_on", channel=CH, note=60, velocity=90)),
        (240, mido.Message("note_off", channel=CH, note=60, velocity=0)),
        (480, mido.MetaMessage("lyrics", text="lo ")),  # the space ends the word
        (480, mido.Message("note_on", channel=CH, note=64, velocity=80)),
        (600, mido.Message("aftertouch", channel=CH, value=50)),                   # not kept
        (720, mido.Message("note_off", channel=CH, note=64, velocity=0)),
        (960, mido.Message("control_change", channel=CH, control=64, value=0)),   # pedal up
        (1920, mido.Message("program_change", channel=CH, program=4)),           # electric piano from bar 2
        (1920, mido.Message("control_change", channel=CH, control=11, value=40)),
        (1920, mido.Message("note_on", channel=CH, note=67, velocity=100)),
        (2040, mido.Message("pitchwheel", channel=CH, pitch=4096)),
        (2160, mido.Message("control_change", channel=CH, control=11, value=100)),
        (2160, mido.Message("pitchwheel", channel=CH, pitch=-8192)),
        (2280, mido.Message("control_change", channel=CH, control=1, value=64)),   # modulation
        (2400, mido.Message("pitchwheel", channel=CH, pitch=0)),
        (2400, mido.Message("control_change", channel=CH, control=7, value=70)),   # a volume change
        (2880, mido.Message("note_off", channel=CH, note=67, velocity=0)),
        (3840, mido.MetaMessage("text", text="end")),                              # not kept
        (3840, mido.MetaMessage("lyrics", text="bye")),
        (3840, mido.Message("note_on", channel=CH, note=62, velocity=70)),
        (4320, mido.Message("note_off", channel=CH, note=62, velocity=0)),
    ]
    track, now = mido.MidiTrack(), 0
    for tick, msg in ev:
        track.append(msg.copy(time=tick - now))
        now = tick
    mid.tracks.append(track)
    mid.save(str(path))
    return mid


def performance(mid: mido.MidiFile, track_index: int) -> list[tuple]:
    """(tick, type, values...) of the lanes, lyrics and programs of one track, channel left out, in file order."""
    out, tick = [], 0
    for msg in mid.tracks[track_index]:
        tick += msg.time
        if msg.type == "control_change":
            out.append((tick, "cc", msg.control, msg.value))
        elif msg.type == "pitchwheel":
            out.append((tick, "bend", msg.pitch))
        elif msg.type == "program_change":
            out.append((tick, "program", msg.program))
        elif msg.type == "lyrics":
            out.append((tick, "lyrics", msg.text))
    return out


EXPECTED = [  # what the exported piano track must hold, in order (CC7 90 at tick 0 is the track's gain)
    (0, "lyrics", "Hel"), (0, "program", 0), (0, "cc", 7, 90), (0, "cc", 10, 64), (0, "cc", 64, 127),
    (480, "lyrics", "lo "), (960, "cc", 64, 0), (1920, "program", 4), (1920, "cc", 11, 40), (2040, "bend", 4096),
    (2160, "cc", 11, 100), (2160, "bend", -8192), (2280, "cc", 1, 64), (2400, "bend", 0), (2400, "cc", 7, 70),
    (3840, "lyrics", "bye"),
]


def test_import_keeps_lanes_lyrics_programs_and_key_changes_and_reports_the_rest(tmp_path):
    played_file(tmp_path / "played.mid")
    song = import_midi(tmp_path / "played.mid")
    piano, = song.tracks
    assert piano.program == 0 and piano.gain_db == -1.8  # 40 log10(90 / 100): CC7 100 is 0 dB
    assert list(piano.controls) == [
        Control(0, 64, 127), Control(960, 64, 0), Control(1920, PROGRAM, 4), Control(1920, 11, 40),
        Control(2040, PITCH_BEND, 4096), Control(2160, 11, 100), Control(2160, PITCH_BEND, -8192),
        Control(2280, 1, 64), Control(2400, PITCH_BEND, 0), Control(2400, 7, 70)]
    assert list(piano.lyrics) == [Lyric(0, "Hel"), Lyric(480, "lo "), Lyric(3840, "bye")]
    assert song.key == Key.parse("C") and song.key_changes == (KeyChange(3840, Key.parse("E minor")),)
    assert song.key_at(3839) == Key.parse("C") and song.key_at(3840).name == "E minor"
    log = song.generation["midi_import"]["notes"]
    for what in ("1 channel pressure (aftertouch) events", "1 system exclusive messages", "1 text events"):
        assert any(line.startswith(what) and "not kept" in line for line in log), (what, log)
    assert not any("changes key" in line for line in log)


def test_import_export_round_trip_keeps_the_performance_checked_with_mido(tmp_path):
    original = played_file(tmp_path / "played.mid")
    song = import_midi(tmp_path / "played.mid")
    export_midi(song, tmp_path / "out.mid")
    out = mido.MidiFile(str(tmp_path / "out.mid"))
    assert performance(out, 1) == EXPECTED
    # the same events as the original file (which writes CC7 before CC10 and lyrics among the notes)
    assert sorted(performance(out, 1)) == sorted(performance(original, 1))
    tick, keys = 0, []
    for m in out.tracks[0]:
        tick += m.time
        if m.type == "key_signature":
            keys.append((tick, m.key))
    assert keys == [(0, "C"), (3840, "Em")]
    assert not any(m.type in ("aftertouch", "sysex", "text") for tr in out.tracks for m in tr)
    # the notes are those of the file
    tick, notes, on = 0, [], {}
    for m in out.tracks[1]:
        tick += m.time
        if m.type == "note_on" and m.velocity:
            on[m.note] = tick
        elif m.type in ("note_on", "note_off"):
            notes.append((on.pop(m.note), tick, m.note))
    assert sorted(notes) == [(0, 240, 60), (480, 720, 64), (1920, 2880, 67), (3840, 4320, 62)]
    # a second export of the export is byte-identical
    export_midi(import_midi(tmp_path / "out.mid"), tmp_path / "again.mid")
    assert (tmp_path / "again.mid").read_bytes() == (tmp_path / "out.mid").read_bytes()


def test_type_0_export_keeps_lanes_and_lyrics(tmp_path):
    played_file(tmp_path / "played.mid")
    song = import_midi(tmp_path / "played.mid")
    export_midi(song, tmp_path / "t0.mid", file_type=0)
    back = import_midi(tmp_path / "t0.mid")
    assert back.tracks[0].controls == song.tracks[0].controls and back.tracks[0].lyrics == song.tracks[0].lyrics
    assert back.key_changes == song.key_changes


def test_project_document_keeps_lanes_lyrics_and_key_changes(tmp_path):
    played_file(tmp_path / "played.mid")
    song = import_midi(tmp_path / "played.mid")
    d = json.loads(json.dumps(song_to_dict(song)))
    assert d["tracks"][0]["controls"][:2] == [[0, 64, 127], [960, 64, 0]]
    assert d["tracks"][0]["lyrics"][0] == [0, "Hel"]
    assert d["key_changes"] == [{"tick": 3840, "tonic": 4, "mode": "minor", "spelling": "E"}]
    back = song_from_dict(d)
    assert back.tracks[0].controls == song.tracks[0].controls and back.tracks[0].lyrics == song.tracks[0].lyrics
    assert back.key_changes == song.key_changes and back.key_changes[0].key.spelling == "E"
    assert json.dumps(song_to_dict(back)) == json.dumps(d)
    # a song without any of them is written without the keys, as older versions read it
    plain = Song("Plain")
    plain.tracks = [Track("Lead", notes=[Note(0, 60, 480)])]
    d = song_to_dict(plain)
    assert "key_changes" not in d and "controls" not in d["tracks"][0] and "lyrics" not in d["tracks"][0]
    assert song_from_dict(d).tracks[0].controls == ()


@pytest.mark.parametrize("field, value, message", [
    ("controls", [[0, 200, 1]], "controller kind 200"),
    ("controls", [[0, 125, 1]], "controller kind 125"),  # channel mode messages are not lanes
    ("controls", [[0, PITCH_BEND, 9000]], "pitch bend 9000 is out of range -8192..8191"),
    ("controls", [[0, 64, 128]], "value 128 is out of range 0..127"),
    ("controls", [[480, 64, 0], [0, 64, 127]], "tick order"),
    ("controls", [[0, 64]], "must be \\[tick, kind, value\\]"),
    ("controls", [[-1, 64, 0]], "tick -1"),
    ("lyrics", [[0, 5]], "lyric must be text"),
    ("lyrics", [[10, "a"], [0, "b"]], "tick order"),
])
def test_bad_lanes_and_lyrics_in_a_project_are_refused(field, value, message):
    song = Song("Bad")
    song.tracks = [Track("Lead", notes=[Note(0, 60, 480)])]
    d = song_to_dict(song)
    d["tracks"][0][field] = value
    with pytest.raises(ProjectError, match=message):
        song_from_dict(d)


def test_bad_key_changes_are_refused():
    d = song_to_dict(Song("Keys"))
    d["key_changes"] = [{"tick": 0, "tonic": 2, "mode": "major", "spelling": None}]
    with pytest.raises(ProjectError, match="tick 0 is out of range"):
        song_from_dict(d)
    d["key_changes"] = [{"tick": 960, "tonic": 2, "mode": "dorian", "spelling": None}]
    with pytest.raises(ProjectError, match="key_changes\\[0\\]: mode 'dorian'"):
        song_from_dict(d)


def test_exports_write_the_gm_default_volume_for_0_db():
    song = Song("Volume")
    song.tracks = [Track("Lead", notes=[Note(0, 60, 480)]), Track("Soft", gain_db=-6.0, notes=[Note(0, 60, 480)])]
    mid = song_to_midifile(song)
    cc7 = [m.value for tr in mid.tracks for m in tr if m.type == "control_change" and m.control == 7]
    assert cc7 == [100, 71]


def test_lyrics_of_a_conductor_track_go_to_the_melody(tmp_path):
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("lyrics", text="la", time=0),
                                      mido.MetaMessage("lyrics", text="li", time=480)]))
    for name, ch, pitch in (("Bass", 0, 36), ("Voice", 1, 72)):
        mid.tracks.append(mido.MidiTrack([
            mido.MetaMessage("track_name", name=name, time=0),
            mido.Message("note_on", channel=ch, note=pitch, velocity=80, time=0),
            mido.Message("note_off", channel=ch, note=pitch, velocity=0, time=960)]))
    mid.save(str(tmp_path / "karaoke.mid"))
    song = import_midi(tmp_path / "karaoke.mid")
    assert [(t.name, t.role, [ly.text for ly in t.lyrics]) for t in song.tracks] == [
        ("Bass", "counter", []), ("Voice", "melody", ["la", "li"])]


def test_overlapping_notes_of_a_file_are_resolved_on_import(tmp_path):
    """Two note-ons of one pitch on one tick, and a note struck again while it sounds (two keyboard players on
    one channel): the song holds what the channel plays, and the export writes every note of the song."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    mid.tracks.append(mido.MidiTrack([
        mido.Message("note_on", channel=0, note=60, velocity=80, time=0),
        mido.Message("note_on", channel=0, note=60, velocity=90, time=0),
        mido.Message("note_off", channel=0, note=60, velocity=0, time=480),
        mido.Message("note_off", channel=0, note=60, velocity=0, time=0)]))
    mid.save(str(tmp_path / "double.mid"))
    song = import_midi(tmp_path / "double.mid")
    assert [(n.start_tick, n.end_tick, n.velocity) for n in song.tracks[0].notes] == [(0, 480, 90)]
    ons = [m for tr in song_to_midifile(song).tracks for m in tr if m.type == "note_on" and m.velocity]
    assert len(ons) == 1
