"""MIDI export/import: files checked by three independent readers (mido, pretty_midi, music21)."""
from __future__ import annotations

import random
import warnings

import mido
import pretty_midi
import pytest

from melodex_studio.errors import MidiError
from melodex_studio.io.midi import (
    DRUM_CHANNEL, assign_channels, export_midi, gain_db_to_cc7, import_midi, midifile_to_song, song_to_midifile,
)
from melodex_studio.song import Key, MeterChange, MeterMap, Note, Section, Song, TempoChange, TempoMap, Track

music21 = pytest.importorskip("music21")


def rich_song() -> Song:
    """Tempo change, 4/4 -> 3/4, Bb minor, repeated labels, drums, chords, overlapping same-pitch notes."""
    song = Song("Night Drive", TempoMap([TempoChange(0, 96.5), TempoChange(7680, 120.0)]),
                MeterMap([MeterChange(0, 4, 4), MeterChange(6, 3, 4)]), Key.parse("Bb minor"))
    song.sections = [Section("intro", 0, 2), Section("verse", 2, 4), Section("verse", 6, 2), Section("outro", 8, 1)]
    lead = Track("Lead", "melody", 73, gain_db=-6.0, pan=-0.5, notes=[
        Note(0, 72, 480, 100), Note(240, 72, 480, 90),  # overlap: the first ends at 240
        Note(960, 74, 240, 80), Note(12000, 77, 300, 64)])
    keys = Track("Keys", "chords", 4, pan=0.25, notes=[
        Note(b * 1920, p, 1920, 70) for b in range(4) for p in (58, 61, 65)])
    bass = Track("Bass", "bass", 33, gain_db=-3.0, notes=[Note(i * 960, 34, 900, 95) for i in range(8)])
    drums = Track("Kit", "drums", 0, is_drum=True, notes=[
        Note(i * 480, 36 if i % 2 == 0 else 38, 60, 110 - i) for i in range(16)])
    song.tracks = [lead, keys, bass, drums]
    return song


def expected_notes(song: Song) -> dict[str, list[tuple[int, int, int, int]]]:
    """Track name -> sorted (start, end, pitch, velocity) after the documented overlap rule."""
    out = {}
    for t in song.tracks:
        notes = sorted(t.notes)
        rows = []
        for i, n in enumerate(notes):
            end = n.end_tick
            later = [m for m in notes[i + 1:] if m.pitch == n.pitch and m.start_tick < end]
            if later:
                end = later[0].start_tick
            rows.append((n.start_tick, end, n.pitch, n.velocity))
        out[t.name] = sorted(rows)
    return out


def read_mido(path):
    """Independent decode with mido: names, programs, channels, notes, conductor metas (ticks)."""
    mid = mido.MidiFile(str(path))
    tracks, metas = [], []
    for tr in mid.tracks:
        tick, name, program, channels, on, notes = 0, None, None, set(), {}, []
        for msg in tr:
            tick += msg.time
            if msg.type == "track_name":
                name = msg.name
            elif msg.is_meta and msg.type != "end_of_track":
                metas.append((tick, msg))
            elif msg.type == "program_change":
                program = msg.program
            elif msg.type == "note_on" and msg.velocity:
                on[(msg.channel, msg.note)] = (tick, msg.velocity)
                channels.add(msg.channel)
            elif msg.type in ("note_on", "note_off"):
                start, vel = on.pop((msg.channel, msg.note))
                notes.append((start, tick, msg.note, vel))
        tracks.append((name, program, channels, sorted(notes)))
    return mid, tracks, metas


