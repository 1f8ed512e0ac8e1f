"""Loudness: LUFS and true peak against known signals; the streaming preset on music-like mixes."""
from __future__ import annotations

import numpy as np
import pytest

from melodex_studio.errors import AudioError
from melodex_studio.mix.loudness import integrated_lufs, normalize_streaming, true_peak_dbtp, true_peak_limit

SR = 44100


def mix(seconds=6.0, level=1.0, seed=0, drums=True):
    """A few harmonic tones (bass, chords, lead) panned in stereo plus kick and snare-like transients."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = np.zeros((t.size, 2))
    for freq, amp, pan in ((110.0, 0.3, 0.3), (277.2, 0.15, 0.7), (660.0, 0.1, 0.5), (880.0, 0.05, 0.2)):
        voice = sum(amp / k * np.sin(2 * np.pi * freq * k * t + k) for k in range(1, 6))
        x += voice[:, None] * np.array([1 - pan, pan])
    if drums:
        n = int(0.15 * SR)
        tt = np.arange(n) / SR
        kick = np.sin(2 * np.pi * (50 + 100 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 20) * 0.9
        for i, start in enumerate(range(0, t.size - n, SR // 2)):
            x[start:start + n] += kick[:, None]
            if i % 2:
                x[start:start + n] += (rng.standard_normal(n) * np.exp(-tt * 30) * 0.6)[:, None]
    return x * level


def test_lufs_of_a_reference_sine():
    t = np.arange(5 * SR) / SR
    sine = 0.1 * np.sin(2 * np.pi * 997 * t)  # -20 dBFS peak, one channel: BS.1770 gives -23.0 LUFS
    assert integrated_lufs(sine, SR) == pytest.approx(-23.0, abs=0.1)
    assert integrated_lufs(np.stack([sine, sine], 1), SR) == pytest.approx(-20.0, abs=0.1)
    assert integrated_lufs(np.zeros(SR), SR) == float("-inf")
    with pytest.raises(AudioError, match="too short"):
        integrated_lufs(np.ones(1000), SR)


def test_true_peak_sees_inter_sample_peaks():
    n = np.arange(SR)
    fade = np.minimum(1.0, np.minimum(n, n[::-1]) / 4410)  # no abrupt edges (they ring in any oversampler)
    sine = fade * np.sin(2 * np.pi * n / 4 + np.pi / 4)  # samples at +-0.707, the waveform reaches 1.0 between them
    assert 20 * np.log10(np.max(np.abs(sine))) == pytest.approx(-3.01, abs=0.01)
    assert true_peak_dbtp(sine, SR) == pytest.approx(0.0, abs=0.1)
    assert true_peak_dbtp(0.5 * np.sin(2 * np.pi * 100 * n / SR), SR) == pytest.approx(-6.02, abs=0.05)
    assert true_peak_dbtp(np.zeros((100, 2)), SR) == float("-inf")


@pytest.mark.parametrize("level", [0.03, 0.3, 3.0], ids=["quiet", "moderate", "clipping-loud"])
def test_streaming_preset_on_music_hits_target_and_ceiling(level):
    x = mix(level=level)
    y = normalize_streaming(x, SR)
    assert y.shape == x.shape and y.dtype == np.float32
    assert integrated_lufs(y, SR) == pytest.approx(-14.0, abs=0.5)
    assert true_peak_dbtp(y, SR) <= -1.0
    ref = x / np.max(np.abs(x))
    # this mix has kicks ~20 dB above its tones, so the limiter works hard (about 7 dB on each kick); it
    # reshapes the envelope but keeps the waveform
    assert np.corrcoef(ref[:, 0], y[:, 0])[0, 1] > 0.95


def test_results_do_not_depend_on_input_level():
    a = normalize_streaming(mix(level=0.1), SR)
    b = normalize_streaming(mix(level=2.0), SR)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_plain_gain_when_peaks_allow_it():
    x = mix(level=0.05, drums=False)  # tonal, low crest factor: -14 LUFS fits under -1 dBTP
    y = normalize_streaming(x[:, 0], SR)
    assert y.ndim == 1
    ratio = y / x[:, 0]
    assert np.ptp(ratio[np.abs(x[:, 0]) > 1e-3]) < 1e-5  # one constant gain
    assert integrated_lufs(y, SR) == pytest.approx(-14.0, abs=0.05)


def test_limiter_only_lowers_and_looks_ahead():
    x = mix(level=1.0)
    y = true_peak_limit(x, SR, -1.0)
    gain = np.abs(y[:, 0]) / np.maximum(np.abs(x[:, 0]), 1e-12)
    assert np.all(gain[np.abs(x[:, 0]) > 1e-6] <= 1.0 + 1e-9)
    assert true_peak_dbtp(y, SR) <= -1.0
    first_peak = int(np.argmax(np.abs(x[: SR // 4, 0]) > 10 ** (-1.1 / 20)))
    before = slice(first_peak - int(0.002 * SR), first_peak - int(0.001 * SR))
    assert np.all(gain[before][np.abs(x[before, 0]) > 1e-3] < 0.99)  # gain already falling before the peak
    quiet = 0.3 * np.sin(2 * np.pi * 220 * np.arange(SR) / SR)
    np.testing.assert_array_equal(true_peak_limit(quiet, SR)[:, 0], quiet)


def test_silence_is_left_alone():
    assert not np.any(normalize_streaming(np.zeros((SR, 2)), SR))


def _drums(seconds: float, sr: int, seed: int) -> np.ndarray:
    """Sparse decaying noise hits of random level over a quiet bed, stereo: most of it far under any ceiling."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = rng.normal(0, 0.003, (n, 2))
    for start in rng.integers(0, n - sr // 4, 40):
        hit = rng.normal(0, 1, (sr // 4, 2)) * np.exp(-np.arange(sr // 4) / (0.02 * sr))[:, None]
        x[start: start + sr // 4] += rng.uniform(0.05, 1.5) * hit
    return x


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_oversampling_only_near_loud_samples_is_exact_where_the_ceiling_can_be_reached(seed, monkeypatch):
    from melodex_studio.mix import loudness
    from melodex_studio.mix.loudness import _interpolation_gain, _oversampled_abs_peak

    x = _drums(3.0, 44100, seed)
    ceiling = 10 ** (-1.1 / 20)
    full, fast = _oversampled_abs_peak(x), _oversampled_abs_peak(x, ceiling)
    over = full > ceiling
    assert over.any() and (~over).any() and 2.0 < _interpolation_gain() < 2.5
    assert np.array_equal(fast[over], full[over])  # every value the limiter acts on, bit for bit
    assert np.all(fast[~over] <= ceiling)  # and none it must leave alone is reported above the ceiling
    limited = true_peak_limit(x, 44100, -1.0)
    assert true_peak_dbtp(limited, 44100) <= -1.0 + 1e-3
    monkeypatch.setattr(loudness, "_oversampled_abs_peak", lambda a, floor=0.0: _oversampled_abs_peak(a))
    assert np.array_equal(true_peak_limit(x, 44100, -1.0), limited)  # the same gain envelope as oversampling it all
