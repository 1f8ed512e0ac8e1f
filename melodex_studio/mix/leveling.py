"""Level matching of a generated stem to a reference render of the same score, section by section.

The diffusion renderer draws each track's level from its training data, so a stem can come out a few dB
louder or quieter than the score's velocities ask for, and the balance of a mix would change with the
renderer. ``level_stem`` measures the integrated loudness (BS.1770) of every section of the stem and of the
reference (the SoundFont render of the same notes, which follows the velocities exactly), applies the
difference as a gain per section, ramped over ``RAMP_S`` around each section join so that no step is heard,
and then holds the stem's true peak under -1 dBTP with the look-ahead limiter (a stem file must not clip).
Where the reference is silent (the track rests for the whole section, release tails included) the stem is
faded out to silence over the same ramp: a model's faint noise floor in a rest would otherwise be exported.

The stem is mono float ``(frames,)`` at full scale 1.0; the reference mono or ``(frames, channels)``: a mono
stem is measured as the mixer plays it, the same signal on each of the reference's channels (BS.1770 sums the
channels' power), so a centred mono stem gets the loudness of a stereo reference, not of its downmix.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .loudness import integrated_lufs, true_peak_limit

MAX_GAIN_DB = 12.0  # never more than this up or down (a section the model left silent stays silent)
SILENT_PEAK = 1e-4  # a reference section whose peak stays under -80 dBFS is a rest...
MUTE_DB = -120.0  # ...and the stem's gain there
RAMP_S = 0.05  # the gain moves from one section's value to the next over this long, centred on the join
MIN_SEGMENT_S = 0.45  # shorter sections keep the gain of the section before (loudness needs 400 ms blocks)
STEM_CEILING_DBTP = -1.0


@dataclass
class Leveling:
    """What ``level_stem`` did: the gain per section (dB) and the limiter's largest reduction (dB)."""

    gains_db: list[float]
    limited_db: float


def section_gains_db(audio: np.ndarray, reference: np.ndarray, bounds: Sequence[int], sample_rate: int,
                     max_gain_db: float = MAX_GAIN_DB) -> list[float]:
    """Reference loudness minus stem loudness (dB) of each segment [bounds[i], bounds[i+1]); ``MUTE_DB`` where the
    reference is silent (a rest); 0 where the stem is silent; the previous segment's gain where a segment is too
    short to measure. ``audio`` mono, measured on as many channels as ``reference`` has."""
    channels = 1 if reference.ndim == 1 else reference.shape[1]
    gains: list[float] = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b > a and float(np.max(np.abs(reference[a:b]))) < SILENT_PEAK:
            gains.append(MUTE_DB)
            continue
        g = gains[-1] if gains and gains[-1] > MUTE_DB else 0.0
        if b - a >= MIN_SEGMENT_S * sample_rate:
            seg = audio[a:b] if channels == 1 else np.repeat(audio[a:b, None], channels, axis=1)
            la = integrated_lufs(seg, sample_rate)
            lr = integrated_lufs(reference[a:b], sample_rate)
            g = lr - la if math.isfinite(la) and math.isfinite(lr) else 0.0
        gains.append(float(np.clip(g, -max_gain_db, max_gain_db)))
    return gains


def gain_curve(gains_db: Sequence[float], bounds: Sequence[int], frames: int, sample_rate: int,
               ramp_s: float = RAMP_S) -> np.ndarray:
    """Linear gain per sample (frames,): ``gains_db[i]`` inside segment i, moving linearly in dB over ``ramp_s``
    around each join; the first and last values hold before and after the segments."""
    half = max(1, int(ramp_s * sample_rate / 2))
    xs, ys = [bounds[0]], [gains_db[0]]
    for i in range(1, len(gains_db)):
        j = bounds[i]
        xs += [j - half, j + half]
        ys += [gains_db[i - 1], gains_db[i]]
    xs.append(bounds[-1])
    ys.append(gains_db[-1])
    db = np.interp(np.arange(frames), np.maximum.accumulate(np.asarray(xs, float)), ys)
    return (10.0 ** (db / 20.0)).astype(np.float32)


def level_stem(audio: np.ndarray, reference: np.ndarray, bounds: Sequence[int], sample_rate: int) -> tuple[np.ndarray, Leveling]:
    """``audio`` (mono) with each segment [bounds[i], bounds[i+1]) brought to the loudness of the same segment of
    ``reference`` (mono or (frames, channels)) and its true peak held at -1 dBTP, both at ``sample_rate``;
    bounds ascending sample positions (the section starts and the end). Returns (float32 audio of the same
    length, what was done)."""
    audio = np.nan_to_num(np.asarray(audio, np.float32))
    ref = np.asarray(reference, np.float32)
    pad = [(0, max(0, audio.size - ref.shape[0]))] + [(0, 0)] * (ref.ndim - 1)
    ref = np.pad(ref, pad)[: audio.size]
    bounds = [int(np.clip(b, 0, audio.size)) for b in bounds]
    if len(bounds) < 2 or audio.size == 0:
        return audio, Leveling([], 0.0)
    gains = section_gains_db(audio, ref, bounds, sample_rate)
    out = audio * gain_curve(gains, bounds, audio.size, sample_rate)
    peak_before = float(np.max(np.abs(out))) if out.size else 0.0
    out = true_peak_limit(out, sample_rate, STEM_CEILING_DBTP)[:, 0].astype(np.float32)
    peak_after = float(np.max(np.abs(out))) if out.size else 0.0
    limited = 20 * math.log10(peak_before / peak_after) if peak_after > 0 and peak_before > peak_after else 0.0
    return out, Leveling(gains, limited)
