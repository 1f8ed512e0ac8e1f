"""The diffusion renderer with a tiny codec and a tiny DiT briefly trained here: reproducibility, strength,
bit-exact resumption from recorded steps, variations that get closer from later steps, whole-track renders."""
import numpy as np
import pytest
import torch

from melodex_studio.errors import ModelError
from melodex_studio.render.codec import build_codec
from melodex_studio.render.denoiser import FlowDenoiser
from melodex_studio.render.diffusion import DiffusionRenderer, RenderSettings, save_model
from melodex_studio.render.dit import build_dit
from melodex_studio.render.score_features import FEATURE_DIM, score_features, section_frames
from melodex_studio.training.data_renderer import random_song


@pytest.fixture(scope="module")
def renderer():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = build_dit("tiny")
    den = FlowDenoiser(net)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    proj = torch.randn(FEATURE_DIM, 8) * 0.3
    g = torch.Generator().manual_seed(0)
    feats = []  # real score features of a few synthetic songs
    for i in range(6):
        sng = random_song(100 + i)
        T = section_frames(sng, sng.sections[-1], 24000, 960)[1]
        feats += [torch.from_numpy(score_features(sng, t, 0, T, 24000, 960).features) for t in sng.tracks]
    for step in range(150):  # toy data: the latent is a fixed function of the score
        gs = torch.Generator().manual_seed(step)
        score = torch.stack([f[s: s + 32] for f in (feats[int(i)] for i in torch.randint(len(feats), (4,), generator=gs))
                             for s in [int(torch.randint(0, f.shape[0] - 32, (1,), generator=gs))]])
        x0 = torch.tanh(score @ proj)
        c = {"score": score, "instrument": torch.randint(0, 129, (4,), generator=gs), "tags": torch.zeros(4, 10),
             "genre": torch.zeros(4, dtype=torch.long)}
        loss = den.loss(x0, c, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return DiffusionRenderer(build_codec("tiny"), net.eval())


@pytest.fixture(scope="module")
def song():
    return random_song(11)


def _cond(r, song, sec_i=0):
    sec = song.sections[sec_i]
    f0, f1 = section_frames(song, sec, r.sample_rate, r.hop)
    return r.conditions(song, song.tracks[0], f0, f1, sec), f1 - f0


def test_same_seed_is_bit_exact_and_other_seeds_differ(renderer, song):
    cond, T = _cond(renderer, song)
    a = renderer.sample(cond, T, RenderSettings(steps=6, seed=3))
    b = renderer.sample(cond, T, RenderSettings(steps=6, seed=3))
    c = renderer.sample(cond, T, RenderSettings(steps=6, seed=4))
    assert a.latent.shape == (T, 8) and torch.equal(a.latent, b.latent)
    assert not torch.allclose(a.latent, c.latent)
    assert sorted(a.checkpoints) == list(range(7))


def test_strength_zero_keeps_the_initial_latent_and_one_ignores_it(renderer, song):
    cond, T = _cond(renderer, song)
    init = torch.randn(T, 8)
    keep = renderer.sample(cond, T, RenderSettings(steps=6, seed=1), init_latent=init, strength=0.0)
    assert torch.equal(keep.latent, init)
    ignore = renderer.sample(cond, T, RenderSettings(steps=6, seed=1), init_latent=init, strength=1.0)
    scratch = renderer.sample(cond, T, RenderSettings(steps=6, seed=1))
    assert torch.equal(ignore.latent, scratch.latent)
    mid = renderer.sample(cond, T, RenderSettings(steps=6, seed=1), init_latent=init, strength=0.3)
    d_mid, d_far = (mid.latent - init).norm(), (scratch.latent - init).norm()
    assert len(mid.schedule) == 3 and mid.schedule[0] == pytest.approx(0.3) and d_mid < 0.7 * d_far
    with pytest.raises(ModelError):
        renderer.sample(cond, T, init_latent=init, strength=1.5)


@pytest.mark.parametrize("sampler", ["euler", "heun", "dpmpp_2m"])
def test_resume_with_the_same_seed_reproduces_the_final_latent(renderer, song, sampler):
    settings = RenderSettings(steps=6, sampler=sampler, seed=9, guidance=2.5)
    tr = song.tracks[0]
    latent, _ = renderer.render_track(song, tr, RenderSettings(steps=2, seed=0))
    known = torch.zeros(latent.shape[0], dtype=torch.bool)
    f0, _ = section_frames(song, song.sections[0], renderer.sample_rate, renderer.hop)
    known[: section_frames(song, song.sections[0], renderer.sample_rate, renderer.hop)[1]] = True
    sec = song.sections[1]  # rendered between known left context
    full = renderer.render_section(song, tr, sec, settings, latent, known)
    assert full.frame_start < section_frames(song, sec, renderer.sample_rate, renderer.hop)[0]
    for k in (1, 3, 5):
        again = renderer.resume_section(song, tr, sec, full, k, settings, latent, known)
        assert torch.equal(again.latent, full.latent)
    styled = renderer.resume_section(song, tr, sec, full, 3, RenderSettings(**{**settings.__dict__, "guidance": 5.0}),
                                     latent, known, tags=("lofi",))
    assert not torch.equal(styled.latent, full.latent)


def test_variations_from_later_steps_stay_closer_to_the_original(renderer, song):
    cond, T = _cond(renderer, song, 1)
    settings = RenderSettings(steps=8, seed=0, sampler="heun", guidance=1.0)
    orig = renderer.sample(cond, T, settings)
    dists = []
    for k in range(0, 8):
        d = [float((renderer.resume(orig, k, cond, RenderSettings(**{**settings.__dict__, "seed": s})).latent
                    - orig.latent).norm()) for s in (1, 2, 3)]
        dists.append(np.mean(d))
    assert all(a > b for a, b in zip(dists, dists[1:])), dists
    assert dists[-1] < 0.5 * dists[0]
    with pytest.raises(ModelError):
        renderer.resume(orig, 99, cond)


def test_render_track_covers_the_song_and_decodes(renderer, song, tmp_path):
    tr = song.tracks[-1]
    latent, renders = renderer.render_track(song, tr, RenderSettings(steps=3, seed=2))
    assert latent.shape == (renderer.song_frames(song), 8) and len(renders) == len(song.sections)
    for sec, r in zip(sorted(song.sections, key=lambda s: s.start_bar), renders):
        f0, f1 = section_frames(song, sec, renderer.sample_rate, renderer.hop)
        assert torch.equal(latent[f0 + 1: f1], renderer.section_latent(song, sec, r)[1:])
    audio = renderer.decode(latent)
    assert audio.shape == (latent.shape[0] * renderer.hop,) and np.isfinite(audio).all()
    # checkpoints rebuild the same renderer
    save_model(renderer.codec, renderer.codec.cfg.to_json(), tmp_path / "c.safetensors", "codec")
    save_model(renderer.denoiser.net, renderer.denoiser.net.cfg.to_json(), tmp_path / "r.safetensors", "renderer")
    again = DiffusionRenderer.from_checkpoints(tmp_path / "c.safetensors", tmp_path / "r.safetensors")
    cond, T = _cond(renderer, song)
    s = RenderSettings(steps=3, seed=5)
    assert torch.equal(again.sample(cond, T, s).latent, renderer.sample(cond, T, s).latent)


def test_render_state_round_trip_resumes_exactly(renderer, song):
    from melodex_studio.render.diffusion import render_from_state, render_to_state

    cond, T = _cond(renderer, song)
    orig = renderer.sample(cond, T, RenderSettings(steps=5, seed=8, record_steps=(2, 4)))
    assert sorted(orig.checkpoints) == [2, 4]
    tensors, meta = render_to_state(orig, "take1/lead")
    # the final latent is on the float16 grid and stored so (half the bytes), and comes back as float32
    assert tensors["take1/lead/latent"].dtype == torch.float16 and orig.latent.dtype == torch.float32
    assert torch.equal(tensors["take1/lead/latent"].float(), orig.latent)
    back = render_from_state(tensors, meta, "take1/lead")
    assert back.latent.dtype == torch.float32 and torch.equal(back.latent, orig.latent)
    assert torch.equal(renderer.resume(back, 2, cond).latent, orig.latent)
    with pytest.raises(ModelError):
        render_from_state({}, meta, "take1/lead")
    stems, renders = renderer.render_stems(song, [song.tracks[0].name], RenderSettings(steps=2))
    assert list(stems) == [song.tracks[0].id] and stems[song.tracks[0].id].shape == (renderer.song_frames(song) * renderer.hop,)
