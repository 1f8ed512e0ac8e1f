"""The window's building blocks without a window: theme and icons, the note raster, section resize, the
PySide6 reference-count workaround, the timeline's zoom and keyboard selection."""
from __future__ import annotations

import sys

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent

from melodex_studio.song import Chord, Note, Section, Song, Track
from melodex_studio.song.timing import MeterChange, MeterMap, TempoChange, TempoMap


def test_style_sheets_have_every_token_and_icons_render(qapp):
    from melodex_studio.ui.icons import icon, icon_names
    from melodex_studio.ui.theme import THEMES, colors, style_sheet

    for theme in THEMES:
        qss = style_sheet(theme)
        body = qss.split("*/", 1)[1]  # the header comment names the @token syntax
        assert "@" not in body
        assert colors(theme)["window"] in qss
    names = icon_names()
    assert {"play", "stop", "generate", "regenerate", "cancel", "undo", "redo", "app"} <= set(names)
    for name in names:
        ic = icon(name)
        assert not ic.isNull()
        img = ic.pixmap(48, 48).toImage()
        assert img.width() == 48 and any(img.pixelColor(x, y).alpha() > 0 for x in range(0, 48, 3) for y in range(0, 48, 3))


def test_apply_theme_sets_palette_sheet_and_painted_colours(qapp):
    from melodex_studio.ui.theme import Theme, apply_theme, colors

    try:
        apply_theme(qapp, "light")
        assert Theme.name == "light" and qapp.palette().window().color().name() == colors("light")["window"]
        assert Theme.color("lane").name() == colors("light")["lane"] and colors("light")["accent"] in qapp.styleSheet()
    finally:
        apply_theme(qapp, "dark")
    assert Theme.name == "dark" and qapp.palette().window().color().name() == colors("dark")["window"]


def test_void_qt_calls_do_not_use_up_none(qapp):
    import melodex_studio.ui  # noqa: F401 - applies the workaround where this PySide6 needs it
    from PySide6.QtCore import QRectF

    before = sys.getrefcount(None)
    r = QRectF(0, 0, 1, 1)
    for _ in range(200_000):  # without the workaround PySide6 6.12.0 on Python 3.11 aborts here
        r.adjust(0, 0, 0, 0)
    assert sys.getrefcount(None) > 0 and (sys.version_info >= (3, 12) or sys.getrefcount(None) > before - 300_000)


def test_note_raster_puts_each_note_where_its_tick_and_pitch_say(qapp):
    from melodex_studio.ui.note_raster import TrackNotes, lane_image

    song = Song()
    song.add_section(Section("a", 0, 1))
    t = song.add_track(Track("lead"))
    song.add_notes(t.id, [Note(0, 60, 480), Note(960, 72, 480), Note(1800, 60, 960)])  # the last crosses the section end
    tn = TrackNotes.of(song, t)
    assert tn.ends.tolist() == [480, 1440, 1920] and (tn.lo, tn.hi) == (60, 72)
    img = lane_image(tn, 0, 3840, 0.05, 0, 200, 40, QColor("#ff0000"))  # 0.05 px per tick: a quarter = 24 px
    cols = [x for x in range(200) if any(img.pixelColor(x, y).red() == 255 for y in range(40))]
    assert cols[0] == 0 and 23 <= max(c for c in cols if c < 40) <= 24  # first note: ticks 0..480
    assert 48 <= min(c for c in cols if c >= 40) <= 49 and max(cols) <= 96  # cut at the section end (tick 1920)
    high = [y for y in range(40) if img.pixelColor(60, y).red() == 255]
    low = [y for y in range(40) if img.pixelColor(10, y).red() == 255]
    assert high and low and max(high) < min(low)  # the higher pitch is drawn higher


def test_resize_moves_what_follows_and_cuts_what_falls_off():
    from melodex_studio.ui.edits import resize_section_in

    song = Song(tempo_map=TempoMap([TempoChange(0, 100.0), TempoChange(3840, 120.0)]),
                meter_map=MeterMap([MeterChange(0, 4, 4), MeterChange(2, 3, 4)]))
    a, b = song.add_section(Section("a", 0, 2)), song.add_section(Section("b", 2, 2))
    t = song.add_track(Track("p"))
    song.add_notes(t.id, [Note(0, 60, 480), Note(1920, 62, 2400), Note(3840, 64, 480)])
    song.set_chords([Chord(0, 1920, 0), Chord(1920, 1920, 5), Chord(3840, 1440, 7)])
    resize_section_in(song, a.id, 1)
    assert [(s.start_bar, s.length_bars) for s in song.sections] == [(0, 1), (1, 2)]
    assert [(n.start_tick, n.pitch, n.duration_ticks) for n in t.notes] == [(0, 60, 480), (1920, 64, 480)]
    assert [(c.start_tick, c.duration_ticks) for c in song.chords] == [(0, 1920), (1920, 1440)]
    assert [c.bar for c in song.meter_map.changes] == [0, 1] and [c.tick for c in song.tempo_map.changes] == [0, 1920]
    resize_section_in(song, a.id, 3)
    assert [(s.start_bar, s.length_bars) for s in song.sections] == [(0, 3), (3, 2)]
    assert [n.start_tick for n in t.notes] == [0, 1920 * 3] and b.start_bar == 3


