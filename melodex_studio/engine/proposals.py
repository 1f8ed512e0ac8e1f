"""Proposals: what a model job made, before it enters the document.

Compute functions (``engine.operations``) work on a copy of the song and of the tensor table and return a
``Proposal``: a whole new song, or takes to add (and whether each replaces the section's notes), the chord
symbols of a section, new tensors and audio-cache stems. ``apply_proposal`` writes one into a ``Document``;
the session wraps that in one undoable ``history.Change``.

Audio cache: the dry stem of a track (whole song, the song's rate, (frames, 2) float32) decoded from the
render takes that play now is stored under ``stem_name(song, track)``, a name derived from those takes'
ids, so a cached stem is current exactly when its name is the one the song asks for.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..song import Chord, Song, Take


@dataclass
class Proposal:
    """What a job made. ``song`` replaces the document when set (generate, import); otherwise ``takes`` are
    added in order, those in ``activate`` replacing their section's notes on their tracks, ``chords`` =
    (start_tick, end_tick, chords) replaces the chord symbols in that span, ``tensors`` and ``stems`` are set
    and ``drop_stems`` removed from the audio cache; ``choose`` sets which render take plays. ``info`` is for the front end (timings, ids, seeds);
    ``notes`` are sentences for the user (e.g. "ran on the CPU after the GPU ran out of memory")."""

    kind: str
    label: str
    song: Song | None = None
    takes: list[Take] = field(default_factory=list)
    activate: set[str] = field(default_factory=set)
    chords: tuple[int, int, list[Chord]] | None = None
    tensors: dict[str, Any] = field(default_factory=dict)
    stems: dict[str, Any] = field(default_factory=dict)
    drop_stems: set[str] = field(default_factory=set)
    choose: dict[str, str] = field(default_factory=dict)  # song.active_takes entries (render take choices)
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sections: set[str] = field(default_factory=set)  # ids touched, for the change notification
    tracks: set[str] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return self.song is None and not (self.takes or self.chords or self.tensors or self.stems or self.drop_stems)


STEM_BITS = 16  # the grid of cached stems (see ``cache_stem``)


def cache_stem(audio) -> np.ndarray:
    """``audio`` on the grid the project file stores cached stems on (16-bit PCM, rounded, clipped to [-1, 1)),
    float32 and read-only: a cached stem is then the same array before a save and after a load, and nothing can
    change it in place. The cache holds the diffusion renderer's decoded stems, whose own noise floor is -47 to
    -60 dBFS (issue 18's measurements): the rounding error, at most -96 dBFS, is far below it, and a 16-bit stem
    takes about half the bytes of a 24-bit one in the file (the low bits of a noisy signal do not compress: a
    3-minute 6-track project held 97 MB of 24-bit stems, 37 MB at 16 bits)."""
    full = np.float32(2 ** (STEM_BITS - 1))
    q = np.array(audio, dtype=np.float32) * full
    np.rint(q, out=q)
    np.clip(q, -full, full - 1, out=q)
    q /= full
    q += np.float32(0.0)  # -0.0 -> +0.0, as a decoded FLAC gives it
    q.flags.writeable = False
    return q


def stem_array(value) -> np.ndarray:
    """The audio of an audio-cache entry: an array as it is, or a project's still-encoded ``io.project.CachedStem``
    decoded (on its first use)."""
    return value.array() if hasattr(value, "array") else value


def stem_name(song: Song, track_id: str) -> str | None:
    """The audio-cache name of ``track_id``'s dry stem decoded from its current render takes, or None when a
    section of the song has no current render take for the track (then no decoded stem can be current)."""
    from .render_takes import current_take

    ids = []
    for sec in sorted(song.sections, key=lambda s: s.start_bar):
        take = current_take(song, sec, track_id)
        if take is None:
            return None
        ids.append(take.id)
    return stem_key(track_id, ids) if ids else None


def stem_key(track_id: str, take_ids: list[str]) -> str:
    """The audio-cache name of ``track_id``'s stem decoded from ``take_ids`` (one per section, in song order)."""
    return f"{track_id}.{hashlib.sha1(','.join(take_ids).encode()).hexdigest()[:12]}"


def stems_of_track(audio, track_id: str) -> list[str]:
    """Names of the cached stems that belong to ``track_id`` (current or not)."""
    return [n for n in audio if n.split(".", 1)[0] == track_id]


def new_entries(before: dict, after: dict) -> dict:
    """Entries of ``after`` that ``before`` does not hold (by name and identity)."""
    return {k: v for k, v in after.items() if before.get(k) is not v}


def apply_proposal(song: Song, tensors: dict, audio: dict, proposal: Proposal) -> None:
    """Write ``proposal`` into the live state (see ``Proposal``). Raises KeyError when a take names a section
    or track that no longer exists (the caller restores the state)."""
    if proposal.song is not None:
        song.assign(proposal.song)
        tensors.clear()
        audio.clear()
    for take in proposal.takes:
        song.add_take(take, activate=take.id in proposal.activate)
    if proposal.chords is not None:
        start, end, chords = proposal.chords
        song.set_chords([c for c in song.chords if not start <= c.start_tick < end] + list(chords))
    song.active_takes.update(proposal.choose)
    tensors.update(proposal.tensors)
    for name in proposal.drop_stems:
        audio.pop(name, None)
    audio.update(proposal.stems)
