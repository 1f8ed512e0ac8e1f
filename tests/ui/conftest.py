"""Fixtures of the window tests: tiny real models, a window on a session that uses them, and dialogs that
record instead of blocking."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

PROMPT = "pop, 120 bpm, C major, verse 2, chorus 2, piano, bass, drums"


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    from tests.engine.session_helpers import write_tiny_models

    return write_tiny_models(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(autouse=True)
def dialogs(monkeypatch):
    """Every message box is recorded as (kind, title, text) and answered without showing: questions get
    ``dialogs.answer`` (Discard unless a test sets Yes / Save)."""

    class Recorder(list):
        answer = QMessageBox.StandardButton.Discard

    rec = Recorder()

    def exec_(box):
        rec.append(("box", box.windowTitle(), box.text() + ("\n" + box.informativeText() if box.informativeText() else "")))
        return int(QMessageBox.StandardButton.Ok.value)

    def question(parent, title, text, *a, **k):
        rec.append(("question", title, text))
        return rec.answer

    def simple(kind):
        return lambda parent, title, text, *a, **k: rec.append((kind, title, text)) or QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    for kind in ("warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(simple(kind)))
    return rec


@pytest.fixture
def window(qtbot, tiny_models):
    from tests.engine.session_helpers import make_session

    from melodex_studio.ui.main_window import MainWindow

    w = MainWindow(session=make_session(tiny_models))
    qtbot.addWidget(w)
    w.resize(1400, 860)
    w.show()
    yield w
    w.jobs.cancel()
    w.wait_for_jobs(20)
    w.session.history.mark_clean()
    w.close()


@pytest.fixture
def generated(window, qtbot):
    """The window after typing ``PROMPT`` and pressing Generate (the job finished and was applied)."""
    from PySide6.QtCore import Qt

    window.prompt_panel.set_prompt(PROMPT)
    window.prompt_panel.seed.setText("11")
    window.prompt_panel.seed_lock.setChecked(True)
    qtbot.mouseClick(window.prompt_panel.generate_button, Qt.MouseButton.LeftButton)
    assert window.wait_for_jobs(60)
    return window
