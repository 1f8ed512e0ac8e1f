"""Fuzzing the project loader: mutations of a real project (saved by save_project here) end in a clean
ProjectError or a project that works (its stems decode or fail cleanly, it exports to MIDI and saves again),
within the harness's time and memory bounds, without touching the file. See tests/fuzz/harness.py."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from melodex_studio.errors import ProjectError
from melodex_studio.io.midi import song_to_midifile
from melodex_studio.io.project import read_project, save_project
from melodex_studio.render.diffusion import render_from_state
from melodex_studio.song import Chord, Key, MeterChange, MeterMap, Note, Section, Song, Take, TempoChange, TempoMap, Track

from .harness import Quiet, Stats, byte_mutations, check_one, fuzz_settings, mutate

SR = 8000
MULTIPLY_BYTES = 8 * 2**20


def seed_project(path):
    """A small project with everything a project holds: tempo and meter changes, sections with overrides,
    four tracks, chords, a structure take, a diffusion render take with its tensors, and two stems."""
    song = Song("Fuzz Seed", TempoMap([TempoChange(0, 120.0), TempoChange(3840, 97.5)]),
                MeterMap([MeterChange(0, 4, 4), MeterChange(2, 6, 8)]), Key.parse("F# minor"), SR)
    verse = song.add_section(Section("verse", 0, 2, {"energy": 0.4}, id="s-verse"))
    song.add_section(Section("chorus", 2, 2, {"style_text": "bright"}, id="s-chorus"))
    lead = song.add_track(Track("Lead", "melody", 73, notes=[Note(i * 240, 66 + i % 5, 200, 90) for i in range(24)],
                                id="t-lead"))
    song.add_track(Track("Bass", "bass", 33, gain_db=-3.0, pan=-0.2, notes=[Note(i * 960, 30, 900, 96) for i in range(6)],
                         id="t-bass"))
    song.add_track(Track("Drums", "drums", 0, True, notes=[Note(i * 480, 36 + 2 * (i % 2), 60, 110) for i in range(12)],
                         id="t-drums"))
    song.add_track(Track("Pad", "pad", 89, mute=True, id="t-pad"))
    song.chords = [Chord(0, 1920, 6, "min"), Chord(1920, 1920, 2, "maj7", bass=9)]
    song.add_take(Take("s-chorus", "t-lead", {"t-lead": [Note(3840, 73, 480, 100)]}, seed=12, params={"temperature": 0.9},
                       tensors=["structure/tokens"], created="2026-01-01T00:00:00Z", id="k-struct"), activate=False)
    prefix, rng = "render/k-render", np.random.default_rng(0)
    tensors = {"structure/tokens": rng.integers(0, 900, 64).astype(np.int32),
               f"{prefix}/latent": rng.standard_normal((10, 8)).astype(np.float32),
               f"{prefix}/schedule": np.linspace(1, 0, 5).astype(np.float32)}
    for k in (1, 2):
        tensors[f"{prefix}/x/{k}"] = rng.standard_normal((10, 8)).astype(np.float32)
        tensors[f"{prefix}/denoised/{k}"] = rng.standard_normal((10, 8)).astype(np.float32)
    state = {"frame_start": 0, "seed": 3, "steps_recorded": [1, 2],
             "settings": {"steps": 4, "sampler": "euler", "guidance": 2.0, "guidance_interval": [0.3, 0.9],
                          "shift": 1.0, "seed": 3, "record_steps": [1, 2]}}
    song.add_take(Take(verse.id, lead.id, {lead.id: lead.notes_in(0, 3840)}, seed=3,
                       params={"kind": "diffusion_render", "op": "render", "state": state},
                       tensors=sorted(k for k in tensors if k.startswith(prefix)), id="k-render"), activate=False)
    t = np.arange(SR // 5) / SR
    audio = {"t-lead": (0.3 * np.sin(2 * np.pi * 440 * t))[:, None].astype(np.float32),
             "t-bass": np.stack([0.2 * np.sin(2 * np.pi * 55 * t)] * 2, axis=1).astype(np.float32)}
    save_project(path, song, tensors, audio)


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    path = tmp_path_factory.mktemp("seed") / "seed.melodex"
    seed_project(path)
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    stats = Stats("project loader")
    yield Quiet((data, members, stats))
    stats.write()


# --- structured mutations of project.json ------------------------------------------------------------
NASTY = (st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**63, -(2**63) - 1, 10**30, 100_000, 0.5, -0.0, 1e308,
                          float("nan"), float("inf"), "", "x" * 20_000, "a\ud800b", "\x00\x1b[31m", None, True, False,
                          [], {}, [[0, 60, 1, 1]], {"kind": "diffusion_render"}, [0, 1e9], "diffusion_render"])
         | st.integers() | st.floats() | st.text(max_size=12))


@st.composite
def json_mutations(draw, doc):
    """('replace'|'delete'|'multiply'|'nudge', path, value) ops on a JSON document; the path is a random walk from
    its root."""
    ops = []
    for _ in range(draw(st.integers(1, 3))):
        path, node = [], doc
        while isinstance(node, (dict, list)) and node and draw(st.integers(0, 4)) > 0:
            key = draw(st.sampled_from(sorted(node))) if isinstance(node, dict) else draw(st.integers(0, len(node) - 1))
            path.append(key)
            node = node[key]
        kind = draw(st.sampled_from(["replace", "replace", "delete", "multiply", "nudge", "nudge"]))
        value = (draw(NASTY) if kind == "replace" else draw(st.sampled_from([2, 100, 30_000])) if kind == "multiply"
                 else draw(st.sampled_from([-1, 1, 2, -480, 480, 1920])) if kind == "nudge" else None)
        ops.append((kind, path, value))
    return ops


def apply_json(doc, ops):
    doc = json.loads(json.dumps(doc))
    for kind, path, value in ops:
        if not path:
            doc = value if kind == "replace" else doc
            continue
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            key = path[-1]
            if kind == "replace":
                parent[key] = value
            elif kind == "nudge":  # a near, often valid value: reaches the checks behind the first ones
                if type(parent[key]) in (int, float):
                    parent[key] += value
            elif kind == "delete":
                del parent[key]
            else:  # repeat a value, at most ~8 MB of JSON (a size bomb must not cost the test itself gigabytes)
                items = parent[key] if isinstance(parent[key], list) else [parent[key]]
                value = max(1, min(value, MULTIPLY_BYTES // max(1, len(json.dumps(items)))))
                parent[key] = json.loads(json.dumps(items * value))  # copies: a later op must not multiply it again
        except (KeyError, IndexError, TypeError):
            pass  # an earlier op changed the shape of the document
    return doc


def rezip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED if name == "project.json" else zipfile.ZIP_STORED)
    return buf.getvalue()


def use(tmp_path):
    def run(proj):
        proj.audio.decode_all()  # ProjectError for damaged stems is fine
        song_to_midifile(proj.song).save(file=io.BytesIO())  # `export --midi`
        song = proj.song
        for text in [song.title] + [t.name for t in song.tracks] + [s.label for s in song.sections]:
            text.encode("utf-8")  # `info` prints it
        assert song.duration_seconds <= 3600
        for take in song.takes:  # what `regenerate --from-step` reads of a render take
            if take.params.get("kind") == "diffusion_render":
                render = render_from_state({k: torch.from_numpy(np.asarray(v)) for k, v in proj.tensors.items()},
                                           take.params["state"], f"render/{take.id}")
                assert render.latent.ndim == 2
                for k, (x, d) in render.checkpoints.items():
                    assert 0 <= k < len(render.schedule) and x.shape == d.shape == render.latent.shape
        save_project(tmp_path / "again.melodex", proj.song, proj.tensors, proj.audio)
    return run


@fuzz_settings()
@given(data=st.data())
def test_mutated_projects_load_cleanly(seed, tmp_path_factory, data):
    raw, members, stats = seed
    tmp = tmp_path_factory.mktemp("case")
    mode = data.draw(st.sampled_from(["json", "json", "member", "bytes"]), label="mode")
    if mode == "bytes":
        mutated = mutate(raw, data.draw(byte_mutations(len(raw)), label="ops"))
    elif mode == "member":
        name = data.draw(st.sampled_from(sorted(members)), label="member")
        mutated = rezip({**members, name: mutate(members[name], data.draw(byte_mutations(len(members[name])), label="ops"))})
    else:
        doc = json.loads(members["project.json"])
        ops = data.draw(json_mutations(doc), label="ops")
        text = json.dumps(apply_json(doc, ops))  # NaN/Infinity allowed here: the loader must refuse them
        mutated = rezip({**members, "project.json": text.encode()})
    path = tmp / "case.melodex"
    path.write_bytes(mutated)
    check_one(stats, path, read_project, use(tmp))


def test_the_seed_itself_loads_and_works(seed, tmp_path):
    raw, _, _ = seed
    (tmp_path / "seed.melodex").write_bytes(raw)
    proj = read_project(tmp_path / "seed.melodex")
    assert len(proj.song.takes) == 2 and sorted(proj.audio) == ["t-bass", "t-lead"]
    use(tmp_path)(proj)
    with pytest.raises(ProjectError):
        (tmp_path / "cut.melodex").write_bytes(raw[: len(raw) // 2])
        read_project(tmp_path / "cut.melodex")
