"""eval.realism: each metric of the realism panel on synthetic signals whose answer is known by construction."""
from __future__ import annotations

import numpy as np
import pytest

from melodex_studio.eval import realism as rm

SR = 44100


def _sine(freq: float, seconds: float, amp: float = 0.5, decay_db: float = 0.0) -> np.ndarray:
    """A sine whose level falls linearly in dB by ``decay_db`` over its length."""
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t) * 10 ** (-decay_db * t / seconds / 20)).astype(np.float32)


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * SR)).astype(np.float32) * 0.1


def _lowpass(x: np.ndarray, cutoff: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    spec[np.fft.rfftfreq(x.size, 1 / SR) > cutoff] = 0
    return np.fft.irfft(spec, x.size).astype(np.float32)


@pytest.mark.parametrize("built_in", [20.0, 6.0, 0.0])
def test_a_decaying_note_has_the_decay_built_into_it(built_in):
    x = np.concatenate([np.zeros(SR // 2, np.float32), _sine(220, 1.0, decay_db=built_in), np.zeros(SR // 2, np.float32)])
    measured = rm.note_decay_db(x, SR, 0.5, 1.5)
    # the end level is the last 50 ms' mean: 2.5 % of the way short of the built-in fall (and its energy mean)
    assert measured == pytest.approx(built_in * 0.975, abs=0.6)


def test_decay_agreement_counts_the_notes_within_4_db():
    teacher = [20.0, 18.0, 15.0, 21.0]
    organ = [1.0, 0.5, 2.0, 1.5]  # a sustained render of the same notes
    close = [19.0, 21.5, 11.5, 26.0]  # within 1, 3.5, 3.5 and 5 dB
    assert rm.decay_agreement(organ, teacher)["within_tol"] == 0.0
    a = rm.decay_agreement(close, teacher)
    assert a["within_tol"] == 0.75 and a["notes"] == 4 and a["teacher_median_db"] == 19.0
    assert rm.decay_agreement([float("nan"), 20.0], [20.0, 20.0])["notes"] == 1


def test_decay_notes_keep_long_notes_without_an_onset_inside():
    notes = [(0.0, 1.0), (0.0, 1.0), (1.0, 1.1), (2.0, 3.0), (2.5, 2.9)]  # a chord, a short note, an overlap
    assert rm.decay_notes(notes) == [(0.0, 1.0)]


def test_the_rest_level_is_the_noise_in_the_rests_and_not_the_notes():
    note, rest = _sine(440, 1.0), np.zeros(SR, np.float32)
    teacher = np.concatenate([note, rest])
    hiss = np.random.default_rng(1).standard_normal(2 * SR).astype(np.float32) * 10 ** (-60 / 20)  # -60 dBFS RMS
    mask = rm.rest_mask(teacher, SR, [(0.0, 1.0)])
    assert 0.9 < mask.sum() * rm.HOP_S < 1.0  # the second second, less a frame
    assert rm.rest_level_dbfs(teacher + hiss, SR, mask) == pytest.approx(-60.0, abs=0.5)
    assert rm.rest_level_dbfs(teacher, SR, mask) == float("-inf")
    # a teacher that rings on into the rest: those frames are not silence, so are not measured
    ringing = np.concatenate([note, _sine(440, 1.0, amp=0.1, decay_db=90)])
    assert rm.rest_mask(ringing, SR, [(0.0, 1.0)]).sum() < mask.sum() * 0.6


@pytest.mark.parametrize("cutoff,band", [(8000, 8000), (4000, 4000), (12000, 12500)])
def test_low_passed_white_noise_has_the_bandwidth_of_its_filter(cutoff, band):
    assert rm.bandwidth_hz(_lowpass(_noise(2.0), cutoff), SR) == band
    assert rm.bandwidth_hz(_noise(2.0), SR) == 20000  # full band
    # a sine is one band: nothing else within 50 dB
    assert rm.bandwidth_hz(_sine(1000, 1.0), SR) == 1000


def test_left_right_correlation():
    n = _noise(1.0)
    assert rm.channel_correlation(np.stack([n, n], axis=1)) == pytest.approx(1.0)  # mono
    assert rm.channel_correlation(np.stack([n, np.zeros_like(n)], axis=1)) == pytest.approx(0.0)  # hard-panned
    assert abs(rm.channel_correlation(np.stack([n, _noise(1.0, seed=5)], axis=1))) < 0.05  # unrelated
    assert rm.channel_correlation(np.stack([n, -n], axis=1)) == pytest.approx(-1.0)
    wide = np.stack([n + 0.5 * _noise(1.0, 7), n + 0.5 * _noise(1.0, 8)], axis=1)  # a shared centre, 1/4 apart
    assert rm.channel_correlation(wide) == pytest.approx(0.8, abs=0.03)


def test_the_tail_after_the_last_bar_line():
    ring = _sine(330, 2.0, decay_db=80)  # a note struck 1 s before the bar line, ringing 1 s past it
    teacher = np.concatenate([ring, np.zeros(SR, np.float32)])
    cut = teacher.copy()
    cut[SR:] = 0  # the render stops at the bar line
    kept, lost = rm.tail(teacher, teacher, SR, 1.0), rm.tail(cut, teacher, SR, 1.0)
    assert kept["kept_db"] == pytest.approx(0.0) and lost["kept_db"] == float("-inf")
    # -60 dBFS is reached 80 dB * (x/2 s) below -9 dBFS (0.5 amp, RMS): ~1.27 s after the start, 0.27 s past the bar
    assert kept["teacher_seconds"] == lost["teacher_seconds"] == pytest.approx(0.28, abs=0.05)
    assert lost["seconds"] == 0.0
    assert lost["end_dbfs"] > -55 > -80 > kept["end_dbfs"]  # cut off loud (a click) vs faded out
    half = teacher.copy()
    half[SR:] *= 10 ** (-6 / 20)
    assert rm.tail(half, teacher, SR, 1.0)["kept_db"] == pytest.approx(-6.0, abs=0.01)


def test_the_additive_floor_plays_the_score_with_1_over_k_harmonics():
    x = rm.additive_synth([(0.0, 1.0, 57, 127)], SR, 2 * SR)  # A3, 220 Hz
    spec = np.abs(np.fft.rfft(x[:SR] * np.hanning(SR)))
    f = np.fft.rfftfreq(SR, 1 / SR)
    amp = [spec[np.argmin(np.abs(f - 220 * k))] for k in (1, 2, 3, 4)]
    assert amp[0] / amp[1] == pytest.approx(2.0, rel=0.02) and amp[0] / amp[3] == pytest.approx(4.0, rel=0.02)
    assert np.max(np.abs(x[SR + 10:])) == 0.0  # silent after the note
    assert rm.note_decay_db(x, SR, 0.0, 1.0) < 1.0  # held: no decay (the 5 ms fade-out only)
