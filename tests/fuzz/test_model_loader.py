"""Tampered model checkpoints: config values out of range, configs that do not match their tensors, damaged
weights. Each is a ModelError at load, before any model is built."""
from __future__ import annotations

import json
import math
import time

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from melodex_studio.errors import ModelError
from melodex_studio.render.diffusion import load_codec, load_dit
from melodex_studio.structure.checkpoint import load_checkpoint
from tests.engine.session_helpers import write_tiny_models


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """{'codec', 'renderer', 'structure'}: paths of tiny checkpoints (random weights), as tests/engine makes them."""
    return write_tiny_models(tmp_path_factory.mktemp("models"))


LOADERS = {"codec": load_codec, "renderer": load_dit, "structure": lambda p: load_checkpoint(p)[0]}


def tampered(src, dst, config=None, meta=None, tensors=None):
    """A copy of checkpoint ``src`` at ``dst`` whose config gets ``config`` (a dict update, or a str: the raw
    config), whose metadata gets ``meta`` and whose tensors get ``tensors``(state dict) -> state dict."""
    with safe_open(str(src), framework="pt") as f:
        md = dict(f.metadata())
        sd = {k: f.get_tensor(k) for k in f.keys()}
    if isinstance(config, str):
        md["config"] = config
    elif config:
        md["config"] = json.dumps({**json.loads(md["config"]), **config})
    md.update(meta or {})
    if tensors:
        sd = tensors(sd)
    save_file(sd, str(dst), metadata=md)
    return dst


def refused(kind, path, match):
    t0 = time.perf_counter()
    with pytest.raises(ModelError, match=match):
        LOADERS[kind](path)
    assert time.perf_counter() - t0 < 15.0  # a bound (the old code took 11-31 s), with room for a loaded machine


def test_untouched_checkpoints_load(checkpoints):
    for kind, path in checkpoints.items():
        assert isinstance(LOADERS[kind](path), torch.nn.Module)


@pytest.mark.parametrize("kind, config, match", [
    # before: loaded, and rendered pure silence (exit 0) or NaN
    ("codec", {"latent_std": 0.0}, r"config field 'latent_std' is 0\.0; it must be a number in 0\.001\.\.1000"),
    ("codec", {"mag_max_log": -50.0}, r"'mag_max_log' is -50\.0"),
    ("codec", {"latent_mean": float("nan")}, r"'latent_mean' is nan"),
    # before: tracebacks (TypeError, ZeroDivisionError, AssertionError, RuntimeError)
    ("codec", {"n_fft": "960"}, r"'n_fft' is '960'; it must be a whole number"),
    ("codec", {"phase_mode": "spiral"}, r"'phase_mode' is 'spiral'; it must be 'direct' or 'integrate'"),
    ("codec", {"sample_rate": 0}, r"'sample_rate' is 0"),
    ("codec", {"hop_length": 2000, "n_fft": 960}, r"hop_length 2000 is longer than n_fft 960"),
    ("codec", {"conditioned": 1}, r"'conditioned' is 1; it must be true or false"),
    ("renderer", {"heads": 0}, r"'heads' is 0"),
    ("renderer", {"heads": 3}, r"dim 64 does not split into 3 heads"),
    ("renderer", {"n_tags": 3}, r"n_tags is 3; this version's score conditions have"),
    ("renderer", {"latent_dim": -8}, r"'latent_dim' is -8"),
    ("structure", {"n_head": 3}, r"n_embd 64 does not split into 3 heads"),
    ("structure", {"block_size": 10**7}, r"'block_size' is 10000000"),
    ("structure", {"dropout": 2.0}, r"'dropout' is 2\.0"),
])
def test_config_values_out_of_range_are_refused(checkpoints, tmp_path, kind, config, match):
    refused(kind, tampered(checkpoints[kind], tmp_path / "t.safetensors", config=config), match)


@pytest.mark.parametrize("kind, config", [
    ("codec", {"dec_dim": 4096, "dec_blocks": 40}),
    ("renderer", {"dim": 2048, "depth": 24, "heads": 16}),  # 1.2 G parameters: 4.8 GB before the load failed
    ("structure", {"n_embd": 4096, "n_layer": 48, "n_head": 32}),
])
def test_a_config_that_does_not_match_its_tensors_is_refused_before_building(checkpoints, tmp_path, kind, config):
    """Before: the loader built the config's model (gigabytes) and only then found the tensors did not fit."""
    refused(kind, tampered(checkpoints[kind], tmp_path / "t.safetensors", config=config),
            r"does not match its own config|tensor \S+ has shape")


@pytest.mark.parametrize("kind", ["codec", "renderer", "structure"])
def test_damaged_metadata_and_weights_are_refused(checkpoints, tmp_path, kind):
    src = checkpoints[kind]
    refused(kind, tampered(src, tmp_path / "a.safetensors", config="{not json"), r"config is not valid JSON")
    refused(kind, tampered(src, tmp_path / "b.safetensors", config="[1, 2]"), r"config is not a JSON object")

    def nan(sd):
        k = sorted(sd)[0]
        sd[k] = sd[k].clone()
        sd[k].view(-1)[0] = math.nan
        return sd

    refused(kind, tampered(src, tmp_path / "c.safetensors", tensors=nan), r"holds NaN or infinite values")

    def ints(sd):
        k = sorted(sd)[0]
        sd[k] = sd[k].to(torch.int32)
        return sd

    refused(kind, tampered(src, tmp_path / "d.safetensors", tensors=ints), r"holds torch\.int32, not floating point")

    def extra(sd):
        return {**sd, "stowaway": torch.zeros(3)}

    refused(kind, tampered(src, tmp_path / "e.safetensors", tensors=extra), r"unexpected \['stowaway'\]")
