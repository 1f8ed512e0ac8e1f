"""When Python's cyclic garbage collector may make a full pass in the window: only where the user waits anyway.

After the first model job the process holds ~230,000 objects (torch, the model, the document, the undo history).
A full collection visits all of them: 130 ms on an idle 2-core machine, 300 ms under load, holding the GIL on
whichever thread allocates when it triggers, so the window stands still. So:

* ``job_started``: everything that exists is frozen (``gc.freeze``): the collections while the job runs skip it
  (for the first job, which imports torch, the collector is off until the job ends);
* ``job_ended``: the job's recent leftovers are collected (the young generations: a few ms), then what survives
  is frozen too. The long-lived heap stays frozen,
  so no later collection visits it;
* a new or opened document (``session.new``, ``open``: the window waits for a file anyway): one full collection
  with nothing frozen (``full_collection``), which frees cycles that became garbage among frozen objects (an old
  document's), and the survivors are frozen again;
* closing the window: ``release`` unfreezes everything (the closed window's objects are ordinary garbage then).
"""
from __future__ import annotations

import gc
import weakref

_watched: weakref.WeakSet = weakref.WeakSet()  # sessions whose document changes trigger a full collection


def job_started(session=None) -> None:
    """A job starts: freeze what exists (see the module docstring). The first model job of the process imports
    torch and loads the model on its worker thread (~175,000 new objects): the collector is off until it ends,
    or its passes over them hold the GIL up to a second under load (the window stood still for seconds)."""
    import sys

    if "torch" not in sys.modules:
        gc.disable()
    gc.freeze()
    if session is not None and session not in _watched:
        _watched.add(session)
        session.subscribe(_on_change)


def job_ended() -> None:
    """A job's result was applied: collect the young generations (what the job just left behind; the frozen heap is
    not visited, nor what the job made that already aged), then freeze the rest. After the first model job, which
    ran with the collector off, the young generation holds all of torch (~175,000 objects: a 100-180 ms pass), so
    that job's objects are frozen without a pass; its few garbage cycles wait for the next full collection (a new
    or opened document)."""
    if gc.isenabled():
        gc.collect(1)
    gc.freeze()
    gc.enable()


def full_collection() -> float:
    """Collect with nothing frozen (frees cycles among formerly frozen objects), then freeze the survivors again
    when anything was frozen before. Returns the seconds it took (0 when nothing was frozen: the collector's own
    passes already see everything)."""
    import time

    if gc.get_freeze_count() == 0:
        return 0.0
    t0 = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return time.perf_counter() - t0


def release() -> None:
    """Give every frozen object back to the collector (the window closes)."""
    gc.unfreeze()


def _on_change(info) -> None:
    if info.kind == "document":  # new or opened project: after the views have followed it
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, full_collection)
