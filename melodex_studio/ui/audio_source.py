"""``AudioSource``: the stems playback plays, kept current off the GUI thread.

After every session change it takes a snapshot (a copy of the song and of the audio-cache dict, both cheap)
and a worker thread brings the per-track stems up to date with ``engine.preview.PreviewStems`` (each track's
current diffusion stem, else its SoundFont preview; only changed tracks render again). Results reach the GUI
thread as queued signals, in two steps: ``stemsReady`` as soon as the stems are known (playback swaps them in
at once), then ``changed`` when the mix of them (gain, pan, mute, solo and the anti-clip trim, exactly as
``mix.mixer.mix_stems``) is computed. Until a job's result is applied, ``stems()``/``mix()`` keep the previous
ones, so playback never waits. Changes during a job are coalesced into one more job with the latest state.
When nothing newer waits, the worker renders the previews of structure takes that do not play (switching to
one then plays at once). A small note edit is heard first from a quick stem (``PreviewStems.update(quick=True)``:
the old stem minus the removed notes plus the added ones), then from the full render, which replaces it.
"""
from __future__ import annotations

import threading
import time

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal

from ..engine.preview import PreviewStems, pad_stems, warm_up
from ..errors import MelodexError
from ..playback.mixer import Levels, mix_song


class AudioSource(QObject):
    stemsReady = Signal()  # stems() changed (the mix follows)
    changed = Signal()  # mix() and stems() are current for the snapshot they came from
    failed = Signal(str)  # a preview could not be made (the message says why)
    _result = Signal(object)  # worker -> GUI thread

    def __init__(self, session, sample_rate: int = 44100, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.sample_rate = int(sample_rate)
        self.levels = Levels()  # of the last mix (its trim is what playback applies)
        self.order: list[str] = []  # track ids of the stems, in song order
        self._stems: dict[str, np.ndarray] = {}
        self._mix: np.ndarray | None = None
        self._preview = PreviewStems()
        self._lock = threading.Lock()  # guards _running / _next (the worker reads _next when it ends)
        self._running = False
        self._next = None
        self._closed = False
        self._warm = False
        # called on the worker thread with (stems, order) as soon as they are known: playback swaps them in
        # without waiting for the GUI thread (the swap is atomic); stemsReady follows on the GUI thread
        self.direct_stems = None
        self._result.connect(self._apply, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = session.subscribe(lambda info: self.refresh())

    # --- what playback reads -------------------------------------------------------------------------
    def stems(self) -> dict[str, np.ndarray]:
        """Track id -> dry stem (frames, 2) float32 at ``sample_rate`` (lengths may differ)."""
        return dict(self._stems)

    def mix(self) -> np.ndarray | None:
        """The mix of ``stems()`` (frames, 2) float32, or None before the first one / without tracks."""
        return self._mix

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._running or self._next is not None

    # --- keeping it current ------------------------------------------------------------------------
    def set_sample_rate(self, sample_rate: int) -> None:
        if int(sample_rate) != self.sample_rate:
            self.sample_rate = int(sample_rate)
            self.refresh()

    def refresh(self) -> None:
        """Bring the stems up to date with the session (on a worker thread; returns at once)."""
        if self._closed:
            return
        snapshot = (self.session.song.copy(), dict(self.session.audio), self.sample_rate)
        with self._lock:
            if self._running:
                self._next = snapshot
                return
            self._running = True
        threading.Thread(target=self._work, args=(snapshot,), name="melodex-preview", daemon=True).start()

    def _work(self, snapshot) -> None:
        while snapshot is not None:
            song, audio, rate = snapshot
            try:
                newer = lambda: self._closed or self._next is not None
                self._deliver(song, rate, self._preview.update(song, audio, rate, lambda: self._closed, quick=True)[0])
                if self._preview.provisional and not newer():  # the quick stems, now in full (the export's)
                    self._deliver(song, rate, self._preview.update(song, audio, rate, newer)[0])
                if not self._warm:  # the SoundFont for auditioned notes, once, off the GUI thread
                    warm_up(rate)
                    self._warm = True
                # while nothing newer waits: the takes that do not play, so that switching to one is instant
                self._preview.prefetch(song, rate, cancel=newer)
            except MelodexError as e:
                self._emit(("error", song, rate, str(e)))
            except Exception as e:  # noqa: BLE001 - a worker must report, not die silently
                self._emit(("error", song, rate, f"{type(e).__name__}: {e}"))
            with self._lock:
                snapshot, self._next = self._next, None
                self._running = snapshot is not None

    def _deliver(self, song, rate: int, stems: dict) -> None:
        """On the worker: hand ``stems`` to playback at once, then (queued) to the GUI thread with their mix."""
        direct = self.direct_stems
        if direct is not None and rate == self.sample_rate and not self._closed:
            direct(stems, [t.id for t in song.tracks if t.id in stems])
        self._emit(("stems", song, rate, stems))
        levels, mix = mix_song(song, pad_stems(stems))
        self._emit(("mix", song, rate, (levels, mix if len(mix) else None)))

    def _emit(self, message) -> None:
        """On the worker: queue ``message`` for the GUI thread; nothing once the window closed (its Qt object may
        be deleted by then: the signal raised RuntimeError on the worker)."""
        if self._closed:
            return
        try:
            self._result.emit(message)
        except RuntimeError:
            if not self._closed:
                raise

    def _apply(self, message) -> None:
        kind, song, rate, payload = message
        if self._closed or rate != self.sample_rate:
            return
        if kind == "stems":
            self._stems = payload
            self.order = [t.id for t in song.tracks if t.id in payload]
            self.stemsReady.emit()
        elif kind == "mix":
            self.levels, self._mix = payload
            self.changed.emit()
        else:
            self.failed.emit(payload)

    def wait(self, timeout_s: float = 30.0) -> bool:
        """Process events until no job runs and its results are applied (tests); False on timeout."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            QCoreApplication.processEvents()
            if not self.busy:
                QCoreApplication.processEvents()
                return True
            time.sleep(0.002)
        return False

    def close(self) -> None:
        self._closed = True
        self._unsubscribe()
