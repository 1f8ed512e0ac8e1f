"""`melodex train codec` end to end on a one-song data set: a few real steps, checkpoints, resume, and
decoder-only fine-tuning that keeps the latent space."""
from __future__ import annotations

import pytest
import torch

from melodex_studio.render.codec import build_codec
from melodex_studio.render.diffusion import load_codec, save_model
from melodex_studio.training.data_renderer import CodecTrainConfig, build_dataset
from melodex_studio.training.train_codec import train_codec


@pytest.mark.slow
def test_a_short_run_with_harmonics_then_a_decoder_only_fine_tune(tmp_path):
    torch.manual_seed(0)
    data = tmp_path / "data"
    for split in ("train", "val"):
        build_dataset(data, split, n_songs=1, seed=0, source="synthetic", log=lambda *_: None)
    log: list[str] = []
    cfg = CodecTrainConfig(data_dir=str(data), out_dir=str(tmp_path / "run"), preset="tiny", harmonics=4, steps=3,
                           batch=2, log_every=1, ckpt_every=3, threads=1, device="cpu")
    last = train_codec(cfg, log=log.append)
    first = load_codec(last)
    assert first.cfg.harmonics == 4 and any("codec checkpoint step 3" in line for line in log)

    base = build_codec("tiny")  # a codec without harmonics, fine-tuned with a frozen encoder
    save_model(base, base.cfg.to_json(), tmp_path / "base.safetensors", "codec")
    ft = CodecTrainConfig(**{**cfg.__dict__, "out_dir": str(tmp_path / "ft"), "harmonics": -1, "steps": 2,
                             "ckpt_every": 2, "init_from": str(tmp_path / "base.safetensors"), "freeze_encoder": True})
    tuned = load_codec(train_codec(ft, log=log.append))
    assert "encoder frozen: training the decoder only" in log
    for (name, a), b in zip(base.encoder.state_dict().items(), tuned.encoder.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(base.decoder.head.weight, tuned.decoder.head.weight)


def test_shipping_halves_the_file_and_keeps_the_model(tmp_path):
    from dataclasses import replace

    from melodex_studio.render.codec import CODEC_PRESETS
    from melodex_studio.training.ship import ship

    torch.manual_seed(0)
    codec = build_codec(replace(CODEC_PRESETS["tiny"], harmonics=4, harmonic_tail=0.5)).eval()
    save_model(codec, codec.cfg.to_json(), tmp_path / "c.safetensors", "codec", {"step": 7})
    sha = ship(tmp_path / "c.safetensors", tmp_path / "shipped.safetensors")
    assert len(sha) == 64
    assert (tmp_path / "shipped.safetensors").stat().st_size < 0.6 * (tmp_path / "c.safetensors").stat().st_size
    again = load_codec(tmp_path / "shipped.safetensors")
    assert again.cfg == codec.cfg
    x, roll = torch.randn(1, 9600) * 0.2, torch.zeros(1, 10, 128).index_fill_(2, torch.tensor([64]), 0.7)
    with torch.no_grad():
        a, b = codec.decode(codec.encode(x), roll), again.decode(again.encode(x), roll)
    assert float((a - b).norm() / a.norm()) < 0.02  # float16 weights, float32 compute


def _one_song_data_and_a_tiny_codec(tmp_path):
    """A one-song renderer data set (both splits) and an untrained tiny codec saved as ``codec.safetensors``."""
    torch.manual_seed(0)
    data = tmp_path / "data"
    for split in ("train", "val"):
        build_dataset(data, split, n_songs=1, seed=0, source="synthetic", log=lambda *_: None)
    codec = build_codec("tiny")
    save_model(codec, codec.cfg.to_json(), tmp_path / "codec.safetensors", "codec")
    return data, codec, tmp_path / "codec.safetensors"


def test_an_encoder_only_fine_tune_keeps_the_decoder(tmp_path):
    data, base, base_path = _one_song_data_and_a_tiny_codec(tmp_path)
    log: list[str] = []
    cfg = CodecTrainConfig(data_dir=str(data), out_dir=str(tmp_path / "enc"), preset="tiny", steps=2, batch=2,
                           log_every=1, ckpt_every=2, threads=1, device="cpu", init_from=str(base_path),
                           freeze_decoder=True)
    tuned = load_codec(train_codec(cfg, log=log.append))
    assert any(line.startswith("decoder frozen") for line in log)
    for (name, a), b in zip(base.decoder.state_dict().items(), tuned.decoder.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(base.encoder.inp.weight, tuned.encoder.inp.weight)
    with pytest.raises(ValueError, match="nothing to train"):
        train_codec(CodecTrainConfig(**{**cfg.__dict__, "out_dir": str(tmp_path / "none"), "freeze_encoder": True}))


def test_a_renderer_run_then_a_warm_started_fine_tune(tmp_path):
    """`melodex train renderer` end to end on a one-song data set (tiny codec and DiT): checkpoints and the EMA
    weights; then ``init_from`` starts a new run from those weights (e.g. after the codec's encoder changed)."""
    from melodex_studio.render.diffusion import load_dit
    from melodex_studio.training.data_renderer import RendererTrainConfig
    from melodex_studio.training.train_renderer import train_renderer

    data, codec, codec_path = _one_song_data_and_a_tiny_codec(tmp_path)
    log: list[str] = []
    cfg = RendererTrainConfig(data_dir=str(data), codec=str(codec_path), out_dir=str(tmp_path / "r1"),
                              preset="tiny", steps=4, batch=2, frames=16, max_context=4, warmup=1, log_every=2,
                              ckpt_every=4, threads=1, device="cpu", lr=1e-2, ema=0.0)  # EMA = the raw weights
    first = train_renderer(cfg, log=log.append)
    src = load_dit(first)
    assert src.cfg.latent_dim == codec.cfg.latent_dim and any("encoded" in line for line in log)

    ft = RendererTrainConfig(**{**cfg.__dict__, "out_dir": str(tmp_path / "r2"), "steps": 1, "ckpt_every": 1,
                                "lr": 1e-6, "init_from": str(first)})
    tuned = load_dit(train_renderer(ft, log=log.append))
    assert f"warm start from {first}" in log
    fresh = load_dit(train_renderer(RendererTrainConfig(**{**ft.__dict__, "out_dir": str(tmp_path / "r3"), "init_from": ""}),
                                    log=log.append))
    sd_src, sd_tuned, sd_fresh = src.state_dict(), tuned.state_dict(), fresh.state_dict()
    near = sum(float((sd_tuned[k] - sd_src[k]).norm()) for k in sd_src)
    far = sum(float((sd_fresh[k] - sd_src[k]).norm()) for k in sd_src)
    assert near < 0.01 * far  # one tiny step away from the source, not from a fresh initialisation


def test_a_conditioned_decoder_fine_tune_learns_the_conditions_and_drops_them_now_and_then(tmp_path):
    """`train codec --conditioned true` on a warm start: the encoder stays, the (zero-initialised) instrument
    embedding of the data's instruments moves; ``dropped_conditions`` replaces a share p of the crops'
    conditions by "not known"."""
    import numpy as np

    from melodex_studio.render.score_features import N_INSTRUMENTS
    from melodex_studio.training.data_renderer import crops_with_roll, load_items
    from melodex_studio.training.train_codec import dropped_conditions

    data, base, base_path = _one_song_data_and_a_tiny_codec(tmp_path)
    cfg = CodecTrainConfig(data_dir=str(data), out_dir=str(tmp_path / "cond"), preset="tiny", steps=3, batch=4,
                           log_every=1, ckpt_every=3, threads=1, device="cpu", init_from=str(base_path),
                           freeze_encoder=True, conditioned=True, condition_dropout=0.0)
    tuned = load_codec(train_codec(cfg, log=lambda *_: None))
    assert tuned.cfg.conditioned and not base.cfg.conditioned
    for (name, a), b in zip(base.encoder.state_dict().items(), tuned.encoder.state_dict().values()):
        assert torch.equal(a, b), name
    items = load_items(data, "train")
    seen = sorted({it.instrument for it in items})
    emb = tuned.decoder.conditions.instrument.weight.detach()
    assert all(float(emb[i].abs().max()) > 0 for i in seen)
    assert float(emb[N_INSTRUMENTS].abs().max()) == 0.0  # never dropped (p = 0), so never trained
    from melodex_studio.training.train_codec import param_groups

    main, cond = param_groups(tuned, 10.0)
    assert cond["lr_scale"] == 10.0 and main["lr_scale"] == 1.0
    assert len(cond["params"]) == 2 and len(main["params"]) == len(list(tuned.parameters())) - 2
    assert len(param_groups(base, 10.0)) == 1  # an unconditioned codec: one group

    crops = crops_with_roll(items, np.random.default_rng(0), 400, 4800, tuned.cfg.latent_hop)
    assert set(crops.instrument.tolist()) <= set(seen) and crops.tags.sum(axis=1).min() >= 1  # every item has a tag
    dropped = dropped_conditions(crops, np.random.default_rng(1), 0.25)
    gone = dropped.instrument == N_INSTRUMENTS
    assert 0.18 < gone.mean() < 0.32
    assert np.all(dropped.tags[gone] == 0) and np.array_equal(dropped.tags[~gone], crops.tags[~gone])
    assert np.array_equal(dropped.audio, crops.audio) and np.array_equal(dropped.roll, crops.roll)
