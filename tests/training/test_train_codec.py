"""`melodex train codec` end to end on a one-song data set: a few real steps, checkpoints, resume, and
decoder-only fine-tuning that keeps the latent space."""
from __future__ import annotations

import torch

from melodex_studio.render.codec import build_codec
from melodex_studio.render.diffusion import load_codec, save_model
from melodex_studio.training.data_renderer import CodecTrainConfig, build_dataset
from melodex_studio.training.train_codec import train_codec


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
