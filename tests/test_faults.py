"""Nothing lost under faults, run as a user runs the CLI (real processes): two writers on one project, kill -9
and Ctrl-C at random moments of `export` and `generate`, a file-size limit (a full disk), a bad export path.

``MELODEX_FAULT_TRIES`` sets the kills per case (default 2 in the suite; ``make faults`` runs 20).
"""
from __future__ import annotations

import hashlib
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from melodex_studio.io.project import read_project, save_project
from tests.engine.session_helpers import write_tiny_models
from tests.songs import make_demo_song

pytestmark = pytest.mark.slow
TRIES = int(os.environ.get("MELODEX_FAULT_TRIES", "2"))
CLI = [sys.executable, "-m", "melodex_studio.cli"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return write_tiny_models(tmp_path_factory.mktemp("m"))["structure"]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return env


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _generated(tmp_path: Path, tiny_model: Path) -> Path:
    path = tmp_path / "song.melodex"
    subprocess.run(CLI + ["generate", "pop song, piano, bass and drums; verse 4, chorus 4, verse 4", "-o", str(path),
                          "--seed", "1", "--model", str(tiny_model), "--device", "cpu"],
                   check=True, env=_env(), capture_output=True)
    return path


def test_two_processes_regenerating_one_project_lose_nothing(tmp_path, tiny_model):
    """Either a run finds the project open and is refused (exit 9, saying so), or it runs after the other:
    every run that exits 0 has its take in the file."""
    path = _generated(tmp_path, tiny_model)
    for attempt in range(2):
        before = len(read_project(path).song.takes)
        runs = [subprocess.Popen(CLI + ["regenerate", str(path), "--section", sec, "--seed", str(attempt), "--model",
                                        str(tiny_model), "--device", "cpu", "--json"],
                                 env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for sec in ("verse", "chorus")]
        outs = [r.communicate(timeout=120) + (r.returncode,) for r in runs]
        ok = [o for o in outs if o[2] == 0]
        for out, err, code in outs:
            assert code in (0, 9), err
            if code == 9:
                assert "open in another window or process" in err
        song = read_project(path).song
        assert len(song.takes) == before + len(ok) and ok


def _kill_during(cmd: list[str], sig: int, at: float, cwd: Path) -> int:
    p = subprocess.Popen(cmd, env=_env(), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(at)
    p.send_signal(sig)
    p.communicate(timeout=120)
    return p.returncode


def _visible(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _sha(p) for p in folder.rglob("*") if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killing_export_keeps_every_earlier_output_whole(tmp_path, sig):
    """Export A completely, then kill an export of B (the same song 6 dB quieter) at a random moment: every
    file is whole, A's or B's, never cut short; Ctrl-C also removes the hidden temporaries."""
    song = make_demo_song(bars=12, bpm=120, tracks=3)
    project, out = tmp_path / "p.melodex", tmp_path / "out"
    out.mkdir()
    cmd = CLI + ["export", str(project), "--wav", str(out / "mix.wav"), "--stems", str(out / "stems"), "--midi",
                 str(out / "song.mid"), "--renderer", "soundfont"]
    versions, durations = [], []
    for gain in (0.0, -6.0):
        song.update_track(song.tracks[1].id, gain_db=gain)
        save_project(tmp_path / f"v{gain}.melodex", song)
        save_project(project, song)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env=_env(), capture_output=True)
        durations.append(time.perf_counter() - t0)
        versions.append(_visible(out))
    a, b = versions
    assert a.keys() == b.keys() and a["mix.wav"] != b["mix.wav"]
    rng = random.Random(int(sig))
    for _ in range(TRIES):
        project.write_bytes((tmp_path / "v0.0.melodex").read_bytes())
        subprocess.run(cmd, check=True, env=_env(), capture_output=True)  # A, complete
        project.write_bytes((tmp_path / "v-6.0.melodex").read_bytes())
        code = _kill_during(cmd, sig, rng.uniform(0.2, durations[1]), tmp_path)
        now = _visible(out)
        assert now.keys() == a.keys(), "a partial or missing file"
        assert all(now[k] in (a[k], b[k]) for k in now), "a file cut short"
        if sig == signal.SIGINT:  # -2: interrupted while Python was still starting, before any work
            assert code in (0, 130, -2)
            assert not list(out.rglob(".*melodex-tmp*")), "Ctrl-C must remove the temporaries"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killing_generate_leaves_no_partial_project_or_export(tmp_path, tiny_model, sig):
    project, wav = tmp_path / "g.melodex", tmp_path / "g.wav"
    cmd = CLI + ["generate", "pop song, piano and drums; verse 4, chorus 4", "-o", str(project), "--wav", str(wav),
                 "--renderer", "soundfont", "--seed", "2", "--model", str(tiny_model), "--device", "cpu"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=_env(), capture_output=True)
    duration = time.perf_counter() - t0
    ref = {project.name: _sha(project), wav.name: _sha(wav)}
    rng = random.Random(int(sig) + 1)
    for _ in range(TRIES):
        code = _kill_during(cmd, sig, rng.uniform(0.2, duration), tmp_path)
        files = _visible(tmp_path)
        for name in (project.name, wav.name):  # the earlier files stay whole: old bytes or a complete new file
            assert name in files
        read_project(project)  # loads
        assert sf.info(str(wav)).frames > 0
        assert files[wav.name] == ref[wav.name]  # same seed: the same song, whatever the kill left
        assert code in (0, 130, -9, -2, 1) or code is None


def test_a_full_disk_says_so_and_keeps_the_project_and_the_earlier_file(tmp_path):
    song = make_demo_song(bars=16, bpm=120, tracks=3)
    project = tmp_path / "p.melodex"
    save_project(project, song)
    wav = tmp_path / "mix.wav"
    wav.write_bytes(b"the earlier export")
    before = _sha(project)

    def small_files():  # a 200 KB file-size limit: the WAV (several MB) cannot be written
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    r = subprocess.run(CLI + ["export", str(project), "--wav", str(wav), "--renderer", "soundfont"], env=_env(),
                       capture_output=True, text=True, preexec_fn=small_files)
    assert r.returncode == 5, r.stderr
    assert f"could not write {wav}" in r.stderr and "larger than this system allows" in r.stderr
    assert "Traceback" not in r.stderr
    assert wav.read_bytes() == b"the earlier export" and _sha(project) == before
    assert not list(tmp_path.glob(".*melodex-tmp*"))


def test_generate_saves_the_song_before_a_bad_export_path_fails(tmp_path, tiny_model):
    project = tmp_path / "kept.melodex"
    r = subprocess.run(CLI + ["generate", "pop song, piano; verse 4", "-o", str(project), "--wav",
                              str(tmp_path / "no-such-folder" / "x.wav"), "--renderer", "soundfont", "--seed", "3",
                              "--model", str(tiny_model), "--device", "cpu"],
                       env=_env(), capture_output=True, text=True)
    assert r.returncode == 5 and "no-such-folder" in r.stderr and "does not exist" in r.stderr
    assert read_project(project).song.generation["seed"] == 3  # the song is not lost
