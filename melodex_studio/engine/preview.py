"""The dry stems playback plays, one per track, and single auditioned notes.

For each track of a song: its current diffusion stem from the session's audio cache when there is one (named
by ``proposals.stem_name``), else a SoundFont preview of the track's notes rendered with the export's renderer
(``engine.rendering.soundfont_renderer``, imported when first needed). Previews are cached per track by a
hash of what they are made from (notes, controller lanes, program, drum flag, the tempo map, the song's end,
the sample rate), so after an edit only the tracks that changed render again.

Stems are (frames, 2) float32 at the requested rate, sample 0 = the start of the song; lengths may differ (a
SoundFont preview keeps its release tail). ``pad_stems`` gives them one length, as ``mix.mixer`` wants.

Previews render in a child process (``render_track``): TinySoundFont holds Python's GIL for each block it
renders, so rendering on a thread of the studio's process would stall the audio callback (dropouts while an
edit re-renders). The child writes the stem to a file in shared memory (``/dev/shm`` where there is one), which
is read here on the worker thread and unlinked (not mapped: freeing a mapped tmpfs file's pages falls to whichever
thread drops the array last, the GUI thread among them). Where no child process can be started, the render runs
in this process.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..song import Note, Song, Track
from ..song.model import EXPRESSION, SUSTAIN, VOLUME
from .proposals import stem_array, stem_name

NOTE_SECONDS = 0.5  # how long an auditioned note is held (drums: struck and left to ring)
NOTE_TAIL_SECONDS = 1.0  # the most release tail an auditioned note keeps
RECENT_BYTES = 512 * 2**20  # stems a track played before (another take, before an edit) kept for switching back
QUICK_NOTES = 64  # at most this many notes added or removed (or QUICK_SHARE of the track's): a quick preview first
QUICK_SHARE = 0.3
PIECES_BYTES = 256 * 2**20  # renders of a take's section notes alone, kept for quick take switches

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


def _fingerprint(song: Song, track: Track, sample_rate: int) -> tuple:
    """What a track's preview depends on besides its notes (see ``preview_key``)."""
    lanes = any(c.kind in (VOLUME, EXPRESSION) for c in track.controls)
    return (track.program, track.is_drum, track.controls, tuple(map(tuple, song.tempo_map.to_list())), song.end_tick,
            int(sample_rate), track.gain_db if lanes else None)


def _note_counts(track: Track) -> Counter:
    return Counter((n.start_tick, n.pitch, n.duration_ticks, n.velocity) for n in track.notes)


def _resample(audio, rate_in: int, rate_out: int) -> np.ndarray:
    """A cached stem (an array, or a project's still-encoded ``CachedStem``) at ``rate_out``."""
    audio = stem_array(audio)
    if rate_in == rate_out:
        return np.asarray(audio, np.float32)
    import soxr

    return np.ascontiguousarray(soxr.resample(np.asarray(audio, np.float32), rate_in, rate_out), np.float32)


@lru_cache(maxsize=4)
def _renderer(sample_rate: int):
    from .rendering import SoundFontRenderer, soundfont_renderer

    base = soundfont_renderer()
    return SoundFontRenderer(base.soundfont_path, sample_rate=sample_rate)


