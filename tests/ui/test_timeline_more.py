"""The timeline's second round (issue 14's gaps, issue 15's drag out), on the real window: section MIDI export,
gain and pan in the track headers, multi-selection, dragging a clip or a section out as a file."""
from __future__ import annotations

import mido
import pytest
from PySide6.QtCore import QPoint, Qt

from melodex_studio.song import Note, Section, Song, Track
from melodex_studio.song.timing import MeterChange, MeterMap, TempoChange, TempoMap


def song_of_three() -> Song:
    """intro 2 bars (4/4, 100 BPM), verse 2 bars (3/4 from bar 2, 140 BPM), chorus 2 bars; piano, bass, drums;
    one note per beat, the pitch telling the section (60 + 12 * section) and the beat."""
    song = Song(title="Three", tempo_map=TempoMap([TempoChange(0, 100.0)]))
    for i, label in enumerate(("intro", "verse", "chorus")):
        song.add_section(Section(label, 2 * i, 2))
    song.meter_map = MeterMap([MeterChange(0, 4, 4), MeterChange(2, 3, 4)])
    song.tempo_map = TempoMap([TempoChange(0, 100.0), TempoChange(song.bar_to_tick(2), 140.0)])
    for name, role, drum in (("piano", "chords", False), ("bass", "bass", False), ("drums", "drums", True)):
        song.add_track(Track(name, role, 0 if drum else 33 if role == "bass" else 0, is_drum=drum))
    for si, sec in enumerate(song.sections):
        a, b = song.section_ticks(sec)
        for ti, t in enumerate(song.tracks):
            notes = [Note(tick, 36 + ti * 12 + si * 2 + (k % 3), 400, 90 + ti)
                     for k, tick in enumerate(range(a, b, 480))]
            song.add_notes(t.id, notes)
    return song


@pytest.fixture
def three(window):
    window.session.new(song_of_three())
    window.session.history.mark_clean()
    return window


def midi_notes(path, ppq=480):
    """[(track name, start tick, pitch, duration)] of the notes in a MIDI file."""
    mid = mido.MidiFile(str(path))
    assert mid.ticks_per_beat == ppq
    out = []
    for tr in mid.tracks:
        name, now, on = "", 0, {}
        for msg in tr:
            now += msg.time
            if msg.type == "track_name":
                name = msg.name
            elif msg.type == "note_on" and msg.velocity > 0:
                on[msg.note] = now
            elif msg.type in ("note_off", "note_on") and msg.note in on:
                start = on.pop(msg.note)
                out.append((name, start, msg.note, now - start))
    return sorted(out, key=lambda x: (x[0], x[1], x[2]))


def expected(song, index, names=None):
    a, b = song.section_ticks(song.sections[index])
    return sorted(((t.name, n.start_tick - a, n.pitch, min(n.duration_ticks, b - n.start_tick)) for t in song.tracks
                   if names is None or t.name in names for n in t.notes if a <= n.start_tick < b),
                  key=lambda x: (x[0], x[1], x[2]))


# --- export this section as MIDI -------------------------------------------------------------------------
def test_export_section_midi_writes_only_that_section_from_bar_one(three, tmp_path, qtbot):
    w = three
    w.timeline.select_section(1)
    assert w.actions_by_id["export_section_midi"].isEnabled()
    w._section_menu(w.mapToGlobal(QPoint(10, 10)))
    assert w.actions_by_id["export_section_midi"] in w._last_menu.actions()
    w._last_menu.close()
    path = tmp_path / "verse.mid"
    w.export_to(path, midi=True, section_index=1)
    assert w.wait_for_jobs(30)
    notes = midi_notes(path)
    assert notes == expected(w.song, 1) and len(notes) == 3 * 6  # 2 bars of 3/4, one note a beat, 3 tracks
    meta = [m for m in mido.MidiFile(str(path)).tracks[0] if m.is_meta]
    tempos = [(m.tempo) for m in meta if m.type == "set_tempo"]
    meters = [(m.numerator, m.denominator) for m in meta if m.type == "time_signature"]
    assert tempos == [mido.bpm2tempo(140)] and meters == [(3, 4)]  # what holds at the verse, at tick 0
    assert not w.session.dirty  # the project did not change


# --- gain and pan in the track headers ---------------------------------------------------------------------
def test_gain_and_pan_faders_change_the_track_in_one_undoable_step(three, qtbot):
    w = three
    header = w.timeline.headers.headers[1]
    gain, pan = header.findChild(type(header.gain_fader), "gainFader"), header.findChild(type(header.pan_fader),
                                                                                            "panFader")
    assert gain.isVisible() and pan.isVisible() and gain.text() == "0.0 dB" and pan.text() == "C"
    # a drag to the left: the value follows the mouse, the song changes once, on release
    r = gain.rect()
    qtbot.mousePress(gain, Qt.MouseButton.LeftButton, pos=QPoint(r.width() - 20, r.height() // 2))
    for x in range(r.width() - 20, r.width() // 3, -10):
        qtbot.mouseMove(gain, QPoint(x, r.height() // 2))
    assert w.song.tracks[1].gain_db == 0.0  # nothing committed while dragging
    qtbot.mouseRelease(gain, Qt.MouseButton.LeftButton, pos=QPoint(r.width() // 3, r.height() // 2))
    db = w.song.tracks[1].gain_db
    assert -60 < db < -1 and db == gain.value()
    assert w.undo_action.text() == "&Undo Change bass"
    pan.setFocus()
    for _ in range(4):
        qtbot.keyClick(pan, Qt.Key.Key_Left)
    assert w.song.tracks[1].pan == pytest.approx(-0.2) and pan.text() == "L20"
    w.undo()
    assert w.song.tracks[1].pan == pytest.approx(-0.15)
    for _ in range(3):
        w.undo()
    assert w.song.tracks[1].pan == 0.0 and w.song.tracks[1].gain_db == db
    w.undo()
    assert w.song.tracks[1].gain_db == 0.0 and w.timeline.headers.headers[1].gain_fader.value() == 0.0
    qtbot.mouseDClick(pan, Qt.MouseButton.LeftButton)  # double-click: back to the centre (no change to make)
    w.redo()
    assert w.timeline.headers.headers[1].gain_fader.text() == f"{db:+.1f} dB"