def test_timeline_zooms_with_ctrl_wheel_and_selects_with_the_keyboard(qtbot):
    from melodex_studio.engine.session import ProjectSession
    from melodex_studio.ui.timeline import Timeline

    song = Song()
    for i, label in enumerate(["intro", "verse", "chorus"]):
        song.add_section(Section(label, 4 * i, 4))
    for name in ("a", "b"):
        song.add_track(Track(name))
    session = ProjectSession(autosave=False)
    session.new(song)
    tl = Timeline(session)
    qtbot.addWidget(tl)
    tl.resize(900, 400)
    tl.show()
    canvas = tl.canvas
    zoom = canvas.scale.px_per_quarter
    ev = QWheelEvent(QPointF(300, 200), QPointF(300, 200), QPoint(0, 0), QPoint(0, 120), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False)
    canvas.wheelEvent(ev)
    assert canvas.scale.px_per_quarter > zoom * 1.1
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    qtbot.keyClick(canvas, Qt.Key.Key_Down)
    assert tl.selected_section_index() == 1 and tl.selected_track_index() == 0
    tl.select_section(2)
    assert canvas.selected_section == song.sections[2].id
    canvas.repaint()


def test_duplicate_and_insert_sections_move_what_follows():
    from melodex_studio.ui.edits import insert_section_in

    song = Song()
    a, b = song.add_section(Section("verse", 0, 2)), song.add_section(Section("chorus", 2, 1))
    t = song.add_track(Track("p"))
    song.add_notes(t.id, [Note(0, 60, 480), Note(1920, 62, 480), Note(3840, 64, 480)])
    song.set_chords([Chord(0, 3840, 0), Chord(3840, 1920, 7)])
    dup = insert_section_in(song, 1, "verse", 2, copy_of=a.id)
    assert [(s.label, s.start_bar, s.length_bars) for s in song.sections] == [("verse", 0, 2), ("verse", 2, 2),
                                                                              ("chorus", 4, 1)]
    assert [(n.start_tick, n.pitch) for n in t.notes] == [(0, 60), (1920, 62), (3840, 60), (5760, 62), (7680, 64)]
    assert [(c.start_tick, c.root) for c in song.chords] == [(0, 0), (3840, 0), (7680, 7)]
    assert dup.id != a.id and b.start_bar == 4
    insert_section_in(song, 0, "intro", 1)
    assert [(s.label, s.start_bar) for s in song.sections] == [("intro", 0), ("verse", 1), ("verse", 3), ("chorus", 5)]
    assert t.notes[0].start_tick == 1920


def test_ruler_clicks_snap_the_playhead_to_bars_or_beats(qtbot):
    from melodex_studio.engine.session import ProjectSession
    from melodex_studio.ui.timeline import Timeline

    song = Song()
    song.add_section(Section("a", 0, 8))
    session = ProjectSession(autosave=False)
    session.new(song)
    tl = Timeline(session)
    qtbot.addWidget(tl)
    tl.resize(900, 300)
    tl.show()
    c = tl.canvas
    x = int(c.x_of(1920 * 2 + 480 * 1.3))  # bar 3, a little after beat 2
    for snap, want in (("bar", 1920 * 2), ("beat", 1920 * 2 + 480), ("off", None)):
        c.snap = snap
        qtbot.mouseClick(c.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 10))
        if want is not None:
            assert c.playhead_tick == want, snap
        else:
            assert abs(c.playhead_tick - (1920 * 2 + 624)) < 3 * 480 / c.scale.px_per_quarter


def test_about_box_names_version_models_and_device():
    from melodex_studio.engine.session import ProjectSession
    from melodex_studio.ui.dialogs import about_text

    text = about_text(ProjectSession(autosave=False))
    assert "Melodex Studio" in text and "Device:" in text
    assert "structure-small" in text and "sha256" in text


def test_move_a_section_to_the_front_moves_its_notes_chords_and_takes():
    from melodex_studio.song import Take
    from melodex_studio.ui.edits import move_section_in

    song = Song()
    a, b, c = (song.add_section(Section(x, 2 * i, 2)) for i, x in enumerate("abc"))
    t = song.add_track(Track("p"))
    song.add_notes(t.id, [Note(0, 60, 480), Note(3840, 62, 480), Note(7680, 64, 480)])
    song.set_chords([Chord(0, 3840, 0), Chord(3840, 3840, 2), Chord(7680, 3840, 4)])
    take = song.add_take(Take(c.id, None, {t.id: [Note(7680, 64, 480)]}), activate=False)
    move_section_in(song, c.id, 0)
    assert [(s.label, s.start_bar) for s in song.sections] == [("c", 0), ("a", 2), ("b", 4)]
    assert [(n.start_tick, n.pitch) for n in t.notes] == [(0, 64), (3840, 60), (7680, 62)]
    assert [(ch.start_tick, ch.root) for ch in song.chords] == [(0, 4), (3840, 0), (7680, 2)]
    assert [n.start_tick for n in song.take(take.id).notes[t.id]] == [0]
