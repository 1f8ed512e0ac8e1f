"""Session jobs in the window: start one, hear of its progress and its end on the GUI thread.

The session runs a job's compute on a worker thread. Its progress callback runs there too, so the runner
forwards each ``engine.jobs.Progress`` through a Qt signal (queued to the GUI thread, at most 10 per second).
The end of the job is forwarded the same way by a small watcher thread that joins the job and emits
``ended``; the window applies the proposal there (``session.apply``), so the document only ever changes on
the GUI thread and a cancelled or failed job changes nothing.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Qt, Signal

from ..engine.jobs import Job, Progress
from ..responsive import fast_switching

_MIN_INTERVAL_S = 0.1  # progress reaches the window at most 10 times a second


class JobRunner(QObject):
    """Starts session jobs and reports them as signals on the GUI thread.

    ``started(job)``, ``progress(job, Progress)``, ``ended(job)``: ``job.status`` is 'done', 'cancelled'
    or 'failed' (``job.error`` holds the exception). The receiver of ``ended`` applies the result.
    """

    started = Signal(object)
    progress = Signal(object, object)
    ended = Signal(object)
    _progress_from_worker = Signal(object, object)
    _ended_from_worker = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.job: Job | None = None
        self.context: dict = {}  # what the running job works on (section / track ids), for the views
        self.last_context: dict = {}  # the context of the job whose end is being delivered
        self._pending = 0  # jobs whose end has not been delivered yet
        self._progress_from_worker.connect(self._deliver_progress, Qt.ConnectionType.QueuedConnection)
        self._ended_from_worker.connect(self._deliver_end, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        """True from ``start`` until ``ended`` was delivered (the result is applied by then)."""
        return self._pending > 0

    def start(self, starter: Callable[..., Job], context: dict | None = None) -> Job:
        """``starter(progress=callback)`` is a session call such as ``lambda progress: session.generate(
        prompt, progress=progress)``; raises what it raises (JobBusyError, NotFoundError) without starting."""
        last = [0.0, ""]
        job_box: list[Job | None] = [None]

        def on_progress(p: Progress) -> None:  # worker thread
            now = time.monotonic()
            if p.stage != last[1] or p.step >= p.total or now - last[0] >= _MIN_INTERVAL_S:
                last[0], last[1] = now, p.stage
                self._progress_from_worker.emit(job_box[0], p)

        job = starter(progress=on_progress)
        fast_switching(self, True)  # the GUI thread gets the GIL back sooner from the worker
        job_box[0] = job
        self.job, self.context = job, dict(context or {})
        self._pending += 1
        threading.Thread(target=self._watch, args=(job,), name="melodex-job-watch", daemon=True).start()
        self.started.emit(job)
        return job

    def _watch(self, job: Job) -> None:  # watcher thread
        job.join()
        self._ended_from_worker.emit(job)

    def _deliver_progress(self, job, p: Progress) -> None:
        if job is not None and job is self.job and not job.done():
            self.progress.emit(job, p)

    def _deliver_end(self, job: Job) -> None:
        self._pending -= 1
        self.last_context = self.context if job is self.job else {}
        if job is self.job:
            self.job = None
        self.ended.emit(job)
        if self.job is None:
            self.context = {}
        if not self._pending:
            fast_switching(self, False)

    def cancel(self) -> None:
        """Ask the running job to stop (its end arrives through ``ended`` with status 'cancelled')."""
        if self.job is not None:
            self.job.cancel()

    def wait(self, timeout_s: float = 30.0) -> bool:
        """Process events until no job runs and its end was delivered; False on timeout."""
        deadline = time.monotonic() + timeout_s
        app = QCoreApplication.instance()
        while self.busy:
            if time.monotonic() > deadline:
                return False
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)
        app.processEvents()
        return True
