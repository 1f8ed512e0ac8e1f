"""The real-time mixer the audio callback pulls: dry stems in, the stereo mix a speaker plays out.

Two immutable values describe what plays, each swapped whole by one attribute assignment (atomic between two
callbacks; the callback reads each once per buffer):

* ``StemSet``: per-track dry stems, (frames, 2) float32, sample 0 = the start of the song, in song track order;
* ``Levels``: per-channel factors of the audible tracks (gain and pan law of ``mix.mixer.track_gains``, mute
  and solo by ``song.audible_tracks()``) and the master anti-clip trim of ``mix.mixer.mix_stems``.

So a fader, pan, mute or solo edit is heard at the next buffer without re-rendering anything, and a new take's
stem plays from the next buffer after ``set_stems``. ``render(out, frames)`` computes exactly what
``mix.mixer.mix_stems`` computes for the same frames (same float32 products, summed in the same track order,
the same trim), from the current position; a loop region wraps inside a buffer without a gap; one-shot voices
(auditioned notes) are added on top at unity gain.

The transport state (position in frames, playing) is shared with the GUI thread under a lock held for a few
attribute reads or writes; mixing happens outside it into a preallocated scratch buffer. A seek or play/stop
made while a buffer is being mixed wins over the position that buffer would leave.
"""
from __future__ import annotations

import collections
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from ..mix.mixer import CLIP_LEVEL, HEADROOM_DBFS, db_to_gain, track_gains
from ..song import Song

MAX_VOICES = 16  # one-shot voices sounding at once (the oldest is dropped)
METER_SECONDS = 4.0  # master output kept for the loudness meter, seconds


@dataclass(frozen=True)
class StemSet:
    """Dry stems of the tracks, in play order: ``ids[i]`` -> ``stems[i]`` (frames_i, 2) float32 C-contiguous.
    ``frames`` is the longest stem (the song's end for the transport)."""

    ids: tuple[str, ...] = ()
    stems: tuple[np.ndarray, ...] = ()
    frames: int = 0

    @classmethod
    def of(cls, stems: Mapping[str, np.ndarray], order: list[str] | None = None) -> StemSet:
        """From track id -> (frames, 2) audio (converted to float32 C-contiguous only when needed), in ``order``
        (track ids; stems of other ids are left out; None: the mapping's order)."""
        ids = [t for t in (order if order is not None else list(stems)) if t in stems]
        arrays = []
        for tid in ids:
            a = np.ascontiguousarray(stems[tid], dtype=np.float32)
            if a.ndim != 2 or a.shape[1] != 2:
                raise ValueError(f"stem {tid!r} must be (frames, 2), got {a.shape}")
            arrays.append(a)
        return cls(tuple(ids), tuple(arrays), max((len(a) for a in arrays), default=0))


@dataclass(frozen=True)
class Levels:
    """``gains``: track id -> (2,) float32 left/right factor, only for audible tracks (the rest are silent);
    ``trim``: the master factor ``mix_stems`` applies when the whole mix would clip (1.0 otherwise)."""

    gains: Mapping[str, np.ndarray] = field(default_factory=dict)
    trim: float = 1.0

    @classmethod
    def of(cls, song: Song, trim: float = 1.0) -> Levels:
        """Gain, pan, mute and solo of ``song``'s tracks, by the rules of ``mix.mixer.mix_stems``."""
        audible = {t.id for t in song.audible_tracks()}
        return cls({t.id: track_gains(t) for t in song.tracks if t.id in audible}, float(trim))

    def trying(self, song: Song, track_id: str, **values) -> Levels:
        """These levels with ``track_id`` at other mixer ``values`` (gain_db, pan) than ``song`` holds: what a
        fader drag plays before the document changes. A silent (muted, not soloed) track stays silent."""
        if track_id not in self.gains:
            return self
        return Levels({**self.gains, track_id: track_gains(replace(song.track(track_id), **values))}, self.trim)


def headroom_trim(peak: float) -> float:
    """The master factor ``mix_stems`` applies to a mix whose (untrimmed) peak is ``peak``."""
    return float(np.float32(db_to_gain(HEADROOM_DBFS) / peak)) if peak > CLIP_LEVEL else 1.0


