"""DiT and the flow denoiser: shapes, adaLN-Zero start, condition dropout, CFG algebra, checkpoint, loss."""
import math

import pytest
import torch

from melodex_studio.render.denoiser import FlowDenoiser
from melodex_studio.render.diffusion import load_dit, save_model
from melodex_studio.render.dit import DIT_PRESETS, NOTE_CHANNELS, DiTConfig, build_dit
from melodex_studio.render.score_features import FEATURE_DIM, STYLE_TAGS


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def _cond(B=2, T=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    score = (torch.rand(B, T, FEATURE_DIM, generator=g) > 0.9).float()
    return {"score": score, "instrument": torch.tensor([0, 128][:B]), "tags": torch.zeros(B, len(STYLE_TAGS)),
            "genre": torch.tensor([1, 0][:B])}


def _randomised(cfg="tiny"):
    net = build_dit(cfg)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))  # leave adaLN-Zero so the output depends on everything
    return net.eval()


def test_shapes_and_zero_output_at_init():
    net = build_dit("tiny")
    x = torch.randn(2, 20, 8)
    v = net(x, torch.rand(2), _cond())
    assert v.shape == x.shape and torch.count_nonzero(v) == 0  # adaLN-Zero: the network starts as v = 0


def test_null_condition_ignores_the_notes_but_not_the_position():
    net = _randomised()
    x, t = torch.randn(2, 20, 8), torch.full((2,), 0.5)
    a, b = _cond(seed=1), _cond(seed=1)
    b["score"][..., :NOTE_CHANNELS] = torch.rand(2, 20, NOTE_CHANNELS)  # other notes
    b["instrument"] = torch.tensor([5, 6])
    with torch.no_grad():
        assert not torch.allclose(net(x, t, a), net(x, t, b))
        un = torch.ones(2, dtype=torch.bool)
        assert torch.allclose(net(x, t, {**a, "uncond": un}), net(x, t, {**b, "uncond": un}), atol=1e-6)
        c = _cond(seed=1)
        c["score"][..., NOTE_CHANNELS:] = torch.rand(2, 20, FEATURE_DIM - NOTE_CHANNELS)  # other beat positions
        assert not torch.allclose(net(x, t, {**a, "uncond": un}), net(x, t, {**c, "uncond": un}))


def test_known_frames_change_the_prediction():
    net = _randomised()
    x, t, c = torch.randn(1, 20, 8), torch.full((1,), 0.7), _cond(B=1)
    known, mask = torch.randn(1, 20, 8), torch.zeros(1, 20, 1)
    mask[:, :5] = 1
    with torch.no_grad():
        assert not torch.allclose(net(x, t, c), net(x, t, {**c, "known": known, "known_mask": mask}))


def test_guidance_is_the_cfg_combination():
    den = FlowDenoiser(_randomised())
    x, c = torch.randn(2, 20, 8), _cond()
    with torch.no_grad():
        v_c = den(x, 0.4, c)
        v_u = den.net(x, torch.full((2,), 0.4), {**c, "uncond": torch.ones(2, dtype=torch.bool)})
        v_w = den(x, 0.4, {**c, "guidance": 3.0})
        assert torch.allclose(den(x, 0.4, {**c, "guidance": 0.0}), v_u, atol=1e-5)
        assert torch.allclose(v_w, v_u + 3.0 * (v_c - v_u), atol=1e-5)


def test_checkpoint_rebuilds_the_same_network(tmp_path):
    net = _randomised()
    assert DiTConfig.from_json(net.cfg.to_json()) == net.cfg
    save_model(net, net.cfg.to_json(), tmp_path / "r.safetensors", "renderer")
    again = load_dit(tmp_path / "r.safetensors")
    x, t, c = torch.randn(2, 20, 8), torch.rand(2), _cond()
    with torch.no_grad():
        assert torch.equal(net(x, t, c), again(x, t, c))


def test_presets_grow_and_latent_size_follows_the_codec():
    sizes = [sum(p.numel() for p in build_dit(k).parameters()) for k in ("tiny", "small", "base")]
    assert sizes[0] < sizes[1] < sizes[2]
    assert build_dit("tiny", latent_dim=16).cfg.latent_dim == 16 and DIT_PRESETS["tiny"].latent_dim == 8


def test_flow_matching_loss_falls_with_training():
    torch.manual_seed(0)
    net = build_dit("tiny")
    den = FlowDenoiser(net)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3)
    proj = torch.randn(FEATURE_DIM, 8) * 0.3
    g = torch.Generator().manual_seed(1)
    losses = []
    for step in range(150):
        c = _cond(B=2, T=24, seed=step)
        x0 = torch.tanh(c["score"] @ proj)  # data determined by the score
        mask = torch.ones(2, 24, 1)
        loss = den.loss(x0, c, loss_mask=mask, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 0.8 * sum(losses[:10]) / 10


def test_patchify_handles_lengths_that_are_not_a_multiple_of_the_patch():
    net = _randomised()
    assert net.cfg.patch == 2
    x, t = torch.randn(1, 21, 8), torch.full((1,), 0.3)
    c = _cond(B=1, T=21)
    with torch.no_grad():
        v = net(x, t, c)
        assert v.shape == (1, 21, 8)
        # the first 20 frames form whole patches: changing frame 20 only touches the last patch via attention,
        # so the output still depends on it, but the shapes and finiteness hold for any length
        x2 = x.clone()
        x2[:, 20] += 1.0
        assert torch.isfinite(v).all() and not torch.allclose(net(x2, t, c)[:, 20], v[:, 20])


def test_rotary_embedding_rotates_each_channel_pair_by_its_angle():
    """apply_rope on the CPU (complex product) against the definition: pair (2i, 2i+1) at position t turned by
    t * base^(-2i/hd); dot products of rotated queries and keys depend only on the distance."""
    from melodex_studio.render.dit import apply_rope, rope_tables

    torch.manual_seed(0)
    T, hd = 7, 8
    x = torch.randn(2, 3, T, hd)
    cos, sin = rope_tables(T, hd, 10000.0, "cpu")
    out = apply_rope(x, cos, sin)
    for t in (0, 3, 6):
        for i in range(hd // 2):
            ang = t * 10000.0 ** (-2 * i / hd)
            a, b = x[..., t, 2 * i], x[..., t, 2 * i + 1]
            assert torch.allclose(out[..., t, 2 * i], a * math.cos(ang) - b * math.sin(ang), atol=1e-5)
            assert torch.allclose(out[..., t, 2 * i + 1], a * math.sin(ang) + b * math.cos(ang), atol=1e-5)
    q = apply_rope(x[:, :, :1].expand(2, 3, T, hd), cos, sin)  # one vector at every position
    dots = (q[..., :-2, :] * q[..., 2:, :]).sum(-1)  # position t with t + 2
    assert torch.allclose(dots, dots[..., :1].expand_as(dots), atol=1e-4)
