"""A production chain per style tag: what "lofi, warm, roomy" does to a stem or a mix, the same whichever
renderer made it (numpy/scipy only; no GPL code).

Stages, each a function of stereo (frames, 2) float audio at ``sr`` that returns stereo float32:

- ``shelf``: an RBJ-cookbook shelving biquad (low or high), ``gain_db`` at the band's end, half of it at ``freq``.
- ``compress``: feed-forward RMS compressor (``threshold_db`` and levels are RMS dBFS; a full-scale sine is
  -3 dBFS RMS): in steady state a level ``L`` above the threshold comes out at ``T + (L - T) / ratio``, plus
  ``makeup_db``. Detector and gain are one-pole smoothers (``attack_ms``, ``release_ms``: the gain falls with
  the attack constant, recovers with the release one).
- ``saturate``: tanh soft clipping after ``drive_db`` of gain, scaled back so small signals keep their level.
- ``reverb``: convolution with a generated stereo impulse response (decorrelated noise per channel, an
  exponential decay reaching -60 dB at ``rt60_s``, a predelay), mixed ``wet`` against the dry signal; the
  output is longer than the input by the response's length (the tail).
- ``tape``: a low-pass (``cutoff_hz``), slow pitch wobble (``wow_hz``, ``wow_cents``) and hiss at ``hiss_dbfs``.
- ``width``: mid/side width (1 = unchanged, 0 = mono, > 1 wider).

``PRESETS`` maps each style tag of the renderer's vocabulary (``render.score_features.STYLE_TAGS``) to its
stages; ``apply_production`` runs the stages of the given tags in a fixed order (EQ, saturation,
compression, tape, width, reverb).
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

STAGE_ORDER = ("shelf", "saturate", "compress", "tape", "width", "reverb")

PRESETS: dict[str, list[tuple[str, dict]]] = {
    "dry": [],
    "roomy": [("reverb", {"rt60_s": 1.2, "wet": 0.25, "predelay_ms": 15.0})],
    "warm": [("shelf", {"kind": "low", "freq": 200.0, "gain_db": 3.0}),
             ("shelf", {"kind": "high", "freq": 6000.0, "gain_db": -3.0}), ("saturate", {"drive_db": 3.0})],
    "bright": [("shelf", {"kind": "high", "freq": 8000.0, "gain_db": 4.0})],
    "dark": [("shelf", {"kind": "high", "freq": 4000.0, "gain_db": -6.0})],
    "lofi": [("saturate", {"drive_db": 6.0}), ("tape", {"cutoff_hz": 5000.0, "wow_hz": 0.5, "wow_cents": 12.0,
                                                       "hiss_dbfs": -50.0})],
    "saturated": [("saturate", {"drive_db": 12.0})],
    "compressed": [("compress", {"threshold_db": -24.0, "ratio": 4.0, "attack_ms": 10.0, "release_ms": 150.0,
                                 "makeup_db": 6.0})],
    "punchy": [("shelf", {"kind": "low", "freq": 100.0, "gain_db": 2.0}),
               ("compress", {"threshold_db": -20.0, "ratio": 3.0, "attack_ms": 30.0, "release_ms": 100.0})],
    "wide": [("width", {"amount": 1.5})],
}


def _stereo(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return np.repeat(x[:, None], 2, axis=1) if x.ndim == 1 else x


def shelf(x: np.ndarray, sr: int, freq: float, gain_db: float, kind: str = "low") -> np.ndarray:
    """RBJ shelving biquad (slope 1): ``gain_db`` below (``kind`` 'low') or above ('high') ``freq``."""
    from scipy.signal import sosfilt

    a_ = 10 ** (gain_db / 40)
    w = 2 * math.pi * freq / sr
    cw, alpha = math.cos(w), math.sin(w) / 2 * math.sqrt(2)
    k = 2 * math.sqrt(a_) * alpha
    if kind == "low":
        b = [a_ * ((a_ + 1) - (a_ - 1) * cw + k), 2 * a_ * ((a_ - 1) - (a_ + 1) * cw), a_ * ((a_ + 1) - (a_ - 1) * cw - k)]
        a = [(a_ + 1) + (a_ - 1) * cw + k, -2 * ((a_ - 1) + (a_ + 1) * cw), (a_ + 1) + (a_ - 1) * cw - k]
    elif kind == "high":
        b = [a_ * ((a_ + 1) + (a_ - 1) * cw + k), -2 * a_ * ((a_ - 1) + (a_ + 1) * cw), a_ * ((a_ + 1) + (a_ - 1) * cw - k)]
        a = [(a_ + 1) - (a_ - 1) * cw + k, 2 * ((a_ - 1) - (a_ + 1) * cw), (a_ + 1) - (a_ - 1) * cw - k]
    else:
        raise ValueError(f"shelf kind must be 'low' or 'high', not {kind!r}")
    sos = np.array([[*(np.array(b) / a[0]), 1.0, a[1] / a[0], a[2] / a[0]]])
    return sosfilt(sos, _stereo(x), axis=0).astype(np.float32)


def _one_pole(x: np.ndarray, sr: int, ms: float) -> np.ndarray:
    from scipy.signal import lfilter

    c = math.exp(-1.0 / max(1.0, ms * 1e-3 * sr))
    return lfilter([1 - c], [1, -c], x)


def compress(x: np.ndarray, sr: int, threshold_db: float = -20.0, ratio: float = 4.0, attack_ms: float = 10.0,
             release_ms: float = 100.0, makeup_db: float = 0.0, rms_ms: float = 10.0) -> np.ndarray:
    """Feed-forward RMS compressor, linked stereo (see the module)."""
    y = _stereo(x)
    power = _one_pole(np.mean(y ** 2, axis=1), sr, rms_ms)
    level = 10 * np.log10(np.maximum(power, 1e-12))
    target = np.minimum(0.0, (threshold_db - level) * (1 - 1 / ratio))  # gain in dB, <= 0
    # attack: the gain falls quickly, release: it recovers slowly (a smoother on each direction in turn)
    fast, slow = _one_pole(target, sr, attack_ms), _one_pole(target, sr, release_ms)
    gain_db = np.minimum(fast, slow)
    return (y * 10 ** ((gain_db[:, None] + makeup_db) / 20)).astype(np.float32)


def saturate(x: np.ndarray, drive_db: float = 6.0) -> np.ndarray:
    """tanh soft clipping after ``drive_db`` of gain, divided by the same gain (unity for small signals)."""
    g = 10 ** (drive_db / 20)
    return (np.tanh(_stereo(x) * g) / g).astype(np.float32)


def impulse_response(sr: int, rt60_s: float, predelay_ms: float = 10.0, seed: int = 0) -> np.ndarray:
    """A stereo reverb impulse response: decorrelated Gaussian noise per channel under an exponential decay of
    60 dB over ``rt60_s`` (1.2 x rt60 long), after ``predelay_ms`` of silence; unit energy per channel."""
    rng = np.random.default_rng(seed)
    n = int(1.2 * rt60_s * sr)
    t = np.arange(n) / sr
    env = 10 ** (-3 * t / rt60_s)  # amplitude: -60 dB at rt60 (energy 10^(-6))
    ir = rng.standard_normal((n, 2)) * env[:, None]
    ir /= np.sqrt(np.sum(ir ** 2, axis=0, keepdims=True))
    return np.concatenate([np.zeros((int(predelay_ms * 1e-3 * sr), 2)), ir])


def reverb(x: np.ndarray, sr: int, rt60_s: float = 1.0, wet: float = 0.25, predelay_ms: float = 10.0,
           seed: int = 0) -> np.ndarray:
    """``x`` plus its convolution with ``impulse_response`` (``wet`` of the output's energy comes from the
    room for a sustained input, ``1 - wet`` from the dry signal); the output keeps the tail: it is longer than
    ``x`` by the response's length."""
    from scipy.signal import fftconvolve

    y = _stereo(x)
    ir = impulse_response(sr, rt60_s, predelay_ms, seed)
    # each output channel: the mid of the input through that channel's response (a stereo room from any source)
    mid = y.mean(axis=1)
    room = np.stack([fftconvolve(mid, ir[:, c]) for c in range(2)], axis=1)
    out = np.zeros((room.shape[0], 2))
    out[: y.shape[0]] = y * math.sqrt(1 - wet)
    out += room * math.sqrt(wet)
    return out.astype(np.float32)


