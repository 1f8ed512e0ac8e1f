"""What stands in for the SoundFont render when it cannot be made: no synthesiser (the ``tinysoundfont`` package
is not installed, as after a plain ``pip install .`` on Linux) or no General MIDI SoundFont file.

The diffusion renderer levels every decoded stem, section by section, to the loudness of a reference render of
the same notes (``mix.leveling``; rests become silence where the reference is silent). The SoundFont render is
that reference; without it, ``score_reference`` plays the notes as plain tones: each pitched note a sum of four
harmonics with a 5 ms attack, held to its end and released over ``RELEASE_S``; each drum hit a decaying noise
burst. A note's level follows its velocity as the SoundFont render's does (``VELOCITY_EXPONENT``, measured) and
its instrument family's level in the SoundFont (``FAMILY_DB``, measured with ``measure_offsets`` against
pretty_midi's TimGM6mb.sf2, piano = 0 dB), so the mix keeps about the balance the SoundFont render gives it.
Controller lanes (pedal, volume, bends) are not played: they move the level by a few dB at most.

``level_references`` is what the diffusion renderer calls: the SoundFont render when it can be made, else this.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import AudioError
from ..song import Song, Track

Cancel = Callable[[], bool]

ATTACK_S = 0.005
RELEASE_S = 0.2
DRUM_DECAY_S = 0.12  # time constant of a drum hit's noise burst
DRUM_LENGTH_S = 0.6
HARMONICS = (1.0, 0.5, 0.33, 0.25)
BASE_AMPLITUDE = 0.04  # a piano note at velocity 127 (full scale 1.0), measured like FAMILY_DB
# Measured by ``measure_offsets`` with TimGM6mb.sf2 (tests/test_soundfont_fallback.py checks them again):
VELOCITY_EXPONENT = 1.0  # level ~ (velocity / 127) ** exponent
FAMILY_DB = (0.0, 0.0, 6.8, 9.0, 10.8, 14.6, 6.2, 13.6, 16.2, 12.6, 3.7, 12.8, 13.7, 2.6, 7.1, -2.5)  # per GM
# family (program // 8: piano, chromatic percussion, organ, guitar, bass, strings, ensemble, brass, reed, pipe,
# synth lead, synth pad, synth effects, ethnic, percussive, sound effects), dB relative to the piano
DRUM_DB = 18.5


def synth_installed() -> bool:
    """Whether the SoundFont renderer's synthesiser (TinySoundFont's binding) imports."""
    from .soundfont import _tsf

    try:
        _tsf()
    except AudioError:
        return False
    return True


def soundfont_problem(soundfont: str | os.PathLike | None = None) -> str | None:
    """Why the SoundFont render cannot be made here (one sentence), or None when it can: the synthesiser
    package imports and a SoundFont file is found (``soundfont`` or ``find_soundfont()``)."""
    from .soundfont import find_soundfont

    if not synth_installed():
        return "no SoundFont synthesiser is installed (the Python package tinysoundfont)"
    if soundfont is None:
        try:
            find_soundfont()
        except AudioError as e:
            return str(e)
    return None


def _note_tone(pitch: int, frames: int, rate: int) -> np.ndarray:
    t = np.arange(frames, dtype=np.float64) / rate
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    out = np.zeros(frames, np.float64)
    for k, a in enumerate(HARMONICS, start=1):
        if f0 * k < rate / 2:
            out += a * np.sin(2 * np.pi * f0 * k * t)
    return out


def _drum_hit(frames: int, rate: int, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).uniform(-1.0, 1.0, frames)
    return noise * np.exp(-np.arange(frames) / (DRUM_DECAY_S * rate))


def _family_gain(track: Track) -> float:
    db = DRUM_DB if track.is_drum else FAMILY_DB[int(track.program) // 8 % 16]
    return BASE_AMPLITUDE * 10.0 ** (db / 20.0)


def track_reference(song: Song, track: Track, rate: int) -> np.ndarray:
    """Mono float32 plain-tone render of ``track``'s notes at ``rate`` (sample 0 = the song's start), at least the
    song's length; the release tails may run past it."""
    length = song.tempo_map.tick_to_sample(song.end_tick, rate)
    release, attack = int(RELEASE_S * rate), max(1, int(ATTACK_S * rate))
    spans = []
    for n in track.notes:
        on = song.tempo_map.tick_to_sample(n.start_tick, rate)
        off = max(on + 1, song.tempo_map.tick_to_sample(n.end_tick, rate))
        spans.append((on, off, n))
    end = max([length] + [off + (int(DRUM_LENGTH_S * rate) if track.is_drum else release) for _, off, _ in spans])
    out = np.zeros(end, np.float64)
    gain = _family_gain(track)
    for i, (on, off, n) in enumerate(spans):
        level = gain * (n.velocity / 127.0) ** VELOCITY_EXPONENT
        if track.is_drum:
            frames = int(DRUM_LENGTH_S * rate)
            out[on:on + frames] += level * _drum_hit(frames, rate, seed=n.pitch * 1009 + i)
            continue
        frames = off - on + release
        env = np.ones(frames)
        a = min(attack, frames)
        env[:a] = np.linspace(0.0, 1.0, a, endpoint=False)
        env[off - on:] = np.linspace(1.0, 0.0, release)
        out[on:on + frames] += level * env * _note_tone(n.pitch, frames, rate)
    return out.astype(np.float32)


