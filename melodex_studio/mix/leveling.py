"""Level matching of a generated stem to a reference render of the same score, section by section.

The diffusion renderer draws each track's level from its training data, so a stem can come out a few dB
louder or quieter than the score's velocities ask for, and the balance of a mix would change with the
renderer. ``level_stem`` measures the integrated loudness (BS.1770) of every section of the stem and of the
reference (the SoundFont render of the same notes, which follows the velocities exactly), applies the
difference as a gain per section, ramped over ``RAMP_S`` around each section join so that no step is heard,
and then holds the stem's true peak under -1 dBTP with the look-ahead limiter (a stem file must not clip).
Where the reference is silent (the track rests for the whole section, release tails included) the stem is
faded out to silence over the same ramp: a model's faint noise floor in a rest would otherwise be exported. Within
a section the same holds for every rest of 50 ms or more where the reference is under -80 dBFS (``rest_gate``):
the diffusion renderer left hiss and smear there (issue 18: a median -59 dBFS in rests where the teacher is
digitally silent), and its release tails rang on after the SoundFont's had ended.

The stem is mono float ``(frames,)`` at full scale 1.0; the reference mono or ``(frames, channels)``: a mono
stem is measured as the mixer plays it, the same signal on each of the reference's channels (BS.1770 sums the
channels' power), so a centred mono stem gets the loudness of a stereo reference, not of its downmix.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .loudness import integrated_lufs, true_peak_limit

MAX_GAIN_DB = 12.0  # never more than this up or down (a section the model left silent stays silent)
SILENT_PEAK = 1e-4  # a reference section whose peak stays under -80 dBFS is a rest...
MUTE_DB = -120.0  # ...and the stem's gain there
RAMP_S = 0.05  # the gain moves from one section's value to the next over this long, centred on the join
MIN_SEGMENT_S = 0.45  # shorter sections keep the gain of the section before (loudness needs 400 ms blocks)
STEM_CEILING_DBTP = -1.0
REST_FRAME_S = 0.002  # the rest gate's frames (``rest_gate``)...
REST_DBFS = -70.0  # ...under this RMS level the reference is silent (its release tail is inaudible by then)...
REST_MIN_S = 0.03  # ...a run of silent reference frames this long is a rest...
REST_CLOSE_S = 0.03  # ...whose gate closes over this long before it...
REST_RAMP_S = 0.002  # ...and opens over this long at its end


@dataclass
class Leveling:
    """What ``level_stem`` did: the gain per section (dB) and the limiter's largest reduction (dB)."""

    gains_db: list[float]
    limited_db: float


def section_gains_db(audio: np.ndarray, reference: np.ndarray, bounds: Sequence[int], sample_rate: int,
                     max_gain_db: float = MAX_GAIN_DB, cancel: Callable[[], bool] | None = None) -> list[float]:
    """Reference loudness minus stem loudness (dB) of each segment [bounds[i], bounds[i+1]); ``MUTE_DB`` where the
    reference is silent (a rest); 0 where the stem is silent; the previous segment's gain where a segment is too
    short to measure. ``audio`` mono, measured on as many channels as ``reference`` has. ``cancel`` is asked
    before each segment (CancelledError)."""
    channels = 1 if reference.ndim == 1 else reference.shape[1]
    gains: list[float] = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        _check(cancel)
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


def _check(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        from ..errors import CancelledError

        raise CancelledError("levelling cancelled; nothing was changed")


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


def rest_gate(reference: np.ndarray, sample_rate: int, offset: int = 0) -> np.ndarray:
    """float32 gain (frames,) that silences a stem where its reference is silent: 0 inside every run of at least
    ``REST_MIN_S`` of ``REST_FRAME_S`` frames whose RMS is under ``REST_DBFS`` (-70 dBFS), 1 elsewhere: it
    closes over the ``REST_CLOSE_S`` before the run (where the reference's release is all but over: a model's tail
    that rings on there fades as the reference's ends, not in a step) and opens over the last ``REST_RAMP_S`` of
    the run (the decoder's pre-echo before the next attack stays out, the attack is not touched). The frames lie on a grid of the whole signal:
    ``offset`` is the sample of the whole reference that ``reference[0]`` is, so a window (``engine.partial_decode``)
    is gated as the whole signal is at the same samples, but within ``REST_MIN_S`` of its edges."""
    ref = np.square(np.asarray(reference, np.float32))
    if ref.ndim > 1:
        ref = ref.max(axis=1)
    n = ref.size
    f = max(1, int(REST_FRAME_S * sample_rate))
    lead = offset % f  # samples before the first whole frame of the grid
    padded = np.pad(ref, (lead, (-(n + lead)) % f))
    quiet = padded.reshape(-1, f).mean(axis=1) < 10 ** (REST_DBFS / 10)  # RMS under REST_DBFS
    gain = np.ones(n, np.float32)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    close, ramp = max(1, int(REST_CLOSE_S * sample_rate)), max(1, int(REST_RAMP_S * sample_rate))
    min_frames = math.ceil(REST_MIN_S / REST_FRAME_S)
    for a, b in zip(edges[::2], edges[1::2]):  # quiet frames [a, b)
        if b - a < min_frames:
            continue
        s0, s1 = a * f - lead, b * f - lead  # in samples of ``reference``
        xs = np.array([s0 - close, s0, s1 - ramp, s1], float)  # closed as the rest starts, open before it ends
        i0, i1 = max(0, s0 - close), min(n, s1)
        if i1 > i0:
            t = np.arange(i0, i1, dtype=float)
            gain[i0:i1] = np.interp(t, xs, [1.0, 0.0, 0.0, 1.0]).astype(np.float32)
    return gain


def level_stem(audio: np.ndarray, reference: np.ndarray, bounds: Sequence[int], sample_rate: int,
               offset: int = 0, cancel: Callable[[], bool] | None = None) -> tuple[np.ndarray, Leveling]:
    """``audio`` (mono) with each segment [bounds[i], bounds[i+1]) brought to the loudness of the same segment of
    ``reference`` (mono or (frames, channels)) and its true peak held at -1 dBTP, both at ``sample_rate``, and
    silenced where the reference rests (``rest_gate``; ``offset``: the sample of the whole signal ``audio[0]`` is);
    bounds ascending sample positions (the section starts and the end). Returns (float32 audio of the same
    length, what was done). ``cancel`` is asked before each section's measurement and before the limiter
    (CancelledError): a 3-minute stem takes about a second."""
    audio = np.nan_to_num(np.asarray(audio, np.float32))
    ref = np.asarray(reference, np.float32)
    pad = [(0, max(0, audio.size - ref.shape[0]))] + [(0, 0)] * (ref.ndim - 1)
    ref = np.pad(ref, pad)[: audio.size]
    bounds = [int(np.clip(b, 0, audio.size)) for b in bounds]
    if len(bounds) < 2 or audio.size == 0:
        return audio, Leveling([], 0.0)
    audio = audio * rest_gate(ref, sample_rate, offset)  # measured as it will sound: without its rests
    gains = section_gains_db(audio, ref, bounds, sample_rate, cancel=cancel)
    out = audio * gain_curve(gains, bounds, audio.size, sample_rate)
    _check(cancel)
    peak_before = float(np.max(np.abs(out))) if out.size else 0.0
    out = true_peak_limit(out, sample_rate, STEM_CEILING_DBTP)[:, 0].astype(np.float32)
    peak_after = float(np.max(np.abs(out))) if out.size else 0.0
    limited = 20 * math.log10(peak_before / peak_after) if peak_after > 0 and peak_before > peak_after else 0.0
    return out, Leveling(gains, limited)
