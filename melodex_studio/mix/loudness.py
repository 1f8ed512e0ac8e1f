"""Loudness measurement and streaming normalisation (ITU-R BS.1770 / EBU R128 style).

``integrated_lufs`` is pyloudnorm's BS.1770-4 gated integrated loudness (LUFS). ``true_peak_dbtp``
estimates the true (inter-sample) peak from a 4x oversampled signal (BS.1770-4 Annex 2), in dBTP.
``normalize_streaming`` brings a mix to a loudness target (-14 LUFS, the level streaming services play at)
with a true-peak ceiling (-1 dBTP); when plain gain would push the peaks over the ceiling, a look-ahead
true-peak limiter lowers them, and the gain/limit pair is iterated until both hold.

Audio is float ``(frames, channels)`` or mono ``(frames,)`` at full scale 1.0; rates in Hz.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pyloudnorm
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import firwin, resample_poly

from ..errors import AudioError

OVERSAMPLE = 4
LIMITER_BLOCK = 32          # samples per gain-envelope point (0.7 ms at 44.1 kHz)
LIMITER_LOOKAHEAD_S = 0.003  # the gain starts to fall this long before a peak
LIMITER_RELEASE_S = 0.08    # time constant of the gain recovering after a peak
LIMITER_MARGIN_DB = 0.1     # aim this far below the ceiling (interpolation between envelope points)


def _frames(audio: np.ndarray) -> np.ndarray:
    a = np.asarray(audio, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise AudioError(f"audio must have the shape (frames, channels); got {a.shape}")
    return a


def integrated_lufs(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (BS.1770-4 K-weighting and gating, via pyloudnorm); -inf for silence.

    Raises ``AudioError`` when the audio is shorter than one 400 ms measurement block.
    """
    a = _frames(audio)
    if a.shape[0] < int(0.4 * sample_rate) + 1:
        raise AudioError(f"{a.shape[0] / sample_rate:.2f} s of audio is too short to measure loudness (at least 0.4 s is needed)")
    if not np.any(a):
        return float("-inf")
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(a if a.shape[1] > 1 else a[:, 0]))


@functools.lru_cache(maxsize=1)
def _interpolation_gain() -> float:
    """The most the 4x interpolator can raise a peak: max |y| / max |x| over all signals, which is the largest
    sum of |taps| over its polyphase branches (about 2.24, +7 dB, for resample_poly's Kaiser filter)."""
    x = np.zeros(401)
    x[200] = 1.0
    y = resample_poly(x, OVERSAMPLE, 1)  # the filter's impulse response
    return float(max(np.abs(y[p::OVERSAMPLE]).sum() for p in range(OVERSAMPLE)))


@functools.cache
def _upsample_taps(dtype: str) -> np.ndarray:
    """The FIR filter ``resample_poly(x, OVERSAMPLE, 1)`` designs for itself on every call (a Kaiser-windowed
    sinc, beta 5, 10 zero crossings per side), designed once: the limiter oversamples thousands of short stretches."""
    half_len = 10 * OVERSAMPLE
    return firwin(2 * half_len + 1, 1.0 / OVERSAMPLE, window=("kaiser", 5.0)).astype(dtype)


def _upsample(a: np.ndarray) -> np.ndarray:
    """``resample_poly(a, OVERSAMPLE, 1, axis=0)``, the same numbers, with the filter designed once."""
    return resample_poly(a, OVERSAMPLE, 1, axis=0, window=_upsample_taps(a.dtype.str))


PEAK_CONTEXT = 64  # input samples of context around a loud stretch (resample_poly's filter reaches 10)
PEAK_EXACT = 16  # input samples on each side of a loud sample whose oversampled value is computed exactly


