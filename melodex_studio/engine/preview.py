"""The dry stems playback plays, one per track, and single auditioned notes.

For each track of a song: its current diffusion stem from the session's audio cache when there is one (named
by ``proposals.stem_name``), else a SoundFont preview of the track's notes rendered with the export's renderer
(``engine.rendering.soundfont_renderer``, imported when first needed). Previews are cached per track by a
hash of what they are made from (notes, controller lanes, program, drum flag, the tempo map, the song's end,
the sample rate), so after an edit only the tracks that changed render again.

Stems are (frames, 2) float32 at the requested rate, sample 0 = the start of the song; lengths may differ (a
SoundFont preview keeps its release tail). ``pad_stems`` gives them one length, as ``mix.mixer`` wants.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from functools import lru_cache

import numpy as np

from ..song import Note, Song, Track
from ..song.model import EXPRESSION, VOLUME
from .proposals import stem_name

NOTE_SECONDS = 0.5  # how long an auditioned note is held (drums: struck and left to ring)
NOTE_TAIL_SECONDS = 1.0  # the most release tail an auditioned note keeps

Cancel = Callable[[], bool]


def preview_key(song: Song, track: Track, sample_rate: int) -> str:
    """A hash of everything a track's SoundFont preview depends on (a changed key means render again)."""
    h = hashlib.sha1()
    notes = sorted((n.start_tick, n.pitch, n.duration_ticks, n.velocity) for n in track.notes)
    h.update(np.array(notes, np.int64).tobytes())
    h.update(repr((track.program, track.is_drum, track.controls, song.tempo_map.to_list(), song.end_tick,
                   int(sample_rate))).encode())
    if any(c.kind in (VOLUME, EXPRESSION) for c in track.controls):  # the renderer scales lanes by the gain's CC7
        h.update(repr(track.gain_db).encode())
    return h.hexdigest()


def _resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out:
        return np.asarray(audio, np.float32)
    import soxr

    return np.ascontiguousarray(soxr.resample(np.asarray(audio, np.float32), rate_in, rate_out), np.float32)


@lru_cache(maxsize=4)
def _renderer(sample_rate: int):
    from .rendering import SoundFontRenderer, soundfont_renderer

    base = soundfont_renderer()
    return SoundFontRenderer(base.soundfont_path, sample_rate=sample_rate)


class PreviewStems:
    """The per-track stem cache of one front end. Call ``update`` from one thread at a time."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[str, np.ndarray]] = {}  # track id -> (key, stem)
        self.rendered = 0  # SoundFont previews rendered in all (tests and benchmarks read it)

    def update(self, song: Song, audio: Mapping[str, np.ndarray], sample_rate: int,
               cancel: Cancel | None = None) -> tuple[dict[str, np.ndarray], set[str]]:
        """The stems of every track of ``song`` (track id -> (frames, 2) float32 at ``sample_rate``) and the ids
        whose stem is new since the last call. ``audio`` is the session's audio cache (a copy of the dict)."""
        stems: dict[str, np.ndarray] = {}
        changed: set[str] = set()
        for track in song.tracks:
            name = stem_name(song, track.id)
            if name is not None and name in audio:
                key = f"stem:{name}:{sample_rate}"
            else:
                key = preview_key(song, track, sample_rate)
            cached = self._cache.get(track.id)
            if cached is not None and cached[0] == key:
                stems[track.id] = cached[1]
                continue
            if cancel is not None and cancel():
                break
            if key.startswith("stem:"):
                stem = _resample(audio[name], song.sample_rate, sample_rate)
            else:
                stem = _renderer(int(sample_rate)).render(song, [track.id]).stems[track.id]
                self.rendered += 1
            stem.flags.writeable = False
            self._cache[track.id] = (key, stem)
            stems[track.id] = stem
            changed.add(track.id)
        for tid in [t for t in self._cache if t not in {tr.id for tr in song.tracks}]:
            del self._cache[tid]
        return stems, changed


def pad_stems(stems: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The stems zero-padded to the longest one (new arrays only for the shorter ones)."""
    frames = max((len(a) for a in stems.values()), default=0)
    out = {}
    for tid, a in stems.items():
        if len(a) == frames:
            out[tid] = a
        else:
            b = np.zeros((frames, 2), np.float32)
            b[:len(a)] = a
            out[tid] = b
    return out


@lru_cache(maxsize=256)
def _note(program: int, pitch: int, velocity: int, is_drum: bool, sample_rate: int) -> np.ndarray:
    from .rendering import SoundFontRenderer

    song = Song(sample_rate=sample_rate)
    duration = song.tempo_map.seconds_to_tick(NOTE_SECONDS)
    track = Track("note", "drums" if is_drum else "melody", program, is_drum,
                  notes=[Note(0, pitch, max(1, int(duration)), velocity)])
    song.add_track(track)
    base = _renderer(int(sample_rate))
    renderer = SoundFontRenderer(base.soundfont_path, sample_rate=sample_rate, tail_seconds=NOTE_TAIL_SECONDS)
    audio = renderer.render(song).stems[track.id]
    audio.flags.writeable = False
    return audio


def render_note(program: int, pitch: int, velocity: int = 100, is_drum: bool = False,
                sample_rate: int = 44100) -> np.ndarray:
    """One note (GM ``program``, MIDI ``pitch`` and ``velocity``; a drum kit when ``is_drum``) held for
    ``NOTE_SECONDS`` with its release tail: (frames, 2) float32 at ``sample_rate``, read-only, cached."""
    if not (0 <= int(program) <= 127 and 0 <= int(pitch) <= 127 and 1 <= int(velocity) <= 127):
        raise ValueError(f"cannot audition program {program}, pitch {pitch}, velocity {velocity}")
    return _note(int(program), int(pitch), int(velocity), bool(is_drum), int(sample_rate))
