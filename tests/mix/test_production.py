"""mix.production: each stage measured for what it is set to do."""
from __future__ import annotations

import numpy as np
import pytest

from melodex_studio.eval.realism import (
    bandwidth_hz,
    channel_correlation,
    third_octave_levels,
)
from melodex_studio.mix import production as pr

SR = 44100


def _sine(freq: float, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.asarray(x, np.float64) ** 2)))


def _gain_db(f, freq: float) -> float:
    x = _sine(freq, 1.0)
    y = f(x)[SR // 2: SR, 0]  # after the filter settles
    return _rms_db(y) - _rms_db(x[SR // 2:])


@pytest.mark.parametrize("gain", [6.0, -4.0])
def test_a_low_shelf_changes_the_low_band_by_the_db_set_and_leaves_the_highs(gain):
    f = lambda x: pr.shelf(x, SR, 200.0, gain, "low")
    assert _gain_db(f, 30.0) == pytest.approx(gain, abs=0.3)
    assert _gain_db(f, 200.0) == pytest.approx(gain / 2, abs=0.3)  # half the gain at the corner
    assert _gain_db(f, 8000.0) == pytest.approx(0.0, abs=0.1)


def test_a_high_shelf_changes_the_high_band():
    f = lambda x: pr.shelf(x, SR, 4000.0, -6.0, "high")
    assert _gain_db(f, 16000.0) == pytest.approx(-6.0, abs=0.3) and _gain_db(f, 100.0) == pytest.approx(0.0, abs=0.1)
    with pytest.raises(ValueError, match="low"):
        pr.shelf(_sine(100), SR, 100, 3, "band")


def test_the_compressor_reduces_a_level_above_its_threshold_by_its_ratio():
    loud = _sine(440, 2.0, amp=0.5)  # -9 dBFS RMS
    out = pr.compress(loud, SR, threshold_db=-21.0, ratio=4.0, attack_ms=5, release_ms=50)
    assert _rms_db(out[SR:, 0]) == pytest.approx(-21.0 + 12.0 / 4, abs=0.5)  # -18 dBFS
    quiet = _sine(440, 2.0, amp=0.02)  # -37 dBFS: below the threshold, untouched
    assert _rms_db(pr.compress(quiet, SR, threshold_db=-21.0, ratio=4.0)[SR:, 0]) == pytest.approx(_rms_db(quiet), abs=0.05)
    # the makeup gain adds what it says
    made = pr.compress(loud, SR, threshold_db=-21.0, ratio=4.0, attack_ms=5, release_ms=50, makeup_db=4.0)
    assert _rms_db(made[SR:, 0]) - _rms_db(out[SR:, 0]) == pytest.approx(4.0, abs=0.01)


def test_the_compressor_releases_slower_than_it_attacks():
    x = np.concatenate([_sine(440, 1.0, amp=0.5), _sine(440, 2.0, amp=0.02)])
    out = pr.compress(x, SR, threshold_db=-21.0, ratio=4.0, attack_ms=5, release_ms=300)[:, 0]
    after = out[SR: SR + 4410]  # the first 100 ms of the quiet part: still turned down
    assert _rms_db(after) < _rms_db(x[SR: SR + 4410]) - 3
    assert _rms_db(out[-SR // 4:]) == pytest.approx(_rms_db(x[-SR // 4:]), abs=0.1)  # recovered after 1.75 s


@pytest.mark.parametrize("rt60", [0.6, 1.5])
def test_the_reverb_adds_a_tail_with_the_rt60_set(rt60):
    impulse = np.zeros(SR // 10, np.float32)
    impulse[0] = 1.0
    out = pr.reverb(impulse, SR, rt60_s=rt60, wet=1.0, predelay_ms=0.0)
    assert out.shape[0] > impulse.size + rt60 * SR  # the output keeps the tail
    # Schroeder backward integration; T30 (-5 to -35 dB) extrapolated to 60 dB
    e = np.cumsum((out[:, 0].astype(np.float64) ** 2)[::-1])[::-1]
    edc = 10 * np.log10(e / e[0])
    t5, t35 = np.argmax(edc <= -5) / SR, np.argmax(edc <= -35) / SR
    assert 2 * (t35 - t5) == pytest.approx(rt60, rel=0.1)
    assert abs(channel_correlation(out)) < 0.2  # the room is stereo: the two responses are decorrelated


def test_saturation_adds_odd_harmonics_with_drive_and_keeps_small_signals():
    def third(x):
        spec = np.abs(np.fft.rfft(x[:SR, 0] * np.hanning(SR)))
        return 20 * np.log10(spec[3 * 220] / spec[220])

    x = _sine(220, 1.0, amp=0.5)
    assert third(pr.saturate(x, 12.0)) > third(pr.saturate(x, 3.0)) + 6 > -40
    small = _sine(220, 1.0, amp=0.001)
    assert _rms_db(pr.saturate(small, 12.0)[:, 0]) == pytest.approx(_rms_db(small), abs=0.01)


def test_tape_is_band_limited_wobbles_and_hisses_at_the_set_levels():
    noise = np.random.default_rng(0).standard_normal(2 * SR).astype(np.float32) * 0.1
    out = pr.tape(noise, SR, cutoff_hz=5000.0, wow_cents=0.0, hiss_dbfs=-150.0)
    (c, before), (_, after) = third_octave_levels(noise, SR), third_octave_levels(out, SR)
    drop = dict(zip(c, before - after))
    assert abs(drop[1000]) < 0.5 and drop[5000] == pytest.approx(3, abs=1.5) and drop[10000] > 20 and drop[20000] > 40
    hiss = pr.tape(np.zeros(SR, np.float32), SR, hiss_dbfs=-50.0)
    assert _rms_db(hiss[:, 0]) == pytest.approx(-50.0, abs=0.3)
    wobbly = pr.tape(_sine(1000, 4.0), SR, cutoff_hz=20000.0, wow_hz=1.0, wow_cents=20.0, hiss_dbfs=-150.0)[:, 0]
    from scipy.signal import hilbert

    phase = np.unwrap(np.angle(hilbert(wobbly)))  # instantaneous frequency, averaged over 20 ms
    f = np.convolve(np.diff(phase) * SR / (2 * np.pi), np.ones(882) / 882, mode="valid")[SR: 3 * SR]
    cents = 1200 * np.log2(f.max() / f.min()) / 2  # peak deviation either side of 1 kHz
    assert cents == pytest.approx(20.0, abs=8.0)


def test_width_and_the_preset_chain():
    rng = np.random.default_rng(1)
    st = np.stack([rng.standard_normal(SR), rng.standard_normal(SR)], axis=1).astype(np.float32) * 0.1
    st[:, 1] = 0.7 * st[:, 0] + 0.3 * st[:, 1]
    assert channel_correlation(pr.width(st, 0.0)) == pytest.approx(1.0)
    assert channel_correlation(pr.width(st, 1.5)) < channel_correlation(st)
    assert [s[0] for s in pr.chain_for(["roomy", "LoFi", "warm", "unknown", "warm"])] == [
        "shelf", "shelf", "saturate", "saturate", "tape", "reverb"]
    x = _sine(220, 1.0)
    assert np.array_equal(pr.apply_production(x, SR, ["dry"]), np.repeat(x[:, None], 2, axis=1))
    roomy = pr.apply_production(x, SR, ["roomy"])
    assert roomy.shape[0] > x.size + SR and roomy.dtype == np.float32  # the tail is kept
    lofi = pr.apply_production(x + 0.2 * _sine(15000), SR, ["lofi"])  # the 15 kHz partial is gone; hiss added
    c, before = third_octave_levels(x + 0.2 * _sine(15000), SR)
    after = third_octave_levels(lofi, SR)[1]
    assert before[list(c).index(16000)] - after[list(c).index(16000)] > 25 and bandwidth_hz(x, SR) < 1000
