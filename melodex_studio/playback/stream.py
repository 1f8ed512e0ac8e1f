"""Output streams that pull a render function ``render(out, frames)`` (``PlaybackMixer.render``).

* ``OutputStream``: a PortAudio callback stream through ``sounddevice`` (imported when the stream opens). When
  PortAudio or an output device is missing, ``start`` raises ``NoAudioOutputError`` with the reason in words.
* ``ClockStream``: no device: a thread pulls the same callback in real time and drops the audio, so the
  transport, playhead and meters work as with a device (``silent`` is True).
* ``FakeOutputStream``: for tests and benchmarks: ``pull(frames)`` calls the same callback ``blocksize`` frames at
  a time with fresh (NaN-filled) buffers and records exactly what a speaker would get.

Every stream builds its callback with ``make_callback``, the function PortAudio calls.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import AudioError

Render = Callable[[np.ndarray, int], None]
SAMPLE_RATES = (44100, 48000, 88200, 96000)
BLOCK_SIZES = (64, 128, 256, 512, 1024, 2048, 4096)
QUEUE_BUFFERS = 4  # buffers the device holds ahead: a callback may come up to 3 buffers late without a dropout


class NoAudioOutputError(AudioError):
    """There is no way to play sound here (no PortAudio library, no output device, the device refused)."""


@dataclass(frozen=True)
class OutputSettings:
    """Output device (None: the system default; else its name or index), sample rate in Hz and the buffer size
    in frames (a power of two). The device is asked to hold ``QUEUE_BUFFERS`` buffers ahead (``latency_s``):
    Python's audio callback shares the interpreter with the model jobs, and that queue is what lets a callback
    that waited for the CPU or the interpreter still come in time."""

    device: str | int | None = None
    sample_rate: int = 44100
    blocksize: int = 512

    def __post_init__(self) -> None:
        if self.blocksize < 16 or self.blocksize & (self.blocksize - 1):
            raise AudioError(f"the buffer size {self.blocksize} is not a power of two (use 64 to 4096 frames)")
        if not 8000 <= self.sample_rate <= 192000:
            raise AudioError(f"the sample rate {self.sample_rate} Hz is not supported (use 44100 or 48000 Hz)")

    @property
    def buffer_ms(self) -> float:
        """The latency one buffer adds, in milliseconds."""
        return 1000.0 * self.blocksize / self.sample_rate

    @property
    def latency_s(self) -> float:
        """The output latency asked of the device: ``QUEUE_BUFFERS`` buffers."""
        return QUEUE_BUFFERS * self.blocksize / self.sample_rate


def _sounddevice():
    """The sounddevice module, or NoAudioOutputError saying why it cannot load (PortAudio missing)."""
    try:
        import sounddevice
    except OSError as e:  # raised by sounddevice when the PortAudio library is not found
        raise NoAudioOutputError(f"{e} (install PortAudio, e.g. the libportaudio2 package)") from None
    except ImportError:
        raise NoAudioOutputError("the sounddevice package is not installed") from None
    return sounddevice


def output_devices() -> list[tuple[int, str, float]]:
    """(index, name, default sample rate) of every output device; NoAudioOutputError when none can be used."""
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
    except (sd.PortAudioError, ValueError) as e:
        raise NoAudioOutputError(f"the audio devices cannot be listed: {e}") from None
    out = [(i, d["name"], float(d["default_samplerate"])) for i, d in enumerate(devices)
           if d.get("max_output_channels", 0) >= 2]
    if not out:
        raise NoAudioOutputError("no stereo output device was found")
    return out


def make_callback(render: Render, on_status: Callable[[object], None] | None = None):
    """The PortAudio callback ``(outdata, frames, time, status)`` around ``render``: an error inside ``render``
    gives silence for that buffer (a callback must never raise)."""
    def callback(outdata, frames, time_info, status) -> None:
        if status and on_status is not None:
            on_status(status)
        try:
            render(outdata, frames)
        except Exception:  # noqa: BLE001 - the audio thread must go on; the buffer is silent
            outdata.fill(0.0)

    return callback


class OutputStream:
    """A sounddevice OutputStream (stereo float32) pulling ``render``; opened by ``start``."""

    silent = False

    def __init__(self, settings: OutputSettings = OutputSettings()):
        self.settings = settings
        self.sample_rate, self.blocksize = settings.sample_rate, settings.blocksize
        self.underflows = 0
        self._render: Render | None = None
        self._stream = None

    def bind(self, render: Render) -> None:
        self._render = render

    def _status(self, status) -> None:
        if getattr(status, "output_underflow", False):
            self.underflows += 1

    def start(self) -> None:
        if self._stream is None:
            sd = _sounddevice()
            s = self.settings
            try:
                self._stream = sd.OutputStream(samplerate=s.sample_rate, blocksize=s.blocksize, device=s.device,
                                               channels=2, dtype="float32", latency=s.latency_s,
                                               callback=make_callback(self._render, self._status))
            except (sd.PortAudioError, ValueError) as e:  # no such device, a rate or buffer it refuses
                raise NoAudioOutputError(f"the output device cannot be opened: {e}") from None
        if not self._stream.active:
            self._stream.start()

    def stop(self) -> None:
        if self._stream is not None and self._stream.active:
            self._stream.stop()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    @property
    def active(self) -> bool:
        return self._stream is not None and self._stream.active

    @property
    def latency_s(self) -> float:
        """The device's reported output latency (seconds), or the one asked for before it opens."""
        if self._stream is not None:
            return float(self._stream.latency)
        return self.settings.latency_s


