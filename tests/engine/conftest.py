"""Fixtures of the engine tests: tiny codec and renderer checkpoints (random weights, real forward passes)."""
from __future__ import annotations

import pytest
import torch

from melodex_studio.engine import models
from melodex_studio.render.codec import build_codec
from melodex_studio.render.diffusion import save_model
from melodex_studio.render.dit import build_dit


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """(codec path, renderer path) of tiny checkpoints written for this test module."""
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("models")
    codec, dit = build_codec("tiny"), build_dit("tiny")
    save_model(codec, codec.cfg.to_json(), d / "codec.safetensors", "codec")
    save_model(dit, dit.cfg.to_json(), d / "renderer.safetensors", "renderer")
    yield d / "codec.safetensors", d / "renderer.safetensors"
    models.clear_cache()