def mix_song(song: Song, stems: Mapping[str, np.ndarray]) -> tuple[Levels, np.ndarray]:
    """The levels playback uses (with the anti-clip trim) and the mix ``mix.mixer.mix_stems`` makes of
    ``stems`` (track id -> (frames, 2), all of one length): (frames, 2) float32, the same products summed in the
    same order, without keeping a processed copy of each stem."""
    levels = Levels.of(song)
    frames = max((len(a) for a in stems.values()), default=0)
    mix = np.zeros((frames, 2), np.float32)
    scratch = np.empty((min(frames, 1 << 16), 2), np.float32)
    for track in song.tracks:
        g = levels.gains.get(track.id)
        if g is None or track.id not in stems:
            continue
        audio = np.asarray(stems[track.id], np.float32)
        for at in range(0, len(audio), len(scratch)):
            part = audio[at:at + len(scratch)]
            s = scratch[:len(part)]
            np.multiply(part, g, out=s)
            mix[at:at + len(part)] += s
    peak = max(float(mix.max()), -float(mix.min())) if mix.size else 0.0
    trim = headroom_trim(peak)
    if trim != 1.0:
        mix *= np.float32(trim)
    return Levels(levels.gains, trim), mix


class PlaybackMixer:
    """See the module docstring. ``max_block``: the most frames mixed in one pass (longer buffers are mixed in
    several); ``sample_rate`` in Hz is what positions and the meter buffer are counted in."""

    def __init__(self, sample_rate: int = 44100, max_block: int = 4096):
        self.sample_rate = int(sample_rate)
        self.stems = StemSet()
        self.levels = Levels()
        self.loop: tuple[int, int] | None = None  # (start, end) frames, end exclusive
        self.end_frames = 0  # the song's end: playback runs to max(this, the longest stem), then stops
        self._lock = threading.Lock()
        self._position = 0
        self._playing = False
        self._seq = 0  # bumped by every transport command from outside the callback
        self._ended = False  # set by the callback when it played past the end (no loop)
        self._scratch = np.zeros((max_block, 2), np.float32)
        self._stack = np.zeros((16, 512, 2), np.float32)  # the audible stems' frames of one pass (grows once)
        self._pending: collections.deque[np.ndarray] = collections.deque()
        self._voices: list[list] = []  # [audio, position] of sounding one-shot voices (callback-only)
        self._peaks: dict[str, float] = {}
        self._master_peak = 0.0
        self._ring = np.zeros((int(METER_SECONDS * sample_rate), 2), np.float32)
        self._written = 0  # frames written to the ring in all
        self.callbacks = 0

    # --- what plays (any thread) -------------------------------------------------------------------
    def set_stems(self, stems: StemSet | Mapping[str, np.ndarray], order: list[str] | None = None) -> None:
        """Swap the dry stems (atomic: a buffer is mixed from the old or the new set, never both)."""
        self.stems = stems if isinstance(stems, StemSet) else StemSet.of(stems, order)

    def set_levels(self, levels: Levels) -> None:
        self.levels = levels

    def set_loop(self, start: int | None, end: int | None = None) -> None:
        """Loop [start, end) frames while the position is before ``end``; None (or an empty span) for no loop."""
        self.loop = (int(start), int(end)) if start is not None and end is not None and end > start >= 0 else None

    # --- transport (GUI thread) ----------------------------------------------------------------------
    @property
    def position(self) -> int:
        """The next frame the callback will play."""
        return self._position

    @property
    def playing(self) -> bool:
        return self._playing

    def take_ended(self) -> bool:
        """True once after the callback stopped at the end of the song."""
        with self._lock:
            ended, self._ended = self._ended, False
        return ended

    def play(self, start: int | None = None) -> None:
        with self._lock:
            if start is not None:
                self._position = max(0, int(start))
            self._playing, self._ended = True, False
            self._seq += 1

    def stop(self) -> None:
        with self._lock:
            self._playing = False
            self._seq += 1

    def seek(self, frame: int) -> None:
        with self._lock:
            self._position = max(0, int(frame))
            self._seq += 1

    def audition(self, audio: np.ndarray) -> None:
        """Play ``audio`` (frames, 2) once from the next buffer on, on top of the song (playing or not)."""
        self._pending.append(np.ascontiguousarray(audio, dtype=np.float32))

    # --- meters (GUI thread) -------------------------------------------------------------------------
    def take_peaks(self) -> tuple[dict[str, float], float]:
        """Per-track peak (after gain and pan) and master peak since the last call, linear."""
        peaks, self._peaks = self._peaks, {}
        master, self._master_peak = self._master_peak, 0.0
        return peaks, master

    @property
    def frames_written(self) -> int:
        """Frames the callback has delivered in all (what ``recent`` counts back from)."""
        return self._written

    def recent(self, frames: int) -> np.ndarray:
        """The last ``frames`` frames the callback delivered (at most ``METER_SECONDS``), oldest first."""
        ring, end = self._ring, self._written
        frames = min(int(frames), len(ring), end)
        idx = (np.arange(end - frames, end) % len(ring))
        return ring[idx].copy()

    # --- the audio callback ------------------------------------------------------------------------
    def render(self, out: np.ndarray, frames: int) -> None:
        """Fill ``out[:frames]`` ((>= frames, 2) float32) with the next ``frames`` frames and advance."""
        with self._lock:
            pos, playing, seq = self._position, self._playing, self._seq
        dst = out[:frames]
        dst.fill(0.0)
        ended = False
        if playing:
            pos, ended = self._play(dst, frames, pos)
        if self._pending or self._voices:
            self._mix_voices(dst, frames)
        self._meter(dst, frames)
        with self._lock:
            if self._seq == seq:
                self._position = pos
                if ended:
                    self._playing, self._ended = False, True
        self.callbacks += 1

    def _play(self, dst: np.ndarray, frames: int, pos: int) -> tuple[int, bool]:
        stems, levels, loop = self.stems, self.levels, self.loop
        done = 0
        block = len(self._scratch)
        while done < frames:
            looping = loop is not None and pos < loop[1]
            end = loop[1] if looping else max(stems.frames, self.end_frames)
            if pos >= end:
                return pos, True
            n = min(frames - done, end - pos, block)
            self._mix_range(dst[done:done + n], pos, n, stems, levels)
            done += n
            pos += n
            if looping and pos >= loop[1]:
                pos = loop[0]
        return pos, False

    def _mix_range(self, dst: np.ndarray, pos: int, n: int, stems: StemSet, levels: Levels) -> None:
        """Frames [pos, pos + n) of every audible stem times its factors, summed in track order into ``dst`` (n, 2),
        which holds zeros. Where every audible stem reaches past the range (all but the last buffers of shorter
        stems) this is a few whole-array operations instead of four per stem: each numpy call may let a job's
        thread take the GIL, and getting it back costs up to a switch interval (``responsive.FAST_SWITCH_S``)."""
        gains = levels.gains
        audible = [(tid, audio, gains[tid]) for tid, audio in zip(stems.ids, stems.stems)
                   if tid in gains and len(audio) > pos]
        if not audible:
            peaks = []
        elif all(len(audio) >= pos + n for _, audio, _ in audible):
            k = len(audible)
            if self._stack.shape[0] < k or self._stack.shape[1] < n:
                self._stack = np.zeros((max(k, self._stack.shape[0]), max(n, self._stack.shape[1]), 2), np.float32)
            block = self._stack[:k, :n]
            np.stack([audio[pos:pos + n] for _, audio, _ in audible], out=block)
            block *= np.stack([g for _, _, g in audible])[:, None, :]  # the same float32 products as mix_stems
            np.add.reduce(block, axis=0, out=dst)  # row after row: the same order of float32 sums as mix_stems
            peaks = np.maximum(block.max(axis=(1, 2)), -block.min(axis=(1, 2))).tolist()
        else:  # a stem ends inside the range
            scratch = self._scratch
            peaks = []
            for _, audio, g in audible:
                m = min(n, len(audio) - pos)
                s = scratch[:m]
                np.multiply(audio[pos:pos + m], g, out=s)
                np.add(dst[:m], s, out=dst[:m])
                peaks.append(max(float(s.max()), -float(s.min())))
        kept = self._peaks
        for (tid, _, _), p in zip(audible, peaks):
            if p > kept.get(tid, 0.0):
                kept[tid] = p
        if levels.trim != 1.0:
            dst *= np.float32(levels.trim)

    def _mix_voices(self, dst: np.ndarray, frames: int) -> None:
        while self._pending:
            self._voices.append([self._pending.popleft(), 0])
        del self._voices[:-MAX_VOICES]
        finished = False
        for voice in self._voices:
            audio, at = voice
            m = min(frames, len(audio) - at)
            if m > 0:
                np.add(dst[:m], audio[at:at + m], out=dst[:m])
            voice[1] = at + max(m, 0)
            finished |= voice[1] >= len(audio)
        if finished:
            self._voices = [v for v in self._voices if v[1] < len(v[0])]

    def _meter(self, dst: np.ndarray, frames: int) -> None:
        p = max(float(dst.max()), -float(dst.min())) if frames else 0.0
        self._master_peak = max(self._master_peak, p)
        ring = self._ring
        size = len(ring)
        if frames > size:  # only the last METER_SECONDS are kept
            self._written += frames - size
            dst, frames = dst[frames - size:], size
        at = self._written % size
        first = min(frames, size - at)
        ring[at:at + first] = dst[:first]
        if first < frames:
            ring[:frames - first] = dst[first:]
        self._written += frames
