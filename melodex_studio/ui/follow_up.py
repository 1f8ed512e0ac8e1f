"""The window's views follow a job's result in steps, one per turn of the event loop.

Applying a generated song makes every view new at once: the timeline's lanes and track headers, the mixer's
strips, the prompt panel's tables. Done in one turn (or in queued calls, which Qt runs back to back with the
paints they cause) the GUI thread was busy 60-75 ms in one piece, and the window neither scrolled nor played in
between. ``FollowUp`` runs one step per turn on a zero-interval timer: Qt runs timers only once no posted event
is pending, so each step's paint ends before the next step starts, and the other timers due (the playhead, a
scroll) run in between (see ``_arm_later``). Waiting steps run in the order of ``order`` (names not in it last, as added); a step named again
before it ran runs once.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer

_ARM = QEvent.Type(QEvent.registerEventType())


class FollowUp(QObject):
    def __init__(self, order: tuple[str, ...] = (), parent: QObject | None = None):
        super().__init__(parent)
        self.order = order
        self._steps: dict[str, Callable[[], None]] = {}
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self._run_one)

    def add(self, name: str, step: Callable[[], None]) -> None:
        """Run ``step`` in a later turn, after the steps already waiting (once, if ``name`` is already waiting)."""
        self._steps.setdefault(name, step)
        self._arm_later()

    def _arm_later(self) -> None:
        """Start the step timer from a posted event of low priority: it is handled after the events posted before
        it, the paint the last step caused included (a widget's update request is a low-priority posted event), so
        the timer is due after the timers that fell due meanwhile (a zero timer started at the end of a step
        would be due before them and run first)."""
        QCoreApplication.postEvent(self, QEvent(_ARM), Qt.EventPriority.LowEventPriority.value)

    def event(self, event: QEvent) -> bool:
        if event.type() == _ARM:
            self._arm()
            return True
        return super().event(event)

    def _arm(self) -> None:
        if self._steps and not self._timer.isActive():
            self._timer.start()

    def discard(self, name: str) -> None:
        """The step ran some other way: drop it."""
        self._steps.pop(name, None)

    @property
    def pending(self) -> list[str]:
        return list(self._steps)

    def run_all(self) -> None:
        """Run the waiting steps now (a close, a save, a test that waits for the views)."""
        self._timer.stop()
        while self._steps:
            self._pop()()

    def _pop(self) -> Callable[[], None]:
        name = min(self._steps, key=lambda n: self.order.index(n) if n in self.order else len(self.order))
        return self._steps.pop(name)

    def _run_one(self) -> None:
        if not self._steps:
            return
        try:
            self._pop()()
        finally:
            if self._steps:
                self._arm_later()
