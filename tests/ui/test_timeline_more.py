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


# --- multi-selection ------------------------------------------------------------------------------------------
def click(canvas, x, y, mods=Qt.KeyboardModifier.NoModifier, qtbot=None):
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, mods, QPoint(int(x), int(y)))


def clip_point(canvas, section, track):
    r = canvas.section_rect(section)
    return r.center().x(), canvas.lane_top(track) + canvas.lane_h // 2


def test_shift_and_ctrl_click_select_several_sections_and_delete_removes_them_in_one_step(three, qtbot):
    w = three
    tl, c = w.timeline, w.timeline.canvas
    y = c.section_rect(0).center().y()
    click(c, c.section_rect(0).center().x(), y, qtbot=qtbot)
    click(c, c.section_rect(2).center().x(), y, Qt.KeyboardModifier.ShiftModifier, qtbot=qtbot)
    assert tl.selected_section_indices() == [0, 1, 2] and tl.selected_section_index() == 2
    click(c, c.section_rect(1).center().x(), y, Qt.KeyboardModifier.ControlModifier, qtbot=qtbot)
    assert tl.selected_section_indices() == [0, 2]
    ids = [s.id for s in w.song.sections]
    notes = {t.name: list(t.notes) for t in w.song.tracks}
    c.setFocus()
    qtbot.keyClick(c, Qt.Key.Key_Delete)
    assert [s.label for s in w.song.sections] == ["verse"]
    assert {t.name: list(t.notes) for t in w.song.tracks} == notes  # the notes stay (as for one section)
    assert w.undo_action.text() == "&Undo Delete 2 sections"
    w.undo()  # one step brings both back
    assert [s.id for s in w.song.sections] == ids
    tl.select_section(0)  # the single-selection API: one section again
    assert tl.selected_section_indices() == [0]


