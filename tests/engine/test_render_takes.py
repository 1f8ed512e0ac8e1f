"""Diffusion renders kept as takes in the project file, and varied from a recorded step (engine.render_takes
and `melodex render/regenerate`), with tiny checkpoints (random weights, real forward passes)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from melodex_studio.cli import main
from melodex_studio.engine.diffusion_render import DiffusionOptions, record_default
from melodex_studio.engine.render_takes import (
    RENDER_KIND, current_take, decode_takes, render_with_takes, vary_takes,
)
from melodex_studio.errors import ModelError
from melodex_studio.io.project import read_project, save_project
from melodex_studio.song import Note, Section
from tests.songs import make_demo_song


def _song():
    """6 bars, 2 tracks, three 2-bar sections (intro, verse, chorus) at 82 BPM: section joins fall inside a
    latent frame, which the frame before and after share."""
    song = make_demo_song(bars=6, tracks=2, bpm=82)
    for s in list(song.sections):
        song.remove_section(s.id)
    for i, label in enumerate(("intro", "verse", "chorus")):
        song.add_section(Section(label, 2 * i, 2))
    return song


def _opts(checkpoints, **kw) -> DiffusionOptions:
    return DiffusionOptions(steps=kw.pop("steps", 4), codec=checkpoints[0], renderer=checkpoints[1], device="cpu", **kw)


def _latent(take, tensors) -> torch.Tensor:
    return torch.from_numpy(tensors[f"render/{take.id}/latent"])


@pytest.fixture()
def rendered(checkpoints, tmp_path):
    """A 3-section, 2-track song rendered with the diffusion renderer, saved and read back."""
    song = _song()
    tensors: dict[str, np.ndarray] = {}
    dry, takes = render_with_takes(song, tensors, options=_opts(checkpoints, seed=7))
    path = tmp_path / "song.melodex"
    save_project(path, song, tensors)
    return path, dry, takes


@pytest.fixture()
def loaded(rendered):
    """(song, tensors) of the rendered project read back from its file; tensors is a mutable copy."""
    proj = read_project(rendered[0])
    return proj.song, dict(proj.tensors)


def test_record_default_is_the_quarter_points():
    assert record_default(8) == (2, 4, 6) and record_default(4) == (1, 2, 3) and record_default(1) == ()


def test_a_render_is_recorded_per_track_and_section_and_rebuilt_from_the_file(rendered, checkpoints):
    path, dry, takes = rendered
    proj = read_project(path)
    song, tensors = proj.song, proj.tensors
    assert len(takes) == len(song.tracks) * len(song.sections) == 6
    for take in takes:
        saved = song.take(take.id)
        assert saved.params["kind"] == RENDER_KIND and saved.params["state"]["steps_recorded"] == [1, 2, 3]
        assert set(saved.params["models"]) == {"codec", "renderer"} and len(saved.params["models"]["codec"]) == 64
        assert all(name in tensors for name in saved.tensors) and len(saved.tensors) == 2 + 2 * 3
        assert current_take(song, saved.section_id, saved.track_id).id == take.id
    assert song.active_takes == {}  # render takes change neither notes nor the active structure takes
    again = decode_takes(song, tensors, options=_opts(checkpoints))
    assert list(again.stems) == list(dry.stems)
    for tid in dry.stems:
        np.testing.assert_array_equal(again.stems[tid], dry.stems[tid])


def test_vary_with_the_same_seed_reproduces_and_later_steps_stay_closer(loaded, checkpoints):
    song, tensors = loaded
    sec, track = song.sections[1], song.tracks[0]
    original = current_take(song, sec, track.id)
    notes_before = [list(t.notes) for t in song.tracks]
    others = {t.id: _latent(t, tensors).clone() for t in song.takes if t.id != original.id}

    for step in (1, 2, 3):
        (same,) = vary_takes(song, tensors, sec, step, seed=original.seed, track_ids=[track.id],
                             options=_opts(checkpoints))
        assert torch.equal(_latent(same, tensors), _latent(original, tensors)), step
    distances = []
    for step in (1, 2, 3):
        (new,) = vary_takes(song, tensors, sec, step, seed=original.seed + 100, track_ids=[track.id],
                            take_id=original.id, options=_opts(checkpoints))
        assert new.params["parent"] == original.id and new.params["from_step"] == step and new.seed == original.seed + 100
        distances.append(float((_latent(new, tensors) - _latent(original, tensors)).norm()))
    assert distances[0] > distances[1] > distances[2] > 0, distances
    assert current_take(song, sec, track.id).id == new.id  # the newest variation is what the song plays now
    assert [list(t.notes) for t in song.tracks] == notes_before
    for tid, lat in others.items():
        assert torch.equal(_latent(song.take(tid), tensors), lat)


def test_stale_renders_and_unrecorded_steps_are_clear_errors(loaded, checkpoints):
    song, tensors = loaded
    sec, track = song.sections[2], song.tracks[1]
    with pytest.raises(ModelError, match="recorded steps are \\[1, 2, 3\\]"):
        vary_takes(song, tensors, sec, 0, seed=1, track_ids=[track.id], options=_opts(checkpoints))
    start, _ = song.section_ticks(sec)
    song.replace_notes(track.id, start, start + 1, [Note(start_tick=start, pitch=61, duration_ticks=240, velocity=90)])  # an edit after the render
    assert current_take(song, sec, track.id) is None
    n = len(song.takes)
    with pytest.raises(ModelError, match=f"track '{track.name}' has no diffusion render of section"):
        vary_takes(song, tensors, sec, 2, seed=1, options=_opts(checkpoints))
    with pytest.raises(ModelError, match="render it with the diffusion renderer first"):
        decode_takes(song, tensors, options=_opts(checkpoints))
    assert len(song.takes) == n


def test_cli_render_keeps_takes_and_regenerate_from_step_varies_them(checkpoints, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MELODEX_CODEC_MODEL", str(checkpoints[0]))
    monkeypatch.setenv("MELODEX_RENDERER_MODEL", str(checkpoints[1]))
    path = tmp_path / "s.melodex"
    save_project(path, _song())
    assert main(["render", str(path), "--wav", str(tmp_path / "a.wav"), "--renderer", "diffusion", "--steps", "4",
                 "--device", "cpu"]) == 0
    assert "6 diffusion render takes recorded" in capsys.readouterr().out
    song = read_project(path).song
    assert len(song.takes) == 6
    name = song.tracks[1].name
    rc = main(["regenerate", str(path), "--section", "1", "--track", name, "--from-step", "2", "--seed", "9",
               "--wav", str(tmp_path / "b.wav"), "--json", "--device", "cpu"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and [(t["track"], t["seed"], t["from_step"]) for t in doc["takes"]] == [(name, 9, 2)]
    proj = read_project(path)
    assert len(proj.song.takes) == 7 and proj.song.take(doc["takes"][0]["take"]).params["op"] == "vary"
    a, _ = sf.read(tmp_path / "a.wav")
    b, rate = sf.read(tmp_path / "b.wav")
    assert rate == 44100 and a.shape == b.shape and not np.allclose(a, b)
    rc = main(["regenerate", str(path), "--section", "1", "--from-step", "5", "--device", "cpu"])
    assert rc != 0 and "recorded steps are [1, 2, 3]" in capsys.readouterr().err
    assert len(read_project(path).song.takes) == 7  # a failed variation changes nothing


def test_a_variation_keeps_only_the_steps_after_its_branch_and_says_where_the_rest_are(loaded, checkpoints):
    song, tensors = loaded
    sec, track = song.sections[0], song.tracks[0]
    parent = current_take(song, sec, track.id)
    (child,) = vary_takes(song, tensors, sec, 2, seed=3, track_ids=[track.id], options=_opts(checkpoints))
    assert child.params["state"]["steps_recorded"] == [3]
    with pytest.raises(ModelError, match=f"vary its parent, take {parent.id}"):
        vary_takes(song, tensors, sec, 1, seed=4, track_ids=[track.id], options=_opts(checkpoints))
    (grandchild,) = vary_takes(song, tensors, sec, 3, seed=5, track_ids=[track.id], options=_opts(checkpoints))
    assert grandchild.params["parent"] == child.id


def test_model_hashes_are_the_files_sha256_and_follow_a_rewritten_file(checkpoints, tmp_path):
    import shutil

    from melodex_studio.engine.models import model_hashes
    from melodex_studio.render.diffusion import file_hash

    codec = tmp_path / "codec.safetensors"
    shutil.copy(checkpoints[0], codec)
    first = model_hashes(codec, checkpoints[1])
    assert first == {"codec": file_hash(codec), "renderer": file_hash(checkpoints[1])}
    codec.write_bytes(codec.read_bytes() + b" ")  # another size: the cached hash must not be reused
    assert model_hashes(codec, checkpoints[1])["codec"] == file_hash(codec) != first["codec"]


def test_a_gpu_out_of_memory_error_is_a_clear_message_and_changes_nothing(checkpoints, monkeypatch):
    """The decoder raising torch's out-of-memory error (injected on the second track: there is no GPU here)
    becomes a ModelError that names the track and says what to do; the song gets no takes and the tensors no
    state. Any other error passes through as it is."""
    from melodex_studio.render.diffusion import DiffusionRenderer

    song = make_demo_song(bars=4, tracks=2)
    real, calls = DiffusionRenderer.decode_track, []

    def decode_track(self, song_, track, latent, frame_start=0, **kwargs):
        calls.append(track.id)
        if len(calls) == 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self, song_, track, latent, frame_start, **kwargs)

    monkeypatch.setattr(DiffusionRenderer, "decode_track", decode_track)
    tensors: dict = {}
    takes_before = list(song.takes)
    with pytest.raises(ModelError, match=rf"ran out of memory while rendering {song.tracks[1].name!r}; nothing was "
                                         r"changed.*run on the CPU"):
        render_with_takes(song, tensors, options=_opts(checkpoints))
    assert tensors == {} and list(song.takes) == takes_before

    def broken(self, *a, **k):
        raise RuntimeError("some other failure")

    monkeypatch.setattr(DiffusionRenderer, "decode_track", broken)
    with pytest.raises(RuntimeError, match="some other failure"):
        render_with_takes(song, tensors, options=_opts(checkpoints))
