"""A finished job is applied in one turn of the window's event loop and its autosave copy written in a later one
(two shorter pieces of work on the GUI thread); the copy is the applied document."""
from __future__ import annotations

from PySide6.QtWidgets import QApplication

from tests.ui.conftest import PROMPT


def test_the_autosave_copy_follows_an_applied_job_in_a_later_turn(qtbot, tiny_models, tmp_path, monkeypatch):
    monkeypatch.setenv("MELODEX_DATA_DIR", str(tmp_path / "data"))
    from melodex_studio.engine.autosave import autosave_path
    from melodex_studio.io.project import read_project
    from melodex_studio.ui.main_window import MainWindow
    from tests.engine.session_helpers import make_session

    w = MainWindow(session=make_session(tiny_models, autosave=True))
    qtbot.addWidget(w)
    w.show()
    auto = autosave_path(None, w.session.id)
    w.prompt_panel.set_prompt(PROMPT)
    job = w.generate()
    qtbot.waitUntil(lambda: not w.jobs.busy and job.done(), timeout=60000)  # applied, the copy maybe not yet
    qtbot.waitUntil(auto.exists, timeout=5000)
    assert w.session.autosave_error is None
    saved = read_project(auto).song
    assert [s.label for s in saved.sections] == [s.label for s in w.song.sections]
    assert sum(len(t.notes) for t in saved.tracks) == sum(len(t.notes) for t in w.song.tracks) > 0
    w.session.history.mark_clean()
    w.close()  # closing drops the copy, and a pending one is not written after it
    QApplication.processEvents()
    assert not auto.exists()