def test_export_read_back_by_mido_pretty_midi_and_music21(tmp_path):
    song = rich_song()
    path = tmp_path / "night.mid"
    export_midi(song, path)
    want = expected_notes(song)
    assert want["Lead"][:2] == [(0, 240, 72, 100), (240, 720, 72, 90)]

    # mido
    mid, tracks, metas = read_mido(path)
    assert mid.type == 1 and mid.ticks_per_beat == 480 and len(mid.tracks) == 5
    assert tracks[0][0] == "Night Drive" and tracks[0][3] == []
    for (name, program, channels, notes), t in zip(tracks[1:], song.tracks):
        assert name == t.name and program == t.program and notes == want[t.name]
        assert channels == ({DRUM_CHANNEL} if t.is_drum else channels - {DRUM_CHANNEL})
    tempos = [(tk, m.tempo) for tk, m in metas if m.type == "set_tempo"]
    assert tempos == [(0, mido.bpm2tempo(96.5)), (7680, 500000)]
    assert [(tk, m.numerator, m.denominator) for tk, m in metas if m.type == "time_signature"] == [(0, 4, 4), (11520, 3, 4)]
    assert [m.key for _, m in metas if m.type == "key_signature"] == ["Bbm"]
    assert [(tk, m.text) for tk, m in metas if m.type == "marker"] == [
        (0, "intro"), (3840, "verse"), (11520, "verse"), (14400, "outro")]

    # pretty_midi: seconds, converted back to ticks by its own tempo map
    pm = pretty_midi.PrettyMIDI(str(path))
    assert [i.name for i in pm.instruments] == [t.name for t in song.tracks]
    for inst, t in zip(pm.instruments, song.tracks):
        assert (inst.program, inst.is_drum) == (t.program, t.is_drum)
        got = sorted((pm.time_to_tick(n.start), pm.time_to_tick(n.end), n.pitch, n.velocity) for n in inst.notes)
        assert len(got) == len(want[t.name])
        for g, w in zip(got, want[t.name]):
            assert abs(g[0] - w[0]) <= 1 and abs(g[1] - w[1]) <= 1 and g[2:] == w[2:]
        assert {(c.number, c.value) for c in inst.control_changes} == {
            (7, round(100 * 10 ** (t.gain_db / 40))), (10, round(64 + t.pan * (64 if t.pan < 0 else 63)))}
    times, bpms = pm.get_tempo_changes()
    assert bpms == pytest.approx([96.5, 120.0], abs=1e-3)
    # MIDI stores whole microseconds per quarter: 96.5 BPM drifts by < 1 us per beat, far below a tick
    assert times == pytest.approx([0.0, song.tick_to_seconds(7680)], abs=1e-4)
    assert [(ts.numerator, ts.denominator) for ts in pm.time_signature_changes] == [(4, 4), (3, 4)]
    assert pm.time_to_tick(pm.time_signature_changes[1].time) == 11520
    assert [k.key_number for k in pm.key_signature_changes] == [pretty_midi.key_name_to_key_number("Bb minor")]

    # music21 (quarter-length offsets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = music21.converter.parse(str(path), quantizePost=False)
    channels = assign_channels(song.tracks)
    assert len(score.parts) == len(song.tracks)
    for part, t, ch in zip(score.parts, song.tracks, channels):
        insts = [i for i in part.recurse().getElementsByClass(music21.instrument.Instrument) if i.midiChannel == ch]
        assert insts and insts[-1].midiProgram == t.program
        got = []
        for n in part.flatten().notes:
            pitches = [n.storedInstrument.percMapPitch] if t.is_drum else [p.midi for p in n.pitches]
            for p in pitches:
                start = round(float(n.offset) * 480)
                got.append((start, start + round(float(n.quarterLength) * 480), p, n.volume.velocity))
        assert all(type(n).__name__ == "Unpitched" for n in part.flatten().notes) == t.is_drum
        got.sort()
        for g, w in zip(got, want[t.name], strict=True):
            assert abs(g[0] - w[0]) <= 1 and abs(g[1] - w[1]) <= 1 and g[2:] == w[2:]
    flat = score.flatten()
    assert sorted({(float(m.offset), m.number) for m in flat.getElementsByClass("MetronomeMark")}) == [(0.0, 96.5), (16.0, 120)]
    # music21 places a meter change it cannot reach inside a part at that part's end: read the lead,
    # whose notes run past the change
    lead_ts = score.parts[0].recurse().getElementsByClass("TimeSignature")
    assert [(float(m.getOffsetInHierarchy(score)), m.ratioString) for m in lead_ts] == [(0.0, "4/4"), (24.0, "3/4")]
    ks = flat.getElementsByClass("KeySignature")[0]
    assert (ks.sharps, ks.mode, ks.tonic.pitchClass) == (-5, "minor", 10)
    raw = music21.midi.MidiFile()
    raw.open(str(path))
    raw.read()
    raw.close()
    assert [e.data for e in raw.tracks[0].events if e.type == music21.midi.MetaEvents.MARKER] == [
        b"intro", b"verse", b"verse", b"outro"]


