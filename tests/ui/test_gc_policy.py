"""The collector's full passes (100-300 ms over the heap a model job leaves) happen only where the user waits anyway:
after a job what exists stays frozen; a new document collects everything once (ui/gc_policy.py)."""
from __future__ import annotations

import gc
import weakref

import pytest

from tests.ui.conftest import PROMPT


class Cycle:
    def __init__(self):
        self.me = self


@pytest.fixture
def unfrozen():
    yield
    gc.unfreeze()


def test_after_a_job_the_heap_stays_frozen_and_a_new_document_collects_old_cycles(window, unfrozen):
    gc.unfreeze()
    old = Cycle()
    ref = weakref.ref(old)
    window.prompt_panel.set_prompt(PROMPT)
    assert window.generate() is not None
    assert gc.get_freeze_count() > 0  # frozen while the job runs
    assert window.wait_for_jobs(60) and window.song.tracks
    frozen = gc.get_freeze_count()
    assert frozen > 1000  # still frozen after the job: the next collections skip the window, the models, ...
    del old
    gc.collect()
    assert ref() is not None  # a cycle that became garbage while frozen waits for the next full collection
    window.new_project()  # a new document: one full collection (in the next turn of the event loop)
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()
    assert ref() is None
    assert gc.get_freeze_count() > 0  # and what lives is frozen again


def test_a_cycle_made_by_a_job_is_collected_when_it_ends(window, unfrozen, monkeypatch):
    import sys

    from melodex_studio.ui import gc_policy

    monkeypatch.setitem(sys.modules, "torch", sys.modules.get("torch", sys))  # a later job: torch is loaded

    gc_policy.job_started(window.session)
    made = Cycle()
    ref = weakref.ref(made)
    del made
    gc_policy.job_ended()  # only what was made since the freeze is visited
    assert ref() is None and gc.get_freeze_count() > 0
    gc_policy.release()
    assert gc.get_freeze_count() == 0


def test_the_job_that_imports_torch_runs_without_the_collector(monkeypatch, unfrozen):
    import sys

    from melodex_studio.ui import gc_policy

    monkeypatch.delitem(sys.modules, "torch", raising=False)  # as in a new process before its first model job
    gc_policy.job_started()
    try:
        assert not gc.isenabled()
        made = Cycle()  # one of the ~175,000 objects the first job makes (torch's): none of them is visited at its
        ref = weakref.ref(made)  # end (a 100-180 ms pass on the GUI thread), they are frozen as they are
        del made
    finally:
        gc_policy.job_ended()
    assert gc.isenabled()
    assert ref() is not None and gc.get_freeze_count() > 0
    assert gc_policy.full_collection() > 0 and ref() is None  # the next new or opened document frees it
    monkeypatch.setitem(sys.modules, "torch", sys)  # torch loaded: later jobs keep the collector (on young objects)
    gc_policy.job_started()
    assert gc.isenabled()
    gc_policy.job_ended()


def test_while_a_job_runs_the_gui_thread_gets_the_gil_back_sooner_and_the_default_returns(window):
    import sys

    from melodex_studio.responsive import FAST_SWITCH_S, fast_switching, holders

    for left in holders():  # players or runners of earlier tests left holding it
        fast_switching(left, False)
    default = sys.getswitchinterval()
    assert FAST_SWITCH_S < default
    window.prompt_panel.set_prompt(PROMPT)
    assert window.generate() is not None
    assert sys.getswitchinterval() == pytest.approx(FAST_SWITCH_S)  # while the job computes
    assert window.wait_for_jobs(60) and window.song.tracks
    assert sys.getswitchinterval() == default
