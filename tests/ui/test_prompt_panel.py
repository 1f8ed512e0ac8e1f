"""The prompt panel's instruments table and the selected section's overrides, on the real window with the tiny
models: what the table says is what Generate writes; what a section's overrides say is what Regenerate Section
follows, stored in the song (undoable, saved)."""
from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication, QTableWidget

from tests.ui.conftest import PROMPT


def rows(table):
    return [(table.cell_text(r, 0), table.cell_text(r, 2), table.is_stated(r)) for r in range(table.table.rowCount())]


def choose(qtbot, table, row, column, index):
    """Open the cell's chooser as a click does and pick entry ``index`` of its list."""
    from PySide6.QtWidgets import QComboBox

    table.table.setCurrentCell(row, column)
    table.table.editItem(table.table.item(row, column))
    name = ("instrumentName", "instrumentProgram", "instrumentRole")[column]
    combo = table.table.findChildren(QComboBox, name)[-1]  # the editor over the cell
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    QApplication.processEvents()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)  # the closed editor goes


def test_instruments_table_edits_what_generate_writes(window, qtbot):
    panel = window.prompt_panel
    panel.set_prompt(PROMPT)
    table = panel.instruments
    assert window.findChild(QTableWidget, "planInstruments") is table.table
    # named / suggested: a stated list gets the genre's lead for the part it lacks, no pad (issue 17)
    assert rows(table) == [("piano", "chords", True), ("electric bass", "bass", True), ("drums", "drums", True),
                           ("synth lead", "melody", False)]
    assert table.cell_text(1, 1) == "34"  # GM numbers count from 1 (program 33: Electric Bass (finger))
    choose(qtbot, table, 1, 1, 38)  # Synth Bass 1 for the bass
    assert table.cell_text(1, 1) == "39" and "Synth Bass 1" in table.table.item(1, 1).toolTip()
    from melodex_studio.prompt.vocabulary import INSTRUMENTS

    choose(qtbot, table, 3, 0, sorted(INSTRUMENTS).index("flute"))  # the suggested lead becomes a flute
    assert rows(table)[3] == ("flute", "melody", True) and len(rows(table)) == 4
    plan = panel.plan()
    assert [(i.name, i.program, i.role) for i in plan.instruments] == [
        ("piano", 0, "chords"), ("electric bass", 38, "bass"), ("drums", 0, "drums"), ("flute", 73, "melody")]
    assert panel.prompt_text() == PROMPT  # the prompt stays as typed
    panel.seed.setText("5")
    panel.seed_lock.setChecked(True)
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    assert window.wait_for_jobs(60)
    tracks = {t.name: (t.program, t.role, t.is_drum) for t in window.song.tracks}
    assert tracks == {"piano": (0, "chords", False), "electric bass": (38, "bass", False),
                      "drums": (0, "drums", True), "flute": (73, "melody", False)}
    # removing the drum kit row: no drum track
    panel.instruments.table.selectRow(2)
    panel.instruments.remove_selected()
    assert not panel.plan().drums and all(not i.is_drum for i in panel.plan().instruments)


def test_section_overrides_are_stored_undoable_and_followed_by_regenerate_section(generated, qtbot, tmp_path):
    w = generated
    ov = w.prompt_panel.section_overrides
    assert not ov.fields.isVisibleTo(w.prompt_panel)
    w.timeline.select_section(1)
    assert ov.fields.isVisibleTo(w.prompt_panel) and "chorus" in ov.title.text()
    names = [t.name for t in w.song.tracks]
    assert [ov.instruments.item(i).text() for i in range(ov.instruments.count())] == names
    ov.energy.setValue(0.9)
    ov.mood.setCurrentText("dark")
    piano = ov.instruments.item(names.index("piano"))
    piano.setCheckState(Qt.CheckState.Unchecked)
    QApplication.processEvents()
    sec = w.song.sections[1]
    assert sec.overrides["energy"] == 0.9 and sec.overrides["mood"] == "dark"
    assert sec.overrides["instruments"] == [n for n in names if n != "piano"]
    assert w.undo_action.text().startswith("&Undo chorus: instruments")
    w.undo()
    QApplication.processEvents()
    assert "instruments" not in w.song.sections[1].overrides
    assert ov.instruments.item(names.index("piano")).checkState() == Qt.CheckState.Checked  # the view follows
    w.redo()
    QApplication.processEvents()
    assert ov.instruments.item(names.index("piano")).checkState() == Qt.CheckState.Unchecked
    w.timeline.select_section(0)  # the other section shows its own (none)
    assert ov.mood.currentText() == "(as the song)" and ov.energy.specialValueText() == ov.energy.text()
    # Regenerate Section follows them: the take records them and the piano is silent in the new chorus
    before0 = [t.notes_in(*w.song.section_ticks(w.song.sections[0])) for t in w.song.tracks]
    assert w.song.tracks[names.index("piano")].notes_in(*w.song.section_ticks(w.song.sections[1]))  # it played
    w.timeline.select_section(1)
    qtbot.mouseClick(w.prompt_panel.regen_section_button, Qt.MouseButton.LeftButton)
    assert w.wait_for_jobs(60)
    song = w.song
    take = song.take(song.active_takes[f"{song.sections[1].id}/*"])
    assert take.params["overrides"]["mood"] == "dark"
    assert take.params["overrides"]["form"][1]["instruments"] == [n for n in names if n != "piano"]
    a, b = song.section_ticks(song.sections[1])
    assert song.tracks[names.index("piano")].notes_in(a, b) == []
    assert [t.notes_in(*song.section_ticks(song.sections[0])) for t in song.tracks] == before0
    # saved with the project
    from melodex_studio.io.project import read_project

    w.session.save_as(tmp_path / "o.melodex")
    again = read_project(tmp_path / "o.melodex").song
    assert again.sections[1].overrides["mood"] == "dark" and again.sections[1].overrides["energy"] == 0.9