class FakeOutputStream:
    """A device for tests: ``pull(frames)`` runs the real callback ``blocksize`` frames at a time and returns
    (and appends to ``recorded``) what a speaker would play. Pulls only while started, as a device does."""

    silent = False

    def __init__(self, sample_rate: int = 44100, blocksize: int = 512):
        self.sample_rate, self.blocksize = int(sample_rate), int(blocksize)
        self.latency_s = self.blocksize / self.sample_rate
        self.underflows = 0
        self.active = False
        self._callback = None
        self._chunks: list[np.ndarray] = []

    def bind(self, render: Render) -> None:
        self._callback = make_callback(render)

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def close(self) -> None:
        self.active = False

    def pull(self, frames: int) -> np.ndarray:
        """Run the callback for ``frames`` frames (rounded up to whole buffers); (n, 2) float32 it delivered."""
        out = []
        for _ in range(math.ceil(frames / self.blocksize)):
            buf = np.full((self.blocksize, 2), np.nan, np.float32)  # what the callback does not fill shows
            self._callback(buf, self.blocksize, None, None)
            out.append(buf)
        audio = np.concatenate(out) if out else np.zeros((0, 2), np.float32)
        self._chunks.append(audio)
        return audio

    @property
    def recorded(self) -> np.ndarray:
        return np.concatenate(self._chunks) if self._chunks else np.zeros((0, 2), np.float32)


class ClockStream:
    """No output device: a thread pulls the callback in real time (one buffer per buffer period) and drops the
    audio, so the transport behaves as with a device. ``reason`` says why there is no sound."""

    silent = True

    def __init__(self, sample_rate: int = 44100, blocksize: int = 1024, reason: str = ""):
        self.sample_rate, self.blocksize, self.reason = int(sample_rate), int(blocksize), reason
        self.latency_s = self.blocksize / self.sample_rate
        self.underflows = 0
        self._callback = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def bind(self, render: Render) -> None:
        self._callback = make_callback(render)

    @property
    def active(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.active:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="melodex-clock-stream", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        buf = np.zeros((self.blocksize, 2), np.float32)
        period = self.blocksize / self.sample_rate
        due = time.monotonic()
        while not self._stop.is_set():
            self._callback(buf, self.blocksize, None, None)
            due += period
            wait = due - time.monotonic()
            if wait > 0:
                self._stop.wait(wait)
            elif wait < -0.5:  # fell far behind (machine busy): do not rush to catch up
                due = time.monotonic()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
            self._thread = None

    def close(self) -> None:
        self.stop()
