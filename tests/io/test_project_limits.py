"""Hostile and clumsy project files: bounded cost (song.limits), what loads must work (render takes, text),
special files (pipes, devices) and saving through a symbolic link."""
from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from melodex_studio.errors import ProjectError
from melodex_studio.io import validate
from melodex_studio.io.project import read_project, save_project, song_to_dict
from melodex_studio.song import Note, Section, Song, Take, Track
from melodex_studio.song import limits

SR = 8000


def small_song() -> Song:
    song = Song("Short", sample_rate=SR)
    song.add_section(Section("verse", 0, 4, id="s-verse"))
    song.add_track(Track("Lead", "melody", 0, notes=[Note(i * 480, 60 + i % 5, 400, 90) for i in range(16)], id="t-lead"))
    return song


def render_take(song: Song, take_id: str = "r1", frames: int = 12, dim: int = 8, steps: int = 4,
                recorded: tuple[int, ...] = (1, 2)) -> tuple[Take, dict[str, np.ndarray]]:
    """A render take laid out as engine.render_takes writes it (render.diffusion.render_to_state)."""
    prefix = f"render/{take_id}"
    rng = np.random.default_rng(0)
    tensors = {f"{prefix}/latent": rng.standard_normal((frames, dim)).astype(np.float32),
               f"{prefix}/schedule": np.linspace(1, 0, steps + 1).astype(np.float32)}
    for k in recorded:
        tensors[f"{prefix}/x/{k}"] = rng.standard_normal((frames, dim)).astype(np.float32)
        tensors[f"{prefix}/denoised/{k}"] = rng.standard_normal((frames, dim)).astype(np.float32)
    state = {"frame_start": 0, "seed": 7, "steps_recorded": list(recorded),
             "settings": {"steps": steps, "sampler": "euler", "guidance": 2.0, "guidance_interval": [0.3, 0.9],
                          "shift": 1.0, "seed": 7, "record_steps": list(recorded)}}
    take = Take("s-verse", "t-lead", {"t-lead": song.track("t-lead").notes_in(0, 4 * 1920)}, seed=7,
                params={"kind": validate.RENDER_TAKE_KIND, "op": "render", "state": state},
                tensors=sorted(tensors), id=take_id)
    return take, tensors


def write_doc(path: Path, doc: dict, state: bytes | None = None, members: dict[str, bytes] | None = None) -> None:
    """A project file holding ``doc`` as its project.json (written by hand: save_project would refuse it)."""
    from safetensors.numpy import save as st_save

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.json", json.dumps(doc), compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("state.safetensors", state if state is not None else st_save({}, metadata={"melodex_schema": "1"}))
        for name, data in (members or {}).items():
            zf.writestr(name, data)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refused(path: Path, match: str) -> ProjectError:
    before = sha(path)
    t0 = time.perf_counter()
    with pytest.raises(ProjectError, match=match) as err:
        read_project(path)
    assert time.perf_counter() - t0 < 15.0  # a bound (the old code took 11-31 s), with room for a loaded machine
    assert sha(path) == before
    return err.value


# --- bounded cost ------------------------------------------------------------------------------------
def test_100000_tempo_changes_are_refused_at_once(tmp_path):
    """Before: a 650 KB project with 100,000 tempo changes took 11-26 s and 3.6 GB to open."""
    doc = song_to_dict(small_song())
    doc["tempo_map"] = [[i * 7, 60 + (i % 977) / 10] for i in range(100_000)]
    write_doc(tmp_path / "tempo.melodex", doc)
    refused(tmp_path / "tempo.melodex", r"tempo_map: 100,000 tempo changes; a song holds at most 20,000")


def test_many_tempo_changes_within_the_limit_load(tmp_path):
    doc = song_to_dict(small_song())
    doc["tempo_map"] = [[i * 3, 60 + (i % 977) / 10] for i in range(limits.MAX_TEMPO_CHANGES)]
    write_doc(tmp_path / "tempo.melodex", doc)
    song = read_project(tmp_path / "tempo.melodex").song
    assert len(song.tempo_map.changes) == limits.MAX_TEMPO_CHANGES


