"""mix.leveling on real signals: per-section loudness brought to the reference's, smooth gain at joins,
true peak held under -1 dBTP, silent and short sections left alone, gain bounded."""
from __future__ import annotations

import numpy as np
import pytest

from melodex_studio.mix.leveling import MAX_GAIN_DB, MUTE_DB, RAMP_S, gain_curve, level_stem
from melodex_studio.mix.loudness import integrated_lufs, true_peak_dbtp

SR = 24000


def _tone(seconds: float, freq: float, amp: float, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    noise = np.random.default_rng(seed).normal(0, 0.02, t.size)
    return (amp * np.sin(2 * np.pi * freq * t) + amp * noise).astype(np.float32)


def _sections(*parts: np.ndarray) -> tuple[np.ndarray, list[int]]:
    bounds = np.cumsum([0] + [p.size for p in parts]).tolist()
    return np.concatenate(parts), bounds


def test_each_section_gets_the_reference_loudness():
    stem, bounds = _sections(_tone(2, 220, 0.05), _tone(2, 330, 0.4), _tone(2, 440, 0.1))
    ref, _ = _sections(_tone(2, 220, 0.2, 1), _tone(2, 330, 0.1, 1), _tone(2, 440, 0.1, 1))
    out, info = level_stem(stem, ref, bounds, SR)
    assert out.shape == stem.shape and out.dtype == np.float32
    assert info.gains_db == pytest.approx([12.04, -12.04, 0.0], abs=0.1)
    half = int(RAMP_S * SR)
    for a, b in zip(bounds[:-1], bounds[1:]):  # away from the ramps the levels are the reference's
        assert integrated_lufs(out[a + half: b - half], SR) == pytest.approx(integrated_lufs(ref[a + half: b - half], SR), abs=0.3)


def test_the_gain_moves_over_the_ramp_not_in_a_step():
    g = gain_curve([0.0, 12.0], [0, SR, 2 * SR], 2 * SR, SR)
    steps_db = np.abs(np.diff(20 * np.log10(g)))
    assert g[0] == pytest.approx(1.0) and g[-1] == pytest.approx(10 ** 0.6, rel=1e-4)
    assert steps_db.max() < 12.0 / (RAMP_S * SR) * 1.01  # a linear 12 dB ramp over 50 ms, no jump
    assert np.all(g[: SR - int(RAMP_S * SR / 2) - 1] == 1.0)


def test_peaks_are_held_under_minus_one_dbtp():
    stem = _tone(2, 110, 1.6)
    assert true_peak_dbtp(stem, SR) > 3.0
    out, info = level_stem(stem, stem, [0, stem.size], SR)  # level already right: only the limiter acts
    assert info.gains_db == [0.0]
    assert true_peak_dbtp(out, SR) <= -1.0 + 1e-6 and info.limited_db > 4.0


def test_rests_short_sections_and_the_gain_bound():
    quiet = _tone(2, 220, 0.001)
    stem, bounds = _sections(_tone(2, 220, 0.1), _tone(0.2, 220, 0.1), quiet, _tone(2, 220, 0.1), _tone(1, 220, 0.1))
    ref, _ = _sections(_tone(2, 220, 0.1, 1), _tone(0.2, 220, 0.5), _tone(2, 220, 0.5), _tone(2, 220, 0.1),
                       np.zeros(SR, np.float32))
    out, info = level_stem(stem, ref, bounds, SR)
    assert info.gains_db[0] == pytest.approx(0.0, abs=0.05)
    assert info.gains_db[1] == info.gains_db[0]  # 0.2 s cannot be measured: the previous section's gain
    assert info.gains_db[2] == MAX_GAIN_DB  # 54 dB too quiet: raised by the bound only
    assert info.gains_db[3] == pytest.approx(0.0, abs=0.05)
    assert info.gains_db[4] == MUTE_DB  # the reference rests: the stem's noise floor there is faded out
    half = int(RAMP_S * SR / 2)
    assert np.allclose(out[: bounds[1] - half], stem[: bounds[1] - half], atol=1e-3)
    assert np.abs(out[bounds[4] + half:]).max() < 1e-6 and np.abs(stem[bounds[4] + half:]).max() > 0.05
    assert np.isfinite(out).all()


def test_nan_and_empty_input():
    stem = _tone(1, 220, 0.1)
    stem[100] = np.nan
    out, _ = level_stem(stem, stem, [0, stem.size], SR)
    assert np.isfinite(out).all()
    empty, info = level_stem(np.zeros(0, np.float32), np.zeros(0, np.float32), [0, 0], SR)
    assert empty.size == 0 and info.gains_db == []


def test_a_mono_stem_gets_the_loudness_of_a_stereo_reference_as_played_on_both_channels():
    left, right = _tone(2, 220, 0.2, 1), _tone(2, 277, 0.2, 2)  # decorrelated channels: the downmix is ~3 dB quieter
    ref = np.stack([left, right], axis=1)
    out, _ = level_stem(_tone(2, 330, 0.05), ref, [0, left.size], SR)
    played = np.repeat(out[:, None], 2, axis=1)
    assert integrated_lufs(played, SR) == pytest.approx(integrated_lufs(ref, SR), abs=0.2)
    assert integrated_lufs(ref.mean(axis=1), SR) < integrated_lufs(ref, SR) - 5.0


def test_rests_of_the_reference_are_gated_to_silence_and_notes_are_untouched():
    from melodex_studio.mix.leveling import REST_CLOSE_S, REST_MIN_S, REST_RAMP_S, rest_gate

    hiss = np.random.default_rng(5).normal(0, 0.003, 3 * SR).astype(np.float32)  # a model's floor everywhere
    stem = hiss + _tone(3, 220, 0.2)
    ref = _tone(3, 220, 0.2, 1)
    rest = slice(int(1.0 * SR), int(1.5 * SR))  # the reference rests 0.5 s; and for 10 ms (too short a rest)
    blip = slice(int(2.0 * SR), int(2.0 * SR) + SR // 100)
    ref[rest], ref[blip] = 0.0, 0.0
    out, _ = level_stem(stem, ref, [0, stem.size], SR)
    assert np.all(out[rest.start: rest.stop - int(REST_RAMP_S * SR)] == 0.0)  # digital silence, as the reference
    assert np.count_nonzero(out[blip]) == blip.stop - blip.start  # shorter than REST_MIN_S: not a rest
    g = rest_gate(ref, SR)
    close = int(REST_CLOSE_S * SR)
    assert np.all(g[: rest.start - close] == 1.0) and np.all(g[rest.stop:] == 1.0)
    fade = g[rest.start - close: rest.start + 1]
    assert np.all(np.diff(fade) <= 0) and np.abs(np.diff(fade)).max() < 2.0 / close  # a fade, not a step
    # a window of the signal is gated as the whole is at the same samples (the grid is the whole signal's)
    w0, w1 = int(0.7 * SR) + 3, int(1.9 * SR)
    assert np.array_equal(rest_gate(ref[w0:w1], SR, offset=w0)[int(REST_MIN_S * SR):], g[w0:w1][int(REST_MIN_S * SR):])
