"""engine.diffusion_render through render_song/export_all and the CLI, with tiny codec and renderer checkpoints
written here (random weights, real forward passes): stems at the project rate that sum to the mix, progress,
cancel, SoundFont-initialised renders, one-section renders, reproducibility and clear errors."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from melodex_studio.cli import main
from melodex_studio.engine.diffusion_render import DiffusionOptions
from melodex_studio.engine.rendering import export_all, render_song
from melodex_studio.errors import CancelledError, ModelError
from melodex_studio.mix.mixer import stems_residual_db
from tests.songs import make_demo_song


@pytest.fixture(scope="module")
def song():
    s = make_demo_song(bars=6, tracks=3)
    s.update_track(s.tracks[0].id, pan=-0.8)
    return s


def _opts(checkpoints, **kw) -> DiffusionOptions:
    return DiffusionOptions(steps=kw.pop("steps", 2), codec=checkpoints[0], renderer=checkpoints[1], device="cpu", **kw)


def test_whole_song_stems_at_the_project_rate_sum_to_the_mix_and_report_progress(song, checkpoints):
    seen: list[float] = []
    res = render_song(song, "diffusion", progress=seen.append, diffusion=_opts(checkpoints))
    end = song.tempo_map.tick_to_sample(max(song.section_ticks(s)[1] for s in song.sections), song.sample_rate)
    assert res.sample_rate == song.sample_rate == 44100
    assert list(res.stems) == [t.id for t in song.tracks]
    assert all(st.shape == (res.frames, 2) for st in res.stems.values()) and abs(res.frames - end) <= 2 * 441
    assert stems_residual_db(res.stems, res.mix) < -100
    assert all(np.isfinite(st).all() and np.abs(st).max() > 0 for st in res.stems.values())
    left = res.stems[song.tracks[0].id]
    assert np.sqrt(np.mean(left[:, 0] ** 2)) > 2 * np.sqrt(np.mean(left[:, 1] ** 2))  # the mixer pans the mono stem
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and len(seen) >= 3 * len(song.sections) * 2


def test_same_seed_same_audio_other_seed_differs(song, checkpoints):
    tid = [song.tracks[1].id]
    a = render_song(song, "diffusion", track_ids=tid, diffusion=_opts(checkpoints, seed=3)).mix
    b = render_song(song, "diffusion", track_ids=tid, diffusion=_opts(checkpoints, seed=3)).mix
    c = render_song(song, "diffusion", track_ids=tid, diffusion=_opts(checkpoints, seed=4)).mix
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_strength_zero_is_the_soundfont_render_through_the_codec(song, checkpoints):
    """strength 0 keeps the SoundFont latent: the seed no longer matters, and the render differs from noise."""
    tid = [song.tracks[0].id]
    keep = [render_song(song, "diffusion", track_ids=tid, diffusion=_opts(checkpoints, strength=0.0, seed=s)).mix
            for s in (1, 2)]
    noise = render_song(song, "diffusion", track_ids=tid, diffusion=_opts(checkpoints, strength=1.0, seed=1)).mix
    half = render_song(song, "diffusion", track_ids=tid, diffusion=_opts(checkpoints, strength=0.5, seed=1)).mix
    assert np.array_equal(keep[0], keep[1])
    assert not np.allclose(keep[0], noise) and not np.allclose(half, keep[0]) and not np.allclose(half, noise)


def test_one_section_has_the_section_length(song, checkpoints):
    sec = song.sections[1]
    res = render_song(song, "diffusion", section=sec.label, diffusion=_opts(checkpoints, strength=0.6))
    a, b = song.section_ticks(sec)
    n = song.tempo_map.tick_to_sample(b, 44100) - song.tempo_map.tick_to_sample(a, 44100)
    assert abs(res.frames - n) <= 2 * 441 and res.frames >= n


def test_cancel_and_bad_options(song, checkpoints):
    calls = []
    with pytest.raises(CancelledError):
        render_song(song, "diffusion", cancel=lambda: calls.append(1) or len(calls) > 2, diffusion=_opts(checkpoints))
    with pytest.raises(ModelError, match="strength"):
        render_song(song, "diffusion", diffusion=_opts(checkpoints, strength=1.5))
    with pytest.raises(ModelError, match="steps"):
        render_song(song, "diffusion", diffusion=_opts(checkpoints, steps=0))
    with pytest.raises(ModelError, match="not a renderer checkpoint"):
        render_song(song, "diffusion", diffusion=DiffusionOptions(codec=checkpoints[0], renderer=checkpoints[0]))


def test_export_and_cli_render_with_the_diffusion_renderer(song, checkpoints, tmp_path, monkeypatch, capsys):
    rep = export_all(song, wav=tmp_path / "mix.wav", stems_dir=tmp_path / "stems", renderer="diffusion",
                     diffusion=_opts(checkpoints))
    audio, rate = sf.read(rep.wav)
    assert rate == 44100 and audio.shape[1] == 2 and len(rep.stems) == 3
    from melodex_studio.io.project import save_project

    save_project(tmp_path / "s.melodex", song)
    monkeypatch.setenv("MELODEX_CODEC_MODEL", str(checkpoints[0]))
    monkeypatch.setenv("MELODEX_RENDERER_MODEL", str(checkpoints[1]))
    rc = main(["render", str(tmp_path / "s.melodex"), "--wav", str(tmp_path / "cli.wav"), "--renderer", "diffusion",
               "--steps", "2", "--strength", "0.5", "--device", "cpu"])
    assert rc == 0 and sf.info(tmp_path / "cli.wav").samplerate == 44100
    monkeypatch.setenv("MELODEX_RENDERER_MODEL", str(tmp_path / "nope.safetensors"))
    rc = main(["render", str(tmp_path / "s.melodex"), "--wav", str(tmp_path / "x.wav"), "--renderer", "diffusion"])
    assert rc != 0 and "does not exist" in capsys.readouterr().err and not (tmp_path / "x.wav").exists()


def test_render_defaults_to_the_soundfont_renderer_and_diffusion_is_one_flag_away(checkpoints, tmp_path, monkeypatch,
                                                                                 capsys):
    """Without --renderer, `render` uses the SoundFont renderer (the better-sounding one until diffusion wins the
    realism panel, issue 18): no takes, no models needed, no note. `--renderer diffusion` renders with the
    models and records its takes in the project; asking for it with a missing model is an error (exit 7)
    that writes nothing."""
    from melodex_studio.io.project import load_project, save_project

    path = tmp_path / "d.melodex"
    save_project(path, make_demo_song(bars=4, tracks=2))
    monkeypatch.setenv("MELODEX_CODEC_MODEL", str(checkpoints[0]))
    monkeypatch.setenv("MELODEX_RENDERER_MODEL", str(checkpoints[1]))
    assert main(["render", str(path), "--wav", str(tmp_path / "a.wav")]) == 0
    out, err = capsys.readouterr()
    assert "takes" not in out and "note:" not in err and sf.info(str(tmp_path / "a.wav")).frames > 0
    assert len(load_project(path).takes) == 0
    assert main(["render", str(path), "--wav", str(tmp_path / "b.wav"), "--renderer", "diffusion", "--steps", "2",
                 "--device", "cpu"]) == 0
    assert "diffusion render takes recorded" in capsys.readouterr().out
    assert len(load_project(path).takes) == 2  # one per track (the demo song has one section)
    monkeypatch.setenv("MELODEX_CODEC_MODEL", str(tmp_path / "no-codec.safetensors"))
    assert main(["render", str(path), "--wav", str(tmp_path / "c.wav")]) == 0  # the default needs no model
    assert sf.info(str(tmp_path / "c.wav")).frames > 0
    assert main(["render", str(path), "--wav", str(tmp_path / "d.wav"), "--renderer", "diffusion"]) == 7
    assert not (tmp_path / "d.wav").exists()


def test_a_codec_with_harmonics_renders_the_notes_of_pitched_tracks(song, checkpoints, tmp_path):
    """With a score-informed codec the engine passes each pitched track's roll to the decoder: the stems then
    differ from decoding without it; the drum track (no roll) is unchanged."""
    from dataclasses import replace

    import torch

    from melodex_studio.engine import models
    from melodex_studio.render.codec import CODEC_PRESETS, build_codec
    from melodex_studio.render.diffusion import save_model

    torch.manual_seed(1)
    codec = build_codec(replace(CODEC_PRESETS["tiny"], harmonics=6))
    path = tmp_path / "codec-h.safetensors"
    save_model(codec, codec.cfg.to_json(), path, "codec")
    opts = DiffusionOptions(steps=2, codec=path, renderer=checkpoints[1], device="cpu")
    res = render_song(song, "diffusion", diffusion=opts)
    dr = models.load_diffusion_renderer(path, checkpoints[1], "cpu")
    drum = next(t for t in song.tracks if t.is_drum)
    pitched = next(t for t in song.tracks if not t.is_drum and t.notes)
    assert all(np.isfinite(st).all() for st in res.stems.values())
    lat = torch.randn(40, codec.cfg.latent_dim)
    assert not np.allclose(dr.decode_track(song, pitched, lat), dr.decode(lat))
    assert np.array_equal(dr.decode_track(song, drum, lat), dr.decode(lat))


def test_a_conditioned_codec_decodes_each_track_with_its_instrument_and_each_sections_tags(song, checkpoints, tmp_path):
    """A codec conditioned on the instrument and production tags gets each track's own, the ones the renderer is
    conditioned on: the song's production, and a section's override on that section's frames. decode_track
    equals the codec's decode with them; other tags sound different."""
    from dataclasses import replace

    import torch

    from melodex_studio.engine import models
    from melodex_studio.render.codec import CODEC_PRESETS, build_codec
    from melodex_studio.render.diffusion import save_model
    from melodex_studio.render.score_features import instrument_index, section_frames, tag_vector

    torch.manual_seed(2)
    codec = build_codec(replace(CODEC_PRESETS["tiny"], conditioned=True))
    with torch.no_grad():
        codec.decoder.conditions.instrument.weight.normal_()
        codec.decoder.conditions.tags.weight.normal_()
    path = tmp_path / "codec-c.safetensors"
    save_model(codec, codec.cfg.to_json(), path, "codec")
    dr = models.load_diffusion_renderer(path, checkpoints[1], "cpu")
    song.plan = {**song.plan, "production": ["lofi", "warm"]}
    chorus = song.sections[1]
    chorus.overrides = {**chorus.overrides, "production": ["bright"]}
    f0, f1 = section_frames(song, chorus, dr.sample_rate, dr.hop)
    T = f1 + 5
    tags = np.repeat(tag_vector(["lofi", "warm"])[None], T, axis=0)
    tags[f0:f1] = tag_vector(["bright"])
    lat = torch.randn(T, codec.cfg.latent_dim)
    z = dr.codec.denormalize(lat)[None]
    a, b = song.tracks[:2]
    with torch.no_grad():
        for track in (a, b):
            want = dr.codec.decode(z, None, torch.tensor([instrument_index(track.program, track.is_drum)]),
                                   torch.from_numpy(tags)[None])[0].numpy()
            np.testing.assert_allclose(dr.decode_track(song, track, lat), want, rtol=1e-5, atol=1e-6)
        one = dr.codec.decode(z[:, f0:f1], None, torch.tensor([instrument_index(a.program, a.is_drum)]),
                              torch.from_numpy(tag_vector(["bright"]))[None])[0].numpy()
        np.testing.assert_allclose(dr.decode_track(song, a, lat[f0:f1], f0), one, rtol=1e-5, atol=1e-6)
    assert not np.allclose(dr.decode_track(song, a, lat), dr.decode_track(song, b, lat))
    assert not np.allclose(dr.decode_track(song, a, lat, tags=("dark",)), dr.decode_track(song, a, lat))
    opts = DiffusionOptions(steps=2, codec=path, renderer=checkpoints[1], device="cpu")
    res = render_song(song, "diffusion", diffusion=opts)
    assert all(np.isfinite(st).all() for st in res.stems.values())


