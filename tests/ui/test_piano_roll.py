"""The piano roll driven like a user in the real window with the tiny models: open a clip by double-click, draw,
move, resize, delete, velocity, quantise, transpose (each one undoable change with the expected notes), drums
with GM names, stale clips after an edit and Render for exactly those."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

from melodex_studio.engine.staleness import stale_clips
from melodex_studio.song import Note
from melodex_studio.ui.drum_names import COMMON_DRUMS, drum_name
from melodex_studio.ui.roll_edits import SNAPS
from tests.ui.conftest import PROMPT

L = Qt.MouseButton.LeftButton
NONE = Qt.KeyboardModifier.NoModifier


def open_by_double_click(w, qtbot, section: int, track: int):
    canvas = w.timeline.canvas
    r = canvas.section_rect(section)
    pos = QPoint(int(r.center().x()), int(canvas.lane_top(track) + canvas.lane_h * 0.75))
    qtbot.mouseDClick(canvas.viewport(), L, pos=pos)
    roll = w.findChild(QWidget, "pianoRoll")
    qtbot.waitUntil(lambda: roll.isVisible() and roll.canvas.viewport().width() > 300)
    qtbot.wait(20)
    return roll


def at(canvas, tick: int, pitch: int, dx: float = 3.0) -> QPoint:
    """Viewport point on (tick, pitch), ``dx`` px right of the tick (scrolls the row into view)."""
    row = canvas.rows.index(pitch)
    y = canvas.y_of(row)
    if y < 0 or y + canvas.row_h > canvas.viewport().height():
        canvas.verticalScrollBar().setValue(int(row * canvas.row_h - canvas.viewport().height() / 2))
    p = canvas.point_of(tick, pitch)
    return QPoint(round(p.x() + dx), round(p.y()))


def drag(qtbot, widget, a: QPoint, b: QPoint, mods=NONE, steps: int = 6) -> None:
    qtbot.mousePress(widget, L, mods, a)
    for k in range(1, steps + 1):
        qtbot.mouseMove(widget, QPoint(a.x() + (b.x() - a.x()) * k // steps, a.y() + (b.y() - a.y()) * k // steps))
    qtbot.mouseRelease(widget, L, mods, b)


def wheel(widget, pos: QPoint, dy: int, mods) -> None:
    event = QWheelEvent(QPointF(pos), QPointF(widget.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, dy),
                        Qt.MouseButton.NoButton, mods, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def clip_notes(w, section: int, track: int) -> list[Note]:
    song = w.song
    a, b = song.section_ticks(song.sections[section])
    return sorted(song.tracks[track].notes_in(a, b))


def free_pitch(w, track: int, lo: int = 40) -> int:
    used = {n.pitch for n in w.song.tracks[track].notes}
    return next(p for p in range(lo, 100) if p not in used)


def test_double_click_opens_the_clip_and_each_edit_is_one_undoable_change(generated, qtbot):
    w = generated
    heard = []
    w.audition_note = lambda *a: heard.append(a)  # the playback engine's call, when the window has it
    roll = open_by_double_click(w, qtbot, 1, 0)
    c, song, vp = roll.canvas, w.song, roll.canvas.viewport()
    a, _ = song.section_ticks(song.sections[1])
    track = song.tracks[0]
    assert w.piano_roll_dock.isVisible() and roll.section_id == song.sections[1].id and roll.track_id == track.id
    assert c.notes == clip_notes(w, 1, 0) and c.notes and not c.is_drum
    assert roll.title.property("full").startswith(f"{track.name} · ") and "chorus" in roll.title.property("full")
    assert SNAPS[roll.snap.currentIndex()] == "1/16"
    ppq, pitch = song.ppq, free_pitch(w, 0)
    history = w.session.history
    T = lambda: w.song.tracks[0].notes

    # draw: a click adds a 1/16 note (the snap step) at the grid line left of the click, and plays it
    qtbot.mouseClick(vp, L, NONE, at(c, a + ppq, pitch, dx=5))
    drawn = Note(a + ppq, pitch, ppq // 4, 100)
    assert drawn in T() and heard[-1] == (track.program, pitch, 100, False)
    assert w.undo_action.text() == "&Undo Add note" and c.selected == {drawn}
    w.undo_action.trigger()
    assert drawn not in T() and c.notes == clip_notes(w, 1, 0)
    w.redo_action.trigger()
    assert drawn in T() and drawn in c.notes

    # move: two rows up and one beat later, many mouse moves = one change
    before = history.index
    drag(qtbot, vp, at(c, a + ppq, pitch, dx=4), at(c, a + 2 * ppq, pitch + 2, dx=4))
    moved = Note(a + 2 * ppq, pitch + 2, ppq // 4, 100)
    assert history.index == before + 1 and w.undo_action.text() == "&Undo Move note"
    assert moved in T() and drawn not in T()
    w.undo_action.trigger()
    assert drawn in T() and moved not in T() and drawn in c.notes
    w.redo_action.trigger()
    assert moved in c.notes

    # resize: drag the right edge to the next beat
    r = c.note_rect(moved)
    edge = QPoint(int(r.right()) - 2, int(r.center().y()))
    drag(qtbot, vp, edge, QPoint(round(c.x_of(a + 3 * ppq)), edge.y()))
    longer = Note(a + 2 * ppq, pitch + 2, ppq, 100)
    assert longer in T() and moved not in T() and w.undo_action.text() == "&Undo Resize note"
    w.undo_action.trigger()
    assert moved in T()
    w.redo_action.trigger()

    # velocity: drag its bar in the velocity lane
    lane = c.velocity_lane
    qtbot.mouseClick(vp, L, NONE, at(c, longer.start_tick, longer.pitch, dx=8))  # select it (a chord shares its bar)
    assert c.selected == {longer}
    x = c.keys_w + round(c.x_of(longer.start_tick))
    drag(qtbot, lane, QPoint(x, 20), QPoint(x, 50))
    v = c.velocity_of_y(50)
    assert 1 <= v < 100 and Note(longer.start_tick, longer.pitch, ppq, v) in T()
    assert w.undo_action.text() == "&Undo Change velocity"
    w.undo_action.trigger()
    assert longer in T()
    w.redo_action.trigger()
    soft = Note(longer.start_tick, longer.pitch, ppq, v)

    # transpose: Up a semitone, Shift+Up an octave, each one change
    c.selected = {soft}
    qtbot.keyClick(c, Qt.Key.Key_Up)
    assert Note(soft.start_tick, soft.pitch + 1, ppq, v) in T() and soft not in T()
    qtbot.keyClick(c, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)
    up = Note(soft.start_tick, soft.pitch + 13, ppq, v)
    assert up in T() and w.undo_action.text() == "&Undo Transpose up an octave"
    w.undo_action.trigger()
    w.undo_action.trigger()
    assert soft in T() and up not in T()

    # Left/Right: a snap step (1/16) later, Shift: a bar earlier (kept inside the section)
    c.selected = {soft}
    qtbot.keyClick(c, Qt.Key.Key_Right)
    later = Note(soft.start_tick + ppq // 4, soft.pitch, ppq, v)
    assert later in T() and soft not in T() and w.undo_action.text() == "&Undo Move note"
    qtbot.keyClick(c, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert Note(max(a, later.start_tick - song.bar_to_tick(1)), soft.pitch, ppq, v) in T()
    w.undo_action.trigger()
    w.undo_action.trigger()
    assert soft in T()

    # delete: Del removes the selection; undo brings it back
    c.selected = {soft}
    qtbot.keyClick(c, Qt.Key.Key_Delete)
    assert soft not in T() and soft not in c.notes
    w.undo_action.trigger()
    assert soft in T() and soft in c.notes


def test_quantise_duplicate_select_all_and_rubber_band(generated, qtbot):
    w = generated
    roll = open_by_double_click(w, qtbot, 0, 0)
    c, song, vp = roll.canvas, w.song, roll.canvas.viewport()
    ppq = song.ppq
    a, _ = song.section_ticks(song.sections[0])
    pitch = free_pitch(w, 0)
    T = lambda: w.song.tracks[0].notes
    roll.snap.setCurrentIndex(SNAPS.index("off"))
    qtbot.mouseClick(vp, L, NONE, at(c, a + ppq + 50, pitch, dx=0))
    off = next(n for n in T() if n.pitch == pitch)
    assert off.start_tick != a + ppq and abs(off.start_tick - (a + ppq + 50)) <= 3  # no snap: where it was clicked
    roll.snap.setCurrentIndex(SNAPS.index("beat"))
    roll.lengths_check.setChecked(True)
    c.selected = {off}
    qtbot.keyClick(c, Qt.Key.Key_Q)
    q = Note(a + ppq, pitch, ppq, off.velocity)  # the start on the beat, the length one beat
    assert q in T() and off not in T() and w.undo_action.text() == "&Undo Quantise notes"
    w.undo_action.trigger()
    assert off in T()
    w.redo_action.trigger()

    # Ctrl+D (here it duplicates the notes, not the section): a copy one beat later
    c.selected = {q}
    n_sections = len(song.sections)
    qtbot.keyClick(c, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert Note(a + 2 * ppq, pitch, ppq, q.velocity) in T() and q in T()
    assert len(song.sections) == n_sections and w.undo_action.text() == "&Undo Duplicate notes"

    # Alt-drag copies
    start = at(c, a + ppq, pitch, dx=6)
    drag(qtbot, vp, start, at(c, a + 3 * ppq, pitch, dx=6), Qt.KeyboardModifier.AltModifier)
    assert Note(a + 3 * ppq, pitch, ppq, q.velocity) in T() and q in T()
    assert w.undo_action.text() == "&Undo Copy note"

    # rubber band in the Select tool, then Ctrl+A and Delete: the clip is empty, in one change
    qtbot.mouseClick(roll.select_button, L)
    assert c.tool == "select"
    drag(qtbot, vp, at(c, a + ppq, pitch + 1, dx=-8) - QPoint(0, c.row_h), at(c, a + 3 * ppq, pitch, dx=30))
    assert {(n.start_tick, n.pitch) for n in c.selected} == {(a + ppq, pitch), (a + 2 * ppq, pitch),
                                                              (a + 3 * ppq, pitch)}
    qtbot.keyClick(c, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert c.selected == set(clip_notes(w, 0, 0))
    index = w.session.history.index
    qtbot.keyClick(c, Qt.Key.Key_Delete)
    assert clip_notes(w, 0, 0) == [] and w.session.history.index == index + 1
    assert clip_notes(w, 1, 0)  # the other section keeps its notes
    w.undo_action.trigger()
    assert len(clip_notes(w, 0, 0)) == len(c.notes) > 3


def test_zoom_keeps_the_note_under_the_pointer_and_paints_only_what_is_in_view(generated, qtbot):
    w = generated
    roll = open_by_double_click(w, qtbot, 0, 0)
    c = roll.canvas
    ppq0, row0 = c.px_per_quarter, c.row_h
    tick = c.tick_at(200)
    wheel(c.viewport(), QPoint(200, 60), 120, Qt.KeyboardModifier.ControlModifier)  # Ctrl+wheel: time
    assert abs(c.px_per_quarter - 1.15 * ppq0) < 1e-6 and abs(c.tick_at(200) - tick) <= 480 / c.px_per_quarter  # 1 px
    wheel(c.viewport(), QPoint(200, 60), 240, Qt.KeyboardModifier.ShiftModifier)  # Shift+wheel: keys
    assert c.row_h > row0
    v = c.verticalScrollBar().value()
    wheel(c.viewport(), QPoint(200, 60), -120, NONE)  # the wheel scrolls
    assert c.verticalScrollBar().value() > v
    i, j = c.visible_range()
    assert 0 <= i <= j <= len(c.notes)
    assert all(c.x_of(n.start_tick) <= c.viewport().width() for n in c.notes[i:j])
    assert roll.canvas.grab().width() > 0  # paints at the new zoom


def test_drums_show_gm_names_and_hits_have_a_fixed_length(generated, qtbot):
    w = generated
    song = w.song
    d = next(i for i, t in enumerate(song.tracks) if t.is_drum)
    roll = open_by_double_click(w, qtbot, 0, d)
    c, track = roll.canvas, song.tracks[d]
    assert c.is_drum and "drum kit" in roll.title.property("full")
    used = {n.pitch for n in c.notes}
    assert used <= set(c.rows) and set(COMMON_DRUMS) <= set(c.rows) and c.rows == sorted(c.rows, reverse=True)
    labels = [c.row_label(r) for r in range(len(c.rows))]
    assert "Acoustic Snare" in labels and "Closed Hi-Hat" in labels and "Bass Drum 1" in labels
    assert labels == [drum_name(p) for p in c.rows]
    a, _ = song.section_ticks(song.sections[0])
    pitch = next(p for p in c.rows if not any(n.pitch == p and n.start_tick == a + 960 for n in track.notes))
    drag(qtbot, c.viewport(), at(c, a + 960, pitch, dx=3), at(c, a + 2400, pitch, dx=3))  # a long drag
    assert Note(a + 960, pitch, song.ppq // 4, 100) in track.notes  # still a hit (a 1/16)
    assert drum_name(pitch) in labels


def diffusion_song(w, qtbot):
    w.prompt_panel.set_prompt(PROMPT.replace("verse 2, chorus 2", "verse 1, chorus 1").replace(", bass", ""))
    w.prompt_panel.seed.setText("5")
    w.prompt_panel.seed_lock.setChecked(True)
    w.findChild(type(w.prompt_panel.renderer), "rendererChoice").setCurrentIndex(1)
    w.prompt_panel.steps.setValue(2)
    w.generate()
    assert w.wait_for_jobs(120)


def test_an_edit_makes_only_its_clip_stale_and_render_renders_only_that_clip(window, qtbot):
    w = window
    diffusion_song(w, qtbot)
    song = w.song
    assert stale_clips(song) == set() and any(t.params.get("kind") == "diffusion_render" for t in song.takes)
    roll = open_by_double_click(w, qtbot, 1, 0)
    c, track = roll.canvas, song.tracks[0]
    button = w.findChild(QWidget, "renderStaleButton")
    assert not button.isEnabled() and roll.stale_label.text() == ""
    a, _ = song.section_ticks(song.sections[1])
    pitch = free_pitch(w, 0)
    qtbot.mouseClick(c.viewport(), L, NONE, at(c, a, pitch))
    clip = (song.sections[1].id, track.id)
    assert stale_clips(song) == {clip}
    assert "this clip" in roll.stale_label.text() and button.isEnabled() and button.text() == "Render 1 stale clip"
    w.prompt_panel.renderer.setCurrentIndex(0)  # the SoundFont preview follows edits by itself
    assert not button.isEnabled() and "follows" in button.text()
    w.prompt_panel.renderer.setCurrentIndex(1)
    takes_before = {t.id for t in song.takes}
    qtbot.mouseClick(button, L)
    assert w.wait_for_jobs(120)
    new = [t for t in song.takes if t.id not in takes_before]
    assert [(t.section_id, t.track_id) for t in new] == [clip]
    rendered = new[0].notes[track.id]
    assert rendered == clip_notes(w, 1, 0) and Note(a, pitch, song.ppq // 4, 100) in rendered
    assert stale_clips(song) == set() and not button.isEnabled() and roll.stale_label.text() == ""
    w.undo_action.trigger()  # the render is one change: undo makes the clip stale again
    assert stale_clips(song) == {clip}


def test_open_piano_roll_from_code_and_an_empty_roll(window, generated, qtbot):
    w = generated
    w.open_piano_roll(0, 1)
    roll = w.piano_roll
    assert roll.track_id == w.song.tracks[1].id and roll.canvas.notes == clip_notes(w, 0, 1)
    w.timeline.select_section(1)
    w.timeline.select_track(2)
    w.actions_by_id["piano_roll"].trigger()  # View > Piano Roll: the selected clip
    assert (roll.section_id, roll.track_id) == (w.song.sections[1].id, w.song.tracks[2].id)
    w.new_project()
    assert roll.section_id is None and roll.canvas.notes == [] and "double-click" in roll.title.property("full")
    assert roll.canvas.grab().width() > 0
    qtbot.mouseClick(roll.canvas.viewport(), L, NONE, QPoint(50, 50))  # nothing to edit: nothing happens
    assert not w.session.history.can_undo() or w.undo_action.text() != "&Undo Add note"