def test_shift_arrows_extend_and_duplicate_copies_every_selected_section(three, qtbot):
    w = three
    tl, c = w.timeline, w.timeline.canvas
    tl.select_section(0)
    c.setFocus()
    qtbot.keyClick(c, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert tl.selected_section_indices() == [0, 1]
    qtbot.keyClick(c, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(c, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert tl.selected_section_indices() == [0, 1] and tl.selected_section_index() == 1
    bars = w.song.length_bars
    w.actions_by_id["duplicate_section"].trigger()
    assert [s.label for s in w.song.sections] == ["intro", "intro", "verse", "verse", "chorus"]
    assert w.song.length_bars == bars + 4 and w.undo_action.text() == "&Undo Duplicate 2 sections"
    a0, b0 = w.song.section_ticks(w.song.sections[2])
    a1, b1 = w.song.section_ticks(w.song.sections[3])
    piano = w.song.tracks[0]
    assert [(n.start_tick - a1, n.pitch) for n in piano.notes_in(a1, b1)] == \
        [(n.start_tick - a0, n.pitch) for n in piano.notes_in(a0, b0)]
    assert tl.selected_section_indices() == [1, 3]  # the copies
    w.undo()
    assert [s.label for s in w.song.sections] == ["intro", "verse", "chorus"]


def test_ctrl_and_shift_click_select_several_clips(three, qtbot):
    w = three
    tl, c = w.timeline, w.timeline.canvas
    click(c, *clip_point(c, 0, 0), qtbot=qtbot)
    assert tl.selected_clip_indices() == [(0, 0)]
    click(c, *clip_point(c, 1, 1), Qt.KeyboardModifier.ShiftModifier, qtbot=qtbot)
    assert tl.selected_clip_indices() == [(0, 0), (0, 1), (1, 0), (1, 1)]
    click(c, *clip_point(c, 2, 2), Qt.KeyboardModifier.ControlModifier, qtbot=qtbot)
    assert (2, 2) in tl.selected_clip_indices() and len(tl.selected_clip_indices()) == 5
    assert tl.selected_section_indices() == [0, 1, 2]
    assert (tl.selected_section_index(), tl.selected_track_index()) == (2, 2)
    click(c, *clip_point(c, 0, 0), Qt.KeyboardModifier.ControlModifier, qtbot=qtbot)
    assert (0, 0) not in tl.selected_clip_indices()
    c.setFocus()
    qtbot.keyClick(c, Qt.Key.Key_Delete)  # clears the notes of the selected clips, one change
    song = w.song
    for s, t in [(0, 1), (1, 0), (1, 1), (2, 2)]:
        a, b = song.section_ticks(song.sections[s])
        assert song.tracks[t].notes_in(a, b) == []
    a, b = song.section_ticks(song.sections[0])
    assert song.tracks[0].notes_in(a, b)  # the clip taken out of the selection kept its notes
    assert len(song.sections) == 3 and w.undo_action.text() == "&Undo Clear 4 clips"
    click(c, *clip_point(c, 1, 1), qtbot=qtbot)  # a plain click: one clip again
    assert tl.selected_clip_indices() == [(1, 1)]


# --- drag out ----------------------------------------------------------------------------------------------------
@pytest.fixture
def drags(monkeypatch, tmp_path):
    """Drags started by the timeline, recorded instead of entering the platform's drag loop (which would wait for
    a drop); the drag files go to ``tmp_path / "cache"``."""
    from PySide6.QtGui import QDrag

    monkeypatch.setenv("MELODEX_CACHE_DIR", str(tmp_path / "cache"))
    started = []

    def exec_(drag, *a, **k):
        started.append(drag.mimeData())
        return Qt.DropAction.CopyAction

    monkeypatch.setattr(QDrag, "exec", exec_)
    return started


def drag(qtbot, canvas, start, to, mods=Qt.KeyboardModifier.NoModifier):
    v = canvas.viewport()
    qtbot.mousePress(v, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(*map(int, start)))
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    for k in (1, 2):  # qtbot.mouseMove carries no buttons: a real move event with the left button held
        p = QPointF(start[0] + (to[0] - start[0]) * k / 2, start[1] + (to[1] - start[1]) * k / 2)
        ev = QMouseEvent(QMouseEvent.Type.MouseMove, p, v.mapToGlobal(p), Qt.MouseButton.NoButton,
                         Qt.MouseButton.LeftButton, mods)
        QApplication.sendEvent(v, ev)
    qtbot.mouseRelease(v, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(*map(int, to)))


def test_dragging_a_clip_out_hands_over_a_midi_file_of_its_notes(three, qtbot, drags, tmp_path):
    w = three
    c = w.timeline.canvas
    x, y = clip_point(c, 1, 0)
    drag(qtbot, c, (x, y), (x + 40, y + 30))
    assert len(drags) == 1
    urls = drags[0].urls()
    assert len(urls) == 1 and urls[0].isLocalFile()
    path = urls[0].toLocalFile()
    assert path.startswith(str(tmp_path / "cache")) and path.endswith(".mid")
    notes = midi_notes(path)
    assert notes == expected(w.song, 1, {"piano"}) and len(notes) == 6
    assert w.timeline.selected_clip_indices() == [(1, 0)] and not w.session.dirty  # nothing moved
    # Alt asks for the WAV; a clip without rendered audio hands over its MIDI
    drag(qtbot, c, (x, y), (x + 40, y + 30), Qt.KeyboardModifier.AltModifier)
    assert drags[1].urls()[0].toLocalFile().endswith(".mid")


def test_dragging_a_section_by_its_handle_hands_over_every_track(three, qtbot, drags):
    w = three
    c = w.timeline.canvas
    w.timeline.zoom_to_fit()
    r = c.section_rect(2).adjusted(1, 0, -1, 0)
    g = c._grip_rect(r).center()
    assert c.grip_at(g) == 2
    sections = [s.id for s in w.song.sections]
    drag(qtbot, c, (g.x(), g.y()), (g.x() - 60, g.y() + 40))
    assert [s.id for s in w.song.sections] == sections  # a drag from the handle does not move the section
    notes = midi_notes(drags[0].urls()[0].toLocalFile())
    assert notes == expected(w.song, 2) and {n[0] for n in notes} == {"piano", "bass", "drums"}


def test_alt_drag_of_a_rendered_clip_hands_over_its_audio_as_wav(three, qtbot, drags):
    """A clip whose track has a current rendered stem (render takes for every section, the stem in the audio
    cache, as a diffusion render leaves them): Alt+drag gives a WAV of the section's part of that stem."""
    import numpy as np
    import soundfile as sf

    from melodex_studio.engine.proposals import stem_name
    from melodex_studio.engine.render_takes import RENDER_KIND
    from melodex_studio.song.model import Take

    w = three
    song = w.song
    bass = song.tracks[1]
    for sec in song.sections:
        a, b = song.section_ticks(sec)
        song.add_take(Take(sec.id, bass.id, {bass.id: bass.notes_in(a, b)}, params={"kind": RENDER_KIND}),
                      activate=False)
    frames = song.tick_to_sample(song.end_tick)
    t = np.arange(frames) / song.sample_rate
    stem = np.stack([0.25 * np.sin(2 * np.pi * 110 * t), 0.5 * np.sin(2 * np.pi * 220 * t)], axis=1).astype(np.float32)
    w.session.audio[stem_name(song, bass.id)] = stem
    c = w.timeline.canvas
    x, y = clip_point(c, 1, 1)
    drag(qtbot, c, (x, y), (x + 40, y + 30), Qt.KeyboardModifier.AltModifier)
    path = drags[0].urls()[0].toLocalFile()
    assert path.endswith(".wav")
    audio, rate = sf.read(path, dtype="float32")
    s0, s1 = (song.tick_to_sample(t) for t in song.section_ticks(song.sections[1]))
    assert rate == song.sample_rate and audio.shape == (s1 - s0, 2)
    assert np.abs(audio - stem[s0:s1]).max() < 1e-4  # 24-bit
    drag(qtbot, c, (x, y), (x + 40, y + 30))  # without Alt: the MIDI file
    assert drags[1].urls()[0].toLocalFile().endswith(".mid")
    w.session.history.mark_clean()


def test_a_right_click_inside_the_selection_keeps_it_for_the_menu(three, qtbot):
    w = three
    tl, c = w.timeline, w.timeline.canvas
    tl.select_sections([0, 2])
    r = c.section_rect(2)
    qtbot.mouseClick(c.viewport(), Qt.MouseButton.RightButton, pos=QPoint(int(r.center().x()), int(r.center().y())))
    assert tl.selected_section_indices() == [0, 2] and tl.selected_section_index() == 2
    w._last_menu.close()
    w.actions_by_id["delete_section"].trigger()  # the menu's Delete Section: both, one step
    assert [s.label for s in w.song.sections] == ["verse"] and w.undo_action.text() == "&Undo Delete 2 sections"
    from melodex_studio.ui.actions import shortcut_table

    assert [r for r in shortcut_table() if r[2] == "Delete"]  # the cheat sheet names the Delete key


def test_note_tiles_beyond_a_paints_budget_follow_in_the_next_turns(window, qtbot):
    song = Song(title="tiles")
    song.add_section(Section("verse", 0, 8))
    for k in range(6):
        song.add_track(Track(f"t{k}", "chords", k, False,
                             notes=[Note(i * 480, 50 + (i + k) % 20, 240, 90) for i in range(64)]))
    window.set_song(song)
    canvas = window.timeline.canvas
    canvas.set_lane_height(60)
    ids = [t.id for t in window.song.tracks]

    def lanes_with_tiles() -> set:
        return {key[0] for key, image in canvas._images.items() if image is not None}

    canvas._raster_budget = 0.0  # every paint rasterises one lane, the others wait for the next turns
    canvas.invalidate()
    canvas.viewport().repaint()
    drawn = lanes_with_tiles()  # one lane (two where another paint came in between, under load)
    visible = drawn | canvas._deferred  # the lanes in view (all six in a window of the default size)
    assert 1 <= len(drawn) <= 2 < len(visible) and not drawn & canvas._deferred and visible <= set(ids)
    qtbot.waitUntil(lambda: lanes_with_tiles() >= visible, timeout=5000)  # each next paint draws one more lane
    assert not canvas._deferred
    canvas.invalidate()
    canvas.finish_tiles()  # all at once (before a grab)
    assert lanes_with_tiles() >= visible and not canvas._deferred