def score_reference(song: Song, track_ids: Sequence[str], rate: int, cancel: Cancel | None = None) -> dict[str, np.ndarray]:
    """Stereo (frames, 2) float32 plain-tone renders of ``track_ids`` (all one length, sample 0 = the song's
    start): the level references of the diffusion renderer when no SoundFont render can be made."""
    from ..errors import CancelledError

    mono = {}
    for tid in track_ids:
        if cancel is not None and cancel():
            raise CancelledError("rendering cancelled")
        mono[tid] = track_reference(song, song.track(tid), rate)
    frames = max((m.size for m in mono.values()), default=0)
    return {tid: np.repeat(np.pad(m, (0, frames - m.size))[:, None], 2, axis=1) for tid, m in mono.items()}


def level_references(song: Song, track_ids: Sequence[str], rate: int, soundfont: str | os.PathLike | None = None,
                     cancel: Cancel | None = None) -> dict[str, np.ndarray]:
    """The diffusion renderer's level references: dry SoundFont renders of ``track_ids`` (stereo, sample 0 = the
    song's start) when the synthesiser and a SoundFont are there, else ``score_reference``."""
    if not track_ids:
        return {}
    if soundfont_problem(soundfont) is not None:
        return score_reference(song, track_ids, rate, cancel)
    from .soundfont import SoundFontRenderer

    return dict(SoundFontRenderer(soundfont, sample_rate=rate).render(song, list(track_ids), cancel=cancel).stems)


def _probe_song(program: int, is_drum: bool, velocity: int) -> Song:
    """Eight half-second notes (a phrase in the instrument's middle register, or kick/snare/hat) for
    ``measure_offsets``."""
    from ..song import Note, Section
    from ..song.ranges import instrument_range
    from ..song.timing import PPQ, TempoMap

    song = Song("probe", tempo_map=TempoMap(bpm=120))
    song.add_section(Section("A", 0, 2))
    t = song.add_track(Track("probe", role="drums" if is_drum else "melody", program=program, is_drum=is_drum, id="p"))
    lo, hi = instrument_range(program, is_drum)
    mid = (lo + hi) // 2
    pitches = [36, 42, 38, 42, 36, 42, 38, 42] if is_drum else [mid + d for d in (0, 4, 7, 12, 7, 4, 0, -5)]
    song.add_notes(t.id, [Note(i * PPQ, p, PPQ, velocity) for i, p in enumerate(pitches)])
    return song


def measure_offsets(soundfont: str | os.PathLike | None = None, rate: int = 24000) -> dict:
    """How far ``score_reference`` is from the SoundFont render: for each GM family, loudness (LUFS) of the
    SoundFont render minus the reference's, relative to the piano's (``family_db``), the same for drums
    (``drum_db``), the piano's own gap (``piano_offset_db``), and the SoundFont's velocity exponent on the piano
    (its level ratio of velocity 127 to 40 notes). With the constants above, measured with TimGM6mb.sf2, every gap
    is within 0.1 dB of 0; for another SoundFont, add the gaps to ``FAMILY_DB``, ``DRUM_DB`` and (as a factor
    ``10 ** (gap / 20)``) ``BASE_AMPLITUDE``."""
    import math

    from ..mix.loudness import integrated_lufs
    from .soundfont import SoundFontRenderer

    sf = SoundFontRenderer(soundfont, sample_rate=rate)

    def gap(program: int, is_drum: bool, velocity: int = 100) -> tuple[float, float]:
        song = _probe_song(program, is_drum, velocity)
        a = integrated_lufs(sf.render(song).stems["p"], rate)
        b = integrated_lufs(score_reference(song, ["p"], rate)["p"], rate)
        return a, b

    families = [round(gap(f * 8, False)[0] - gap(f * 8, False)[1], 1) for f in range(16)]
    piano = families[0]
    loud, quiet = gap(0, False, 127)[0], gap(0, False, 40)[0]
    return {
        "family_db": [round(d - piano, 1) for d in families],
        "drum_db": round(gap(0, True)[0] - gap(0, True)[1] - piano, 1),
        "piano_offset_db": piano,
        "velocity_exponent": round((loud - quiet) / (20 * math.log10(127 / 40)), 2),
    }


if __name__ == "__main__":  # python -m melodex_studio.render.soundfont_fallback [SOUNDFONT]
    import json
    import sys

    print(json.dumps(measure_offsets(sys.argv[1] if len(sys.argv) > 1 else None), indent=1))