def test_import_recovers_the_song_and_second_export_is_byte_identical(tmp_path):
    song = rich_song()
    first = tmp_path / "first.mid"
    export_midi(song, first)
    back = import_midi(first)
    assert back.title == "Night Drive"
    assert back.tempo_map == song.tempo_map and back.meter_map == song.meter_map and back.key == song.key
    assert back.key.midi_name == "Bbm"
    assert [(s.label, s.start_bar, s.length_bars) for s in back.sections] == [
        ("intro", 0, 2), ("verse", 2, 4), ("verse", 6, 2), ("outro", 8, 1)]
    assert [(t.name, t.program, t.is_drum, t.gain_db, t.pan) for t in back.tracks] == [
        ("Lead", 73, False, -6.0, -0.5), ("Keys", 4, False, 0.0, 0.25), ("Bass", 33, False, -3.0, 0.0),
        ("Kit", 0, True, 0.0, 0.0)]
    assert [t.role for t in back.tracks] == ["melody", "chords", "bass", "drums"]
    want = expected_notes(song)
    for t in back.tracks:
        assert [(n.start_tick, n.end_tick, n.pitch, n.velocity) for n in t.notes] == want[t.name]
    second = tmp_path / "second.mid"
    export_midi(back, second)
    assert second.read_bytes() == first.read_bytes()
    export_midi(import_midi(second), tmp_path / "third.mid")
    assert (tmp_path / "third.mid").read_bytes() == first.read_bytes()


def test_file_structure_rules(tmp_path):
    song = rich_song()
    song.tracks[0].notes.append(Note(720, 72, 240, 50))  # note-on at the tick of the previous note-off
    mid = song_to_midifile(song)
    assert all(m.is_meta for m in mid.tracks[0])
    for tr in mid.tracks:
        assert [m.type for m in tr].count("end_of_track") == 1 and tr[-1].type == "end_of_track"
    tick, seen = 0, []
    for m in mid.tracks[1]:
        tick += m.time
        if m.type in ("note_on", "note_off"):
            seen.append((tick, m.type, m.note))
    at_720 = [s for s in seen if s[0] == 720]
    assert at_720 == [(720, "note_off", 72), (720, "note_on", 72)]
    assert seen == sorted(seen, key=lambda s: (s[0], s[1] == "note_on", s[2]))


def test_overlapping_same_pitch_notes_are_cut_at_the_later_start():
    song = Song("Overlaps")
    song.tracks = [Track("Synth", "chords", 81, notes=[
        Note(0, 60, 960, 80), Note(480, 60, 960, 90),      # partial overlap -> first ends at 480
        Note(2000, 62, 240, 70), Note(2000, 62, 480, 71),  # same start -> one note, the longer
        Note(3000, 64, 2000, 60), Note(3500, 64, 100, 61),  # containment -> first ends at 3500
        Note(0, 67, 960, 50)])]                            # other pitch untouched
    back = midifile_to_song(song_to_midifile(song))
    got = [(n.start_tick, n.end_tick, n.pitch, n.velocity) for n in back.tracks[0].notes]
    assert got == [(0, 480, 60, 80), (0, 960, 67, 50), (480, 1440, 60, 90), (2000, 2480, 62, 71),
                   (3000, 3500, 64, 60), (3500, 3600, 64, 61)]