@pytest.mark.parametrize("edit, match", [
    (lambda d: d["tracks"][0]["notes"].append([2**31 - 1, 60, 1, 90]), r"start tick 2147483647 is out of range"),
    (lambda d: d["tracks"][0]["notes"].append([limits.MAX_TICK, 60, limits.MAX_TICK, 90]),
     r"the song is too long: it lasts until tick 67,108,864"),
    (lambda d: d["tracks"][0]["notes"].append([4_000_000, 60, 480, 90]),  # 69 minutes at 120 BPM
     r"the song is too long: it lasts until 69\.5 minutes; a song lasts at most 60 minutes"),
    (lambda d: d["sections"].append({"id": "far", "label": "far", "start_bar": 100_000, "length_bars": 4,
                                     "overrides": {}}), r"sections\[1\]: start bar 100000 is out of range 0\.\.9999"),
    (lambda d: d["sections"].append({"id": "long", "label": "long", "start_bar": 4, "length_bars": 2000,
                                     "overrides": {}}), r"the song is too long: it lasts until 66\.8 minutes"),
    (lambda d: d["tracks"].extend({**d["tracks"][0], "id": f"e{i}", "notes": []} for i in range(10_000)),
     r"tracks: 10,001 tracks; a song holds at most 128"),
    (lambda d: d["tracks"][0]["notes"].extend([[i % 5000, 60, 10, 90] for i in range(100_001)]),
     r"tracks\[0\]\.notes: 100,017 notes; a song holds at most 100,000"),
    (lambda d: d["meter_map"].extend([[b, 3, 4] for b in range(1, 10_002)]), r"meter_map: 10,002 meter changes"),
    (lambda d: d["chords"].extend({"start_tick": i, "duration_ticks": 1, "root": 0, "quality": "maj", "bass": None}
                                  for i in range(100_001)), r"chords: 100,001 chords"),
])
def test_songs_beyond_the_limits_are_refused(tmp_path, edit, match):
    """Before: a note at tick 2**31-1, a section at bar 100,000 or 10,000 empty tracks loaded (and render then
    allocated 10 GB - 1 TB)."""
    doc = song_to_dict(small_song())
    edit(doc)
    write_doc(tmp_path / "big.melodex", doc)
    refused(tmp_path / "big.melodex", match)


def test_total_notes_are_bounded():
    doc = song_to_dict(small_song())
    track = doc["tracks"][0]
    notes = [[j, 60, 1, 90] for j in range(90_000)]
    doc["tracks"] = [{**track, "id": f"t{i}", "notes": notes} for i in range(6)]
    with pytest.raises(ProjectError, match=r"tracks: 540,000 notes; a song holds at most 500,000"):
        validate.song_from_dict(doc)


