"""``Player``: the playback mixer and the output stream it plays through, as one transport object.

The window keeps one (``MainWindow.playback``). ``open_output(settings)`` opens the device; when there is none
(no PortAudio, no output device, the device refuses) it falls back to a ``ClockStream`` that pulls the mixer in
real time without sound and ``no_output`` holds the reason, so the transport works the same. Tests plug in a
``FakeOutputStream`` with ``use_stream``.
"""
from __future__ import annotations

import numpy as np

from ..responsive import fast_switching
from .mixer import Levels, PlaybackMixer, StemSet
from .stream import ClockStream, NoAudioOutputError, OutputSettings, OutputStream


class Player:
    def __init__(self, sample_rate: int = 44100):
        self.mixer = PlaybackMixer(sample_rate)
        self.stream = None
        self.no_output: str | None = None  # why there is no sound (None: a device plays)

    @property
    def sample_rate(self) -> int:
        return self.mixer.sample_rate

    # --- output ------------------------------------------------------------------------------------
    def open_output(self, settings: OutputSettings) -> str | None:
        """Play through the device of ``settings`` (opened now); returns None, or the reason there is no sound
        (then a silent clock stream drives the transport)."""
        stream = OutputStream(settings)
        stream.bind(self.mixer.render)
        try:
            stream.start()
        except NoAudioOutputError as e:
            stream.close()
            self.use_stream(ClockStream(settings.sample_rate, max(settings.blocksize, 1024), str(e)))
            self.no_output = str(e)
            return self.no_output
        stream.stop()  # opened and checked; it runs while playing or auditioning
        self.use_stream(stream)
        return None

    def use_stream(self, stream) -> None:
        """Play through ``stream`` (any stream of ``playback.stream``; its sample rate becomes the player's)."""
        if self.stream is not None and self.stream is not stream:
            self.stream.close()
        if stream.sample_rate != self.mixer.sample_rate:
            old = self.mixer
            self.mixer = PlaybackMixer(stream.sample_rate)
            self.mixer.set_levels(old.levels)
        stream.bind(self.mixer.render)
        self.stream = stream
        self.no_output = getattr(stream, "reason", None) or None
        if self.mixer.playing:
            stream.start()

    @property
    def latency_s(self) -> float:
        return float(self.stream.latency_s) if self.stream is not None else 0.0

    def close(self) -> None:
        self.mixer.stop()
        fast_switching(self, False)
        if self.stream is not None:
            self.stream.close()

    # --- what plays ------------------------------------------------------------------------------------
    def set_stems(self, stems: dict[str, np.ndarray], order: list[str]) -> None:
        self.mixer.set_stems(StemSet.of(stems, order))

    def set_levels(self, levels: Levels) -> None:
        self.mixer.set_levels(levels)

    def set_loop(self, start: int | None, end: int | None = None) -> None:
        self.mixer.set_loop(start, end)

    # --- transport -------------------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self.mixer.playing

    @property
    def position(self) -> int:
        """The next frame to play."""
        return self.mixer.position

    def play(self, start_frame: int | None = None) -> None:
        fast_switching(self, True)  # the callback gets the GIL back sooner
        self.mixer.play(start_frame)
        if self.stream is not None:
            self.stream.start()

    def stop(self) -> None:
        self.mixer.stop()
        fast_switching(self, False)
        if self.stream is not None and self.stream.silent:
            self.stream.stop()

    def seek(self, frame: int) -> None:
        self.mixer.seek(frame)

    def audition(self, audio: np.ndarray) -> None:
        """Play ``audio`` (frames, 2) at the player's rate once, at once (starting the stream if needed)."""
        self.mixer.audition(audio)
        if self.stream is not None and not self.stream.active:
            self.stream.start()
