"""Long operations as jobs: ONE progress type, ONE cancel token, a worker thread per job.

A job runs a compute function off the caller's thread. The function receives a ``JobContext`` (the cancel
token and a progress reporter) and returns a ``Proposal`` (``engine.proposals``): what it made, never
written into the document. The session applies it afterwards, so a cancelled or failed job changes nothing.

Lower layers (structure sampler, diffusion sampler, SoundFont renderer) take plain callables: ``cancel()``
returning True, and ``progress(fraction[, message])``. ``CancelToken`` *is* such a cancel callable, and
``JobContext.stage(name)`` returns such a progress callable that reports ``Progress`` objects for its stage.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Callable, Mapping

from ..errors import CancelledError, OutOfMemoryError
from ..progress import Progress, ProgressCallback

__all__ = ["Progress", "ProgressCallback", "CancelToken", "JobContext", "Job"]


class CancelToken:
    """Set once by ``cancel()`` from any thread; the job checks it at every model step (``token()`` is True
    after a cancel, so the token itself is the ``cancel`` callable the lower layers take)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def __call__(self) -> bool:
        return self._event.is_set()

    def check(self, what: str = "the job") -> None:
        """Raise ``CancelledError`` when cancelled (a cancel point between steps)."""
        if self._event.is_set():
            raise CancelledError(f"{what} cancelled; nothing was changed")


class JobContext:
    """What a compute function gets: the cancel token, the device to run on, and progress reporting."""

    def __init__(self, token: CancelToken, callback: ProgressCallback | None = None, device: str = "auto"):
        self.token, self.callback, self.device = token, callback, device
        self.started = time.perf_counter()
        self.stems: dict[str, Any] = {}
        self.last: Progress | None = None

    def report(self, stage: str, step: int, total: int, message: str = "") -> None:
        self.token.check()
        self.last = Progress(stage, int(step), int(total), message, dict(self.stems),
                             time.perf_counter() - self.started)
        if self.callback is not None:
            self.callback(self.last)

    def stage(self, name: str, total: int = 1000) -> Callable[..., None]:
        """A ``progress(fraction, message=None)`` callable for the lower layers, reporting stage ``name``."""

        def progress(fraction: float, message: str | None = None) -> None:
            self.report(name, round(max(0.0, min(1.0, float(fraction))) * total), total, message or name)

        return progress

    def add_stems(self, stems: Mapping[str, Any]) -> None:
        """Stems finished so far (sent with the next progress report)."""
        self.stems.update(stems)


BACKGROUND_NICE = 5  # 0 turns it off; 5 measured best with playback (bench_playback.py --diffusion-job)


def run_in_background() -> None:
    """Lower this thread's scheduling priority (Linux: per thread; the model's worker threads it starts inherit
    it), so the audio callback and the window win the CPU while a job computes; alone on the machine the job
    still gets every core."""
    if not sys.platform.startswith("linux") or not BACKGROUND_NICE:
        return
    try:
        me = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + BACKGROUND_NICE))
    except OSError:  # not allowed here: the job runs at the normal priority
        pass


class Job:
    """One running operation. ``wait()`` returns its proposal or raises what it raised (``CancelledError``
    after ``cancel()``). ``status``: 'running', 'done', 'cancelled' or 'failed'."""

    def __init__(self, kind: str, label: str, compute: Callable[[JobContext], Any],
                 progress: ProgressCallback | None = None, device: str = "auto",
                 on_done: Callable[["Job"], None] | None = None):
        self.kind, self.label = kind, label
        self.token = CancelToken()
        self.context = JobContext(self.token, progress, device)
        self._compute, self._on_done = compute, on_done
        self._done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.notes: list[str] = []
        self.status = "running"
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, name=f"melodex-job-{kind}", daemon=True)

    def start(self) -> "Job":
        self._thread.start()
        return self

    def _run(self) -> None:
        run_in_background()
        t0 = time.perf_counter()
        try:
            try:
                self.result = self._compute(self.context)
            except OutOfMemoryError as e:  # once more on the CPU, and say so
                if self.context.device == "cpu" or self.token.cancelled:
                    raise
                self.notes.append(f"{e}; ran it on the CPU instead")
                self.context.device = "cpu"
                self.result = self._compute(self.context)
            self.token.check(self.label)  # a cancel that came after the last step still wins: nothing is applied
            if self.result is not None and hasattr(self.result, "notes"):
                self.result.notes.extend(self.notes)
            self.status = "done"
        except CancelledError as e:
            self.error, self.status = e, "cancelled"
        except BaseException as e:  # noqa: BLE001 - handed to the caller by wait()
            self.error, self.status = e, "failed"
        finally:
            self.seconds = time.perf_counter() - t0
            self._done.set()
            if self._on_done is not None:
                self._on_done(self)

    def cancel(self) -> None:
        """Ask the job to stop at its next cancel point (at least once per model step)."""
        self.token.cancel()

    def done(self) -> bool:
        return self._done.is_set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job to end without raising what it raised; True when it has ended."""
        return self._done.wait(timeout)

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the job ends; its proposal, or the exception it raised. KeyboardInterrupt cancels it."""
        try:
            while not self._done.wait(0.05 if timeout is None else timeout):
                if timeout is not None:
                    raise TimeoutError(f"{self.label} is still running")
        except KeyboardInterrupt:
            self.cancel()
            self._done.wait()
            raise CancelledError(f"{self.label} cancelled; nothing was changed") from None
        if self.error is not None:
            raise self.error
        return self.result