def tape(x: np.ndarray, sr: int, cutoff_hz: float = 6000.0, wow_hz: float = 0.5, wow_cents: float = 10.0,
         hiss_dbfs: float = -55.0, seed: int = 0) -> np.ndarray:
    """Tape/lofi: 4th-order Butterworth low-pass at ``cutoff_hz``, a sinusoidal pitch wobble of ``wow_cents`` at
    ``wow_hz`` (a modulated delay line), and white hiss at ``hiss_dbfs`` RMS."""
    from scipy.signal import butter, sosfilt

    y = sosfilt(butter(4, cutoff_hz, fs=sr, output="sos"), _stereo(x), axis=0)
    if wow_cents > 0 and wow_hz > 0:
        n = y.shape[0]
        # a delay d(t) = D sin(2 pi f t) shifts pitch by -d'(t): peak ratio 2 pi f D = 2^(cents/1200) - 1
        depth = (2 ** (wow_cents / 1200) - 1) / (2 * math.pi * wow_hz) * sr
        pos = np.arange(n) - depth * (1 + np.sin(2 * math.pi * wow_hz * np.arange(n) / sr))
        pos = np.clip(pos, 0, n - 1)
        y = np.stack([np.interp(pos, np.arange(n), y[:, c]) for c in range(2)], axis=1)
    if hiss_dbfs > -150:
        y = y + np.random.default_rng(seed).standard_normal(y.shape) * 10 ** (hiss_dbfs / 20)
    return y.astype(np.float32)


def width(x: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """Mid/side width: the side signal scaled by ``amount``."""
    y = _stereo(x)
    mid, side = (y[:, 0] + y[:, 1]) / 2, (y[:, 0] - y[:, 1]) / 2 * amount
    return np.stack([mid + side, mid - side], axis=1).astype(np.float32)


def chain_for(tags: Iterable[str]) -> list[tuple[str, dict]]:
    """The stages of ``tags`` (unknown tags ignored, each tag once) in ``STAGE_ORDER``."""
    stages: list[tuple[str, dict]] = []
    for t in dict.fromkeys(str(t).strip().lower() for t in tags):
        stages += PRESETS.get(t, [])
    return sorted(stages, key=lambda s: STAGE_ORDER.index(s[0]))


def apply_production(audio: np.ndarray, sr: int, tags: Iterable[str], seed: int = 0) -> np.ndarray:
    """``audio`` (mono or (frames, 2)) through the chain of ``tags``: stereo float32, longer than the input
    where a reverb adds its tail."""
    y = _stereo(audio).astype(np.float32)
    for name, params in chain_for(tags):
        if name == "shelf":
            y = shelf(y, sr, **params)
        elif name == "saturate":
            y = saturate(y, **params)
        elif name == "compress":
            y = compress(y, sr, **params)
        elif name == "tape":
            y = tape(y, sr, seed=seed, **params)
        elif name == "width":
            y = width(y, **params)
        elif name == "reverb":
            y = reverb(y, sr, seed=seed, **params)
    return y
