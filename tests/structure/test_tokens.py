"""Tokenizer: lossless round trip on the grid, canonical quantisation, meters, drums, chords."""
from __future__ import annotations

from melodex_studio.song import Note
from melodex_studio.structure import tokens as T

from tests.structure.conftest import make_plan, make_song


def _notes(song):
    return {t.name: sorted(t.notes) for t in song.tracks}


def _chords(song):
    return [(c.start_tick, c.duration_ticks, c.root, c.quality) for c in song.chords]


def test_round_trip_is_lossless_on_the_grid():
    for meter, key in (((4, 4), "D major"), ((3, 4), "A minor"), ((6, 8), "Bb major")):
        plan = make_plan(meter=meter, key=key)
        song = make_song(plan, seed=3)
        h = T.header_from_plan(plan)
        back = T.decode(T.encode(song, h), h)
        assert _notes(back) == _notes(song)
        assert _chords(back) == _chords(song)
        assert [(s.label, s.start_bar, s.length_bars) for s in back.sections] == [
            (s.label, s.start_bar, s.length_bars) for s in song.sections]
        assert back.key == song.key and back.meter_map == song.meter_map and back.tempo_map == song.tempo_map
        assert [(t.name, t.role, t.program, t.is_drum) for t in back.tracks] == [
            (t.name, t.role, t.program, t.is_drum) for t in song.tracks]


def test_quantisation_is_canonical_and_idempotent():
    plan = make_plan()
    song = make_song(plan)
    flute = song.track("flute")
    flute.notes.append(Note(1930, 80, 250, 77))  # off the grid: 10 ticks late, odd length and velocity
    h = T.header_from_plan(plan)
    q = T.quantize_song(song, h)
    assert Note(1920, 80, 240, 82) in q.track("flute").notes  # snapped to 16ths, velocity bucket 82
    assert _notes(T.quantize_song(q, h)) == _notes(q)
    assert T.encode(q, h) == T.encode(song, h)


def test_drums_use_hit_classes_and_notes_end_inside_their_section():
    plan = make_plan(form=(("verse", 2), ("chorus", 2)))
    song = make_song(plan)
    song.track("drums").notes.append(Note(0, 44, 60, 64))  # pedal hi-hat -> closed hi-hat class (42)
    song.track("flute").notes.append(Note(1920 + 1440, 76, 4 * 1920, 90))  # crosses into the chorus
    h = T.header_from_plan(plan)
    q = T.quantize_song(song, h)
    assert Note(0, 42, 120, 75) in q.track("drums").notes
    long = [n for n in q.track("flute").notes if n.start_tick == 1920 + 1440 and n.pitch == 76]
    assert long and long[0].end_tick <= 2 * 1920


def test_header_follows_plan_and_vocabulary_is_compact():
    plan = make_plan(drums=False)
    h = T.header_from_plan(plan)
    toks = T.header_tokens(h)
    names = [T.VOCAB[t] for t in toks]
    assert names[:8] == ["BOS", "GENRE_pop", "MOOD_happy", "TEMPO_5", "KEY_2", "MODE_major", "METER_4_4", "DRUMS_off"]
    assert "TRK_drums_0" not in names and names[-1] == "HDR_END"
    assert T.VOCAB_SIZE < 1100
    # 4/4 pop bar with 4 tracks stays compact (speed budget)
    song = make_song(make_plan())
    n_bars = sum(s.bars for s in make_plan().form)
    assert len(T.encode(song, T.header_from_plan(make_plan()))) / n_bars < 90
