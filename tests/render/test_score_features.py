"""Score features: exact frame positions against the tempo and meter maps, roll/onset values, conditions."""
import numpy as np

from melodex_studio.render.score_features import (
    BEAT_FLAG, DOWNBEAT_FLAG, DRUM_INSTRUMENT, FEATURE_DIM, GENRES, ONSET, ONSET_PHASE, STYLE_TAGS, RenderConditions,
    encode_conditions, frame_range, pitch_roll, score_features, section_frames,
)
from melodex_studio.song import MeterChange, MeterMap, Note, Section, Song, TempoChange, TempoMap, Track

SR, HOP = 24000, 960


def _song() -> tuple[Song, Track]:
    # 120 BPM for two bars, then 87.5 BPM; 4/4 then 3/4 from bar 3
    song = Song("t", TempoMap([TempoChange(0, 120.0), TempoChange(2 * 1920, 87.5)]),
                MeterMap([MeterChange(0, 4, 4), MeterChange(3, 3, 4)]))
    song.add_section(Section("a", 0, 2))
    song.add_section(Section("b", 2, 3))
    tr = Track("Lead", "melody", program=73)
    notes = [Note(0, 60, 480, 100), Note(1000, 64, 240, 50), Note(3500, 67, 1000, 127), Note(4000, 72, 60, 80),
             Note(5333, 48, 2000, 64), Note(7201, 55, 333, 33)]
    tr.notes = notes
    song.add_track(tr)
    return song, tr


def test_onsets_and_roll_follow_the_tempo_map_exactly():
    song, tr = _song()
    f0, f1 = frame_range(song, 0, song.end_tick, SR, HOP)
    sf = score_features(song, tr, f0, f1, SR, HOP)
    assert sf.features.shape == (f1 - f0, FEATURE_DIM) and f0 == 0
    for n in tr.notes:
        s_on = song.tempo_map.tick_to_sample(n.start_tick, SR)
        s_off = song.tempo_map.tick_to_sample(n.end_tick, SR)
        f_on, f_off = s_on // HOP, -(-s_off // HOP)
        assert sf.features[f_on, ONSET.start + n.pitch] == np.float32(n.velocity / 127)
        assert np.all(sf.features[f_on:f_off, n.pitch] == np.float32(n.velocity / 127))
        assert sf.features[f_off:, n.pitch].max(initial=0) == 0.0
        assert sf.features[f_on, ONSET_PHASE] <= (s_on - f_on * HOP) / HOP + 1e-6
    assert sorted(sf.onset_frames) == sorted(song.tempo_map.tick_to_sample(n.start_tick, SR) // HOP for n in tr.notes)


def test_beat_and_downbeat_flags_are_exact():
    song, tr = _song()
    T = frame_range(song, 0, song.end_tick, SR, HOP)[1]
    f = score_features(song, tr, 0, T, SR, HOP).features
    bar_ticks = [song.bar_to_tick(b) for b in range(7)]
    want_down = sorted({song.tempo_map.tick_to_sample(t, SR) // HOP for t in bar_ticks} & set(range(T)))
    assert list(np.nonzero(f[:, DOWNBEAT_FLAG])[0]) == want_down
    beats = [b * 480 for b in range(12)] + [3 * 1920 + 1440 * bar + k * 480 for bar in range(3) for k in range(3)]
    want_beats = sorted({song.tempo_map.tick_to_sample(t, SR) // HOP for t in beats} & set(range(T)))
    assert len(want_down) >= 5 and len(want_beats) >= 14
    assert list(np.nonzero(f[:, BEAT_FLAG])[0]) == want_beats


def test_sections_share_one_frame_grid_and_sustained_notes_have_no_onset():
    song, tr = _song()
    a, b = song.sections
    fa, fb = section_frames(song, a, SR, HOP), section_frames(song, b, SR, HOP)
    sb = song.tempo_map.tick_to_sample(song.bar_to_tick(2), SR)
    assert fb[0] == sb // HOP and fa[1] == -(-sb // HOP)
    # the note at tick 3500 (bar 1) sounds into section b: roll but no onset there
    sub = score_features(song, tr, fb[0], fb[1], SR, HOP)
    full = score_features(song, tr, 0, fb[1], SR, HOP).features
    np.testing.assert_array_equal(sub.features, full[fb[0]:])
    off = song.tempo_map.tick_to_sample(4500, SR) // HOP
    assert sub.features[0, 67] > 0 and sub.features[:, ONSET.start + 67].max() == 0 and off >= fb[0]


def test_every_window_is_the_slice_of_the_whole_song_and_pitch_roll_is_its_roll():
    song, tr = _song()
    tr.notes.append(Note(3839, 62, 1, 90))  # one tick long, ending on the tempo change
    T = frame_range(song, 0, song.end_tick, SR, HOP)[1]
    full = score_features(song, tr, 0, T, SR, HOP)
    for a in range(0, T, 3):  # windows starting and ending next to every note's first and last frame
        for b in range(a + 1, min(T, a + 40) + 1, 7):
            part = score_features(song, tr, a, b, SR, HOP)
            np.testing.assert_array_equal(part.features, full.features[a:b])
            assert part.onset_frames == [f for f in full.onset_frames if a <= f < b]
            np.testing.assert_array_equal(pitch_roll(song, tr, a, b, SR, HOP), full.features[a:b, :128])


def test_conditions_encoding():
    song, tr = _song()
    song.plan = {"genre": "jazz", "production": ["lofi", "roomy", "unknown-tag"]}
    sec = song.sections[1]
    sec.overrides = {"production": ["bright"]}
    enc = encode_conditions(RenderConditions.from_song(song, tr, song.sections[0]))
    assert enc["instrument"] == 73 and enc["genre"] == GENRES.index("jazz") + 1
    assert enc["tags"].tolist() == [1.0 if t in ("lofi", "roomy") else 0.0 for t in STYLE_TAGS]
    enc_b = encode_conditions(RenderConditions.from_song(song, tr, sec))
    assert enc_b["tags"][STYLE_TAGS.index("bright")] == 1 and enc_b["tags"].sum() == 1
    drums = encode_conditions(RenderConditions(program=0, is_drum=True, genre="nope"))
    assert drums["instrument"] == DRUM_INSTRUMENT and drums["genre"] == 0
