"""The studio window driven like a user, with the tiny real models (issue 14's "Done when" list)."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox

from tests.ui.conftest import PROMPT


def section_notes(song, index):
    """{track name: notes starting inside section ``index``}."""
    a, b = song.section_ticks(song.sections[index])
    return {t.name: t.notes_in(a, b) for t in song.tracks}


def test_typing_a_prompt_shows_the_parsed_plan(window, qtbot):
    panel = window.prompt_panel
    qtbot.keyClicks(panel.prompt_edit, "jazz waltz, 96 bpm, Bb major, intro 4, verse 8")
    panel.parse_now()
    assert window.findChild(type(panel.tempo), "planTempo").value() == 96.0
    assert window.findChild(type(panel.key), "planKey").currentText() == "Bb major"
    assert window.findChild(type(panel.meter), "planMeter").currentText() == "3/4"
    form = window.findChild(type(panel.form), "planForm")
    assert [(form.item(r, 0).text(), form.item(r, 1).text()) for r in range(form.rowCount())] == [("intro", "4"),
                                                                                                  ("verse", "8")]
    assert panel._labels["tempo_bpm"].property("stated") == "true"
    assert panel.prompt_text() == "jazz waltz, 96 bpm, Bb major, intro 4, verse 8"  # the text stays as typed


def test_editing_a_plan_field_changes_what_generate_uses(window):
    panel = window.prompt_panel
    panel.set_prompt("pop, verse 2, chorus 2")
    assert panel._labels["tempo_bpm"].property("stated") == "false"
    panel.tempo.setValue(140)
    panel.form.item(1, 1).setText("3")
    plan = panel.plan()
    assert plan.tempo_bpm == 140 and "tempo_bpm" in plan.stated
    assert [(s.label, s.bars) for s in plan.form] == [("verse", 2), ("chorus", 3)]
    assert panel.prompt_text() == "pop, verse 2, chorus 2"


def test_generate_fills_the_timeline_with_the_plans_sections_and_tracks(generated):
    w = generated
    song = w.song
    assert [(s.label, s.length_bars) for s in song.sections] == [("verse", 2), ("chorus", 2)]
    assert song.tempo_map.changes[0].bpm == 120 and song.key.name == "C major"
    names = [t.name for t in song.tracks]
    assert {"piano", "drums"} <= set(names) and all(t.notes for t in song.tracks)
    assert [h.name_label.text() for h in w.timeline.headers.headers] == names
    assert w.windowTitle().startswith("Untitled *")
    assert w.undo_action.text().startswith("&Undo Generate")
    assert not w.busy and not w.actions_by_id["cancel"].isEnabled()
    assert "done" in w.statusBar().currentMessage()


def test_regenerate_section_changes_only_that_section_and_undo_redo_it(generated, qtbot):
    w = generated
    before = [section_notes(w.song, i) for i in range(2)]
    w.timeline.select_section(1)
    assert w.prompt_panel.regen_section_button.isEnabled()
    qtbot.mouseClick(w.prompt_panel.regen_section_button, Qt.MouseButton.LeftButton)
    assert w.wait_for_jobs(60)
    after = [section_notes(w.song, i) for i in range(2)]
    assert after[0] == before[0]
    assert after[1] != before[1]
    assert w.undo_action.text() == "&Undo Regenerate chorus"
    assert len(w.session.takes(section=1)) == 1
    w.undo_action.trigger()
    assert [section_notes(w.song, i) for i in range(2)] == before
    w.redo_action.trigger()
    assert [section_notes(w.song, i) for i in range(2)] == after


def test_regenerate_track_changes_one_clip(generated, qtbot):
    w = generated
    before = section_notes(w.song, 0)
    w.timeline.select_section(0)
    w.timeline.select_track(0)
    name = w.song.tracks[0].name
    qtbot.mouseClick(w.prompt_panel.regen_track_button, Qt.MouseButton.LeftButton)
    assert w.wait_for_jobs(60)
    after = section_notes(w.song, 0)
    assert {k for k in before if before[k] != after[k]} <= {name}


def test_rename_a_section_by_double_click(generated, qtbot):
    w = generated
    canvas = w.timeline.canvas
    r = canvas.section_rect(0)
    qtbot.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(int(r.center().x()), int(r.center().y())))
    editor = w.findChild(type(w.prompt_panel.seed), "sectionRenameEdit")
    assert editor is not None and editor.text() == "verse"
    editor.selectAll()
    qtbot.keyClicks(editor, "Verse A")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert w.song.sections[0].label == "Verse A"
    assert w.undo_action.text() == "&Undo Rename verse to Verse A"
    w.undo_action.trigger()
    assert w.song.sections[0].label == "verse"


def test_resize_a_section_by_dragging_its_edge_moves_what_follows(generated, qtbot):
    w = generated
    song = w.song
    chorus_notes = section_notes(song, 1)
    canvas = w.timeline.canvas
    r = canvas.section_rect(0)
    y = int(r.center().y())
    edge = QPoint(int(r.right()), y)
    target = QPoint(int(canvas.x_of(song.bar_to_tick(3))), y)
    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, pos=edge)
    qtbot.mouseMove(canvas.viewport(), target)
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, pos=target)
    assert [(s.label, s.start_bar, s.length_bars) for s in song.sections] == [("verse", 0, 3), ("chorus", 3, 2)]
    assert section_notes(song, 1) == {k: [n.__class__(n.start_tick + song.bar_to_tick(1), n.pitch, n.duration_ticks,
                                                      n.velocity) for n in v] for k, v in chorus_notes.items()}
    assert w.undo_action.text() == "&Undo Resize verse to 3 bars"
    w.undo_action.trigger()
    assert [(s.start_bar, s.length_bars) for s in song.sections] == [(0, 2), (2, 2)]
    assert section_notes(song, 1) == chorus_notes


def test_mute_and_solo_buttons_change_the_track_through_the_session(generated, qtbot):
    w = generated
    header = w.timeline.headers.headers[0]
    qtbot.mouseClick(header.mute_button, Qt.MouseButton.LeftButton)
    assert w.song.tracks[0].mute is True
    assert w.undo_action.text() == f"&Undo Change {w.song.tracks[0].name}"
    qtbot.mouseClick(w.timeline.headers.headers[1].solo_button, Qt.MouseButton.LeftButton)
    assert w.song.tracks[1].solo is True
    w.undo_action.trigger()
    w.undo_action.trigger()
    assert not w.song.tracks[0].mute and not w.song.tracks[1].solo
    assert not w.timeline.headers.headers[0].mute_button.isChecked()


def test_cancel_a_running_job_leaves_the_document_unchanged(generated, qtbot):
    from tests.engine.session_helpers import snapshot

    w = generated
    before, undo_text = snapshot(w.session), w.undo_action.text()
    w.prompt_panel.set_prompt(PROMPT.replace("verse 2, chorus 2", "intro 8, verse 16, chorus 16, verse 16, chorus 16"))
    job = w.generate()
    assert w.busy and w.actions_by_id["cancel"].isEnabled() and not w.prompt_panel.generate_button.isEnabled()
    qtbot.mouseClick(w.prompt_panel.cancel_button, Qt.MouseButton.LeftButton)
    assert w.wait_for_jobs(60)
    assert job.status == "cancelled"
    assert snapshot(w.session) == before and w.undo_action.text() == undo_text
    assert "cancelled" in w.statusBar().currentMessage()
    assert w.prompt_panel.generate_button.isEnabled()


def test_the_window_stays_usable_while_a_job_runs(generated, qtbot):
    w = generated
    w.prompt_panel.set_prompt(PROMPT.replace("verse 2, chorus 2", "verse 6, chorus 6"))
    w.generate()
    w.timeline.select_section(1)  # selecting and zooming work during the job
    w.timeline.zoom_in()
    assert w.timeline.selected_section_index() == 1
    assert w.regenerate_section() is None  # a second job is refused without an error: the action is disabled
    assert w.wait_for_jobs(60)
    assert [s.length_bars for s in w.song.sections] == [6, 6]


def test_save_close_and_reopen_brings_everything_back(generated, qtbot, tmp_path, tiny_models):
    from tests.engine.session_helpers import make_session, snapshot

    from melodex_studio.ui.main_window import MainWindow

    w = generated
    w.timeline.select_section(0)
    w.regenerate_section()
    assert w.wait_for_jobs(60)
    path = tmp_path / "song.melodex"
    assert w.save_to(path)
    assert w.windowTitle().startswith("song.melodex — ")
    saved = snapshot(w.session)
    takes = [t.id for t in w.song.takes]
    w.close()
    w2 = MainWindow(session=make_session(tiny_models))
    qtbot.addWidget(w2)
    assert w2.open_project(path)
    assert snapshot(w2.session) == saved and [t.id for t in w2.song.takes] == takes
    assert [h.name_label.text() for h in w2.timeline.headers.headers] == [t.name for t in w2.song.tracks]
    assert w2.prompt_panel.prompt_text() == PROMPT
    w2.close()


def test_a_corrupt_project_gives_an_error_dialog_and_changes_nothing(generated, dialogs, tmp_path):
    from tests.engine.session_helpers import snapshot

    w = generated
    bad = tmp_path / "broken.melodex"
    bad.write_bytes(b"PK\x03\x04 this is not a project")
    before, title = snapshot(w.session), w.windowTitle()
    dialogs.answer = QMessageBox.StandardButton.Discard
    assert not w.open_project(bad)
    boxes = [d for d in dialogs if d[0] == "box"]
    assert boxes and boxes[-1][1] == "Cannot open the project" and "broken.melodex" in boxes[-1][2]
    assert "Traceback" not in boxes[-1][2]
    assert snapshot(w.session) == before and w.windowTitle() == title and w.session.path is None
    assert bad.read_bytes() == b"PK\x03\x04 this is not a project"


def test_opening_a_project_offers_its_newer_autosave(generated, dialogs, tmp_path, tiny_models, qtbot):
    import os

    from tests.engine.session_helpers import make_session

    from melodex_studio.engine.autosave import autosave_path
    from melodex_studio.io.project import save_project
    from melodex_studio.ui.main_window import MainWindow

    w = generated
    path = tmp_path / "crashed.melodex"
    assert w.save_to(path)
    w.close()
    unsaved = w.song.copy()
    unsaved.sections[0].label = "recovered verse"
    auto = autosave_path(path, "")
    auto.parent.mkdir(parents=True, exist_ok=True)
    save_project(auto, unsaved, dict(w.session.tensors))
    st = path.stat()
    os.utime(auto, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    w2 = MainWindow(session=make_session(tiny_models))
    qtbot.addWidget(w2)
    dialogs.answer = QMessageBox.StandardButton.Yes
    assert w2.open_project(path)
    assert any(d[1] == "Recover unsaved work?" for d in dialogs)
    assert w2.song.sections[0].label == "recovered verse" and w2.session.dirty
    w2.undo_action.trigger()
    assert w2.song.sections[0].label == "verse"
    w2.session.history.mark_clean()
    w2.close()


def test_closing_with_unsaved_changes_asks_and_cancel_keeps_the_window(generated, dialogs):
    w = generated
    dialogs.answer = QMessageBox.StandardButton.Cancel
    assert not w.close()
    assert any(d[1] == "Unsaved changes" for d in dialogs) and w.isVisible()
    dialogs.answer = QMessageBox.StandardButton.Discard
    w.new_project()
    assert w.song.sections == [] and not w.session.dirty


def test_a_failing_job_shows_its_message_not_a_traceback(window, dialogs, monkeypatch):
    from melodex_studio.errors import ModelError

    def broken(*a, **k):
        raise ModelError("the structure model file is damaged")

    monkeypatch.setattr("melodex_studio.engine.operations.generate", broken)
    window.prompt_panel.set_prompt(PROMPT)
    window.generate()
    assert window.wait_for_jobs(30)
    boxes = [d for d in dialogs if d[0] == "box"]
    assert boxes[-1][1] == "Generate failed" and "damaged" in boxes[-1][2] and "About" in boxes[-1][2]
    assert window.song.sections == []


def test_import_midi_and_drop_a_file_on_the_window(window, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    from melodex_studio.io.midi import export_midi
    from melodex_studio.song import Note, Section, Song, Track

    song = Song(title="Riff")
    song.add_section(Section("A", 0, 2))
    t = song.add_track(Track("Bass", role="bass", program=33))
    song.add_notes(t.id, [Note(0, 40, 480), Note(960, 43, 480)])
    path = tmp_path / "riff.mid"
    export_midi(song, path)
    assert window.import_midi(path)
    assert [tr.name for tr in window.song.tracks] == ["Bass"] and len(window.song.tracks[0].notes) == 2
    assert window.timeline.headers.headers[0].name_label.text() == "Bass"
    window.new_project()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert [tr.name for tr in window.song.tracks] == ["Bass"]


def test_dock_layout_and_theme_are_kept_in_settings(window, qtbot, tiny_models, monkeypatch):
    from PySide6.QtCore import QSettings

    from tests.engine.session_helpers import make_session

    import melodex_studio.ui.main_window as mw
    from melodex_studio.ui.main_window import MainWindow

    applied = []  # restyling every widget the test session made is slow; the theme itself is tested in test_views
    monkeypatch.setattr(mw, "apply_theme", lambda app, theme: applied.append(theme))
    window.history_dock.hide()
    window.close()
    assert QSettings().value("window/state") is not None
    w2 = MainWindow(session=make_session(tiny_models))
    qtbot.addWidget(w2)
    w2.show()
    assert w2.history_dock.isHidden() and not w2.prompt_dock.isHidden()
    w2.history_dock.show()
    w2.actions_by_id["light_theme"].setChecked(True)
    assert applied == ["light"] and QSettings().value("theme") == "light"
    w2.actions_by_id["light_theme"].setChecked(False)
    assert applied == ["light", "dark"] and QSettings().value("theme") == "dark"
    w2.close()


def test_every_named_widget_is_there_with_a_tooltip(window):
    from PySide6.QtWidgets import QWidget

    for name in ("promptEdit", "generateButton", "regenerateSectionButton", "regenerateTrackButton", "cancelButton",
                 "planTempo", "planKey", "planMeter", "planForm", "seedEdit", "rendererChoice", "timeline",
                 "inspector", "waveformView", "transportBar"):
        widget = window.findChild(QWidget, name)
        assert widget is not None, name
        if name not in ("timeline", "inspector", "transportBar"):
            assert widget.toolTip(), name
    for action in window.actions_by_id.values():
        assert action.toolTip()


def test_duplicate_and_insert_from_the_section_menu_are_undoable(generated, qtbot):
    w = generated
    verse = section_notes(w.song, 0)
    w.timeline.select_section(0)
    w.actions_by_id["duplicate_section"].trigger()
    assert [(s.label, s.start_bar) for s in w.song.sections] == [("verse", 0), ("verse", 2), ("chorus", 4)]
    shifted = {k: [n.start_tick - w.song.bar_to_tick(2) for n in v] for k, v in section_notes(w.song, 1).items()}
    assert shifted == {k: [n.start_tick for n in v] for k, v in verse.items()}
    assert w.timeline.selected_section_index() == 1 and w.undo_action.text() == "&Undo Duplicate verse"
    w.actions_by_id["insert_section"].trigger()
    editor = w.findChild(type(w.prompt_panel.seed), "sectionRenameEdit")
    editor.setText("break")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert [s.label for s in w.song.sections] == ["verse", "verse", "break", "chorus"]
    for _ in range(3):
        w.undo_action.trigger()
    assert [(s.label, s.start_bar) for s in w.song.sections] == [("verse", 0), ("chorus", 2)]
    assert section_notes(w.song, 0) == verse


def test_export_midi_and_a_section_as_wav_without_changing_the_project(generated, tmp_path):
    import soundfile as sf

    from tests.engine.session_helpers import snapshot

    from melodex_studio.io.midi import import_midi

    w = generated
    before, undo_text = snapshot(w.session), w.undo_action.text()
    w.export_to(tmp_path / "song.mid", midi=True)
    assert w.wait_for_jobs(60)
    back = import_midi(tmp_path / "song.mid")
    assert sum(len(t.notes) for t in back.tracks) == sum(len(t.notes) for t in w.song.tracks)
    w.export_to(tmp_path / "chorus.wav", section_index=1)
    assert w.wait_for_jobs(60)
    info = sf.info(str(tmp_path / "chorus.wav"))
    from melodex_studio.render.soundfont import DEFAULT_TAIL_SECONDS

    assert 3.9 < info.duration <= 4.0 + DEFAULT_TAIL_SECONDS  # two bars at 120 BPM (4 s) and the release tail
    assert snapshot(w.session) == before and w.undo_action.text() == undo_text
    assert "Exported" in w.statusBar().currentMessage()


def test_start_up_offers_an_untitled_autosave_left_by_an_earlier_run(window, dialogs):
    from melodex_studio.engine.autosave import autosave_path
    from melodex_studio.io.project import save_project
    from melodex_studio.song import Section, Song

    left = Song(title="Lost work")
    left.add_section(Section("hook", 0, 4))
    path = autosave_path(None, "earlierrun01")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_project(path, left, {})
    dialogs.answer = QMessageBox.StandardButton.Yes
    assert window.offer_untitled_recovery()
    assert [s.label for s in window.song.sections] == ["hook"] and window.session.dirty
    assert not path.exists()


def test_shortcut_sheet_lists_the_actions(window):
    from melodex_studio.ui.dialogs import show_shortcuts

    dlg = show_shortcuts(window)
    table = dlg.findChild(type(window.prompt_panel.form))
    rows = [(table.item(r, 1).text(), table.item(r, 2).text()) for r in range(table.rowCount())]
    assert ("Generate", "Ctrl+Return") in rows and ("Undo", "Ctrl+Z") in rows and len(rows) > 20
    dlg.close()


def test_render_with_the_diffusion_renderer_then_vary_a_section(window, qtbot):
    w = window
    w.prompt_panel.set_prompt(PROMPT.replace("verse 2, chorus 2", "verse 1, chorus 1").replace(", bass", ""))
    w.findChild(type(w.prompt_panel.renderer), "rendererChoice").setCurrentIndex(1)
    w.prompt_panel.steps.setValue(2)
    assert not w.actions_by_id["vary_section"].isEnabled()
    w.generate()
    assert w.wait_for_jobs(120)
    assert w.session.audio  # stems of the diffusion render
    w.timeline.select_section(0)
    assert w.actions_by_id["vary_section"].isEnabled()
    w.prompt_panel.vary_step.setValue(1)
    before = len(w.session.takes(section=0))
    w.actions_by_id["vary_section"].trigger()
    assert w.wait_for_jobs(120)
    assert w.undo_action.text() == "&Undo Vary verse from step 1"
    assert len(w.session.takes(section=0)) > before
    w.undo_action.trigger()
    assert len(w.session.takes(section=0)) == before


def test_drag_a_section_after_the_next_one_moves_its_notes(generated, qtbot):
    w = generated
    song = w.song
    verse, chorus = section_notes(song, 0), section_notes(song, 1)
    canvas = w.timeline.canvas
    r0, r1 = canvas.section_rect(0), canvas.section_rect(1)
    y = int(r0.center().y())
    start, end = QPoint(int(r0.center().x()), y), QPoint(int(r1.right()) - 2, y)
    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas.viewport(), QPoint(start.x() + 20, y))
    qtbot.mouseMove(canvas.viewport(), end)
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, pos=end)
    assert [(s.label, s.start_bar) for s in song.sections] == [("chorus", 0), ("verse", 2)]
    two_bars = song.bar_to_tick(2)
    assert {k: [n.start_tick for n in v] for k, v in section_notes(song, 0).items()} == \
        {k: [n.start_tick - two_bars for n in v] for k, v in chorus.items()}
    assert {k: [n.start_tick for n in v] for k, v in section_notes(song, 1).items()} == \
        {k: [n.start_tick + two_bars for n in v] for k, v in verse.items()}
    assert w.undo_action.text() == "&Undo Move verse" and w.timeline.selected_section_index() == 1
    w.undo_action.trigger()
    assert [s.label for s in song.sections] == ["verse", "chorus"] and section_notes(song, 0) == verse
