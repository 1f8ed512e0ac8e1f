"""Stem mixing: each track's gain and pan, mute and solo, summed to the stereo mix.

Signal flow per audible track (``song.audible_tracks()``): dry stem (frames, 2) -> gain (dB) -> pan ->
processed stem. The mix is the plain sum of the processed stems. There is no limiter here (the streaming
loudness preset lives in ``mix.loudness``).

Pan law: constant power, normalised to unity at the centre, applied as a stereo balance:
``left *= sqrt(2) * cos(theta)``, ``right *= sqrt(2) * sin(theta)`` with ``theta = (pan + 1) * pi / 4``
(pan in [-1, 1]). A centred track passes unchanged; a hard-panned track keeps its side at +3 dB and
silences the other; the total power of a mono source is the same at every pan position.

Master headroom: when the summed mix would clip (peak above 0 dBFS), the mix *and every processed stem*
are scaled by the same factor so that the mix peaks at ``HEADROOM_DBFS`` (-0.3 dBFS). Scaling everything
together keeps the property that the exported stems sum to the exported mix (to float rounding), so a
DAW that loads the stems hears the mix. A mix that does not clip is left untouched.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import AudioError
from ..song import Song, Track

HEADROOM_DBFS = -0.3  # peak of a mix that had to be scaled down to avoid clipping, in dBFS
CLIP_LEVEL = 1.0  # linear full scale


def db_to_gain(db: float) -> float:
    """Decibels to a linear amplitude factor (-inf dB -> 0)."""
    return 0.0 if db == -math.inf else float(10.0 ** (db / 20.0))


def pan_gains(pan: float) -> tuple[float, float]:
    """(left, right) amplitude factors of the constant-power pan law, unity at pan 0 (see module doc)."""
    if not -1.0 <= pan <= 1.0:
        raise AudioError(f"pan {pan} is outside -1 (left) .. 1 (right)")
    theta = (pan + 1.0) * math.pi / 4.0
    return math.sqrt(2.0) * math.cos(theta), math.sqrt(2.0) * math.sin(theta)


def track_gains(track: Track) -> np.ndarray:
    """(2,) float32 per-channel factor of a track: gain (dB) times pan law."""
    g = db_to_gain(track.gain_db)
    left, right = pan_gains(track.pan)
    return np.array([g * left, g * right], np.float32)


def _scale_stereo(audio: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """(frames, 2) float32 times per-channel (2,) gains, as a new array (fast paths for numpy's
    slow broadcast over a length-2 last axis: a scalar when both gains agree, else 8 frames per row)."""
    if gains[0] == gains[1]:
        return audio * gains[0]
    if audio.size % 16 == 0 and audio.flags.c_contiguous:
        return (audio.reshape(-1, 16) * np.tile(gains, 8)).reshape(audio.shape)
    return audio * gains


def mix_stems(
    song: Song, stems: dict[str, np.ndarray], headroom_dbfs: float = HEADROOM_DBFS, inplace: bool = False,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Apply gain, pan, mute and solo to dry stems and sum them.

    Args:
        song: gives each track's ``gain_db``, ``pan``, ``mute`` and ``solo`` (via ``audible_tracks()``).
        stems: track id -> dry (frames, 2) float audio, all of the same length. Stems of tracks that
            are not in the song raise AudioError; tracks of the song without a stem are silent.
        headroom_dbfs: peak of the mix after the anti-clip trim (only applied when the mix clips).
        inplace: process float32 C-contiguous stems in their own arrays (saves memory on long songs;
            the caller's dry stems are overwritten).

    Returns:
        (processed_stems, mix): processed stems only for audible tracks that have a stem, in song
        track order, each (frames, 2) float32; ``mix`` (frames, 2) float32 is their sum (all zeros when
        nothing is audible).
    """
    known = {t.id for t in song.tracks}
    unknown = [k for k in stems if k not in known]
    if unknown:
        raise AudioError(f"stems {unknown} belong to no track of {song.title!r}")
    lengths = {np.asarray(a).shape for a in stems.values()}
    if len(lengths) > 1:
        raise AudioError(f"stems must all have the same length and 2 channels, got shapes {sorted(lengths)}")
    shape = next(iter(lengths)) if lengths else (0, 2)
    if len(shape) != 2 or shape[1] != 2:
        raise AudioError(f"stems must be stereo (frames, 2) arrays, got shape {shape}")
    audible = {t.id for t in song.audible_tracks()}
    processed: dict[str, np.ndarray] = {}
    mix = np.zeros(shape, np.float32)
    for track in song.tracks:
        if track.id not in stems or track.id not in audible:
            continue
        dry = np.asarray(stems[track.id], dtype=np.float32)
        gains = track_gains(track)
        if inplace and dry.flags.c_contiguous and dry.flags.writeable:
            out = dry
            if gains[0] == gains[1]:
                out *= gains[0]
            else:
                out[:, 0] *= gains[0]
                out[:, 1] *= gains[1]
        else:
            out = _scale_stereo(dry, gains)
        processed[track.id] = out
        mix += out
    peak = max(float(mix.max()), -float(mix.min())) if mix.size else 0.0
    if peak > CLIP_LEVEL:
        scale = np.float32(db_to_gain(headroom_dbfs) / peak)
        for audio in processed.values():
            audio *= scale
        mix *= scale  # equals the sum of the scaled stems to float rounding (~-140 dB)
    return processed, mix


def stems_residual_db(stems: dict[str, np.ndarray], mix: np.ndarray) -> float:
    """How well ``stems`` sum to ``mix``: 20*log10(rms(sum - mix) / rms(mix)) in dB (-inf when exact)."""
    total = np.zeros_like(mix, dtype=np.float64)
    for audio in stems.values():
        total += audio
    err = float(np.sqrt(np.mean((total - mix) ** 2))) if mix.size else 0.0
    ref = float(np.sqrt(np.mean(np.asarray(mix, np.float64) ** 2))) if mix.size else 0.0
    if err == 0.0:
        return -math.inf
    if ref == 0.0:
        return math.inf
    return 20.0 * math.log10(err / ref)
