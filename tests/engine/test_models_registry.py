"""The model registry (engine/models.py) on real files: the shipped checkpoints in models/ and tiny ones
written here. Listing (kind, parameters from the header, sha256, card, config, source), the hash cache
(each file read once per size and mtime), env overrides and the user data folder, the models a song needs
that are not installed, and `melodex models`."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from melodex_studio.cli import main
from melodex_studio.engine import models
from melodex_studio.errors import ModelError
from melodex_studio.io import hashing
from melodex_studio.render.codec import CodecConfig, build_codec
from melodex_studio.render.dit import DiTConfig, build_dit
from melodex_studio.song import Section, Song, Take
from melodex_studio.structure.checkpoint import save_checkpoint
from melodex_studio.structure.transformer import StructureConfig, build_model

SHIPPED = Path(__file__).resolve().parents[2] / "models"
BUILDERS = {"structure": (StructureConfig.from_dict, build_model), "codec": (CodecConfig.from_json, build_codec),
            "renderer": (DiTConfig.from_json, build_dit)}


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """No env overrides, an empty user data folder under tmp_path, empty caches before and after."""
    for env in models.ENVS.values():
        monkeypatch.delenv(env, raising=False)
    user = tmp_path / "user-models"
    monkeypatch.setattr(models, "user_models_dir", lambda: user)
    models.clear_cache()
    yield user
    models.clear_cache()


@pytest.fixture
def counted(monkeypatch):
    """Counts of calls to the one hashing function, per file name (a wrapper around the real one)."""
    calls: dict[str, int] = {}
    real = hashing.file_hash

    def counting(path):
        calls[Path(path).name] = calls.get(Path(path).name, 0) + 1
        return real(path)

    monkeypatch.setattr(hashing, "file_hash", counting)
    return calls


@pytest.fixture(scope="module")
def tiny_structure(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("structure") / "tiny-structure.safetensors"
    save_checkpoint(build_model("tiny"), path)
    return path


def _shipped() -> list[models.ModelInfo]:
    if not all((SHIPPED / f).is_file() for f in models.FILES.values()):
        pytest.skip("the shipped models are not in models/")
    return [m for m in models.list_models() if m.source == "package"]


def test_the_shipped_models_are_listed_with_header_parameters_hashes_cards_and_configs():
    infos = {m.name: m for m in _shipped()}
    assert {"structure-small", "codec-small", "renderer-small"} <= set(infos)
    for kind, file in models.FILES.items():
        m = infos[file.removesuffix(".safetensors")]
        assert m.kind == kind and m.default and m.source == "package" and m.path == SHIPPED / file
        assert m.size_bytes == (SHIPPED / file).stat().st_size and m.sha256 == _sha(SHIPPED / file)
        assert m.card == SHIPPED / file.replace(".safetensors", ".md")
        assert m.loaded_on == [] and m.device is None
        from_config, build = BUILDERS[kind]  # the header count is the network's own parameter count
        cfg = m.config if kind == "structure" else json.dumps(m.config)
        assert m.parameters == sum(p.numel() for p in build(from_config(cfg)).parameters())
    assert infos["structure-small"].config["n_layer"] == 3


def test_each_file_is_hashed_once_per_size_and_mtime(checkpoints, tiny_structure, tmp_path, counted):
    codec = tmp_path / "codec.safetensors"
    shutil.copy(checkpoints[0], codec)
    assert models.file_sha256(codec) == models.file_sha256(str(codec)) == _sha(codec)
    assert models.model_hashes(codec, checkpoints[1]) == {"codec": _sha(codec), "renderer": _sha(checkpoints[1])}
    model, info = models.load_structure_model(tiny_structure, "cpu")
    assert models.load_structure_model(tiny_structure, "cpu") == (model, info)  # loaded once per device
    assert info["sha256"] == models.file_sha256(tiny_structure) == _sha(tiny_structure)
    models.list_models()
    models.list_models()
    assert counted["codec.safetensors"] == 1 and counted["tiny-structure.safetensors"] == 1
    assert all(n == 1 for n in counted.values()), counted

    st = codec.stat()
    os.utime(codec, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # same bytes, new mtime: hashed again
    assert models.file_sha256(codec) == _sha(codec) and counted["codec.safetensors"] == 2
    codec.write_bytes(codec.read_bytes() + b" ")  # new content
    assert models.file_sha256(codec) == _sha(codec) and counted["codec.safetensors"] == 3


def test_env_overrides_are_listed_used_by_default_and_checked(tiny_structure, checkpoints, monkeypatch):
    models.load_structure_model(tiny_structure, "cpu")
    monkeypatch.setenv("MELODEX_STRUCTURE_MODEL", str(tiny_structure))
    monkeypatch.setenv("MELODEX_CODEC_MODEL", str(checkpoints[0]))
    infos = models.list_models(device="cpu")
    env = {m.kind: m for m in infos if m.source == "env"}
    assert set(env) == {"structure", "codec"}
    s = env["structure"]
    assert s.name == "tiny-structure" and s.default and s.card is None and s.config["n_layer"] == 2
    assert s.loaded_on == ["cpu"] and s.device == "cpu" and s.sha256 == _sha(tiny_structure)
    assert s.parameters == sum(p.numel() for p in build_model("tiny").parameters())
    assert not any(m.default for m in infos if m.source == "package" and m.kind in env)
    assert models.structure_model_path() == tiny_structure

    monkeypatch.setenv("MELODEX_STRUCTURE_MODEL", str(checkpoints[1]))  # a renderer file
    with pytest.raises(ModelError, match="MELODEX_STRUCTURE_MODEL points to .* not a structure checkpoint"):
        models.list_models()
    monkeypatch.setenv("MELODEX_STRUCTURE_MODEL", str(tiny_structure.parent / "gone.safetensors"))
    with pytest.raises(ModelError, match="does not exist"):
        models.list_models()


def test_the_user_data_folder_lists_melodex_checkpoints_and_supplies_missing_defaults(
        _isolated, tiny_structure, checkpoints, tmp_path, monkeypatch):
    user = _isolated
    user.mkdir()
    shutil.copy(checkpoints[0], user / "my-codec.safetensors")
    shutil.copy(tiny_structure, user / models.FILES["structure"])
    (user / "my-codec.md").write_text("# my codec\n")
    save_file({"w": np.zeros((2, 3), np.float32)}, str(user / "other.safetensors"), metadata={"kind": "vae"})
    (user / "broken.safetensors").write_bytes(b"not a checkpoint")
    theirs = {m.name: m for m in models.list_models() if m.source == "user"}
    assert set(theirs) == {"my-codec", "structure-small"}
    assert theirs["my-codec"].kind == "codec" and theirs["my-codec"].card == user / "my-codec.md"
    assert not theirs["structure-small"].default  # the package ships one, which wins

    monkeypatch.setattr(models, "SEARCH_DIRS", (tmp_path / "no-package",))  # an install without models/
    infos = models.list_models(user_dir=user)
    assert [(m.name, m.default) for m in infos] == [("my-codec", False), ("structure-small", True)]
    assert models.structure_model_path() == user / models.FILES["structure"]
    with pytest.raises(ModelError, match="no codec model found"):
        models.diffusion_model_paths()


def _song(structure_sha: str, render_models: dict) -> Song:
    song = Song()
    sec = song.add_section(Section(label="verse", start_bar=0, length_bars=4))
    song.generation = {"structure_model": {"sha256": structure_sha, "path": "/elsewhere/structure.safetensors"}}
    for seed in (1, 2):
        song.add_take(Take(section_id=sec.id, track_id=None, notes={}, seed=seed,
                           params={"kind": "diffusion_render", "models": dict(render_models)}), activate=False)
    return song


def test_missing_models_names_each_unknown_model_and_what_is_used_instead():
    infos = _shipped()
    by_kind = {m.kind: m for m in infos}
    unknown = "1a2b3c4d" + "0" * 56
    song = _song(unknown, {"codec": "f" * 64, "renderer": by_kind["renderer"].sha256})
    lines = models.missing_models(song, infos)
    assert lines == [
        "the structure model that wrote this song (structure, sha256 1a2b3c4d…) is not installed; "
        "regenerating uses structure-small instead",
        "the codec that rendered 2 takes of this song (sha256 ffffffff…) is not installed; "
        "rendering uses codec-small instead",
    ]
    assert models.missing_models(song) == lines  # the registry's own list by default
    assert models.missing_models(_song(by_kind["structure"].sha256, {k: by_kind[k].sha256 for k in
                                                                     ("codec", "renderer")}), infos) == []
    assert models.missing_models(Song(), []) == []
    assert models.missing_models(song, [])[0].endswith("no structure model is installed")
    song.generation["structure_model"] = {"sha256": unknown, "name": "my-run"}  # a record that names its model
    assert models.missing_models(song, infos)[0].startswith("the structure model that wrote this song (my-run, sha256")


def test_models_cli_prints_json_with_full_hashes_and_a_table_with_short_ones(tiny_structure, monkeypatch, capsys):
    infos = _shipped()
    monkeypatch.setenv("MELODEX_STRUCTURE_MODEL", str(tiny_structure))
    assert main(["models", "--json", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)["models"]
    rows = {m["name"]: m for m in out}
    assert rows["tiny-structure"]["source"] == "env" and rows["tiny-structure"]["default"] is True
    assert rows["tiny-structure"]["sha256"] == _sha(tiny_structure) and rows["tiny-structure"]["device"] == "cpu"
    for m in infos:
        assert rows[m.name]["sha256"] == m.sha256 and rows[m.name]["parameters"] == m.parameters
        assert rows[m.name]["card"] == str(m.card) and rows[m.name]["kind"] == m.kind

    models.load_structure_model(None, "cpu")  # the env model, now loaded on the CPU
    assert main(["models", "--device", "cpu"]) == 0
    table = capsys.readouterr().out
    line = next(x for x in table.splitlines() if x.startswith("tiny-structure *"))
    assert _sha(tiny_structure)[:12] in line and _sha(tiny_structure) not in table
    assert "cpu (loaded: cpu)" in line and line.rstrip().endswith("-")
    assert "codec-small.md" in table