def _silent_flac(seconds: int, rate: int = SR) -> bytes:
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", rate, 1, format="FLAC", subtype="PCM_24", compression_level=0.0) as f:
        block = np.zeros((rate * 60, 1), np.int32)
        for _ in range(seconds // 60):
            f.write(block)
    return buf.getvalue()


def test_an_hour_long_stem_of_a_short_song_is_left_out_undecoded(tmp_path):
    """Before: a 1 MB project with a 1-hour silent FLAC stem decoded to 2.5 GB. A stem longer than the song plus
    MAX_STEM_TAIL_SECONDS is a stale cache: it is left out, named in Project.notes, and never decoded."""
    song = small_song()
    path = tmp_path / "stem.melodex"
    save_project(path, song, {}, {"lead": np.zeros((SR * 10, 1), np.float32)})
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["audio/hour.flac"] = _silent_flac(3600)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert path.stat().st_size < 1_000_000
    proj = read_project(path)
    assert list(proj.audio) == ["lead"] and proj.audio["lead"].shape == (SR * 10, 1)
    assert len(proj.notes) == 1 and "'hour' (3600.0 s) is longer than the song (8.0 s)" in proj.notes[0]


def test_stems_decode_in_blocks(tmp_path):
    """The decoded stem is exact and the decode allocates about the result once (not int32 + float32 copies)."""
    import tracemalloc

    song = small_song()
    rng = np.random.default_rng(1)
    stem = (rng.integers(-2**23, 2**23, (SR * 30, 2)) / 2**23).astype(np.float32)
    path = tmp_path / "s.melodex"
    save_project(path, song, {}, {"lead": stem})
    proj = read_project(path)
    flac_bytes = len(proj.audio.stems()["lead"].flac_bytes())
    tracemalloc.start()
    a = proj.audio["lead"]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert np.array_equal(a, stem)
    assert peak < flac_bytes + 1.3 * stem.nbytes  # was the FLAC bytes + int32 and float32 copies of the stem


# --- what loads must work --------------------------------------------------------------------------
def test_a_lone_surrogate_in_text_becomes_a_replacement_character(tmp_path):
    """Before: a title holding "\\ud800" loaded and then crashed `melodex info` and `export --midi`."""
    doc = song_to_dict(small_song())
    doc["title"] = "Night\ud800Drive"
    doc["tracks"][0]["name"] = "\udfffLead"
    doc["sections"][0]["label"] = "verse\udc80"
    doc["generation"] = {"prompt\ud83d": ["x\ud83d"]}
    path = tmp_path / "s.melodex"
    text = json.dumps(doc)  # ASCII with \\u escapes, as any JSON writer would put a lone surrogate
    assert "\\ud800" in text
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.json", text)
        from safetensors.numpy import save as st_save
        zf.writestr("state.safetensors", st_save({}, metadata={"melodex_schema": "1"}))
    song = read_project(path).song
    assert song.title == "Night\ufffdDrive" and song.tracks[0].name == "\ufffdLead"
    assert song.sections[0].label == "verse\ufffd" and song.generation == {"prompt\ufffd": ["x\ufffd"]}
    song.title.encode("utf-8")  # printable, exportable
    save_project(tmp_path / "again.melodex", song)


def test_a_valid_render_take_round_trips(tmp_path):
    song = small_song()
    take, tensors = render_take(song)
    song.add_take(take, activate=False)
    save_project(tmp_path / "r.melodex", song, tensors)
    proj = read_project(tmp_path / "r.melodex")
    assert proj.song.takes[0].params["state"]["steps_recorded"] == [1, 2]


def _render_case(name: str):
    """(edit of the take, edit of the tensors, message) for one broken render take."""
    p = "render/r1"
    cases = {
        "state missing": (lambda t: t.params.pop("state"), None, r"takes\[0\]\.params\.state: expected an object"),
        "settings missing": (lambda t: t.params["state"].pop("settings"), None, r"missing field 'settings'"),
        "steps out of range": (lambda t: t.params["state"]["settings"].update(steps=100_000), None,
                               r"steps 100000 is out of range 1\.\.1000"),
        "recorded step twice": (lambda t: t.params["state"].update(steps_recorded=[1, 1]), None, r"listed twice"),
        "tensor not listed": (lambda t: t.tensors.remove(f"{p}/x/1"), None, r"'render/r1/x/1' is not listed"),
        "latent 1-D": (None, lambda ts: ts.update({f"{p}/latent": np.zeros(12, np.float32)}),
                       r"takes\[0\] is a diffusion render, but its latent has shape \(12,\)"),
        "latent int": (None, lambda ts: ts.update({f"{p}/latent": np.zeros((12, 8), np.int32)}), r"not floating point"),
        "x shape": (None, lambda ts: ts.update({f"{p}/x/2": np.zeros((11, 8), np.float32)}),
                    r"its x/2 tensor has shape \(11, 8\), not the latent's \(12, 8\)"),
        "schedule long": (None, lambda ts: ts.update({f"{p}/schedule": np.zeros(9, np.float32)}),
                          r"its schedule has shape \(9,\)"),
        "schedule times": (None, lambda ts: ts.update({f"{p}/schedule": np.full(5, 3.0, np.float32)}),
                           r"times outside 0\.\.1"),
        "step past schedule": (None, lambda ts: ts.update({f"{p}/schedule": np.zeros(2, np.float32)}),
                               r"records step 2, past the end of its 2-step schedule"),
    }
    return cases[name]


@pytest.mark.parametrize("case", ["state missing", "settings missing", "steps out of range", "recorded step twice",
                                  "tensor not listed", "latent 1-D", "latent int", "x shape", "schedule long",
                                  "schedule times", "step past schedule"])
def test_broken_render_takes_are_refused(tmp_path, case):
    """Before: render takes with a wrongly shaped latent or no state loaded and crashed `regenerate --from-step`
    (IndexError, KeyError)."""
    from safetensors.numpy import save as st_save

    edit_take, edit_tensors, match = _render_case(case)
    song = small_song()
    take, tensors = render_take(song)
    song.add_take(take, activate=False)
    if edit_take:
        edit_take(take)
    if edit_tensors:
        edit_tensors(tensors)
    with pytest.raises(ProjectError, match=match):  # a save refuses it too: a saved file always loads
        save_project(tmp_path / "x.melodex", song, tensors)
    write_doc(tmp_path / "bad.melodex", song_to_dict(song), st_save(tensors, metadata={"melodex_schema": "1"}))
    refused(tmp_path / "bad.melodex", match)


def test_render_takes_written_by_the_engine_pass_the_loader(tmp_path):
    """The layout the loader checks is the one render.diffusion.render_to_state and engine.render_takes write."""
    torch = pytest.importorskip("torch")
    from melodex_studio.engine.render_takes import RENDER_KIND
    from melodex_studio.render.diffusion import LatentRender, RenderSettings, render_from_state, render_to_state

    assert RENDER_KIND == validate.RENDER_TAKE_KIND
    assert set(RenderSettings().__dict__) == validate._SETTINGS_KEYS
    song = small_song()
    steps = 6
    ck = {k: (torch.randn(10, 8), torch.randn(10, 8)) for k in (0, 2, 5)}
    render = LatentRender(torch.randn(10, 8), 3, torch.linspace(1, 0, steps + 1), 11,
                          RenderSettings(steps=steps, seed=11, record_steps=(0, 2, 5)), ck)
    state, meta = render_to_state(render, "render/abc")
    take = Take("s-verse", "t-lead", {}, seed=11, params={"kind": RENDER_KIND, "state": meta}, tensors=sorted(state),
                id="abc")
    song.add_take(take, activate=False)
    save_project(tmp_path / "e.melodex", song, {k: v.numpy() for k, v in state.items()})
    proj = read_project(tmp_path / "e.melodex")
    back = render_from_state({k: torch.from_numpy(v) for k, v in proj.tensors.items()},
                             proj.song.takes[0].params["state"], "render/abc")
    assert torch.equal(back.latent, render.latent) and sorted(back.checkpoints) == [0, 2, 5]


# --- special files -----------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_fifo_is_refused_without_waiting(tmp_path):
    """Before: opening a named pipe as a project blocked forever."""
    fifo = tmp_path / "pipe.melodex"
    os.mkfifo(fifo)
    result: list = []
    worker = threading.Thread(target=lambda: result.append(_try_read(fifo)), daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():  # release the blocked reader, then fail
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        worker.join(5)
        pytest.fail("reading a named pipe blocked")
    assert isinstance(result[0], ProjectError) and "not a regular file" in str(result[0])


def _try_read(path):
    try:
        read_project(path)
    except Exception as e:  # noqa: BLE001 - the test inspects it
        return e
    return None


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused(device):
    """Before: /dev/zero or /dev/urandom as a project was read until memory ran out."""
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    with pytest.raises(ProjectError, match="not a regular file"):
        read_project(device)


def test_saving_onto_a_device_is_refused(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes")
    fifo = tmp_path / "pipe.melodex"
    os.mkfifo(fifo)
    with pytest.raises(ProjectError, match="not a regular file"):
        save_project(fifo, small_song())
    assert fifo.is_fifo()


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_saving_through_a_symlink_saves_the_target_and_keeps_the_link(tmp_path):
    """Before: the save replaced the link with a file and left its target stale."""
    real = tmp_path / "store" / "song.melodex"
    real.parent.mkdir()
    song = small_song()
    save_project(real, song)
    link = tmp_path / "link.melodex"
    link.symlink_to(real)
    song.title = "Changed"
    save_project(link, song)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert read_project(real).song.title == "Changed"
    assert (real.parent / "song.melodex.bak").is_file() and not (tmp_path / "link.melodex.bak").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.melodex", "store"]