def test_stems_have_the_loudness_of_the_soundfont_render_section_by_section(song, checkpoints):
    """The random-weight renderer's level is arbitrary; the engine levels every dry stem to the SoundFont render of
    the same notes per section (away from the 50 ms ramps at the joins) and keeps its true peak under -1 dBTP."""
    from melodex_studio.engine.diffusion_render import render_diffusion
    from melodex_studio.mix.loudness import integrated_lufs, true_peak_dbtp
    from melodex_studio.render.soundfont import SoundFontRenderer

    res = render_diffusion(song, options=_opts(checkpoints))
    ref = SoundFontRenderer(sample_rate=song.sample_rate).render(song)
    sr, pad = song.sample_rate, int(0.05 * song.sample_rate)
    bounds = [song.tempo_map.tick_to_sample(song.section_ticks(s)[0], sr) for s in song.sections] + [res.frames]
    checked = 0
    for tid, stem in res.stems.items():
        dry_ref = ref.stems[tid]  # stereo: the centred stem is measured on both channels, as it is played
        assert true_peak_dbtp(stem, sr) <= -1.0 + 1e-3
        for a, b in zip(bounds[:-1], bounds[1:]):
            want = integrated_lufs(dry_ref[a + pad: b - pad], sr)
            if np.isfinite(want) and b - a > sr:
                assert integrated_lufs(stem[a + pad: b - pad], sr) == pytest.approx(want, abs=1.0), (tid, a)
                checked += 1
    assert checked >= 2 * len(song.sections)


