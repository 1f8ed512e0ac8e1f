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
