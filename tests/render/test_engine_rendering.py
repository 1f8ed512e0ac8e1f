"""engine.rendering: processed stems and mix, renderer choice, loudness gain curve, cancel."""
from __future__ import annotations

import numpy as np
import pytest

from melodex_studio.engine.rendering import export_all, frame_gain, render_song, stem_names
from melodex_studio.errors import AudioError, CancelledError, ModelError
from melodex_studio.mix.loudness import true_peak_limit
from melodex_studio.mix.mixer import stems_residual_db
from melodex_studio.song import Track
from tests.songs import make_demo_song


@pytest.fixture(scope="module")
def song():
    s = make_demo_song(bars=8, tracks=4)
    s.update_track("Piano", pan=-0.5, gain_db=-4.0)
    return s


def test_render_song_returns_processed_stems_that_sum_to_the_mix(song):
    res = render_song(song)
    assert list(res.stems) == [t.id for t in song.tracks]
    assert res.sample_rate == song.sample_rate
    assert stems_residual_db(res.stems, res.mix) < -100
    left, right = (float(np.sqrt(np.mean(res.stems[song.track("Piano").id][:, ch] ** 2))) for ch in (0, 1))
    assert left > 1.5 * right  # panned left


def test_mute_removes_the_stem(song):
    song.update_track("Lead", mute=True)
    try:
        res = render_song(song)
    finally:
        song.update_track("Lead", mute=False)
    assert song.track("Lead").id not in res.stems and len(res.stems) == 3


def test_renderer_choice_errors(song, monkeypatch, tmp_path):
    monkeypatch.setenv("MELODEX_CODEC_MODEL", str(tmp_path / "missing-codec.safetensors"))
    with pytest.raises(ModelError, match="does not exist"):
        render_song(song, renderer="diffusion")
    with pytest.raises(AudioError, match="unknown renderer"):
        render_song(song, renderer="tape")


def test_frame_gain_recovers_a_limiter_curve():
    rng = np.random.default_rng(1)
    t = np.arange(44100) / 44100
    a = (np.sin(2 * np.pi * 220 * t)[:, None] * np.array([0.9, 0.7]) * (1 + 2 * (t > 0.5))[:, None]).astype(np.float32)
    a[:100] = 0.0  # silence at the start
    a += rng.standard_normal(a.shape).astype(np.float32) * 1e-3
    out = true_peak_limit(a, 44100, -1.0).astype(np.float32)
    g = frame_gain(a, out)
    assert g.min() < 0.5  # the limiter worked hard on the loud half
    err = out - a * g[:, None]
    assert 20 * np.log10(np.sqrt(np.mean(err ** 2)) / np.sqrt(np.mean(out ** 2))) < -100


def test_stem_names_are_unique_and_file_safe():
    s = make_demo_song(bars=1, tracks=2)
    s.add_track(Track("Bass", role="bass", id="b2"))
    s.add_track(Track("a/b:c?", role="fx", id="odd"))
    names = stem_names(s, [t.id for t in s.tracks])
    assert list(names.values()) == ["Drums", "Bass", "Bass 2", "abc"]


def test_cancel_leaves_no_files(song, tmp_path):
    with pytest.raises(CancelledError):
        export_all(song, wav=tmp_path / "x.wav", stems_dir=tmp_path / "stems", cancel=lambda: True)
    assert list(tmp_path.iterdir()) == []


def test_export_reuses_a_given_render(song, tmp_path):
    import soundfile as sf

    res = render_song(song)
    report = export_all(song, wav=tmp_path / "m.wav", bits=32, rendered=res)
    back, rate = sf.read(report.wav, dtype="float32")
    assert rate == res.sample_rate and np.array_equal(back, res.mix)
    assert "render" in report.timings and report.peak_dbfs <= 0.0
