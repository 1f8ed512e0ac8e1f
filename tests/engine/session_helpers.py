"""Shared by the session tests: tiny real models, a tiny plan, and a byte-exact snapshot of a session."""
from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from melodex_studio.engine.diffusion_render import DiffusionOptions
from melodex_studio.engine.session import ProjectSession
from melodex_studio.io.validate import song_to_dict
from melodex_studio.prompt.plan import InstrumentPlan, SectionPlan, StylePlan
from melodex_studio.render.codec import build_codec
from melodex_studio.render.diffusion import save_model
from melodex_studio.render.dit import build_dit
from melodex_studio.song import Key
from melodex_studio.structure.checkpoint import save_checkpoint
from melodex_studio.structure.transformer import build_model


def write_tiny_models(folder: Path) -> dict[str, Path]:
    """Random-weight tiny structure, codec and renderer checkpoints (real forward passes, milliseconds)."""
    torch.manual_seed(0)
    paths = {"structure": folder / "structure.safetensors", "codec": folder / "codec.safetensors",
             "renderer": folder / "renderer.safetensors"}
    save_checkpoint(build_model("tiny"), paths["structure"])
    codec, dit = build_codec("tiny"), build_dit("tiny")
    save_model(codec, codec.cfg.to_json(), paths["codec"], "codec")
    save_model(dit, dit.cfg.to_json(), paths["renderer"], "renderer")
    return paths


def tiny_plan(bars: int = 1) -> StylePlan:
    return StylePlan(tempo_bpm=120.0, meter=(4, 4), key=Key.parse("C major"),
                     form=[SectionPlan("verse", bars), SectionPlan("chorus", bars)],
                     instruments=[InstrumentPlan("piano", 0, "chords"), InstrumentPlan("drums", 0, "drums", is_drum=True)],
                     drums=True, genre="pop", mood="happy", energy=[0.5, 0.7])


def make_session(models: dict[str, Path], **kw) -> ProjectSession:
    opts = DiffusionOptions(steps=2, codec=models["codec"], renderer=models["renderer"], device="cpu")
    return ProjectSession(device="cpu", structure_model=str(models["structure"]), diffusion=opts,
                          autosave=kw.pop("autosave", False), **kw)


def _array_digest(a) -> tuple:
    a = np.asarray(a.array() if hasattr(a, "array") else a)
    return (str(a.dtype), a.shape, hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest())


def snapshot(session: ProjectSession) -> tuple[str, dict, dict]:
    """(Song JSON, tensors, audio cache) of a session, compared byte for byte."""
    doc = json.dumps(song_to_dict(session.song), sort_keys=True)
    return (doc, {k: _array_digest(v) for k, v in sorted(session.tensors.items())},
            {k: _array_digest(v) for k, v in sorted(session.audio.items())})


def history_state(session: ProjectSession) -> tuple:
    h = session.history
    return h.index, [c.info.label for c in h.changes], h.is_clean


@contextlib.contextmanager
def shipped_models_session(data_dir: Path, steps: int = 4):
    """A session on the shipped models (no environment overrides; a private user data folder), closed after."""
    import pytest

    from melodex_studio.engine.models import diffusion_model_paths, structure_model_path

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MELODEX_DATA_DIR", str(data_dir))
        for var in ("MELODEX_STRUCTURE_MODEL", "MELODEX_CODEC_MODEL", "MELODEX_RENDERER_MODEL"):
            mp.delenv(var, raising=False)
        structure_model_path(), diffusion_model_paths()  # the shipped models are part of the repository
        s = ProjectSession(device="cpu", diffusion=DiffusionOptions(steps=steps, device="cpu"), autosave=False)
        try:
            yield s
        finally:
            s.close()