def test_channels_drums_only_on_ten_and_reused_after_fifteen():
    tracks = [Track(f"T{i}", program=i) for i in range(17)] + [Track("Kit", "drums", is_drum=True)]
    chans = assign_channels(tracks)
    assert chans[:15] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15]
    assert chans[15:] == [0, 1, 9]
    song = Song("Many")
    song.tracks = tracks
    tracks[0].notes.append(Note(0, 60, 960))
    tracks[15].notes.append(Note(480, 60, 960))  # same channel 0, same pitch, different track
    mid = song_to_midifile(song)
    progs = [(m.channel, m.program) for tr in mid.tracks for m in tr if m.type == "program_change"]
    assert [c for c, _ in progs].count(9) == 1
    back = midifile_to_song(mid)
    assert [(n.start_tick, n.end_tick) for n in back.tracks[0].notes] == [(0, 480)]
    assert [(n.start_tick, n.end_tick) for n in back.tracks[15].notes] == [(480, 1440)]


@pytest.mark.parametrize("meter, bar_ticks", [((3, 4), 1440), ((6, 8), 1440)])
def test_three_four_and_six_eight_songs(tmp_path, meter, bar_ticks):
    song = Song(f"In {meter[0]}/{meter[1]}", TempoMap(bpm=90), MeterMap(numerator=meter[0], denominator=meter[1]), Key.parse("E"))
    song.sections = [Section("A", 0, 3), Section("B", 3, 5)]
    step = 240 if meter == (6, 8) else 480  # eighths in 6/8, quarters in 3/4
    song.tracks = [Track("Waltz", "melody", 0, notes=[Note(i * step, 64 + i % 5, step, 80) for i in range(8 * bar_ticks // step)])]
    path = tmp_path / "m.mid"
    export_midi(song, path)
    _, _, metas = read_mido(path)
    assert [(m.numerator, m.denominator) for _, m in metas if m.type == "time_signature"] == [meter]
    assert [(tk, m.text) for tk, m in metas if m.type == "marker"] == [(0, "A"), (3 * bar_ticks, "B")]
    pm = pretty_midi.PrettyMIDI(str(path))
    assert [(t.numerator, t.denominator) for t in pm.time_signature_changes] == [meter]
    assert len(pm.instruments[0].notes) == len(song.tracks[0].notes)
    assert pm.get_downbeats()[:4] == pytest.approx([i * bar_ticks / 480 * 60 / 90 for i in range(4)], abs=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = music21.converter.parse(str(path), quantizePost=False)
    assert score.flatten().getElementsByClass("TimeSignature")[0].ratioString == f"{meter[0]}/{meter[1]}"
    assert score.flatten().getElementsByClass("KeySignature")[0].sharps == 4
    back = import_midi(path)
    assert back.meter_map == song.meter_map and back.key == Key.parse("E") and back.tempo_map == song.tempo_map
    assert [(s.label, s.start_bar, s.length_bars) for s in back.sections] == [("A", 0, 3), ("B", 3, 5)]


def test_type_0_export_merges_everything_and_imports_back(tmp_path):
    song = rich_song()
    path = tmp_path / "t0.mid"
    export_midi(song, path, file_type=0)
    mid = mido.MidiFile(str(path))
    assert mid.type == 0 and len(mid.tracks) == 1
    pm = pretty_midi.PrettyMIDI(str(path))
    want = expected_notes(song)
    by_program = {(i.program, i.is_drum): sorted((pm.time_to_tick(n.start), pm.time_to_tick(n.end), n.pitch, n.velocity) for n in i.notes) for i in pm.instruments}
    for t in song.tracks:
        got = by_program[(t.program, t.is_drum)]
        assert [g[2:] for g in got] == [w[2:] for w in want[t.name]]
        assert all(abs(g[0] - w[0]) <= 1 and abs(g[1] - w[1]) <= 1 for g, w in zip(got, want[t.name]))
    back = import_midi(path)
    assert back.title == "Night Drive" and back.tempo_map == song.tempo_map and back.meter_map == song.meter_map
    assert [(s.label, s.start_bar, s.length_bars) for s in back.sections] == [
        ("intro", 0, 2), ("verse", 2, 4), ("verse", 6, 2), ("outro", 8, 1)]
    assert [(t.program, t.is_drum) for t in back.tracks] == [(t.program, t.is_drum) for t in song.tracks]
    assert back.tracks[-1].name == "Drums"
    for t, orig in zip(back.tracks, song.tracks):
        assert [(n.start_tick, n.end_tick, n.pitch, n.velocity) for n in t.notes] == want[orig.name]


def test_hand_written_file_velocity_zero_offs_rescaling_and_repairs(tmp_path):
    """96 ticks per beat, running note-on/velocity-0 offs, stray offs, hanging notes, odd meter position."""
    mid = mido.MidiFile(type=1, ticks_per_beat=96)
    conductor = mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=600000, time=0),
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
        mido.MetaMessage("key_signature", key="F#m", time=0),
        mido.MetaMessage("marker", text="Intro", time=0),
        mido.MetaMessage("time_signature", numerator=3, denominator=4, time=96 * 6),  # beat 3 of bar 2
        mido.MetaMessage("marker", text="Refrain", time=96 * 2),                     # bar 3 (4/4) start
    ])
    piano = mido.MidiTrack([
        mido.MetaMessage("track_name", name="Piano", time=0),
        mido.Message("program_change", channel=2, program=0, time=0),
        mido.Message("note_on", channel=2, note=60, velocity=90, time=0),
        mido.Message("note_on", channel=2, note=64, velocity=80, time=0),
        mido.Message("note_on", channel=2, note=60, velocity=0, time=96),    # velocity-0 off
        mido.Message("note_off", channel=2, note=61, velocity=0, time=0),    # unmatched: ignored
        mido.Message("note_off", channel=2, note=64, velocity=64, time=48),
        mido.Message("note_on", channel=9, note=42, velocity=100, time=0),   # drums in the same track
        mido.Message("note_on", channel=9, note=42, velocity=0, time=1),
        mido.Message("note_on", channel=2, note=67, velocity=70, time=47),   # never released
        mido.Message("control_change", channel=2, control=7, value=100, time=0),
        mido.MetaMessage("end_of_track", time=96 * 20),
    ])
    mid.tracks += [conductor, piano]
    path = tmp_path / "hand.mid"
    mid.save(str(path))
    song = import_midi(path)
    assert song.key == Key.parse("F# minor") and song.tempo_map.bpm_at(0) == 100.0
    assert song.meter_map.to_list() == [[0, 4, 4], [2, 3, 4]]  # moved to the next bar line
    log = song.generation["midi_import"]["notes"]
    assert any("inside bar 2" in line for line in log) and any("no note-off" in line for line in log)
    piano_t, drums = song.tracks
    assert (piano_t.name, drums.name, drums.is_drum, piano_t.is_drum) == ("Piano ch3", "Piano ch10", True, False)
    assert [(n.start_tick, n.end_tick, n.pitch, n.velocity) for n in piano_t.notes] == [
        (0, 480, 60, 90), (0, 720, 64, 80), (960, 960 + 96 * 20 * 5, 67, 70)]
    assert [(n.start_tick, n.duration_ticks, n.pitch) for n in drums.notes] == [(720, 5, 42)]
    assert gain_db_to_cc7(piano_t.gain_db) == 100 and piano_t.gain_db == 0.0  # CC7 100 is the GM default: 0 dB
    assert [(s.label, s.start_bar) for s in song.sections] == [("Intro", 0), ("Refrain", 2)]


def test_roles_are_guessed_from_programs_and_pitch():
    def track(name, program, pitches, dur=240, chord=False, drum=False):
        notes = [Note(i * 480, p + (k * 4 if chord else 0), dur, 80) for i, p in enumerate(pitches) for k in range(3 if chord else 1)]
        return Track(name, program=program, is_drum=drum, notes=notes)

    song = Song("Roles")
    song.tracks = [track("Flute", 73, [84, 86, 88, 86]), track("Piano", 0, [60, 62], dur=960, chord=True),
                   track("Strings", 48, [55, 57], dur=1920, chord=True), track("Bass", 33, [36, 38]),
                   track("Clarinet", 71, [67, 69]), track("Warm pad", 89, [52]), track("Kit", 0, [36], drum=True)]
    back = midifile_to_song(song_to_midifile(song))
    assert {t.name: t.role for t in back.tracks} == {
        "Flute": "melody", "Piano": "chords", "Strings": "pad", "Bass": "bass", "Clarinet": "counter",
        "Warm pad": "pad", "Kit": "drums"}


def test_unicode_title_and_labels_survive(tmp_path):
    song = Song("Café Ñandú")
    song.sections = [Section("サビ", 0, 2), Section("pont\nfinal", 2, 1)]
    song.tracks = [Track("Guitarra", "melody", 25, notes=[Note(0, 64, 480)])]
    export_midi(song, tmp_path / "u.mid")
    back = import_midi(tmp_path / "u.mid")
    assert back.title == "Café Ñandú"
    assert [(s.label, s.length_bars) for s in back.sections] == [("サビ", 2), ("pont final", 1)]


def _write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_unreadable_files_raise_midi_error(tmp_path):
    rng = random.Random(7)
    noise = _write(tmp_path, "noise.mid", bytes(rng.randrange(256) for _ in range(2000)))
    with pytest.raises(MidiError, match="not a MIDI file"):
        import_midi(noise)
    good = tmp_path / "good.mid"
    export_midi(rich_song(), good)
    cut = _write(tmp_path, "cut.mid", good.read_bytes()[:300])
    with pytest.raises(MidiError, match="cut short|damaged"):
        import_midi(cut)
    empty = _write(tmp_path, "empty.mid", b"MThd\x00\x00\x00\x06\x00\x01\x00\x00\x01\xe0")
    with pytest.raises(MidiError, match="no tracks"):
        import_midi(empty)
    header_only = _write(tmp_path, "header.mid", b"MThd\x00\x00")
    with pytest.raises(MidiError):
        import_midi(header_only)
    with pytest.raises(MidiError, match="does not exist"):
        import_midi(tmp_path / "missing.mid")
    smpte = _write(tmp_path, "smpte.mid", b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\xe7\x28MTrk\x00\x00\x00\x04\x00\xff\x2f\x00")
    with pytest.raises(MidiError, match="SMPTE"):
        import_midi(smpte)
    with pytest.raises(MidiError, match="type 2"):
        midifile_to_song(mido.MidiFile(type=2, tracks=[mido.MidiTrack()]))


def test_export_holds_every_note_of_a_generated_song_as_it_is():
    """Generated notes enter the song through ``structure.tokens.decode``; the model writes long notes and strikes
    their pitch again while they sound (3-13 % of the notes of structure-small's songs were cut short on export).
    The song holds what a channel plays, so the exported MIDI is note for note the song."""
    from melodex_studio.structure import tokens as T
    from melodex_studio.song.model import has_overlaps
    from tests.songs import make_demo_song

    rng = random.Random(3)
    song = make_demo_song(bars=16, bpm=120, tracks=4)
    for t in song.tracks:
        if not t.is_drum:  # long notes on few pitches, on the 16th grid, as sampled
            t.notes = [Note(120 * rng.randrange(16 * 16), rng.choice((48, 55, 60, 64, 67)),
                            120 * rng.choice(T.DURATIONS), rng.randrange(40, 120)) for _ in range(120)]
    header = T.header_from_song(song)
    generated = T.decode(T.encode(song, header), header)
    assert not any(has_overlaps(t.notes) for t in generated.tracks)
    want = sorted((n.start_tick, n.end_tick, n.pitch, n.velocity) for t in generated.tracks for n in t.notes)
    assert len(want) > 400
    got, on = [], {}
    for tr in song_to_midifile(generated).tracks:
        tick = 0
        for m in tr:
            tick += m.time
            if m.type == "note_on" and m.velocity:
                on[(m.channel, m.note)] = (tick, m.velocity)
            elif m.type in ("note_on", "note_off"):
                start, vel = on.pop((m.channel, m.note))
                got.append((start, tick, m.note, vel))
    assert sorted(got) == want
