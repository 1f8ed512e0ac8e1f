"""The piano roll's snap grid and note edits on plain notes (no Qt): meters with 3/4 and 6/8 bars, triplets,
clamping at the section's edges and at the keyboard's ends."""
from __future__ import annotations

from melodex_studio.song import Note, Song
from melodex_studio.song.timing import MeterChange, MeterMap
from melodex_studio.ui import roll_edits as ed


def song_34_then_68() -> Song:
    song = Song()
    song.set_meter_map(MeterMap([MeterChange(0, 3, 4), MeterChange(2, 6, 8)]))
    return song


def test_snap_steps_follow_the_meter_map():
    song = song_34_then_68()
    assert [ed.snap_step(song, "bar", b) for b in (0, 1, 2)] == [1440, 1440, 1440]  # 3/4 = 6/8 = 1440 ticks
    assert ed.snap_step(song, "beat", 0) == 480 and ed.snap_step(song, "beat", 2) == 240  # a quarter, an eighth
    assert [ed.snap_step(song, s, 0) for s in ("1/8", "1/16", "1/8T", "1/16T", "off")] == [240, 120, 160, 80, 1]


def test_snap_round_and_floor_count_from_the_bar():
    song = song_34_then_68()
    assert ed.snap_round(song, "bar", 700) == 0 and ed.snap_round(song, "bar", 800) == 1440
    assert ed.snap_floor(song, "beat", 1439) == 960 and ed.snap_round(song, "beat", 1439) == 1440
    assert ed.snap_round(song, "beat", 2880 + 130) == 2880 + 240  # 6/8: eighth-note beats
    assert ed.snap_round(song, "1/8T", 250) == 320 and ed.snap_floor(song, "1/16T", 250) == 240
    assert ed.snap_round(song, "off", 1234.4) == 1234


def test_move_keeps_the_group_inside_the_section_and_the_keyboard():
    notes = [Note(100, 120, 50), Note(400, 60, 50)]
    assert ed.moved(notes, -500, 0, lo_tick=0, hi_tick=1000) == [Note(0, 120, 50), Note(300, 60, 50)]
    assert ed.moved(notes, 900, 12, lo_tick=0, hi_tick=1000) == [Note(699, 127, 50), Note(999, 67, 50)]
    rows = [46, 42, 38, 36]  # drum rows, top to bottom
    assert ed.moved([Note(0, 38, 10), Note(0, 36, 10)], 0, 1, rows=rows) == [Note(0, 42, 10), Note(0, 38, 10)]
    assert ed.moved([Note(0, 46, 10)], 0, 1, rows=rows) == [Note(0, 46, 10)]  # the top row already


def test_resize_quantise_velocity_and_duplicate():
    song = Song()
    assert ed.resized([Note(0, 60, 100)], -500, 120) == [Note(0, 60, 120)]
    assert ed.resized([Note(0, 60, 100)], 5000, 120, max_end=1920) == [Note(0, 60, 1920)]
    q = ed.quantised(song, "1/16", [Note(130, 60, 100), Note(1915, 62, 300)], lengths=True, hi_tick=1920)
    assert q == [Note(120, 60, 120), Note(1800, 62, 360)]  # the second start stays in the section, its end on 2160
    assert ed.with_velocity([Note(0, 60, 10, 90)], 300) == [Note(0, 60, 10, 127)]
    assert ed.duplicated(song, "beat", [Note(0, 60, 100), Note(240, 64, 300)]) == [Note(960, 60, 100),
                                                                                  Note(1200, 64, 300)]
    assert ed.duplicated(song, "beat", [Note(1800, 60, 100)], hi_tick=1920) == []
