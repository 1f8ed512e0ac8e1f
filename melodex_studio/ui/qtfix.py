"""Work around a reference-count bug of PySide6 6.12.0 on Python 3.11 and older.

In that release every call of a Qt method that returns nothing (``QPainter.drawLine``, ``QWidget.update``,
``QLabel.setText`` ...) takes one reference from ``None`` without having given it one. Python before 3.12
counts references to ``None`` (3.12 made it immortal, PEP 683), so after some thousands of calls (a few
seconds of painting the timeline) the interpreter aborts with "none_dealloc: deallocating None". PySide6
6.11.x and Python 3.12+ are not affected; pin ``PySide6-Essentials!=6.12.0`` where Python 3.11 is used.

Until then, ``apply()`` gives ``None`` a reserve of 2**48 references when (and only when) the installed
PySide6 loses them: it measures the loss on a harmless call first. That makes ``None`` practically immortal,
as it is on newer Pythons.
"""
from __future__ import annotations

import ctypes
import sys

_RESERVE = 1 << 48
_applied = False


def leaks_none() -> bool:
    """True when a void Qt call takes a reference from None (measured with QRectF.adjust, 64 calls)."""
    if sys.version_info >= (3, 12):
        return False
    from PySide6.QtCore import QRectF

    r = QRectF(0, 0, 1, 1)
    before = sys.getrefcount(None)
    for _ in range(64):
        r.adjust(0, 0, 0, 0)
    return sys.getrefcount(None) < before - 32


def apply() -> bool:
    """Give None its reserve if this PySide6 needs it; True when applied (once per process)."""
    global _applied
    if _applied or not leaks_none():
        return _applied
    ctypes.c_ssize_t.from_address(id(None)).value += _RESERVE
    _applied = True
    return True
