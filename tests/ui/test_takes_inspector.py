"""The takes inspector in the window: what made each take, switch (click / Enter / Use Take; undoable), keep,
delete, A/B, and Vary from a recorded diffusion step (the tiny diffusion models render for real)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget, QPushButton, QSlider

from melodex_studio.engine.render_takes import current_take
from tests.ui.conftest import PROMPT


def _click_take(qtbot, panel, row: int) -> None:
    lst = panel.takes
    rect = lst.visualItemRect(lst.item(row))
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.wait(20)  # the switch runs on the next event loop turn


def test_vary_from_a_step_then_switch_keep_ab_and_delete_takes(window, qtbot, dialogs):
    w = window
    w.prompt_panel.set_prompt(PROMPT.replace("verse 2, chorus 2", "verse 1, chorus 1").replace(", bass", ""))
    w.prompt_panel.renderer.setCurrentIndex(1)
    w.prompt_panel.steps.setValue(4)
    w.generate()
    assert w.wait_for_jobs(120)
    w.timeline.select_section(0)
    w.timeline.select_track(0)
    panel = w.inspector.takes_panel
    lst = w.findChild(QListWidget, "takesList")
    assert lst is panel.takes and lst.count() == 1
    sec, tr = w.song.sections[0], w.song.tracks[0]
    first = current_take(w.song, sec, tr.id)
    assert f"seed {first.seed}" in lst.item(0).text() and "4 steps" in lst.item(0).text()
    assert "diffusion" in lst.item(0).text() and lst.item(0).text().startswith("▶")

    # Vary: the slider runs over the recorded steps of the current take
    slider = w.findChild(QSlider, "varyStepSlider")
    recorded = first.params["state"]["steps_recorded"]
    assert slider.isEnabled() and slider.maximum() == len(recorded) - 1
    slider.setValue(slider.maximum())
    step = recorded[-1]
    assert panel.vary_step_label.text() == f"From step {step} of 4"
    panel.vary_seed.setText("77")
    panel.vary_strength.setValue(0.5)
    vary = w.findChild(QPushButton, "varyButton")
    before = len(w.session.takes(section=sec.id, track=tr.id))
    qtbot.mouseClick(vary, Qt.MouseButton.LeftButton)
    assert w.wait_for_jobs(120)
    infos = w.session.takes(section=sec.id, track=tr.id)
    assert len(infos) == before + 1 and lst.count() == before + 1, (dialogs, vary.isEnabled(), vary.toolTip())
    new = w.song.take(infos[-1].id)
    assert new.params["from_step"] == step and new.seed == 77 and new.params["variation"] == 0.5
    assert new.params["parent"] == first.id and current_take(w.song, sec, tr.id).id == new.id
    assert f"vary from step {step}" in lst.item(1).text() and "variation 0.5" in lst.item(1).text()
    assert w.undo_action.text() == f"&Undo Vary {sec.label} from step {step}"

    # a click on the first take makes it the one that plays, undoably
    _click_take(qtbot, panel, 0)
    assert current_take(w.song, sec, tr.id).id == first.id
    assert lst.item(0).text().startswith("▶") and not lst.item(1).text().startswith("▶")
    w.undo_action.trigger()
    assert current_take(w.song, sec, tr.id).id == new.id
    # Enter on the selected take switches too
    lst.setCurrentRow(0)
    lst.setFocus()
    qtbot.keyClick(lst, Qt.Key.Key_Return)
    qtbot.wait(20)
    assert current_take(w.song, sec, tr.id).id == first.id

    # A/B: the playing take is A, the selected one B; each press switches
    panel.select_take(new.id)
    ab = panel.ab_button
    qtbot.mouseClick(ab, Qt.MouseButton.LeftButton)
    assert current_take(w.song, sec, tr.id).id == new.id and panel.ab == (first.id, new.id)
    assert panel.ab_label.text().endswith("playing B")
    qtbot.mouseClick(ab, Qt.MouseButton.LeftButton)
    assert current_take(w.song, sec, tr.id).id == first.id and panel.ab_label.text().endswith("playing A")

    # keep (★) and delete
    panel.select_take(new.id)
    keep = w.findChild(QPushButton, "keepTakeButton")
    qtbot.mouseClick(keep, Qt.MouseButton.LeftButton)
    assert w.song.take(new.id).params["kept"] is True and "★" in lst.item(1).text() and keep.isChecked()
    qtbot.mouseClick(keep, Qt.MouseButton.LeftButton)
    assert w.song.take(new.id).params["kept"] is False and "★" not in lst.item(1).text()
    panel.select_take(new.id)
    qtbot.mouseClick(w.findChild(QPushButton, "deleteTakeButton"), Qt.MouseButton.LeftButton)
    assert [t.id for t in w.session.takes(section=sec.id, track=tr.id)] == [first.id] and lst.count() == 1
    w.undo_action.trigger()
    assert len(w.session.takes(section=sec.id, track=tr.id)) == 2 and lst.count() == 2


def test_structure_takes_switch_the_notes_and_vary_says_why_it_is_off(generated, qtbot):
    w = generated
    w.timeline.select_section(1)
    panel = w.inspector.takes_panel
    vary = w.findChild(QPushButton, "varyButton")
    assert not vary.isEnabled() and "no diffusion render" in vary.toolTip()
    assert not w.findChild(QSlider, "varyStepSlider").isEnabled()
    sec = w.song.sections[1]
    a, b = w.song.section_ticks(sec)
    w.regenerate_section()
    assert w.wait_for_jobs(60)
    notes = {t.id: t.notes_in(a, b) for t in w.song.tracks}
    w.prompt_panel.seed.setText("12")
    w.regenerate_section()
    assert w.wait_for_jobs(60)
    infos = panel.infos()
    assert len(infos) == 2 and infos[-1].active and "regenerate" in panel.takes.item(1).text()
    assert panel.scope.text() == f"Takes of {sec.label} (all tracks)"
    _click_take(qtbot, panel, 0)
    assert panel.infos()[0].active
    assert {t.id: t.notes_in(a, b) for t in w.song.tracks} == notes
    w.undo_action.trigger()
    assert panel.infos()[1].active
    assert {t.id: t.notes_in(a, b) for t in w.song.tracks} != notes