def test_one_section_render_starts_on_the_section_not_on_the_latent_frame(song, checkpoints):
    """A section render's sample 0 is the section's first sample: it equals the whole-song render decoded from
    the same latent at that point (strength 0: both are the SoundFont latent through the codec)."""
    song = make_demo_song(bars=6, tracks=1, bpm=97.0)  # sections start inside a latent frame (960 samples at 24 kHz)
    sec = next(s for s in song.sections if song.tempo_map.tick_to_sample(song.section_ticks(s)[0], 24000) % 960)
    tid = [song.tracks[0].id]
    whole = render_song(song, "diffusion", track_ids=tid, diffusion=_opts(checkpoints, strength=0.0)).stems[tid[0]][:, 0]
    one = render_song(song, "diffusion", track_ids=tid, section=sec.label,
                      diffusion=_opts(checkpoints, strength=0.0)).stems[tid[0]][:, 0]
    a = song.tempo_map.tick_to_sample(song.section_ticks(sec)[0], song.sample_rate)
    mid = slice(one.size // 3, one.size // 3 + 4410)
    lags = range(-60, 61, 3)
    corr = [np.corrcoef(one[mid], whole[a + mid.start + k: a + mid.stop + k])[0, 1] for k in lags]
    assert list(lags)[int(np.argmax(corr))] == 0 and max(corr) > 0.9


def test_a_track_that_enters_later_is_silent_before_it_enters(checkpoints):
    """A track resting through the first section (it enters at the second): the SoundFont reference is silent
    there, so the diffusion stem is too, whatever noise floor the model gives (random weights: plenty)."""
    from melodex_studio.engine.diffusion_render import render_diffusion

    song = make_demo_song(bars=6, tracks=2)
    first = sorted(song.sections, key=lambda s: s.start_bar)[0]
    end = song.section_ticks(first)[1]
    tr = song.tracks[1]
    tr.notes[:] = [n for n in tr.notes if n.start_tick >= end]
    res = render_diffusion(song, options=_opts(checkpoints))
    join = song.tempo_map.tick_to_sample(end, song.sample_rate)
    stem = res.stems[tr.id]
    assert np.abs(stem[: join - int(0.03 * song.sample_rate)]).max() < 1e-5
    assert np.abs(stem[join + int(0.03 * song.sample_rate):]).max() > 1e-3