class _Child:
    """The preview child process (``engine.preview_child``), started on first use; one job at a time."""

    def __init__(self) -> None:
        import subprocess
        import sys

        self.proc = subprocess.Popen([sys.executable, "-m", "melodex_studio.engine.preview_child"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.lock = threading.Lock()

    def call(self, job: tuple) -> str:
        """The path the child rendered ``job`` to; its exception when it failed; OSError when it is gone."""
        from .preview_child import read_message, write_message

        with self.lock:
            write_message(self.proc.stdin, job)
            answer = read_message(self.proc.stdout)
        if answer is None:
            raise OSError("the preview process ended")
        kind, value = answer
        if kind == "error":
            raise value
        return value

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(2)
        except (OSError, ValueError, TimeoutError):
            self.proc.kill()


_child: _Child | None = None
_child_broken = False
_child_lock = threading.Lock()


def _preview_child() -> _Child | None:
    """The one child process that renders previews (None where none can run: previews render here then)."""
    global _child, _child_broken
    with _child_lock:
        if _child is None and not _child_broken:
            import atexit

            remove_stale_files(_shared_dir())
            try:
                _child = _Child()
            except OSError:
                _child_broken = True
                return None
            atexit.register(_child.close)
        return _child


def _shared_dir() -> str:
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()


FILE_PREFIX = "melodex-preview-"  # + the studio process's id + "-": a stem file on its way from the child


def remove_stale_files(folder: str) -> list[str]:
    """Delete the stem files a studio process that has ended left behind (it was killed between the child's
    write and its own read): in shared memory each one holds its size in RAM until the machine restarts."""
    removed = []
    for path in Path(folder).glob(f"{FILE_PREFIX}*.npy"):
        pid = path.name[len(FILE_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            path.unlink()
            removed.append(path.name)
        except OSError:  # another user's file, or gone already
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, another user's
        return True
    return True


def _solo_song(song: Song, track: Track) -> Song:
    """What a track's preview depends on: the tempo and meter maps, the sections (the song's end) and the track."""
    mini = song.frame()
    mini.sections = [replace(sec, overrides={}) for sec in mini.sections]
    mini.tracks = [replace(track, notes=list(track.notes))]
    return mini


def _render_to_file(song: Song, track_id: str, sample_rate: int, folder: str) -> str:
    """In the child: render one track and save it as .npy in ``folder``; returns the path."""
    stem = _renderer(int(sample_rate)).render(song, [track_id]).stems[track_id]
    fd, path = tempfile.mkstemp(prefix=f"{FILE_PREFIX}{os.getppid()}-", suffix=".npy", dir=folder)
    with os.fdopen(fd, "wb") as f:
        np.save(f, stem)
    return path


def render_track(song: Song, track_id: str, sample_rate: int, isolate: bool = True) -> np.ndarray:
    """The SoundFont preview of one track of ``song``: (frames, 2) float32 at ``sample_rate``, read-only.
    ``isolate``: render in the child process (the result comes through a file in shared memory), else here."""
    global _child, _child_broken
    child = _preview_child() if isolate else None
    if child is not None:
        try:
            path = child.call((_solo_song(song, song.track(track_id)), track_id, int(sample_rate), _shared_dir()))
        except OSError:  # the child died (out of memory?) or its pipe broke: render here from now on
            _child, _child_broken = None, True
        else:
            # read into the process's own memory, then unlink (both release the GIL): an array mapped from the
            # tmpfs file freed its pages when the last reference went, often on the GUI thread, holding the GIL
            # (~6 ms a 60 s stem; 400 ms for a song's worth of stems under load)
            try:
                stem = np.load(path)
            finally:
                try:
                    os.unlink(path)
                except OSError:
                    pass
            stem.flags.writeable = False
            return stem
    stem = _renderer(int(sample_rate)).render(song, [track_id]).stems[track_id]
    stem.flags.writeable = False
    return stem


class PreviewStems:
    """The per-track stem cache of one front end. Call ``update`` from one thread at a time. Stems a track no
    longer plays are kept (newest first, up to ``RECENT_BYTES``), so switching back to a take, or undoing an edit,
    plays at once."""

    def __init__(self, isolate: bool = True) -> None:
        self._cache: dict[str, tuple[str, np.ndarray]] = {}  # track id -> (key, stem)
        self._made: dict[str, tuple[tuple, Counter]] = {}  # track id -> what its SoundFont preview was made from
        self.provisional: set[str] = set()  # tracks whose stem is a quick one (see ``update``)
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()  # key -> stem no track plays now
        self.isolate = isolate  # render in the child process (see the module docstring)
        self.rendered = 0  # SoundFont previews rendered in all (tests and benchmarks read it)
        self.quick_rendered = 0  # quick (provisional) previews made
        # notes of one track rendered alone (a take's section, or what it replaces): key -> (first frame, audio)
        self._pieces: OrderedDict[str, tuple[int, np.ndarray]] = OrderedDict()
        self.pieces_rendered = 0

    def update(self, song: Song, audio: Mapping[str, np.ndarray], sample_rate: int,
               cancel: Cancel | None = None, quick: bool = False) -> tuple[dict[str, np.ndarray], set[str]]:
        """The stems of every track of ``song`` (track id -> (frames, 2) float32 at ``sample_rate``) and the ids
        whose stem is new since the last call. ``audio`` is the session's audio cache (a copy of the dict).
        Once ``cancel()`` is true nothing more renders: the tracks left keep the stems they had (if any).

        ``quick``: when only a few notes of a pitched track without a sustain pedal changed, its new stem is the
        old one minus the removed notes plus the added ones, each rendered alone (a synth's voices add up), in a
        fraction of a full render; such tracks are listed in ``provisional`` and the next call without ``quick``
        renders them in full (exactly the export's stem)."""
        stems: dict[str, np.ndarray] = {}
        changed: set[str] = set()
        for track in song.tracks:
            name = stem_name(song, track.id)
            if name is not None and name in audio:
                key = f"stem:{name}:{sample_rate}"
            else:
                key = preview_key(song, track, sample_rate)
            cached = self._cache.get(track.id)
            was_provisional = track.id in self.provisional
            if cached is not None and cached[0] == key and (quick or not was_provisional):
                stems[track.id] = cached[1]
                continue
            if cancel is not None and cancel():  # stop rendering; what played before plays on
                if cached is not None:
                    stems[track.id] = cached[1]
                continue
            self.provisional.discard(track.id)
            if key in self._recent:
                stem = self._recent.pop(key)
            elif key.startswith("stem:"):
                stem = _resample(audio[name], song.sample_rate, sample_rate)
            else:
                stem = self._quick(song, track, sample_rate, cached) if quick else None
                if stem is not None:
                    self.provisional.add(track.id)
                else:
                    stem = render_track(song, track.id, sample_rate, self.isolate)
                    self.rendered += 1
            if stem.flags.writeable:
                stem.flags.writeable = False
            if cached is not None and not was_provisional:
                self._keep(*cached)
            self._cache[track.id] = (key, stem)
            if key.startswith("stem:"):
                self._made.pop(track.id, None)
            else:
                self._made[track.id] = (_fingerprint(song, track, sample_rate), _note_counts(track))
            stems[track.id] = stem
            changed.add(track.id)
        for tid in [t for t in self._cache if t not in {tr.id for tr in song.tracks}]:
            entry = self._cache.pop(tid)
            if tid not in self.provisional:
                self._keep(*entry)
            self.provisional.discard(tid)
            self._made.pop(tid, None)
        return stems, changed

    def _quick(self, song: Song, track: Track, sample_rate: int, cached) -> np.ndarray | None:
        """The old stem minus the removed notes plus the added ones (see ``update``), or None when that does not
        apply (other changes than notes, drums, a sustain pedal, no old SoundFont preview, or many notes whose
        renders ``prefetch`` has not made ahead: a take switch)."""
        changes = self._note_changes(song, track, sample_rate, cached)
        if changes is None:
            return None
        removed, added = changes
        n = sum(removed.values()) + sum(added.values())
        small = n <= max(QUICK_NOTES, QUICK_SHARE * len(track.notes))
        parts = []
        for sign, notes in ((-1.0, removed), (1.0, added)):
            if notes:
                piece = self._piece(song, track, notes, sample_rate, render=small)
                if piece is None:
                    return None
                parts.append((sign, piece))
        old = cached[1]
        out = np.empty((max([len(old)] + [at + len(p) for _, (at, p) in parts]), 2), np.float32)
        out[:len(old)] = old
        out[len(old):] = 0.0
        for sign, (at, part) in parts:
            if sign < 0:
                out[at:at + len(part)] -= part
            else:
                out[at:at + len(part)] += part
        self.quick_rendered += 1
        return out

    def _note_changes(self, song: Song, track: Track, sample_rate: int, cached) -> tuple[Counter, Counter] | None:
        """(removed, added) notes of ``track`` since its cached SoundFont preview, when a quick stem can be made from
        them (only notes changed; pitched; no sustain pedal); else None."""
        made = self._made.get(track.id)
        if cached is None or made is None or track.is_drum or any(c.kind == SUSTAIN for c in track.controls):
            return None
        if made[0] != _fingerprint(song, track, sample_rate):
            return None
        new = _note_counts(track)
        removed, added = made[1] - new, new - made[1]
        if not removed and not added:
            return None
        return removed, added

    def _piece(self, song: Song, track: Track, notes: Counter, sample_rate: int,
               render: bool = True) -> tuple[int, np.ndarray] | None:
        """``notes`` of ``track`` rendered alone, with their tails: (first sounding frame, audio from it), kept
        (newest first, up to ``PIECES_BYTES``); None when not kept and ``render`` is False."""
        h = hashlib.sha1(repr(_fingerprint(song, track, sample_rate)).encode())
        h.update(np.array(sorted(notes.elements()), np.int64).tobytes())
        key = h.hexdigest()
        hit = self._pieces.get(key)
        if hit is not None:
            self._pieces.move_to_end(key, last=False)
            return hit
        if not render:
            return None
        alone = replace(track, notes=[Note(*n) for n in sorted(notes.elements())])
        mini = _solo_song(song, alone)
        mini.sections = []  # the render ends with these notes' tails, not at the song's end
        audio = render_track(mini, track.id, sample_rate, self.isolate)
        sounding = np.flatnonzero(np.any(audio != 0, axis=1))
        at = int(sounding[0]) if sounding.size else len(audio)
        piece = (at, np.array(audio[at:], np.float32))  # a copy of what sounds; the silence before it goes
        piece[1].flags.writeable = False
        self.pieces_rendered += 1
        self._pieces[key] = piece
        self._pieces.move_to_end(key, last=False)
        total = sum(p.nbytes for _, p in self._pieces.values())
        while total > PIECES_BYTES and len(self._pieces) > 1:
            total -= self._pieces.popitem()[1][1].nbytes
        return piece

    def prefetch(self, song: Song, sample_rate: int, cancel: Cancel | None = None, limit: int = 8) -> int:
        """Render, ahead of time, what switching to a structure take of ``song`` that does not play now needs:
        for every such take of a pitched track, its section's notes alone and the notes they replace (small
        renders, kept: the switch is then heard at once from a quick stem, and the full render follows); and the
        whole previews of the newest ``limit`` takes (the song as ``use_take`` would make it; kept with the stems
        played before, so switching to one plays the exact preview at once). Returns how many whole previews
        were rendered (``pieces_rendered`` counts the small ones)."""
        from .render_takes import is_render_take

        playing = set(song.active_takes.values())
        variants = []
        for take in reversed(song.takes):
            if is_render_take(take) or take.id in playing:
                continue
            variant = song.copy()
            try:
                variant.activate_take(take.id)
            except (KeyError, ValueError):  # the take names a track or section that is gone
                continue
            variants.append((take, variant))
        for take, variant in variants:
            for tid in take.notes:
                if cancel is not None and cancel():
                    return 0
                track = variant.track(tid)
                changes = self._note_changes(variant, track, sample_rate, self._cache.get(tid))
                for notes in changes or ():
                    if notes:
                        self._piece(variant, track, notes, sample_rate)
        done = 0
        for take, variant in variants:
            if done >= limit or (cancel is not None and cancel()):
                break
            for tid in take.notes:
                track = variant.track(tid)
                key = preview_key(variant, track, sample_rate)
                current = self._cache.get(tid)
                if key in self._recent or (current is not None and current[0] == key):
                    continue
                if cancel is not None and cancel():
                    return done
                stem = render_track(variant, tid, sample_rate, self.isolate)
                if stem.flags.writeable:
                    stem.flags.writeable = False
                self.rendered += 1
                self._keep(key, stem)
                done += 1
        return done

    def _keep(self, key: str, stem: np.ndarray) -> None:
        self._recent[key] = stem
        self._recent.move_to_end(key, last=False)
        total = sum(a.nbytes for a in self._recent.values())
        while total > RECENT_BYTES and self._recent:
            total -= self._recent.popitem()[1].nbytes


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


def warm_up(sample_rate: int) -> None:
    """Load the SoundFont for ``render_note`` at ``sample_rate`` now (a few hundred ms, once), so that the first
    auditioned note does not wait for it."""
    _renderer(int(sample_rate))


def render_note(program: int, pitch: int, velocity: int = 100, is_drum: bool = False,
                sample_rate: int = 44100) -> np.ndarray:
    """One note (GM ``program``, MIDI ``pitch`` and ``velocity``; a drum kit when ``is_drum``) held for
    ``NOTE_SECONDS`` with its release tail: (frames, 2) float32 at ``sample_rate``, read-only, cached."""
    if not (0 <= int(program) <= 127 and 0 <= int(pitch) <= 127 and 1 <= int(velocity) <= 127):
        raise ValueError(f"cannot audition program {program}, pitch {pitch}, velocity {velocity}")
    return _note(int(program), int(pitch), int(velocity), bool(is_drum), int(sample_rate))
