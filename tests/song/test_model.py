import pytest

from melodex_studio.song import Key, Note, Section, Song, Take, Track


def make_song():
    s = Song(title="t")
    s.add_section(Section("verse", 0, 2))
    s.add_section(Section("chorus", 2, 2))
    s.add_section(Section("verse", 4, 2))
    piano = s.add_track(Track("Piano", role="chords", program=0))
    s.add_notes(piano.id, [Note(0, 60, 480), Note(1920 * 2, 64, 480), Note(1920 * 4, 67, 480)])
    return s, piano


def test_notifications_reach_subscribers_and_unsubscribe_works():
    s, piano = make_song()
    events = []
    unsubscribe = s.subscribe(lambda e, p: events.append(e))
    s.update_track(piano.id, gain_db=-3.0, pan=0.5)
    s.add_notes(piano.id, [Note(10, 62, 100)])
    s.set_key(Key.parse("Eb"))
    assert events == ["track", "notes", "key"]
    assert piano.gain_db == -3.0 and piano.pan == 0.5
    unsubscribe()
    s.set_key(Key.parse("C"))
    assert events == ["track", "notes", "key"]


def test_invalid_edits_are_rejected_without_change():
    s, piano = make_song()
    with pytest.raises(ValueError):
        s.update_track(piano.id, pan=2.0)
    assert piano.pan == 0.0
    with pytest.raises(ValueError):
        Note(0, 128, 10)
    with pytest.raises(ValueError):
        Track("x", role="singer")


def test_section_lookup_by_label_occurrence_and_index():
    s, _ = make_song()
    assert s.section("verse").start_bar == 0
    assert s.section("verse 2").start_bar == 4
    assert s.section("1").label == "chorus"
    assert s.section(2).start_bar == 4
    with pytest.raises(KeyError, match="sections are"):
        s.section("bridge")


def test_take_replaces_only_its_section_and_can_switch_back():
    s, piano = make_song()
    chorus = s.section("chorus")
    start, end = s.section_ticks(chorus)
    assert (start, end) == (3840, 7680)
    original = [n for n in piano.notes if start <= n.start_tick < end]
    t1 = s.add_take(Take(chorus.id, None, {piano.id: [Note(start, 72, 960)]}, seed=1))
    assert [n.pitch for n in piano.notes] == [60, 72, 67]
    t0 = s.add_take(Take(chorus.id, None, {piano.id: original}, seed=0), activate=False)
    s.activate_take(t0.id)
    assert [n.pitch for n in piano.notes] == [60, 64, 67]
    s.delete_take(t1.id)
    assert [t.id for t in s.takes] == [t0.id]


def test_song_length_and_duration_follow_sections_and_tempo():
    s, _ = make_song()
    assert s.length_bars == 6
    assert s.duration_seconds == pytest.approx(6 * 2.0)  # 120 BPM default, 4/4: 2 s a bar


def test_mute_and_solo():
    s, piano = make_song()
    bass = s.add_track(Track("Bass", role="bass", program=33))
    s.update_track(piano.id, mute=True)
    assert [t.name for t in s.audible_tracks()] == ["Bass"]
    s.update_track(piano.id, solo=True)
    assert [t.name for t in s.audible_tracks()] == ["Piano"]


@pytest.mark.parametrize("text,name,midi", [
    ("F# minor", "F# minor", "F#m"), ("Bb", "Bb major", "Bb"), ("Ebm", "Eb minor", "Ebm"), ("c", "C major", "C"),
])
def test_key_parse_and_names(text, name, midi):
    k = Key.parse(text)
    assert k.name == name and k.midi_name == midi
    assert Key.parse("Gb major") == Key.parse("F# major")


def test_all_digit_section_id_is_found_as_id_not_index():
    s = Song()
    a = s.add_section(Section("intro", 0, 4, id="000000000001"))
    b = s.add_section(Section("verse", 4, 8, id="000000000000"))
    assert s.section("000000000000") is b and s.section("000000000001") is a
    assert s.section("1") is b  # short digits still mean the index