def _oversampled_abs_peak(a: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Per-frame maximum of |x| over channels on the 4x oversampled signal: (4 * frames,).

    With ``floor`` > 0 only the stretches that can exceed it are oversampled: near every sample louder than
    ``floor / _interpolation_gain()`` the values are exact; everywhere else no interpolated value can exceed
    ``floor``, and ``sample peak * gain`` (also <= floor) stands in for it. A limiter with its ceiling at
    ``floor`` acts exactly as with the full computation; on sparse material (drums, quiet stems) this saves most
    of the work."""
    if floor <= 0.0:
        up = _upsample(a)  # (4F, C), polyphase FIR interpolation
        return np.max(np.abs(up), axis=1)
    frames = a.shape[0]
    gain = _interpolation_gain()
    m = np.max(np.abs(a), axis=1)
    out = np.repeat(np.minimum(m * gain, floor), OVERSAMPLE)
    loud = np.flatnonzero(m * gain > floor)
    if loud.size == 0:
        return out
    breaks = np.flatnonzero(np.diff(loud) > 2 * PEAK_CONTEXT)  # stretches of loud samples, split at long gaps
    for s, e in zip(np.r_[loud[0], loud[breaks + 1]], np.r_[loud[breaks], loud[-1]] + 1):
        lo, hi = max(0, s - PEAK_CONTEXT), min(frames, e + PEAK_CONTEXT)
        up = np.max(np.abs(_upsample(a[lo:hi])), axis=1)
        x0, x1 = max(lo, s - PEAK_EXACT), min(hi, e + PEAK_EXACT)  # >= 48 samples from a cut: as in the full signal
        out[x0 * OVERSAMPLE: x1 * OVERSAMPLE] = up[(x0 - lo) * OVERSAMPLE: (x1 - lo) * OVERSAMPLE]
    return out


def true_peak_dbtp(audio: np.ndarray, sample_rate: int) -> float:
    """True peak in dBTP: the largest |sample| of the 4x oversampled signal (and of the original samples)."""
    a = _frames(audio)
    if a.shape[0] == 0 or not np.any(a):
        return float("-inf")
    peak = max(float(np.max(_oversampled_abs_peak(a))), float(np.max(np.abs(a))))
    return 20.0 * math.log10(peak)


def true_peak_limit(audio: np.ndarray, sample_rate: int, ceiling_dbtp: float = -1.0) -> np.ndarray:
    """Look-ahead true-peak limiter: multiply by a smooth gain envelope so that the 4x oversampled peak
    stays at or under ``ceiling_dbtp``.

    The gain each envelope block needs is computed on the oversampled signal; a sliding minimum of
    +/- look-ahead followed by a moving average lets the gain fall smoothly *before* a peak and reach the
    needed value at it; a one-pole release lets it recover. Every step only lowers the envelope, so the
    needed reduction is always met. Returns float64 (frames, channels).
    """
    a = _frames(audio)
    frames = a.shape[0]
    ceiling = 10 ** ((ceiling_dbtp - LIMITER_MARGIN_DB) / 20)
    peak = _oversampled_abs_peak(a, ceiling)  # exact wherever it can reach the ceiling
    n_blocks = -(-frames // LIMITER_BLOCK)
    os_block = LIMITER_BLOCK * OVERSAMPLE
    padded = np.zeros(n_blocks * os_block)
    padded[: peak.size] = peak[: n_blocks * os_block]
    block_peak = np.maximum(padded.reshape(n_blocks, os_block).max(axis=1), 1e-12)
    need = np.minimum(1.0, ceiling / block_peak)  # gain each block needs
    if np.all(need >= 1.0):
        return a.copy()
    look = max(2, math.ceil(LIMITER_LOOKAHEAD_S * sample_rate / LIMITER_BLOCK))
    held = minimum_filter1d(need, size=2 * look + 1, mode="nearest")
    smooth = uniform_filter1d(held, size=look | 1, mode="nearest")  # each term <= need of the centre block
    coef = 1.0 - math.exp(-LIMITER_BLOCK / (LIMITER_RELEASE_S * sample_rate))
    env = np.empty_like(smooth)
    g = 1.0
    for i, target in enumerate(smooth):  # n_blocks iterations: 1/32 of the samples
        g = target if target < g else g + (target - g) * coef
        env[i] = g
    centers = (np.arange(n_blocks) + 0.5) * LIMITER_BLOCK
    gain = np.interp(np.arange(frames), centers, env)
    return a * gain[:, None]


def normalize_streaming(audio: np.ndarray, sample_rate: int, target_lufs: float = -14.0,
                        max_true_peak_dbtp: float = -1.0, max_iterations: int = 8) -> np.ndarray:
    """Gain ``audio`` to ``target_lufs`` (LUFS) with its true peak at or under ``max_true_peak_dbtp`` (dBTP).

    Plain gain when the peaks allow it; otherwise gain plus ``true_peak_limit``, iterating the gain
    (limiting lowers the loudness; secant steps) until the result is within 0.1 LU of the target. Silence is returned
    unchanged. Returns float32 with the shape of ``audio``. Raises ``AudioError`` when the target cannot be
    reached within the ceiling (for example a lone click asked to be -14 LUFS).
    """
    a = _frames(audio)
    loudness = integrated_lufs(a, sample_rate)
    if math.isinf(loudness):
        return np.asarray(audio, dtype=np.float32).copy()
    gain_db = target_lufs - loudness
    prev: tuple[float, float] | None = None  # (gain, loudness) of the previous try: secant steps
    out = a
    for _ in range(max_iterations):
        out = true_peak_limit(a * 10 ** (gain_db / 20), sample_rate, max_true_peak_dbtp)  # no-op under the ceiling
        reached = integrated_lufs(out, sample_rate)
        if abs(target_lufs - reached) <= 0.1:
            break
        slope = 1.0  # LU of loudness per dB of gain: 1 without limiting, less with it
        if prev is not None and gain_db != prev[0]:
            slope = min(1.0, max(0.05, (reached - prev[1]) / (gain_db - prev[0])))
        prev = (gain_db, reached)
        gain_db += (target_lufs - reached) / slope
    for _ in range(3):  # the limiter aims 0.1 dB low; re-limit in the rare case interpolation overshot
        if true_peak_dbtp(out, sample_rate) <= max_true_peak_dbtp:
            break
        out = true_peak_limit(out, sample_rate, max_true_peak_dbtp)
    out32 = out.astype(np.float32)
    final = integrated_lufs(out32, sample_rate)
    if abs(final - target_lufs) > 0.5 or true_peak_dbtp(out32, sample_rate) > max_true_peak_dbtp + 1e-3:
        raise AudioError(f"the audio cannot reach {target_lufs:g} LUFS under a {max_true_peak_dbtp:g} dBTP ceiling "
                         f"(it reaches {final:.1f} LUFS); it is too sparse or too peaky for this preset")
    return out32 if np.ndim(audio) == 2 else out32[:, 0]
