"""Realism metrics of a rendered stem or mix against its teacher (the SoundFont render of the same notes):
numpy/scipy only (no Qt, no torch), each a function of audio arrays and the score's note times.

What each measures, and what a listener hears when it is off:

- ``note_decay_db``: dB from a note's peak (20 ms RMS) to its last 50 ms, per note. A struck or plucked
  note that keeps its level (0 dB) sounds like an organ; compared per note with the teacher's decay.
- ``rest_level_dbfs``: the level of a render where the score is silent and the teacher is silent too
  (hiss, hum or smear in the rests); -inf for digital silence.
- ``bandwidth_hz``: the centre of the highest third-octave band within 50 dB of the loudest band of the
  long-term spectrum (a 24 kHz codec cannot pass 12.5 kHz: dull, "through a blanket").
- ``channel_correlation``: zero-lag correlation of left and right (1 = mono, 0 = unrelated or one side
  silent); a mix at 1.0 has no stereo image.
- ``tail``: energy after the last bar line against the teacher's (a file that stops at the bar line cuts
  the last notes' release off, often with a click) and the level of the file's last 10 ms.
- ``decay_agreement``: the share of notes whose decay is within ``tol_db`` of the teacher's.

Struck and plucked instruments (``STRUCK_PLUCKED``) are the General MIDI programs whose notes decay while
held: pianos, chromatic percussion, guitars, acoustic and electric basses, pizzicato, harp, timpani, the
ethnic plucked ones and the pitched percussion.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

STRUCK_PLUCKED = frozenset(set(range(16)) | set(range(24, 38)) | {45, 46, 47} | set(range(104, 109))
                           | set(range(112, 119)))
SILENT_DBFS = -80.0  # a teacher frame below this is silence
BANDWIDTH_RANGE_DB = 50.0
DECAY_TOL_DB = 4.0
MIN_NOTE_S = 0.25  # shorter notes have no decay to speak of
END_S = 0.05  # a note's end level: the RMS of its last 50 ms
FRAME_S, HOP_S = 0.02, 0.01

# ISO third-octave centres, 25 Hz .. 20 kHz (10^(n/10) rounded as the standard does)
THIRD_OCTAVE_HZ = (25, 31.5, 40, 50, 63, 80, 100, 125, 160, 200, 250, 315, 400, 500, 630, 800, 1000, 1250, 1600,
                   2000, 2500, 3150, 4000, 5000, 6300, 8000, 10000, 12500, 16000, 20000)


def _mono(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x.mean(axis=1) if x.ndim == 2 else x


def db(power: float) -> float:
    """10 log10 of a mean square (power), -inf for 0."""
    return 10 * math.log10(power) if power > 0 else float("-inf")


def frame_power(x: np.ndarray, sr: int, frame_s: float = FRAME_S, hop_s: float = HOP_S) -> np.ndarray:
    """Mean square of ``x`` (mono or (n, channels): the loudest channel) in frames of ``frame_s`` every
    ``hop_s`` seconds; frame i starts at sample i * hop."""
    x = np.asarray(x, np.float64)
    x = x[:, None] if x.ndim == 1 else x
    w, h = max(1, int(frame_s * sr)), max(1, int(hop_s * sr))
    if x.shape[0] < w:
        return np.zeros(0)
    c = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x ** 2, axis=0)])
    starts = np.arange(0, x.shape[0] - w + 1, h)
    return ((c[starts + w] - c[starts]) / w).max(axis=1)


# --- decay -----------------------------------------------------------------------------------------------

def decay_notes(notes_s: Iterable[tuple[float, float]], min_s: float = MIN_NOTE_S) -> list[tuple[float, float]]:
    """The notes (start_s, end_s) whose decay can be read off a track's audio: at least ``min_s`` long and
    sounding alone: no other note of the track starting while they sound, none still sounding when they
    start (notes of a chord starting together are kept)."""
    notes = sorted({(float(s), float(e)) for s, e in notes_s})
    starts = np.array([s for s, _ in notes])
    ends = np.array([e for _, e in notes])
    out = []
    for s, e in notes:
        if e - s < min_s:
            continue
        later = (starts > s + 1e-3) & (starts < e - 1e-3)
        earlier = (starts < s - 1e-3) & (ends > s + 1e-3)
        if not (later.any() or earlier.any()):
            out.append((s, e))
    return out


def note_decay_db(audio: np.ndarray, sr: int, start_s: float, end_s: float) -> float:
    """dB from the note's peak (largest 20 ms RMS between its start and its end) to the RMS of its last 50 ms;
    NaN when the note is silent or outside the audio."""
    x = _mono(audio)
    a, b = round(start_s * sr), round(end_s * sr)
    if b > x.size or b - a < int(2 * END_S * sr):
        return float("nan")
    p = frame_power(x[a:b], sr)
    end = float(np.mean(x[b - int(END_S * sr): b] ** 2))
    if p.size == 0 or p.max() <= 1e-12:
        return float("nan")
    return float(db(float(p.max())) - db(max(end, 1e-20)))


def decay_agreement(render_db: Sequence[float], teacher_db: Sequence[float], tol_db: float = DECAY_TOL_DB) -> dict:
    """Per-note decays of a render against the teacher's: the share within ``tol_db``, the medians and the
    median absolute difference (notes where either is NaN left out)."""
    r, t = np.asarray(render_db, float), np.asarray(teacher_db, float)
    ok = np.isfinite(r) & np.isfinite(t)
    if not ok.any():
        return {"notes": 0, "within_tol": float("nan"), "median_db": float("nan"), "teacher_median_db": float("nan"),
                "median_abs_diff_db": float("nan")}
    d = np.abs(r[ok] - t[ok])
    return {"notes": int(ok.sum()), "within_tol": float(np.mean(d <= tol_db)), "median_db": float(np.median(r[ok])),
            "teacher_median_db": float(np.median(t[ok])), "median_abs_diff_db": float(np.median(d))}


# --- rests -------------------------------------------------------------------------------------------------

def rest_mask(teacher: np.ndarray, sr: int, notes_s: Iterable[tuple[float, float]], silent_dbfs: float = SILENT_DBFS,
              frame_s: float = FRAME_S, hop_s: float = HOP_S) -> np.ndarray:
    """Frames (``frame_power``'s grid over ``teacher``) where no note of the score sounds and the teacher is
    below ``silent_dbfs``."""
    p = frame_power(teacher, sr, frame_s, hop_s)
    quiet = 10 * np.log10(p + 1e-30) < silent_dbfs
    t0 = np.arange(p.size) * hop_s
    for s, e in notes_s:
        quiet &= ~((t0 + frame_s > s) & (t0 < e))
    return quiet


def rest_level_dbfs(audio: np.ndarray, sr: int, mask: np.ndarray, frame_s: float = FRAME_S,
                    hop_s: float = HOP_S) -> float:
    """The level (dBFS, RMS over all masked frames together; a full-scale sine reads -3) of ``audio`` in the
    frames of ``mask``; NaN when there are none, -inf for digital silence."""
    p = frame_power(audio, sr, frame_s, hop_s)
    n = min(p.size, mask.size)
    p = p[:n][mask[:n]]
    if p.size == 0:
        return float("nan")
    return db(float(np.mean(p)))


# --- spectrum, stereo, tail --------------------------------------------------------------------------------

def third_octave_levels(audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """(band centres Hz, band power dB) of the long-term spectrum (Welch, 8192-point Hann, mono), third-octave
    bands from 25 Hz up to the Nyquist frequency."""
    from scipy.signal import welch

    x = _mono(audio)
    f, pxx = welch(x, sr, nperseg=min(8192, max(256, x.size)), scaling="spectrum")
    centres, levels = [], []
    for c in THIRD_OCTAVE_HZ:
        lo, hi = c / 2 ** (1 / 6), c * 2 ** (1 / 6)
        if lo >= sr / 2:
            break
        band = pxx[(f >= lo) & (f < hi)]
        centres.append(c)
        levels.append(db(float(band.sum())) if band.size else float("-inf"))
    return np.array(centres, float), np.array(levels, float)


def bandwidth_hz(audio: np.ndarray, sr: int, range_db: float = BANDWIDTH_RANGE_DB) -> float:
    """Centre (Hz) of the highest third-octave band whose power is within ``range_db`` of the loudest band;
    NaN for silence."""
    centres, levels = third_octave_levels(audio, sr)
    if centres.size == 0 or not np.isfinite(levels).any():
        return float("nan")
    ok = levels >= np.max(levels) - range_db
    return float(centres[np.nonzero(ok)[0][-1]])


def channel_correlation(stereo: np.ndarray) -> float:
    """Zero-lag correlation of left and right, sum(LR) / sqrt(sum(L^2) sum(R^2)): 1 for mono, ~0 for unrelated
    channels or one silent channel, -1 for opposite polarity; NaN for silence or a mono array."""
    x = np.asarray(stereo, np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        return float("nan")
    ll, rr = float(np.sum(x[:, 0] ** 2)), float(np.sum(x[:, 1] ** 2))
    if ll + rr <= 1e-20:
        return float("nan")
    return float(np.sum(x[:, 0] * x[:, 1]) / math.sqrt(max(ll * rr, 1e-30)))


def tail(audio: np.ndarray, teacher: np.ndarray, sr: int, end_s: float) -> dict:
    """What a render keeps after the last bar line (``end_s``) against the teacher: ``kept_db`` (its energy
    there over the teacher's, dB: 0 = all of it, -inf = none; NaN when the teacher has none), ``seconds`` and
    ``teacher_seconds`` (how long after the bar line the 20 ms level stays above -60 dBFS) and ``end_dbfs``
    (the level of the 10 ms before the render's last non-zero sample, where its file stops when nothing
    follows: a release that fades reads low, a render cut off at the bar line reads at its music's level)."""
    x, t = _mono(audio), _mono(teacher)
    e = round(end_s * sr)

    def length(y: np.ndarray) -> float:
        p = frame_power(y[e:], sr)
        loud = np.nonzero(10 * np.log10(p + 1e-30) > -60)[0]
        return float(loud[-1] * HOP_S + FRAME_S) if loud.size else 0.0

    ex, et = float(np.sum(x[e:] ** 2)), float(np.sum(t[e:] ** 2))
    kept = float("nan") if et <= 1e-20 else (db(ex / et) if ex > 0 else float("-inf"))
    nz = np.nonzero(np.abs(x) > 1e-7)[0]
    stop = int(nz[-1]) + 1 if nz.size else 0
    last = x[max(0, stop - max(1, int(0.01 * sr))): stop]
    return {"kept_db": kept, "seconds": length(x), "teacher_seconds": length(t),
            "end_dbfs": db(float(np.mean(last ** 2))) if last.size else float("-inf")}


# --- a floor: the score played by a fixed additive synth ---------------------------------------------------

def additive_synth(notes: Iterable[tuple[float, float, int, int]], sr: int, n: int, harmonics: int = 16,
                   fade_s: float = 0.005) -> np.ndarray:
    """Mono float32 audio of ``n`` samples: each note (start_s, end_s, pitch, velocity) as harmonics k = 1..K
    (below Nyquist) of amplitude 1/k times velocity/127, held at a constant level with 5 ms fades: what the
    score alone gives without a network (the issue's 'fixed 1/k additive synth' floor)."""
    out = np.zeros(n, np.float64)
    for s, e, pitch, vel in notes:
        a, b = round(s * sr), min(n, round(e * sr))
        if b - a < 2:
            continue
        t = np.arange(b - a) / sr
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        ks = np.arange(1, harmonics + 1)
        ks = ks[ks * f0 < sr / 2]
        tone = np.sum(np.sin(2 * np.pi * f0 * ks[:, None] * t[None]) / ks[:, None], axis=0) * (vel / 127) * 0.1
        f = min(int(fade_s * sr), (b - a) // 2)
        if f > 0:
            ramp = np.linspace(0, 1, f)
            tone[:f] *= ramp
            tone[-f:] *= ramp[::-1]
        out[a:b] += tone
    return out.astype(np.float32)
