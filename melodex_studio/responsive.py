"""Python's thread switch interval while something that must answer quickly is active.

A thread that waits for the GIL gets it when the holder has run for the switch interval (5 ms by default).
The audio callback and the window's GUI thread give the GIL up many times a second (inside numpy and Qt calls),
and while a job's worker thread runs Python, each time they want it back they wait a whole interval: a 512-frame
audio callback took up to 120 ms that way, and a GUI-thread gap grew by the same mechanism. While playback runs
or a job computes, the interval is ``FAST_SWITCH_S``; the default comes back when the last of them ends.
"""
from __future__ import annotations

import sys
import threading
import weakref

FAST_SWITCH_S = 0.0005

_holders: weakref.WeakSet = weakref.WeakSet()
_saved: float | None = None
_lock = threading.Lock()


def fast_switching(owner: object, on: bool) -> None:
    """``owner`` (a player, a job runner) needs (``on``) or no longer needs the short switch interval."""
    global _saved
    with _lock:
        (_holders.add if on else _holders.discard)(owner)
        if len(_holders) and _saved is None:
            _saved = sys.getswitchinterval()
            sys.setswitchinterval(FAST_SWITCH_S)
        elif not len(_holders) and _saved is not None:
            sys.setswitchinterval(_saved)
            _saved = None


def holders() -> list[object]:
    """Who holds the short interval now (tests)."""
    return list(_holders)