def test_removing_a_section_or_track_drops_its_takes():
    s, piano = make_song()
    bass = s.add_track(Track("Bass", role="bass", program=33))
    chorus = s.section("chorus")
    whole = s.add_take(Take(chorus.id, None, {piano.id: [], bass.id: []}))
    bass_only = s.add_take(Take(chorus.id, bass.id, {bass.id: []}))
    s.remove_track(bass.id)
    assert [t.id for t in s.takes] == [whole.id] and list(whole.notes) == [piano.id]
    assert bass_only.id not in s.active_takes.values()
    s.remove_section(chorus.id)
    assert s.takes == [] and s.active_takes == {}


def test_gain_must_be_a_finite_level():
    with pytest.raises(ValueError):
        Track("x", gain_db=float("nan"))


# --- one pitch sounds once at a time; controller lanes, lyrics and key changes ---------------------------------
from melodex_studio.song.model import (  # noqa: E402
    PITCH_BEND, Control, KeyChange, Lyric, has_overlaps, resolve_overlaps,
)


def test_resolve_overlaps_ends_a_note_where_its_pitch_starts_again():
    notes = [Note(0, 60, 960, 80), Note(480, 60, 960, 90),       # partial overlap -> the first ends at 480
             Note(2000, 62, 240, 70), Note(2000, 62, 480, 71),   # same start -> the longer is kept
             Note(3000, 64, 2000, 60), Note(3500, 64, 100, 61),  # containment -> the first ends at 3500
             Note(0, 67, 960, 50), Note(960, 67, 480, 50)]       # touching notes and other pitches untouched
    got = resolve_overlaps(notes)
    assert [(n.start_tick, n.end_tick, n.pitch, n.velocity) for n in got] == [
        (0, 480, 60, 80), (0, 960, 67, 50), (480, 1440, 60, 90), (960, 1440, 67, 50), (2000, 2480, 62, 71),
        (3000, 3500, 64, 60), (3500, 3600, 64, 61)]
    assert has_overlaps(notes) and not has_overlaps(got) and resolve_overlaps(got) == got


def test_add_and_replace_notes_leave_no_same_pitch_overlap():
    s, piano = make_song()
    s.add_notes(piano.id, [Note(240, 60, 480, 99), Note(0, 60, 120, 50)])  # an added note replaces one on its tick
    assert [(n.start_tick, n.end_tick, n.velocity) for n in piano.notes if n.pitch == 60] == [(0, 120, 50), (240, 720, 99)]
    # a take's note struck while the previous section's note of that pitch still sounds ends that note
    s.add_notes(piano.id, [Note(3000, 65, 1920)])  # verse note held into the chorus (bar 2 = tick 3840)
    s.replace_notes(piano.id, 3840, 7680, [Note(4320, 65, 480), Note(4320, 65, 240), Note(4400, 65, 100)])
    assert [(n.start_tick, n.end_tick) for n in piano.notes if n.pitch == 65] == [(3000, 4320), (4320, 4400), (4400, 4500)]
    assert not has_overlaps(piano.notes)


def test_lanes_lyrics_and_key_changes_are_immutable_and_undo_snapshots_keep_them():
    s, piano = make_song()
    s.set_controls(piano.id, [Control(480, 64, 0), Control(0, 64, 127), Control(0, PITCH_BEND, -100)])
    assert [(c.start_tick, c.kind) for c in piano.controls] == [(0, 64), (0, PITCH_BEND), (480, 64)]  # stable by tick
    s.set_lyrics(piano.id, [Lyric(480, "lo"), Lyric(0, "hel")])
    s.set_key_changes([KeyChange(3840, Key.parse("G"))])
    snap = s.copy()
    s.set_controls(piano.id, [])
    s.set_lyrics(piano.id, [])
    s.set_key_changes([])
    assert snap.track(piano.id).controls[0] == Control(0, 64, 127) and snap.track(piano.id).lyrics[0].text == "hel"
    assert snap.key_changes == (KeyChange(3840, Key.parse("G")),) and s.key_changes == ()
    assert snap.key_at(3840) == Key.parse("G") and snap.key_at(0) == Key.parse("C")
    with pytest.raises(ValueError):
        Control(0, PITCH_BEND, 8192)
    with pytest.raises(ValueError):
        Control(0, 64, 128)
    for kind in (121, 130):  # a channel mode message (reset all controllers) and no kind at all
        with pytest.raises(ValueError):
            Control(0, kind, 0)
