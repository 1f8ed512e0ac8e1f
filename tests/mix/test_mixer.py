"""Mixer: gain, constant-power pan, mute/solo, anti-clip trim; processed stems sum to the mix."""
from __future__ import annotations

import math

import numpy as np
import pytest

from melodex_studio.errors import AudioError
from melodex_studio.mix.mixer import HEADROOM_DBFS, mix_stems, pan_gains, stems_residual_db, track_gains
from melodex_studio.render.soundfont import SoundFontRenderer
from melodex_studio.song import Song, Track
from tests.songs import make_demo_song


def two_track_song(**b_changes) -> Song:
    song = Song("mixer")
    song.add_track(Track("A", id="a"))
    song.add_track(Track("B", id="b", **b_changes))
    return song


def noise(frames: int = 4410, level: float = 0.1, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((frames, 2)) * level).astype(np.float32)


@pytest.fixture(scope="module")
def demo():
    song = make_demo_song(bars=96, bpm=120, tracks=6)
    return song, SoundFontRenderer().render(song)


def test_three_minute_song_stems_sum_to_the_mix_within_minus_60_db(demo):
    song, res = demo
    stems, mix = mix_stems(song, res.stems)
    assert len(stems) == 6
    assert mix.shape == res.mix.shape and mix.dtype == np.float32
    assert stems_residual_db(stems, mix) < -60.0
    assert np.abs(mix).max() <= 1.0


def test_the_mix_reflects_gains_and_pans(demo):
    song, res = demo
    stems, mix = mix_stems(song, res.stems)
    raw_peak = float(np.abs(sum(res.stems[t.id] * track_gains(t) for t in song.tracks)).max())
    trim = min(1.0, 10 ** (HEADROOM_DBFS / 20) / raw_peak)
    piano = song.track("Piano")  # -3 dB, pan -0.25
    gl, gr = pan_gains(-0.25)
    dry, wet = res.stems[piano.id].astype(np.float64), stems[piano.id].astype(np.float64)
    for ch, g in ((0, gl), (1, gr)):
        k = np.dot(wet[:, ch], dry[:, ch]) / np.dot(dry[:, ch], dry[:, ch])
        assert k == pytest.approx(trim * 10 ** (-3 / 20) * g, rel=1e-5)


def test_gain_in_db():
    song = two_track_song(gain_db=-6.0)
    a, b = noise(seed=1), noise(seed=2)
    stems, mix = mix_stems(song, {"a": a, "b": b})
    assert np.allclose(stems["b"], b * 10 ** (-6 / 20), atol=1e-7)
    assert np.allclose(mix, a + b * 10 ** (-6 / 20), atol=1e-6)


@pytest.mark.parametrize("pan", [-1.0, -0.5, 0.0, 0.3, 1.0])
def test_pan_is_constant_power_and_unity_at_centre(pan):
    left, right = pan_gains(pan)
    assert left ** 2 + right ** 2 == pytest.approx(2.0)
    if pan == 0.0:
        assert (left, right) == pytest.approx((1.0, 1.0))
    if pan == -1.0:
        assert right == pytest.approx(0.0, abs=1e-12) and left == pytest.approx(math.sqrt(2))


def test_hard_right_pan_silences_the_left_channel():
    song = two_track_song(pan=1.0)
    stems, mix = mix_stems(song, {"a": np.zeros((100, 2), np.float32), "b": noise(100)})
    assert np.abs(stems["b"][:, 0]).max() < 1e-7
    assert np.abs(mix[:, 1]).max() > 0.1


def test_mute_and_solo():
    a, b = noise(seed=3), noise(seed=4)
    stems, mix = mix_stems(two_track_song(mute=True), {"a": a, "b": b})
    assert list(stems) == ["a"] and np.array_equal(mix, a)
    stems, mix = mix_stems(two_track_song(solo=True), {"a": a, "b": b})
    assert list(stems) == ["b"] and np.array_equal(mix, b)
    song = two_track_song(mute=True)
    song.update_track("a", mute=True)
    stems, mix = mix_stems(song, {"a": a, "b": b})
    assert stems == {} and not mix.any() and mix.shape == a.shape


def test_a_clipping_mix_is_trimmed_to_the_headroom_with_its_stems():
    song = two_track_song()
    a, b = noise(level=0.6, seed=5), noise(level=0.6, seed=6)
    stems, mix = mix_stems(song, {"a": a, "b": b})
    assert float(np.abs(mix).max()) == pytest.approx(10 ** (HEADROOM_DBFS / 20), rel=1e-5)
    k = float(stems["a"][0, 0] / a[0, 0])
    assert np.allclose(stems["b"], b * k, rtol=1e-5, atol=1e-7)
    assert stems_residual_db(stems, mix) < -120


def test_a_mix_that_does_not_clip_is_untouched():
    song = two_track_song()
    a, b = noise(level=0.05, seed=7), noise(level=0.05, seed=8)
    _, mix = mix_stems(song, {"a": a, "b": b})
    assert np.array_equal(mix, a + b)


def test_bad_stems_are_audio_errors():
    song = two_track_song()
    with pytest.raises(AudioError, match="same length"):
        mix_stems(song, {"a": noise(100), "b": noise(101)})
    with pytest.raises(AudioError, match="no track"):
        mix_stems(song, {"zz": noise(100)})
    with pytest.raises(AudioError, match="stereo"):
        mix_stems(song, {"a": np.zeros((100, 1), np.float32)})


def test_residual_measure():
    mix = noise(seed=9)
    assert stems_residual_db({"x": mix}, mix) == -math.inf
    assert stems_residual_db({"x": mix * 1.001}, mix) == pytest.approx(-60.0, abs=0.01)


@pytest.mark.parametrize("frames", [800, 801])  # both the 8-frames-per-row and the plain path
def test_per_channel_gains_are_exact(frames):
    song = two_track_song(pan=0.3, gain_db=2.0)
    a, b = noise(frames, seed=10), noise(frames, seed=11)
    stems, _ = mix_stems(song, {"a": a, "b": b})
    gl, gr = pan_gains(0.3)
    g = 10 ** (2 / 20)
    assert np.allclose(stems["b"][:, 0], b[:, 0] * g * gl, rtol=1e-6)
    assert np.allclose(stems["b"][:, 1], b[:, 1] * g * gr, rtol=1e-6)


def test_inplace_mixing_gives_the_same_result():
    song = two_track_song(pan=-0.7, gain_db=-2.0)
    a, b = noise(seed=12), noise(seed=13)
    want_stems, want_mix = mix_stems(song, {"a": a, "b": b})
    dry = {"a": a.copy(), "b": b.copy()}
    stems, mix = mix_stems(song, dry, inplace=True)
    assert stems["b"] is dry["b"]
    assert np.allclose(stems["b"], want_stems["b"], rtol=1e-6) and np.allclose(mix, want_mix, rtol=1e-6, atol=1e-7)
