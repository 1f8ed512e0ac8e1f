"""Files for dragging a clip or a section out of the window into another application (a file manager, a DAW).

``clip_midi`` writes a section (all tracks) or a clip (one track of a section) as a Standard MIDI File that starts
at bar 1 (``engine.excerpt.section_song``); ``clip_wav`` writes a clip's dry stem, cut from the audio cache, as a
24-bit WAV (None when the track has no current stem). Files go to the drag folder of the user cache directory
(``MELODEX_CACHE_DIR`` when set, else ``platformdirs.user_cache_dir("melodex-studio")``), named after the song,
section and track; the folder keeps the newest ``KEEP`` files. Qt-free.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..song import Song

ENV = "MELODEX_CACHE_DIR"
KEEP = 64  # files kept in the drag folder (older ones are removed when a new one is written)


def cache_dir() -> Path:
    """The drag-out folder (created)."""
    if os.environ.get(ENV):
        base = Path(os.environ[ENV]).expanduser()
    else:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("melodex-studio"))
    folder = base / "drag"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _name(*parts: str) -> str:
    text = " - ".join(p for p in parts if p)
    return re.sub(r"[^\w\- .]+", "", text, flags=re.UNICODE).strip(" .")[:100] or "clip"


def _target(song: Song, section_id: str, track_id: str | None, suffix: str, folder: Path | None) -> Path:
    folder = folder or cache_dir()
    sec = song.section(section_id)
    track = song.track(track_id).name if track_id else ""
    index = song.sections.index(sec) + 1
    path = folder / (_name(song.title or "Untitled", f"{index:02d} {sec.label}", track) + suffix)
    _prune(folder)
    return path


def _prune(folder: Path) -> None:
    files = sorted((p for p in folder.iterdir() if p.is_file()), key=lambda p: p.stat().st_mtime)
    for p in files[:max(0, len(files) - KEEP + 1)]:
        try:
            p.unlink()
        except OSError:
            pass


def clip_midi(song: Song, section_id: str, track_id: str | None = None, folder: Path | None = None) -> Path:
    """Write the section (``track_id`` None) or the clip as a MIDI file; returns its path."""
    from ..io.midi import export_midi
    from .excerpt import section_song

    path = _target(song, section_id, track_id, ".mid", folder)
    export_midi(section_song(song, section_id, [track_id] if track_id else None), path)
    return path


def clip_wav(song: Song, audio: dict, section_id: str, track_id: str, folder: Path | None = None) -> Path | None:
    """Write the clip's dry stem (the track's current stem in the audio cache, cut to the section) as a WAV
    file; None when the track has no current stem."""
    from ..io.audio import write_audio
    from .proposals import stem_array, stem_name

    name = stem_name(song, track_id)
    if name is None or name not in audio:
        return None
    a = audio[name]
    stem = np.asarray(stem_array(a), dtype=np.float32)
    a0, b0 = song.section_ticks(song.section(section_id))
    s0, s1 = song.tick_to_sample(a0), song.tick_to_sample(b0)
    if s0 >= len(stem):
        return None
    path = _target(song, section_id, track_id, ".wav", folder)
    write_audio(path, stem[s0:s1], song.sample_rate, bits=24)
    return path
